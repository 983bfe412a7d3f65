#!/bin/bash
# System scenarios from the kernel's netns.sh (../shared/reference/testing-and-protocol-
# constants.md §4), tundra <-> tundra unless noted:
#   S5  roaming: the peer's endpoint follows a new listen port after one packet (IPv4 and IPv6)
#   S7  crypto-routing source filter: a datagram from an address that now belongs to another
#       peer is not delivered, and is again once that peer is removed
#   S8  a private key change re-handshakes at once: the next single ping gets through
#   S15 configuration scale: 130,560 allowed IPs on one peer through `wg setconf`
#   S18 peers with low-order public keys: not one byte is sent to their endpoint
#   WG_TUN_FD: the daemon runs on a TUN a parent opened (with and without IFF_VNET_HDR)
#   S27 a peer restarts with the same key and only the other side sends: back within ~15 s
#   S10 A behind a NAT with a 2 s UDP conntrack timeout: B learns the NAT's address, and A's
#       persistent keepalive keeps the way back open (without it, it closes)
#   S13 a destination no peer owns gets ICMP host / address unreachable at once (v4 and v6),
#       and so does a peer without an endpoint
#   LOOP the route to the peer's endpoint leads into the tunnel (allowed IPs 0.0.0.0/0, no
#       fwmark rule): the daemon's own datagrams come back out of the TUN and are dropped as
#       routing_loop instead of circling at full speed (kernel netns.sh "routing loop" test)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"
command -v tcpdump >/dev/null || fail "tcpdump is not installed (scripts/install-deps.sh)"

# udp_listen NS ADDR PORT SECONDS OUT: prints each datagram received on ADDR:PORT to OUT.
udp_listen() {
  in_ns "$1" python3 - "$2" "$3" "$4" > "$5" <<'PY' &
import socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2])))
end = time.time() + float(sys.argv[3])
while (left := end - time.time()) > 0:
    s.settimeout(left)
    try:
        print(s.recv(2000).decode(errors="replace"), flush=True)
    except socket.timeout:
        break
PY
  LISTENER=$!
  sleep 0.3
}
# udp_send NS SRC DST PORT TEXT
udp_send() {
  in_ns "$1" python3 -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0))
s.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))' "$2" "$3" "$4" "$5"
}

for underlay in 4 6; do
  log "S5: roaming over IPv$underlay: B's endpoint for A follows A's new listen port"
  setup tundra tundra $underlay no
  ping_ok "$NS_A" 198.19.0.2 1 || fail "first ping"
  port=$((9998 + underlay / 6))  # 9998 for IPv4, 9999 for IPv6
  wg set "$IF_A" listen-port $port
  in_ns "$NS_A" ping -c 1 -W 2 -q 198.19.0.2 >/dev/null || fail "ping after the port change"
  want=198.18.0.1:$port
  [ $underlay = 6 ] && want="[fd18::1]:$port"
  got=$(wg show "$IF_B" endpoints | awk '{print $2}')
  [ "$got" = "$want" ] || fail "B's endpoint for A is $got, want $want"
  teardown
done

log "S7: the source filter follows the allowed IPs of every peer"
setup tundra tundra 4 no
wg set "$IF_A" peer "$(cat "$LOG_DIR/b.pub")" allowed-ips 198.19.0.0/24,fd19::2/128
ping_ok "$NS_B" 198.19.0.1 1 || fail "first ping"
udp_listen "$NS_A" 198.19.0.1 7000 1.5 "$LOG_DIR/s7a"
udp_send "$NS_B" 198.19.0.2 198.19.0.1 7000 first
wait $LISTENER
grep -qx first "$LOG_DIR/s7a" || fail "the datagram from B was not delivered"
other=$(wg genkey | wg pubkey)
wg set "$IF_A" peer "$other" allowed-ips 198.19.0.2/32
before=$(stat_of "$IF_A" drop_source_not_allowed)
udp_listen "$NS_A" 198.19.0.1 7000 1.5 "$LOG_DIR/s7b"
udp_send "$NS_B" 198.19.0.2 198.19.0.1 7000 second
wait $LISTENER
! grep -q second "$LOG_DIR/s7b" || fail "delivered although 198.19.0.2 belongs to another peer"
after=$(stat_of "$IF_A" drop_source_not_allowed)
[ "$after" -gt "$before" ] || fail "the filtered datagram was not counted ($before -> $after)"
wg set "$IF_A" peer "$other" remove
udp_listen "$NS_A" 198.19.0.1 7000 1.5 "$LOG_DIR/s7c"
udp_send "$NS_B" 198.19.0.2 198.19.0.1 7000 third
wait $LISTENER
grep -qx third "$LOG_DIR/s7c" || fail "not delivered after the other peer was removed"
teardown

log "S8: a new private key, and the next single ping handshakes and gets through"
setup tundra tundra 4 no
ping_ok "$NS_A" 198.19.0.2 1 || fail "first ping"
old_pub=$(cat "$LOG_DIR/a.pub")
wg genkey > "$LOG_DIR/a2.key"
wg set "$IF_A" private-key "$LOG_DIR/a2.key"
wg set "$IF_B" peer "$(wg pubkey < "$LOG_DIR/a2.key")" allowed-ips 198.19.0.1/32,fd19::1/128 \
  endpoint 198.18.0.1:51820 peer "$old_pub" remove
in_ns "$NS_A" ping -c 1 -W 1 -q 198.19.0.2 >/dev/null || fail "ping right after the key change"
teardown

log "S15: 130,560 allowed IPs on one peer through wg setconf"
setup tundra tundra 4 no
python3 - "$LOG_DIR" > "$LOG_DIR/big.conf" <<'PY'
import sys
d = sys.argv[1]
print("[Interface]\nPrivateKey = " + open(d + "/a.key").read().strip())
print("[Peer]\nPublicKey = " + open(d + "/b.pub").read().strip())
for i in range(255):
    print("AllowedIPs = " + ",".join(f"{i}.{j}.0.0/16" for j in range(256)))
    print("AllowedIPs = " + ",".join(f"abcd::{i:x}:{j:x}/128" for j in range(256)))
PY
start=$(date +%s%N)
wg setconf "$IF_A" "$LOG_DIR/big.conf" || fail "wg setconf with 130,560 allowed IPs"
n=$(wg show "$IF_A" allowed-ips | wc -w)
log "setconf + show took $((($(date +%s%N) - start) / 1000000)) ms"
[ "$n" = 130561 ] || fail "wg show allowed-ips: $n words, want 130561 (the key + 130,560 prefixes)"
wg showconf "$IF_A" > /dev/null || fail "wg showconf"
teardown

log "S18: peers with low-order public keys get no handshake: nothing reaches their endpoint"
setup tundra tundra 4 no
udp_listen "$NS_A" 127.0.0.1 1111 2.5 "$LOG_DIR/s18"
for point in \
  0000000000000000000000000000000000000000000000000000000000000000 \
  0100000000000000000000000000000000000000000000000000000000000000 \
  e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800 \
  5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157 \
  ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f \
  edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f \
  eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f; do
  key=$(python3 -c 'import base64, sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$point")
  wg set "$IF_A" peer "$key" persistent-keepalive 1 endpoint 127.0.0.1:1111 2>>"$LOG_DIR/s18.err" ||
    log "wg set refused the low-order key $key: $(tail -1 "$LOG_DIR/s18.err")"
done
wait $LISTENER
[ ! -s "$LOG_DIR/s18" ] || fail "bytes reached the low-order peers' endpoint: $(head -c 200 "$LOG_DIR/s18")"
teardown

for impl in tundra-tun-fd tundra-tun-fd-no-vnet; do
  log "WG_TUN_FD ($impl): tundra serves a TUN its parent opened; deleting it ends the daemon"
  setup $impl wireguard-go 4 no
  ping_ok "$NS_A" 198.19.0.2 || fail "ping A->B"
  ping_ok "$NS_B" 198.19.0.1 || fail "ping B->A"
  in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
  sleep 0.3
  in_ns "$NS_A" iperf3 -c 198.19.0.2 -n 20M >/dev/null || fail "iperf3 over the inherited TUN"
  n=$(stat_of "$IF_A" tun_super_packets_read)
  if [ $impl = tundra-tun-fd ]; then
    [ "${n:-0}" -gt 0 ] || fail "offloads unused on an inherited IFF_VNET_HDR TUN"
  else
    [ "${n:-1}" = 0 ] || fail "super-packets on a TUN without IFF_VNET_HDR"
  fi
  teardown
done
WG_TUN_FD=250 "$TUNDRA_BIN" -f tfdbad0 2>"$LOG_DIR/badfd" && fail "WG_TUN_FD=250 (closed) accepted"
grep -q "WG_TUN_FD: ioctl(TUNGETIFF) on descriptor 250" "$LOG_DIR/badfd" ||
  fail "WG_TUN_FD=250: $(cat "$LOG_DIR/badfd")"
WG_TUN_FD=x "$TUNDRA_BIN" -f tfdbad0 2>"$LOG_DIR/badfd" && fail "WG_TUN_FD=x accepted"
grep -q "WG_TUN_FD=x: not a descriptor number" "$LOG_DIR/badfd" || fail "WG_TUN_FD=x: $(cat "$LOG_DIR/badfd")"

log "S27: B restarts (same key) and only A sends: A re-handshakes after ~15 s of silence"
setup tundra tundra 4 no
ping_ok "$NS_A" 198.19.0.2 1 || fail "first ping"
ip -n "$NS_B" link del "$IF_B"
wait_for 50 test ! -S "/var/run/wireguard/$IF_B.sock" || fail "B did not stop"
start_impl "$NS_B" tundra "$IF_B"
wg set "$IF_B" listen-port 51821 private-key "$LOG_DIR/b.key" peer "$(cat "$LOG_DIR/a.pub")" \
  allowed-ips 198.19.0.1/32,fd19::1/128
ip -n "$NS_B" addr add 198.19.0.2/24 dev "$IF_B"
ip -n "$NS_B" link set "$IF_B" mtu 1420 up
start=$(date +%s%N)
ok=no
for _ in $(seq 30); do
  if in_ns "$NS_A" ping -c 1 -W 1 -q 198.19.0.2 >/dev/null; then ok=yes; break; fi
done
took=$((($(date +%s%N) - start) / 1000000))
[ $ok = yes ] || fail "A never reached the restarted B"
log "back after $took ms"
[ $took -ge 10000 ] && [ $took -le 22000 ] || fail "recovery after $took ms, want about 15 s"
teardown

log "S10: A behind a NAT: B learns the NAT's address; persistent keepalive keeps the way open"
setup tundra tundra 4 no
new_ns NS_R r
ip -n "$NS_A" link del va  # re-plumb: A - R - B, R masquerades A
ip link add va netns "$NS_A" type veth peer name ra netns "$NS_R"
ip link add rb netns "$NS_R" type veth peer name vb netns "$NS_B"
ip -n "$NS_A" addr add 198.18.1.2/24 dev va
ip -n "$NS_R" addr add 198.18.1.1/24 dev ra
ip -n "$NS_R" addr add 198.18.0.1/24 dev rb
ip -n "$NS_B" addr add 198.18.0.2/24 dev vb
for l in "$NS_A va" "$NS_R ra" "$NS_R rb" "$NS_B vb"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$NS_A" route add default via 198.18.1.1
in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1
in_ns "$NS_R" nft 'add table ip nat; add chain ip nat post { type nat hook postrouting priority 100; }; add rule ip nat post oifname "rb" masquerade'
in_ns "$NS_R" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=2 \
  net.netfilter.nf_conntrack_udp_timeout_stream=2
# B does not know where A is: it learns it from A's packets.
wg set "$IF_B" peer "$(cat "$LOG_DIR/a.pub")" remove
wg set "$IF_B" peer "$(cat "$LOG_DIR/a.pub")" allowed-ips 198.19.0.1/32,fd19::1/128
wg set "$IF_A" peer "$(cat "$LOG_DIR/b.pub")" persistent-keepalive 1
ping_ok "$NS_A" 198.19.0.2 1 || fail "ping from behind the NAT"
ep=$(wg show "$IF_B" endpoints | awk '{print $2}')
case $ep in 198.18.0.1:*) ;; *) fail "B's endpoint for A is $ep, want the NAT's 198.18.0.1" ;; esac
sleep 3
in_ns "$NS_B" ping -c 1 -W 2 -q 198.19.0.1 >/dev/null || fail "B->A after 3 s idle with keepalive"
wg set "$IF_A" peer "$(cat "$LOG_DIR/b.pub")" persistent-keepalive 0
sleep 4
! in_ns "$NS_B" ping -c 1 -W 2 -q 198.19.0.1 >/dev/null ||
  fail "B->A still works without keepalive: the NAT mapping did not expire (test broken)"
teardown
ip netns del "$NS_R"

log "S13: no peer for the destination, or no endpoint: ICMP unreachable, not a timeout"
setup tundra tundra 4 no
in_ns "$NS_A" ping -c 1 -W 3 198.19.0.99 > "$LOG_DIR/s13a" 2>&1 && fail "ping to 198.19.0.99 succeeded"
grep -q "From 198.19.0.99 .*Destination Host Unreachable" "$LOG_DIR/s13a" ||
  fail "no host unreachable: $(cat "$LOG_DIR/s13a")"
in_ns "$NS_A" ping -c 1 -W 3 fd19::99 > "$LOG_DIR/s13b" 2>&1 && fail "ping to fd19::99 succeeded"
grep -qi "From fd19::99 .*Address unreachable" "$LOG_DIR/s13b" ||
  fail "no address unreachable: $(cat "$LOG_DIR/s13b")"
other=$(wg genkey | wg pubkey)
wg set "$IF_A" peer "$other" allowed-ips 198.19.0.77/32
in_ns "$NS_A" ping -c 1 -W 3 198.19.0.77 > "$LOG_DIR/s13c" 2>&1 && fail "ping to an endpoint-less peer"
grep -q "Destination Host Unreachable" "$LOG_DIR/s13c" || fail "no endpoint: $(cat "$LOG_DIR/s13c")"
# A TCP connect fails at once (EHOSTUNREACH) instead of retrying for minutes. (CI once saw it
# connect; that was never reproduced. A capture of the tunnel during the connect is printed if
# it happens again.)
in_ns "$NS_A" tcpdump -n -U -i "$IF_A" -w "$LOG_DIR/s13.pcap" >/dev/null 2>&1 &
capture=$!
sleep 0.5
in_ns "$NS_A" timeout 5 python3 -c '
import socket, sys
try:
    s = socket.create_connection(("198.19.0.99", 80), timeout=4)
except OSError as e:
    sys.exit(0 if e.errno == 113 else f"connect: {e}")
sys.exit(f"connected: {s.getsockname()} -> {s.getpeername()}")' > "$LOG_DIR/s13d" 2>&1 || {
  sleep 0.5; kill $capture 2>/dev/null; wait $capture 2>/dev/null || true
  log "tunnel capture: $(tcpdump -n -r "$LOG_DIR/s13.pcap" 2>/dev/null | tail -n 20)"
  log "drops: $(stats "$IF_A" | tr '\n' ' ')"
  fail "TCP connect to 198.19.0.99 did not fail with EHOSTUNREACH: $(cat "$LOG_DIR/s13d")"
}
kill $capture 2>/dev/null; wait $capture 2>/dev/null || true
n=$(stat_of "$IF_A" icmp_unreachable_sent)
[ "${n:-0}" -ge 4 ] || fail "icmp_unreachable_sent=$n"
teardown

log "LOOP: a route to the endpoint through the tunnel is a counted routing loop, not a storm"
setup tundra tundra 4 no
wg set "$IF_A" peer "$(cat "$LOG_DIR/b.pub")" allowed-ips 0.0.0.0/0
ip -n "$NS_A" route add 198.18.0.2/32 dev "$IF_A"
in_ns "$NS_A" ping -c 2 -i 0.5 -W 1 -q 198.19.0.2 >/dev/null 2>&1 && fail "ping through a looping route"
sleep 1
loops=$(stat_of "$IF_A" drop_routing_loop)
[ "${loops:-0}" -ge 1 ] || fail "no routing_loop drop counted"
read -r _ _ tx <<< "$(peer_dump "$IF_A")"
# Without the check every initiation circles through wg0 until it exceeds the MTU, at full
# speed (hundreds of MB per second); with it, a few initiations of 148 bytes leave at most.
[ "$tx" -le 4096 ] || fail "A sent $tx bytes to B in 2 s: the loop was not broken"
log "  routing_loop drops: $loops, bytes sent to the peer: $tx"
ip -n "$NS_A" route del 198.18.0.2/32 dev "$IF_A"
teardown

log "PASS"
