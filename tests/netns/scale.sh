#!/bin/bash
# Many peers through the real daemon and the real `wg`: for each size in SCALE_SIZES (default
# 5000 10000 20000 100000) `wg setconf` of one real peer (host B) plus N generated peers with one
# allowed IP each (IPv4 /32 from 198.18.128.0/17 for the first 30,000, IPv6 /128 from
# fd19:1::/64 after), then `wg show dump`. Checks: every peer present once, the count, the
# allowed IP of a sample of 500 peers, the real peer still reachable. Reports (does not assert)
# the setconf and dump times (wall, and the daemon's CPU time, which a loaded machine does not
# inflate), the daemon's RSS before and after (bytes per peer), and a ping
# through the tunnel every 10 ms during the 100k-peer setconf (lost and slowest replies: the
# traffic stall a configuration write causes). SCALE_IMPL=wireguard-go measures Debian's
# wireguard-go on side A instead (it holds at most 65,536 peers). SCALE_PERF=DIR profiles each
# step (perf record -g) into DIR.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"
command -v python3 >/dev/null || fail "python3 is needed to generate the configurations"

SCALE_SIZES=${SCALE_SIZES:-5000 10000 20000 100000}
SCALE_IMPL=${SCALE_IMPL:-tundra}
# Only a sanity bound per step (the machine is shared): a step this slow is a hang.
STEP_TIMEOUT=${STEP_TIMEOUT:-300}

setup "$SCALE_IMPL" tundra 4 no
ping_ok "$NS_A" 198.19.0.2 3 || fail "no tunnel before the scale test"
PID_A=$(ip netns pids "$NS_A" | head -1)
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID_A/status"; }
# The daemon's CPU time (user + system) in ms: robust where wall time is not (a loaded machine).
cpu_ms() {
  awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$PID_A/stat"
}

# gen N OUT: a setconf file (the real peer first) and OUT.expect: "pubkey allowed-ip" per peer.
gen() {
  python3 - "$1" "$2" "$LOG_DIR" <<'PY'
import base64, ipaddress, random, sys
n, out, d = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(n)  # deterministic per size
with open(out, "w") as f, open(out + ".expect", "w") as e:
    f.write("[Interface]\nPrivateKey = %s\nListenPort = 51820\n" % open(d + "/a.key").read().strip())
    f.write("[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.0.2/32, fd19::2/128\n"
            "Endpoint = 198.18.0.2:51821\n" % open(d + "/b.pub").read().strip())
    for i in range(n):
        key = base64.b64encode(rng.randbytes(32)).decode()
        ip = ("198.18.%d.%d/32" % (128 + i // 256, i % 256)) if i < 30000 else ("%s/128" % ipaddress.IPv6Address((0xfd190001 << 96) + i))
        f.write("[Peer]\nPublicKey = %s\nAllowedIPs = %s\n" % (key, ip))
        if i % 10 == 0:
            f.write("Endpoint = 198.18.%d.%d:51820\n" % (1 + i // 65536 % 100, i % 256))
        e.write("%s %s\n" % (key, ip))
PY
}

# check_dump DUMP EXPECT N: every peer once, the count, a sample of 500 allowed IPs.
check_dump() {
  python3 - "$1" "$2" "$3" <<'PY' || fail "wg show dump of $3 peers is wrong"
import random, sys
dump, expect, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(dump).read().splitlines()
peers = {}
for line in lines[1:]:
    f = line.split("\t")
    if f[0] in peers: sys.exit("peer %s twice" % f[0])
    peers[f[0]] = f[3]
want = [l.split() for l in open(expect)]
if len(peers) != n + 1: sys.exit("%d peers in the dump, want %d" % (len(peers), n + 1))
missing = [k for k, _ in want if k not in peers]
if missing: sys.exit("%d peers missing, e.g. %s" % (len(missing), missing[0]))
for k, ip in random.Random(1).sample(want, min(500, len(want))):
    if peers[k] != ip: sys.exit("peer %s: allowed ips %r, want %r" % (k, peers[k], ip))
PY
}

# SCALE_PERF=DIR: `perf record -g` of the daemon during each setconf and dump, into DIR.
PERF_PID=""
perf_start() {
  [ -n "${SCALE_PERF:-}" ] || return 0
  perf record -q -g -p "$PID_A" -o "$SCALE_PERF/perf-$1.data" 2>/dev/null &
  PERF_PID=$!
  sleep 0.5
}
perf_stop() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID"; wait "$PERF_PID" || true
  PERF_PID=""
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
rss0=$(rss_kb)
log "load before: $(cut -d' ' -f1-3 /proc/loadavg); $SCALE_IMPL idle RSS ${rss0} kB with 1 peer"
for n in $SCALE_SIZES; do
  conf="$LOG_DIR/scale-$n.conf"
  gen "$n" "$conf"
  pinger=""
  if [ "$n" = "${SCALE_SIZES##* }" ]; then  # the largest size: ping through the tunnel meanwhile
    # Not through in_ns: a function in the background is a subshell that would not pass the
    # SIGINT on; `ip netns exec` execs ping itself.
    ip netns exec "$NS_A" ping -i 0.01 -W 1 198.19.0.2 > "$LOG_DIR/ping-$n" 2>&1 &
    pinger=$!
    sleep 0.5
  fi
  perf_start "$n-setconf"
  t=$(date +%s%N) c=$(cpu_ms)
  timeout "$STEP_TIMEOUT" wg setconf "$IF_A" "$conf" || fail "wg setconf of $n peers"
  set_ms=$(ms_since "$t") set_cpu=$(($(cpu_ms) - c))
  rss_set=$(rss_kb)
  perf_stop
  if [ -n "$pinger" ]; then
    sleep 0.5
    kill -INT "$pinger"; wait "$pinger" || true
  fi
  perf_start "$n-dump"
  t=$(date +%s%N) c=$(cpu_ms)
  timeout "$STEP_TIMEOUT" wg show "$IF_A" dump > "$LOG_DIR/dump-$n" || fail "wg show dump of $n peers"
  dump_ms=$(ms_since "$t") dump_cpu=$(($(cpu_ms) - c))
  perf_stop
  check_dump "$LOG_DIR/dump-$n" "$conf.expect" "$n"
  rss=$(rss_kb)
  log "$SCALE_IMPL $n peers: wg setconf ${set_ms} ms (daemon CPU ${set_cpu} ms)," \
    "wg show dump ${dump_ms} ms (daemon CPU ${dump_cpu} ms); RSS after setconf ${rss_set} kB" \
    "($(((rss_set - rss0) * 1024 / n)) bytes/peer over the 1-peer daemon), after dump ${rss} kB"
  if [ -n "$pinger" ]; then
    python3 - "$LOG_DIR/ping-$n" <<'PY' >&2
import re, sys
text = open(sys.argv[1]).read()
rtts = [float(x) for x in re.findall(r"time=([\d.]+) ms", text)]
sent = re.search(r"(\d+) packets transmitted, (\d+) received", text)
if sent and rtts:
    print("  ping every 10 ms during setconf: %s sent, %s answered, slowest %.1f ms, median %.2f ms"
          % (sent.group(1), sent.group(2), max(rtts), sorted(rtts)[len(rtts) // 2]))
PY
  fi
  ping_ok "$NS_A" 198.19.0.2 3 || fail "the real peer is unreachable with $n peers configured"
  rm -f "$LOG_DIR/dump-$n" "$conf" "$conf.expect" "$LOG_DIR/ping-$n"
done
log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
teardown
log "PASS"
