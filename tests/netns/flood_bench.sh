#!/bin/bash
# `make flood-bench`: how much of its throughput a live session keeps while its peer is flooded
# with handshake initiations (issue #15: 50,000/s with a valid mac1 from many sources; the
# session must keep >= 80 %). tundra <-> tundra (A -> B, one iperf3 stream) and a third host C
# with 32 source addresses that floods B (tests/netns/handshake_flood.cc, sendmmsg, paced).
#
# A round measures the stream alone for ROUND_SECONDS s, then again while the flood runs
# (the flood starts 1 s before and ends after it), then waits for B's backlog to drain; ROUNDS
# rounds, interleaved so that drifting machine load hits both alike. Printed: every round
# (Mbit/s alone, under the flood, the ratio, the flood's rate and the cookie replies B sent),
# then the medians with their spread (min-max) and the median of the per-round ratios.
# Measured, never asserted (the CI test, hardening.sh FLOOD, asserts only a floor); root.
# docs/security.md has the figures.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
require_root
ROUNDS=${ROUNDS:-5} SECONDS_PER_ROUND=${ROUND_SECONDS:-5}
FLOOD_RATE=${FLOOD_RATE:-50000}
: "${HANDSHAKE_FLOOD:?HANDSHAKE_FLOOD must point at the handshake_flood tool (built in tests/netns)}"
for tool in wg iperf3 python3; do command -v "$tool" >/dev/null || fail "needs $tool"; done

IMPL_LOG_LEVEL=${IMPL_LOG_LEVEL:-error} setup tundra tundra 4 no
ping_ok "$NS_A" 198.19.0.2 2 || fail "first ping"
add_flood_host
in_ns "$NS_B" iperf3 -s -D -I "$LOG_DIR/iperf.pid" >/dev/null
CLEANUP_HOOKS+=("kill \$(cat $LOG_DIR/iperf.pid 2>/dev/null) 2>/dev/null")
sleep 0.3
mbps() {
  in_ns "$NS_A" iperf3 -c 198.19.0.2 -t "$SECONDS_PER_ROUND" -J | python3 -c \
    'import json, sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'
}
log "tundra $("$TUNDRA_BIN" --version 2>/dev/null | head -1); $ROUNDS rounds of ${SECONDS_PER_ROUND} s; flood $FLOOD_RATE/s"
results=()
for r in $(seq "$ROUNDS"); do
  alone=$(mbps) || fail "iperf3 (alone), round $r"
  cookies_before=$(stat_of "$IF_B" drop_cookie_sent)
  start_flood "$FLOOD_RATE" $((SECONDS_PER_ROUND + 2)) > "$LOG_DIR/flood.out"
  sleep 1
  under=$(mbps) || fail "iperf3 (under the flood), round $r"
  wait "$FLOOD_PID" || fail "the flood generator failed, round $r"
  read -r sent rate < "$LOG_DIR/flood.out"
  sleep 2  # B's backlog drains before the next round
  cookies=$(( $(stat_of "$IF_B" drop_cookie_sent) - cookies_before ))
  [ "$cookies" -gt 0 ] || fail "round $r: B sent no cookie reply under the flood"
  log "round $r: alone $alone Mbit/s, under the flood $under Mbit/s ($((100 * under / (alone > 0 ? alone : 1))) %); flood ${rate%.*}/s ($sent sent), $cookies cookie replies"
  results+=("$alone $under ${rate%.*}")
done
printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
def show(name, xs, unit):
    print(f"  {name}: median {statistics.median(xs):.0f}{unit} ({min(xs):.0f}-{max(xs):.0f})")
show("alone", [r[0] for r in rows], " Mbit/s")
show("under the flood", [r[1] for r in rows], " Mbit/s")
show("flood rate", [r[2] for r in rows], "/s")
ratios = [100 * r[1] / r[0] for r in rows if r[0] > 0]
print(f"  kept: median {statistics.median(ratios):.0f} % of the throughput "
      f"(per round {min(ratios):.0f}-{max(ratios):.0f} %), {len(rows)} rounds")
'
kill "$(cat "$LOG_DIR/iperf.pid")"
teardown
ip netns del "$NS_C"
