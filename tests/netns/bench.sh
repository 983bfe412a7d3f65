#!/bin/bash
# `make bench`: single-stream TCP throughput through a tunnel between two namespaces, tundra
# against Debian's wireguard-go and, when TUNDRA_PEER2 names one, a second implementation
# (e.g. the newer wireguard-go build), all in the same run. Needs only this repo and Debian
# packages (wg, iperf3, wireguard-go); root.
#
# Each system gets its own pair of namespaces (a veth, the same implementation on both ends);
# `veth` is the bare link, the ceiling. A round measures every system once in each direction
# (A -> B, then B -> A with iperf3 -R), for ROUND_SECONDS s each, then 4 parallel TCP streams
# A -> B, then a UDP flood of 1400-byte IP packets A -> B (packets received per second), then
# 20 pings (RTT), systems
# interleaved so that drifting machine load hits them alike; ROUNDS rounds. Printed: every
# round, then per system and direction the median with the spread (min-max), the median ping
# RTT, the daemons' CPU seconds per GB moved (both ends, from /proc/PID/stat), A's daemon's RSS
# idle (after setup) and peak (VmHWM); and tundra's ratio to each other system: the ratio of
# the medians and the spread of the per-round ratios. Speed is measured here, never asserted: not part of
# `make test`. docs/performance.md says how to read and quote the figures.
source "$(dirname "$0")/lib.sh"
require_root
ROUNDS=${ROUNDS:-5} SECONDS_PER_ROUND=${ROUND_SECONDS:-5}
for tool in wg iperf3 python3; do command -v "$tool" >/dev/null || fail "needs $tool"; done
[ -x "$WG_GO" ] || fail "needs Debian's wireguard-go at $WG_GO (apt-get install wireguard-go)"

systems=(tundra wireguard-go)
[ "${BENCH_VETH:-1}" = 1 ] && systems+=(veth)
[ -n "$TUNDRA_PEER2" ] && systems+=(peer2)
umask 077
make_keys "$LOG_DIR" a b

# setup SYSTEM INDEX: namespaces NSA_<i>/NSB_<i>, the tunnel 198.19.0.1 <-> 198.19.0.2 in them.
declare -A NSA NSB DST DAEMONS RSS_IDLE
# daemons NS: the pids in NS other than iperf3's.
daemons() {
  local pid
  for pid in $(ip netns pids "$1"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = iperf3 ] || echo "$pid"
  done
}
# cpu_ticks PID...: utime + stime of them all.
cpu_ticks() {
  local t=0 pid
  for pid in "$@"; do
    t=$((t + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$pid/stat")))
  done
  echo "$t"
}
setup() {
  local sys=$1 i=$2 a b ifa ifb
  make_host_pair a b "$i"
  NSA[$sys]=$a NSB[$sys]=$b
  if [ "$sys" = veth ]; then
    DST[$sys]=198.18.0.2 DAEMONS[$sys]=""
    in_ns "$b" iperf3 -s -D >/dev/null
    return
  fi
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
  DST[$sys]=198.19.0.2
  DAEMONS[$sys]="$(daemons "$a" | tr '\n' ' ')$(daemons "$b" | tr '\n' ' ')"
  local pa
  pa=$(daemons "$a" | head -1)
  RSS_IDLE[$sys]=$(awk '/^VmRSS:/ {print $2}' "/proc/$pa/status")
  in_ns "$b" iperf3 -s -D >/dev/null
}

# measure SYSTEM [-R] -> "Mbit/s bytes" received
measure() {
  local sys=$1 json="$LOG_DIR/iperf-$1.json"
  shift
  in_ns "${NSA[$sys]}" iperf3 -c "${DST[$sys]}" -t "$SECONDS_PER_ROUND" -J "$@" > "$json" ||
    fail "$sys: iperf3 $*: $(tail -5 "$json")"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['end']['sum_received']; print(round(r['bits_per_second']/1e6), r['bytes'])" "$json"
}
# udp_kpps SYSTEM -> thousands of 1400-byte IP packets (1372-byte UDP payload) received per
# second, A -> B, sent as fast as iperf3 can (its warning that 1372 exceeds the control
# connection's MSS is beside the point: 1400 bytes fit the tunnel's MTU of 1420)
udp_kpps() {
  local json="$LOG_DIR/iperf-udp-$1.json"
  in_ns "${NSA[$1]}" iperf3 -c "${DST[$1]}" -u -b 0 -l 1372 -t "$SECONDS_PER_ROUND" -J > "$json" 2>>"$LOG_DIR/iperf-udp.err" ||
    fail "$1: iperf3 -u: $(tail -5 "$json")"
  python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['end']['sum']; print(round((s['packets'] - s['lost_packets']) / s['seconds'] / 1e3, 1))" "$json"
}
# rtt SYSTEM -> the average of 20 pings, ms
rtt() {
  in_ns "${NSA[$1]}" ping -c 20 -i 0.05 -q "${DST[$1]}" | sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p'
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
    # shellcheck disable=SC2086
    t0=$(cpu_ticks ${DAEMONS[$sys]})
    read -r ab ab_bytes < <(measure "$sys")
    read -r ba ba_bytes < <(measure "$sys" -R)
    # shellcheck disable=SC2086
    t1=$(cpu_ticks ${DAEMONS[$sys]})
    read -r p4 _ < <(measure "$sys" -P 4)
    kpps=$(udp_kpps "$sys")
    ms=$(rtt "$sys")
    echo "$r $sys $ab $ba $ms $((t1 - t0)) $((ab_bytes + ba_bytes)) $p4 $kpps" >> "$results"
    line+=" $sys $ab/$ba/$p4/${kpps}k"
  done
  log "$line (Mbit/s A->B/B->A/4 streams, UDP kpps; load $(cut -d' ' -f1-3 /proc/loadavg))"
done
rss=""
for sys in "${systems[@]}"; do
  [ -n "${DAEMONS[$sys]}" ] || continue
  pa=${DAEMONS[$sys]%% *}
  rss+="$sys ${RSS_IDLE[$sys]} $(awk '/^VmHWM:/ {print $2}' "/proc/$pa/status") "
done
python3 - "$results" "$(getconf CLK_TCK)" "$rss" "${systems[@]}" <<'PY' >&2
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
hz = float(sys.argv[2])
rss = sys.argv[3].split()
rss = {rss[i]: (rss[i + 1], rss[i + 2]) for i in range(0, len(rss), 3)}
systems = sys.argv[4:]
metrics = ("a->b", "b->a", "4 streams a->b", "udp kpps a->b")
data = {s: {**{m: {} for m in metrics}, "rtt": [], "ticks": 0, "bytes": 0} for s in systems}
for r, s, ab, ba, ms, ticks, nbytes, p4, kpps in rows:
    data[s]["a->b"][int(r)] = float(ab)
    data[s]["b->a"][int(r)] = float(ba)
    data[s]["4 streams a->b"][int(r)] = float(p4)
    data[s]["udp kpps a->b"][int(r)] = float(kpps)
    data[s]["rtt"].append(float(ms))
    data[s]["ticks"] += int(ticks)
    data[s]["bytes"] += int(nbytes)
for s in systems:
    for d in metrics:
        v = list(data[s][d].values())
        unit = "k packets/s" if "kpps" in d else "Mbit/s"
        print(f"  {s:>13} {d}: median {statistics.median(v):7.1f} {unit} (min {min(v):.1f}, max {max(v):.1f})")
    extra = f"ping {statistics.median(data[s]['rtt']):.3f} ms"
    if s in rss:
        cpu = data[s]["ticks"] / hz / (data[s]["bytes"] / 1e9)
        extra += f", {cpu:.2f} CPU s/GB (both daemons), RSS of A idle {int(rss[s][0]) / 1024:.1f} MB, peak {int(rss[s][1]) / 1024:.1f} MB"
    print(f"  {s:>13}: {extra}")
for other in systems[1:]:
    for d in metrics:
        t, o = data["tundra"][d], data[other][d]
        ratio = statistics.median(t.values()) / statistics.median(o.values())
        per_round = [t[r] / o[r] for r in t]
        print(f"  tundra/{other} {d}: {ratio:.2f}x (per-round ratios {min(per_round):.2f}-{max(per_round):.2f})")
PY
log "done"
