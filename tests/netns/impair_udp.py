#!/usr/bin/env python3
"""UDP sender/receiver for impair_netns.sh.

  impair_udp.py send HOST PORT COUNT PACE_US   datagrams: seq (u32), CLOCK_MONOTONIC send time
  impair_udp.py recv HOST PORT OUT IDLE_S      writes "seq one_way_ms" per datagram to OUT, and
                                               exits IDLE_S after the last one (or 60 s without any)
Namespaces share CLOCK_MONOTONIC, so the receiver computes the one-way delay.
"""
import socket
import struct
import sys
import time

HEADER = struct.Struct("!Id")
SIZE = 200  # bytes per datagram


def send(host, port, count, pace_us):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pad = bytes(SIZE - HEADER.size)
    start = time.monotonic()
    for seq in range(count):
        # Paced, so no datagram is lost to a full socket buffer before the relay decides.
        while time.monotonic() < start + seq * pace_us / 1e6:
            pass
        s.sendto(HEADER.pack(seq, time.monotonic()) + pad, (host, port))


def recv(host, port, out, idle):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # SO_RCVBUFFORCE (33; root): SO_RCVBUF alone is capped by net.core.rmem_max (208 KiB), and
    # a loaded machine would then drop datagrams here, outside the model's count.
    try:
        s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 8 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((host, port))
    open(out + ".ready", "w").close()
    s.settimeout(60)
    lines = []
    while True:
        try:
            data = s.recv(65535)
        except socket.timeout:
            break
        now = time.monotonic()
        seq, sent = HEADER.unpack_from(data)
        lines.append("%d %.4f\n" % (seq, (now - sent) * 1000))
        s.settimeout(idle)
    with open(out, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        recv(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
