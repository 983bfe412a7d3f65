#!/usr/bin/env python3
"""Runs a daemon the way a privileged parent hands it a TUN (wireguard-go's WG_TUN_FD):
opens /dev/net/tun, attaches it to IFNAME (TUN, no PI, with or without IFF_VNET_HDR), and
execs DAEMON IFNAME with WG_TUN_FD naming the inherited descriptor.

    tun_fd_exec.py [--no-vnet] DAEMON IFNAME
"""
import fcntl
import os
import struct
import sys

IFF_TUN, IFF_NO_PI, IFF_VNET_HDR = 0x0001, 0x1000, 0x4000
TUNSETIFF = 0x400454CA

args = sys.argv[1:]
vnet = True
if args and args[0] == "--no-vnet":
    vnet, args = False, args[1:]
daemon, ifname = args
fd = os.open("/dev/net/tun", os.O_RDWR)
flags = IFF_TUN | IFF_NO_PI | (IFF_VNET_HDR if vnet else 0)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", ifname.encode(), flags))
os.set_inheritable(fd, True)
os.execve(daemon, [daemon, ifname], dict(os.environ, WG_TUN_FD=str(fd)))
