#!/bin/bash
# `make bench`: single-stream TCP throughput through a tunnel between two namespaces, tundra
# against Debian's wireguard-go and, when TUNDRA_PEER2 names one, a second implementation
# (e.g. the newer wireguard-go build), all in the same run. Needs only this repo and Debian
# packages (wg, iperf3, wireguard-go); root.
#
# Each system gets its own pair of namespaces (a veth, the same implementation on both ends).
# A round measures every system once in each direction (A -> B, then B -> A with iperf3 -R),
# for ROUND_SECONDS s each, systems interleaved so that drifting machine load hits them alike;
# ROUNDS rounds. Printed: every round, then per system and direction the median with the
# spread (min-max), and tundra's ratio to each other system: the ratio of the medians and the
# spread of the per-round ratios. Speed is measured here, never asserted: not part of
# `make test`. docs/performance.md says how to read and quote the figures.
source "$(dirname "$0")/lib.sh"
require_root
ROUNDS=${ROUNDS:-5} SECONDS_PER_ROUND=${ROUND_SECONDS:-5}
for tool in wg iperf3 python3; do command -v "$tool" >/dev/null || fail "needs $tool"; done
[ -x "$WG_GO" ] || fail "needs Debian's wireguard-go at $WG_GO (apt-get install wireguard-go)"

systems=(tundra wireguard-go)
[ -n "$TUNDRA_PEER2" ] && systems+=(peer2)
umask 077
for h in a b; do
  "$TUNDRA_BIN" genkey > "$LOG_DIR/$h.key"
  "$TUNDRA_BIN" pubkey < "$LOG_DIR/$h.key" > "$LOG_DIR/$h.pub"
done

# setup SYSTEM INDEX: namespaces NSA_<i>/NSB_<i>, the tunnel 198.19.0.1 <-> 198.19.0.2 in them.
declare -A NSA NSB
setup() {
  local sys=$1 i=$2 a b ifa ifb
  new_ns a "a$i"
  new_ns b "b$i"
  NSA[$sys]=$a NSB[$sys]=$b
  ip link add "bva$i" netns "$a" type veth peer name "bvb$i" netns "$b"
  ip -n "$a" addr add 198.18.0.1/24 dev "bva$i"
  ip -n "$b" addr add 198.18.0.2/24 dev "bvb$i"
  ip -n "$a" link set "bva$i" up
  ip -n "$b" link set "bvb$i" up
  ifa=$(ifname "bn${i}a") ifb=$(ifname "bn${i}b")
  IMPL_LOG_LEVEL=error start_impl "$a" "$sys" "$ifa"
  IMPL_LOG_LEVEL=error start_impl "$b" "$sys" "$ifb"
  wg set "$ifa" listen-port 51820 private-key "$LOG_DIR/a.key" \
    peer "$(cat "$LOG_DIR/b.pub")" allowed-ips 198.19.0.2/32 endpoint 198.18.0.2:51820
  wg set "$ifb" listen-port 51820 private-key "$LOG_DIR/b.key" \
    peer "$(cat "$LOG_DIR/a.pub")" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820
  ip -n "$a" addr add 198.19.0.1/24 dev "$ifa"
  ip -n "$b" addr add 198.19.0.2/24 dev "$ifb"
  ip -n "$a" link set "$ifa" up
  ip -n "$b" link set "$ifb" up
  ping_ok "$a" 198.19.0.2 3 || fail "$sys: no tunnel"
  in_ns "$b" iperf3 -s -D >/dev/null
}

# measure SYSTEM [-R] -> Mbit/s received
measure() {
  local sys=$1 json="$LOG_DIR/iperf-$1.json"
  shift
  in_ns "${NSA[$sys]}" iperf3 -c 198.19.0.2 -t "$SECONDS_PER_ROUND" -J "$@" > "$json" ||
    fail "$sys: iperf3 $*: $(tail -5 "$json")"
  python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['end']['sum_received']['bits_per_second']/1e6))" "$json"
}

i=0
for sys in "${systems[@]}"; do
  setup "$sys" "$i"
  i=$((i + 1))
done
log "$ROUNDS rounds of ${SECONDS_PER_ROUND} s per system and direction: ${systems[*]}" \
  "(wireguard-go: $WG_GO${TUNDRA_PEER2:+, peer2: $TUNDRA_PEER2}); load $(cut -d' ' -f1-3 /proc/loadavg)"
results=$LOG_DIR/results
: > "$results"
for r in $(seq "$ROUNDS"); do
  line="round $r:"
  for sys in "${systems[@]}"; do
    ab=$(measure "$sys") ba=$(measure "$sys" -R)
    echo "$r $sys $ab $ba" >> "$results"
    line+=" $sys $ab/$ba"
  done
  log "$line Mbit/s (A->B/B->A; load $(cut -d' ' -f1-3 /proc/loadavg))"
done
python3 - "$results" "${systems[@]}" <<'PY' >&2
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
systems = sys.argv[2:]
data = {s: {"a->b": {}, "b->a": {}} for s in systems}
for r, s, ab, ba in rows:
    data[s]["a->b"][int(r)] = float(ab)
    data[s]["b->a"][int(r)] = float(ba)
for s in systems:
    for d in ("a->b", "b->a"):
        v = list(data[s][d].values())
        print(f"  {s:>13} {d}: median {statistics.median(v):7.0f} Mbit/s (min {min(v):.0f}, max {max(v):.0f})")
for other in systems[1:]:
    for d in ("a->b", "b->a"):
        t, o = data["tundra"][d], data[other][d]
        ratio = statistics.median(t.values()) / statistics.median(o.values())
        per_round = [t[r] / o[r] for r in t]
        print(f"  tundra/{other} {d}: {ratio:.2f}x (per-round ratios {min(per_round):.2f}-{max(per_round):.2f})")
PY
log "done"
