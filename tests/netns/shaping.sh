#!/bin/bash
# Per-peer shaping on real TUN devices (docs/shaping.md): a hub A brought up by `tundra up` from
# a file with `Speed = 10000` (10 Mbit/s each way) on its two peers B and C, both tundra.
#   1. rate accuracy, both directions, both peers at once: iperf3 UDP offered at twice the rate;
#      what arrives, counted in inner IP bytes (the bytes the policer judges), is within +-5 % of
#      10 Mbit/s plus one bucket (the burst spread over the run), and A counts shaped_in (B, C -> A) and shaped_out (A -> B, C) drops.
#   2. TCP through the policer, both peers at once: goodput is printed (TCP backs off at each
#      drop, so it stays a little under the rate); in inner IP bytes it must be 85-105 % of it.
#   3. syncconf to Speed = 0 lifts the limit: the same UDP stream then arrives in full.
# For measurements by hand: SHAPING_RATE (kbit/s, default 10000), SHAPING_BURST (bytes, default
# none: the default burst), SHAPING_SECONDS (per iperf3 run, default 8).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
source "$(dirname "$0")/tcp_lib.sh"
require_root
for tool in wg iperf3 python3; do
  command -v "$tool" >/dev/null || { [ "${TUNDRA_NO_SKIP:-0}" = 1 ] && fail "needs $tool"; log "SKIP: needs $tool"; exit 77; }
done

RATE_KBIT=${SHAPING_RATE:-10000}
SECONDS_PER_RUN=${SHAPING_SECONDS:-8}
LEN=1300  # UDP payload; + 28 bytes of UDP and IPv4 header = the inner IP packet (< MTU 1420)

make_two_hosts
add_third_host NS_C

IF_A=$(ifname sha) IF_B=$(ifname shb) IF_C=$(ifname shc)
CONF=$LOG_DIR/conf
mkdir -m 700 "$CONF"
umask 077
make_keys "$CONF" a b c
cleanup_hub() {
  [ -f "/run/tundra/$IF_A.state" ] && in_ns "$NS_A" "$TUNDRA_BIN" down "$IF_A" >/dev/null 2>&1
  rm -f "/run/tundra/$IF_A.state"
}
CLEANUP_HOOKS+=(cleanup_hub)

# hub_conf SPEED: A's config, SPEED on both peers.
hub_conf() {
  local BURST_LINE=""
  [ -n "${SHAPING_BURST:-}" ] && BURST_LINE=$'\nBurst = '$SHAPING_BURST
  cat > "$CONF/$IF_A.conf" <<EOF
[Interface]
PrivateKeyFile = a.key
Address = 198.19.0.1/24
ListenPort = 51820

[Peer]
PublicKey = $(cat "$CONF/b.pub")
AllowedIPs = 198.19.0.2/32
Speed = $1${BURST_LINE}

[Peer]
PublicKey = $(cat "$CONF/c.pub")
AllowedIPs = 198.19.0.3/32
Speed = $1${BURST_LINE}
EOF
}
hub_conf "$RATE_KBIT"
in_ns "$NS_A" "$TUNDRA_BIN" up "$CONF/$IF_A.conf" > "$LOG_DIR/up-a.log" 2>&1 || fail "tundra up A: $(cat "$LOG_DIR/up-a.log")"

# B and C: plain daemons set with wg, unshaped.
spoke() {  # spoke NS IFNAME HOST N ENDPOINT
  start_impl "$1" tundra "$2"
  wg set "$2" private-key "$CONF/$3.key" \
    peer "$(cat "$CONF/a.pub")" allowed-ips 198.19.0.1/32 endpoint "$5" persistent-keepalive 25
  ip -n "$1" addr add "198.19.0.$4/24" dev "$2"
  ip -n "$1" link set "$2" up
}
spoke "$NS_B" "$IF_B" b 2 198.18.0.1:51820
spoke "$NS_C" "$IF_C" c 3 198.18.1.1:51820
ping_ok "$NS_B" 198.19.0.1 3 || fail "B -> A"
ping_ok "$NS_C" 198.19.0.1 3 || fail "C -> A"
in_ns "$NS_A" "$TUNDRA_BIN" show "$IF_A" > "$LOG_DIR/show-a.txt"
grep -q "shaping: in $RATE_KBIT kbit/s, out $RATE_KBIT kbit/s" "$LOG_DIR/show-a.txt" ||
  fail "tundra show A has no shaping line: $(cat "$LOG_DIR/show-a.txt")"

peer_counter() {  # peer_counter PUBFILE KEY: a counter of that peer at A (tundra_peers=1)
  local want; want=$(hexkey "$1")
  uapi "$IF_A" "tundra_peers=1\n\n" |
    awk -F= -v k="$want" -v f="$2" '$1 == "public_key" {p = ($2 == k)} p && $1 == f {print $2}'
}

# both PORT_B PORT_C ARGS...: iperf3 from B and from C to A at the same time, JSON in
# $LOG_DIR/<name>-b.json, -c.json (name = first ARG without dashes).
both() {
  local name=$1; shift
  in_ns "$NS_A" iperf3 -s -p 5201 -D -1 >/dev/null
  in_ns "$NS_A" iperf3 -s -p 5202 -D -1 >/dev/null
  listening() { in_ns "$NS_A" ss -ltn | grep -q ':5201 ' && in_ns "$NS_A" ss -ltn | grep -q ':5202 '; }
  wait_for 50 listening || fail "the iperf3 servers did not start"
  in_ns "$NS_B" iperf3 -c 198.19.0.1 -p 5201 -t "$SECONDS_PER_RUN" -J "$@" > "$LOG_DIR/$name-b.json" &
  local pb=$!
  in_ns "$NS_C" iperf3 -c 198.19.0.1 -p 5202 -t "$SECONDS_PER_RUN" -J "$@" > "$LOG_DIR/$name-c.json" &
  local pc=$!
  wait $pb || fail "iperf3 $name from B: $(tail -5 "$LOG_DIR/$name-b.json")"
  wait $pc || fail "iperf3 $name from C: $(tail -5 "$LOG_DIR/$name-c.json")"
  sleep 0.5
}
# udp_rate JSON -> kbit/s of inner IP bytes that arrived (packets received x (payload + 28)).
udp_rate() {
  python3 - "$1" "$LEN" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum_received"]
got = s["packets"] - s["lost_packets"]
print(round(got * (int(sys.argv[2]) + 28) * 8 / s["seconds"] / 1000))
PY
}
tcp_goodput() {  # kbit/s received
  python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']/1000))" "$1"
}
within() {  # within VALUE LOW_PERCENT HIGH_PERCENT (of RATE_KBIT)
  python3 -c "import sys; v=int(sys.argv[1]); r=$RATE_KBIT; sys.exit(0 if r*int(sys.argv[2])/100 <= v <= r*int(sys.argv[3])/100 else 1)" "$@"
}

log "1. UDP at 2x the rate, B and C at once, each direction"
# What a policer passes in SECONDS_PER_RUN: the rate, plus one full bucket at the start (the
# default burst: 200 ms at the rate, at least 64 KiB; tundra/base/token_bucket.h).
burst=$((RATE_KBIT * 1000 / 8 / 5)); [ "$burst" -lt 65536 ] && burst=65536
[ -n "${SHAPING_BURST:-}" ] && burst=$SHAPING_BURST
expect=$((RATE_KBIT + burst * 8 / 1000 / SECONDS_PER_RUN))
near() {  # near VALUE: within 5 % of $expect
  python3 -c "import sys; v=int(sys.argv[1]); sys.exit(0 if 0.95*$expect <= v <= 1.05*$expect else 1)" "$1"
}
offer=$((RATE_KBIT * 2))K
for dir in in out; do
  args=(-u -b "$offer" -l "$LEN")
  [ "$dir" = out ] && args+=(-R)
  shaped_before=$(peer_counter "$CONF/b.pub" "shaped_$dir")
  both "udp$dir" "${args[@]}"
  rb=$(udp_rate "$LOG_DIR/udp$dir-b.json") rc=$(udp_rate "$LOG_DIR/udp$dir-c.json")
  shaped_b=$(($(peer_counter "$CONF/b.pub" "shaped_$dir") - shaped_before))
  shaped_c=$(peer_counter "$CONF/c.pub" "shaped_$dir")
  log "   $dir: B $rb kbit/s, C $rc kbit/s (set $RATE_KBIT, with the burst $expect); A counted shaped_$dir B $shaped_b, C $shaped_c"
  near "$rb" || fail "$dir: B got $rb kbit/s, not within 5 % of $expect ($RATE_KBIT + the burst)"
  near "$rc" || fail "$dir: C got $rc kbit/s, not within 5 % of $expect ($RATE_KBIT + the burst)"
  [ "$shaped_b" -gt 0 ] && [ "$shaped_c" -gt 0 ] || fail "$dir: A counted no shaped_$dir drops"
done

log "2. TCP, B and C at once, each direction"
# Inner IP bytes per byte of goodput: full segments of MTU bytes carry MTU - 52 (IPv4 20, TCP 20,
# timestamps 12).
MTU=$(cat "/sys/class/net/$IF_A/mtu" 2>/dev/null || in_ns "$NS_A" cat "/sys/class/net/$IF_A/mtu")
for dir in in out; do
  args=()
  [ "$dir" = out ] && args+=(-R)
  both "tcp$dir" "${args[@]}"
  for h in b c; do
    g=$(tcp_goodput "$LOG_DIR/tcp$dir-$h.json")
    ip=$((g * MTU / (MTU - 52)))
    log "   $dir: ${h^^} goodput $g kbit/s = $ip kbit/s of inner IP packets (set $RATE_KBIT)"
    within "$ip" 85 105 || fail "$dir: ${h^^} TCP carried $ip kbit/s"
  done
done

log "3. syncconf to Speed = 0: no limit"
hub_conf 0
in_ns "$NS_A" "$TUNDRA_BIN" syncconf "$CONF/$IF_A.conf" > "$LOG_DIR/sync.log" 2>&1 ||
  fail "syncconf: $(cat "$LOG_DIR/sync.log")"
! in_ns "$NS_A" "$TUNDRA_BIN" show "$IF_A" | grep -q "shaping:" || fail "a shaping line is left after Speed = 0"
both udpfree -u -b "${offer}" -l "$LEN"
rb=$(udp_rate "$LOG_DIR/udpfree-b.json")
log "   unshaped: B $rb kbit/s of $offer offered"
within "$rb" 190 210 || fail "unshaped: B got $rb kbit/s of ${offer}"
in_ns "$NS_A" "$TUNDRA_BIN" down "$IF_A" > "$LOG_DIR/down-a.log" 2>&1 || fail "tundra down A"
log "PASS"
