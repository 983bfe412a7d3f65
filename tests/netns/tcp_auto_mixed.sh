#!/bin/bash
# The TCP transport's `auto` mode and a mixed interface (docs/tcp-transport.md):
#  1. auto: with all UDP dropped by nftables the peers fall back to TCP by themselves; once UDP
#     is let through again they return to it by themselves.
#  2. mixed: one tundra interface with a tundra peer over TCP (its host drops all UDP) and a
#     wireguard-go peer over UDP, both carrying traffic at the same time.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
source "$(dirname "$0")/tcp_lib.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"
command -v nft >/dev/null || fail "nft (nftables) is not installed"
command -v iperf3 >/dev/null || fail "iperf3 is not installed"
[ -x "$WG_GO" ] || fail "wireguard-go not found at $WG_GO"

make_two_hosts
umask 077
make_keys "$LOG_DIR" a b c

log "1. auto: UDP blocked -> TCP, UDP unblocked -> back to UDP"
IF_A=$(ifname auta) IF_B=$(ifname autb)
start_impl "$NS_A" tundra "$IF_A"
start_impl "$NS_B" tundra "$IF_B"
wg set "$IF_A" listen-port 51820 private-key "$LOG_DIR/a.key" \
  peer "$(cat "$LOG_DIR/b.pub")" allowed-ips 198.19.0.2/32
uapi_set "$IF_A" "tundra_transport=auto"
wg set "$IF_B" listen-port 51821 private-key "$LOG_DIR/b.key" \
  peer "$(cat "$LOG_DIR/a.pub")" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820 \
  persistent-keepalive 5
uapi_set "$IF_B" "public_key=$(hexkey "$LOG_DIR/a.pub")" "tundra_transport=auto"
ip -n "$NS_A" addr add 198.19.0.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 198.19.0.2/24 dev "$IF_B"
ip -n "$NS_A" link set "$IF_A" up
ip -n "$NS_B" link set "$IF_B" up
block_udp "$NS_A"
block_udp "$NS_B"
start=$(date +%s)
wait_for 600 ping_ok "$NS_B" 198.19.0.1 2 || fail "auto did not fall back to TCP with UDP blocked"
log "   fell back to TCP after $(($(date +%s) - start)) s"
[ "$(transport_of "$IF_B" "$LOG_DIR/a.pub")" = tcp ] || fail "B does not report TCP"
[ "$(udp_dropped "$NS_B")" -gt 0 ] || fail "B never tried UDP first"
ping_ok "$NS_A" 198.19.0.2 3 || fail "A -> B over TCP"
unblock_udp "$NS_A"
unblock_udp "$NS_B"
start=$(date +%s)
on_udp() { [ "$(transport_of "$IF_B" "$LOG_DIR/a.pub")" = udp ] && [ "$(transport_of "$IF_A" "$LOG_DIR/b.pub")" = udp ]; }
wait_for 900 on_udp || fail "auto did not return to UDP once it was unblocked"
log "   back on UDP after $(($(date +%s) - start)) s"
ping_ok "$NS_B" 198.19.0.1 3 || fail "B -> A after returning to UDP"
ping_ok "$NS_A" 198.19.0.2 3 || fail "A -> B after returning to UDP"
uapi "$IF_B" "tundra_transports=1\n\n" > "$LOG_DIR/b-transports.txt"
ip -n "$NS_A" link del "$IF_A"
ip -n "$NS_B" link del "$IF_B"

log "2. mixed: tundra peer over TCP and wireguard-go peer over UDP on one tundra interface"
add_third_host NS_C
IF_A=$(ifname mixa) IF_B=$(ifname mixb) IF_C=$(ifname mixc)
start_impl "$NS_A" tundra "$IF_A"
start_impl "$NS_B" tundra "$IF_B"
start_impl "$NS_C" wireguard-go "$IF_C"
wg set "$IF_A" listen-port 51820 private-key "$LOG_DIR/a.key" \
  peer "$(cat "$LOG_DIR/b.pub")" allowed-ips 198.19.0.2/32 \
  peer "$(cat "$LOG_DIR/c.pub")" allowed-ips 198.19.0.3/32 endpoint 198.18.1.2:51822
uapi_set "$IF_A" "tundra_tcp_port=51830"  # a TCP listener; the default transport stays UDP
wg set "$IF_B" listen-port 51821 private-key "$LOG_DIR/b.key" \
  peer "$(cat "$LOG_DIR/a.pub")" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51830 \
  persistent-keepalive 25
uapi_set "$IF_B" "public_key=$(hexkey "$LOG_DIR/a.pub")" "tundra_transport=tcp"
wg set "$IF_C" listen-port 51822 private-key "$LOG_DIR/c.key" \
  peer "$(cat "$LOG_DIR/a.pub")" allowed-ips 198.19.0.1/32 endpoint 198.18.1.1:51820
ip -n "$NS_A" addr add 198.19.0.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 198.19.0.2/24 dev "$IF_B"
ip -n "$NS_C" addr add 198.19.0.3/24 dev "$IF_C"
for x in "$NS_A $IF_A" "$NS_B $IF_B" "$NS_C $IF_C"; do set -- $x; ip -n "$1" link set "$2" up; done
block_udp "$NS_B"  # B can only use TCP
ping_ok "$NS_B" 198.19.0.1 3 || fail "tundra peer B -> A over TCP"
ping_ok "$NS_C" 198.19.0.1 3 || fail "wireguard-go peer C -> A over UDP"
ping_ok "$NS_A" 198.19.0.2 3 || fail "A -> B over TCP"
ping_ok "$NS_A" 198.19.0.3 3 || fail "A -> C over UDP"
[ "$(transport_of "$IF_A" "$LOG_DIR/b.pub")" = tcp ] || fail "A does not report TCP for B"
[ "$(transport_of "$IF_A" "$LOG_DIR/c.pub")" = udp ] || fail "A does not report UDP for C"
in_ns "$NS_A" iperf3 -s -p 5201 -D -1 >/dev/null
in_ns "$NS_A" iperf3 -s -p 5202 -D -1 >/dev/null
sleep 0.5
in_ns "$NS_B" iperf3 -c 198.19.0.1 -p 5201 -t 5 -J > "$LOG_DIR/iperf-b.json" &
pb=$!
in_ns "$NS_C" iperf3 -c 198.19.0.1 -p 5202 -t 5 -J > "$LOG_DIR/iperf-c.json" &
pc=$!
wait $pb || fail "iperf3 B (TCP) -> A"
wait $pc || fail "iperf3 C (wireguard-go, UDP) -> A"
rate() { python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']/1e6))" "$1"; }
rb=$(rate "$LOG_DIR/iperf-b.json") rc=$(rate "$LOG_DIR/iperf-c.json")
log "   at the same time: B over TCP $rb Mbit/s, C (wireguard-go) over UDP $rc Mbit/s"
[ "$rb" -gt 0 ] && [ "$rc" -gt 0 ] || fail "a peer carried nothing"
log "PASS"
