#!/usr/bin/env python3
"""Raw Ethernet frames for l2_tap.sh (AF_PACKET on a TAP or veth, inside a namespace).

  l2_frames.py send IFACE DST SRC ETHERTYPE COUNT [TAG]
      COUNT frames DST <- SRC (MACs; SRC "-" = the interface's own) of ETHERTYPE (hex), each
      with the payload "tundra-l2 SEQ" padded to 100 bytes; TAG: an 802.1Q VLAN id to tag with.
  l2_frames.py recv IFACE ETHERTYPE SECONDS OUT
      for SECONDS, writes one line per frame of ETHERTYPE (hex; inside a VLAN tag too) arriving
      on IFACE to OUT: "SRC DST sha256-of-the-frame-from-the-ethertype-on VLAN" (VLAN: the
      802.1Q id, "-" for none; the kernel moves a received tag out of the frame, so it comes from
      PACKET_AUXDATA); touches OUT.ready once the socket is bound, so a sender can wait for it.
"""
import hashlib
import os
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
# struct tpacket_auxdata: status, len, snaplen, mac, net, vlan_tci, vlan_tpid
AUXDATA = struct.Struct("=IIIHHHH")


def mac(text, iface):
    if text == "-":
        with open(f"/sys/class/net/{iface}/address") as f:
            text = f.read().strip()
    return bytes(int(x, 16) for x in text.split(":"))


def payload(seq):
    return f"tundra-l2 {seq}".encode().ljust(100, b".")


def send(iface, dst, src, ethertype, count, tag=None):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    et = struct.pack("!H", int(ethertype, 16))
    vlan = b"" if tag is None else struct.pack("!HH", 0x8100, int(tag))
    for seq in range(count):
        s.send(mac(dst, iface) + mac(src, iface) + vlan + et + payload(seq))
        time.sleep(0.01)


def recv(iface, ethertype, seconds, out):
    want = int(ethertype, 16)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    open(out + ".ready", "w").close()
    end = time.monotonic() + seconds
    with open(out, "w") as f:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                frame, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(AUXDATA.size))
            except socket.timeout:
                break
            vlan = "-"
            for level, kind, data in anc:
                if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= AUXDATA.size:
                    status, _, _, _, _, tci, _ = AUXDATA.unpack(data[:AUXDATA.size])
                    if status & TP_STATUS_VLAN_VALID:
                        vlan = str(tci & 0xfff)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            et = struct.unpack("!H", frame[12:14])[0]
            rest = frame[12:]
            if et == 0x8100 and len(frame) >= 18:
                et = struct.unpack("!H", frame[16:18])[0]
            if et != want:
                continue
            dst = ":".join(f"{b:02x}" for b in frame[0:6])
            src = ":".join(f"{b:02x}" for b in frame[6:12])
            if et == 0x8100 and len(frame) >= 18:  # a tag the kernel left in place
                vlan = str(struct.unpack("!H", frame[14:16])[0] & 0xfff)
                rest = frame[16:]
            f.write(f"{src} {dst} {hashlib.sha256(rest).hexdigest()} {vlan}\n")
            f.flush()


def expected(ethertype, count):
    """The sha256 lines recv would write for `send ... ETHERTYPE COUNT` (untagged)."""
    et = struct.pack("!H", int(ethertype, 16))
    for seq in range(count):
        print(hashlib.sha256(et + payload(seq)).hexdigest())


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "send":
        send(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]),
             sys.argv[7] if len(sys.argv) > 7 else None)
    elif cmd == "recv":
        recv(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
    elif cmd == "expected":
        expected(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"unknown command {cmd}")
