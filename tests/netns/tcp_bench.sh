#!/bin/bash
# Throughput over the TCP transport against UDP on the same run (docs/tcp-transport.md): two
# tundra daemons in namespaces, one iperf3 TCP stream A -> B through the tunnel, ROUNDS rounds of
# ROUND_SECONDS s, alternating UDP and TCP (the peer's transport switched over the UAPI between
# rounds); prints each round, the medians and the ratio. Root; not part of `make test`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
source "$(dirname "$0")/tcp_lib.sh"
require_root
# (Not SECONDS: bash makes that the seconds since the shell started, so ${SECONDS:-5} was 0.)
ROUNDS=${ROUNDS:-5} SECONDS_PER_ROUND=${ROUND_SECONDS:-5}

make_two_hosts
IF_A=$(ifname tbna) IF_B=$(ifname tbnb)
umask 077
make_keys "$LOG_DIR" a b
start_impl "$NS_A" tundra "$IF_A"
start_impl "$NS_B" tundra "$IF_B"
wg set "$IF_A" listen-port 51820 private-key "$LOG_DIR/a.key" \
  peer "$(cat "$LOG_DIR/b.pub")" allowed-ips 198.19.0.2/32 endpoint 198.18.0.2:51821
wg set "$IF_B" listen-port 51821 private-key "$LOG_DIR/b.key" \
  peer "$(cat "$LOG_DIR/a.pub")" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820
uapi_set "$IF_B" "tundra_tcp_port=51821"
ip -n "$NS_A" addr add 198.19.0.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 198.19.0.2/24 dev "$IF_B"
ip -n "$NS_A" link set "$IF_A" up
ip -n "$NS_B" link set "$IF_B" up
ping_ok "$NS_A" 198.19.0.2 3 || fail "no tunnel"

declare -a udp tcp
round() {  # round MODE -> Mbit/s
  uapi_set "$IF_A" "public_key=$(hexkey "$LOG_DIR/b.pub")" "tundra_transport=$1"
  ping_ok "$NS_A" 198.19.0.2 2 || fail "no tunnel over $1"
  [ "$(transport_of "$IF_A" "$LOG_DIR/b.pub")" = "$1" ] || fail "A is not on $1"
  in_ns "$NS_B" iperf3 -s -D -1 >/dev/null
  sleep 0.3
  in_ns "$NS_A" iperf3 -c 198.19.0.2 -t "$SECONDS_PER_ROUND" -J > "$LOG_DIR/iperf.json" || fail "iperf3 over $1"
  python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']/1e6))" "$LOG_DIR/iperf.json"
}
for i in $(seq "$ROUNDS"); do
  u=$(round udp); t=$(round tcp)
  udp+=("$u"); tcp+=("$t")
  log "round $i: udp $u Mbit/s, tcp $t Mbit/s (load $(cut -d' ' -f1-3 /proc/loadavg))"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mu=$(median "${udp[@]}") mt=$(median "${tcp[@]}")
log "median of $ROUNDS rounds of ${SECONDS_PER_ROUND} s: udp $mu Mbit/s, tcp $mt Mbit/s, tcp/udp $(python3 -c "print(f'{$mt/$mu:.2f}')")"
stats "$IF_A" | grep '^tcp_drop' | tr '\n' ' ' >&2; echo >&2
