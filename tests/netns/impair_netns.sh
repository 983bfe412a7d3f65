#!/bin/bash
# System test of `tundra impair` (real binary, two namespaces joined by a veth):
#   A (198.18.0.1) sends paced, numbered datagrams to the relay in B (198.18.0.2:9000), which
#   relays them to a receiver in B (198.18.0.2:9001).
#   (a) --loss 20 --seed 7: 20 % +- 2 % of 10,000 datagrams are dropped, every one counted as
#       dropped_loss; a second run with the same seed drops exactly the same sequence numbers;
#       --seed 8 drops different ones.
#   (b) --delay 100: the median one-way delay (CLOCK_MONOTONIC stamps, shared by namespaces)
#       of 300 datagrams is 100 ms +- 2 ms, none earlier than 100 ms.
#   Every run: SIGUSR1 prints the counters (JSON) and the relay goes on; SIGTERM prints them again.
#   (c) --tcp --rate 10000 --delay 20: 6 MB through the stream relay arrive byte-exact (sha256),
#       in the time the rate allows (4.8 s + the delay) +- 5 %, with no drops and the relay's
#       flow control engaged (throttled > 0); a second connection at the same time shares the
#       link; a refused target is counted as connect_error; options that have no meaning for
#       a stream (--loss) are refused with a clear error.
# Needs TUNDRA_BIN. Root only (exit 77 otherwise, unless TUNDRA_NO_SKIP=1).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TEST_NAME=impair
source "$HERE/lib.sh"
require_root
UDP="$HERE/impair_udp.py"
COUNT=10000
# Timing-critical processes (the relay, the timestamping receiver and sender) run SCHED_FIFO:
# on a loaded machine the CFS run queue alone would stretch a 100 ms delay by 10-15 ms.
RT=()
chrt -f 10 true 2>/dev/null && RT=(chrt -f 10)

make_two_hosts

# run_relay NAME COUNT PACE_US IMPAIR_OPTIONS...: one relay run; leaves $LOG_DIR/NAME.{rx,json}.
run_relay() {
  local name=$1 count=$2 pace=$3
  shift 3
  rm -f "$LOG_DIR/$name.rx.ready"
  # Not through a shell function: $! must be the relay itself (ip netns exec execs it), and
  # SIGTERM, since a background job of a script ignores SIGINT.
  ip netns exec "$NS_B" "${RT[@]}" "$TUNDRA_BIN" impair --listen 198.18.0.2:9000 --to 198.18.0.2:9001 --json "$@" \
    >"$LOG_DIR/$name.json" 2>"$LOG_DIR/$name.log" &
  local relay=$!
  ip netns exec "$NS_B" "${RT[@]}" python3 "$UDP" recv 198.18.0.2 9001 "$LOG_DIR/$name.rx" 1.5 &
  local rx=$!
  wait_for 50 test -e "$LOG_DIR/$name.rx.ready" || fail "$name: receiver did not start"
  wait_for 50 in_ns "$NS_B" sh -c 'ss -Hlun | grep -q 198.18.0.2:9000' ||
    fail "$name: relay did not start"
  timeout 60 ip netns exec "$NS_A" "${RT[@]}" python3 "$UDP" send 198.18.0.2 9000 "$count" "$pace"
  wait "$rx" || fail "$name: receiver failed"
  kill -USR1 "$relay"  # prints the counters and keeps running
  # (The file is read on every try: a $(...) argument would be read once, before the relay
  # had a chance to answer the signal.)
  wait_for 50 test -s "$LOG_DIR/$name.json" || fail "$name: nothing on SIGUSR1"
  kill -0 "$relay" || fail "$name: relay exited on SIGUSR1"
  kill -TERM "$relay"
  wait "$relay" || fail "$name: relay exited $?"
}

# ---- (a) loss 20 %, the same seed drops the same datagrams
run_relay loss7 "$COUNT" 100 --loss 20 --seed 7
run_relay loss7b "$COUNT" 100 --loss 20 --seed 7
run_relay loss8 "$COUNT" 100 --loss 20 --seed 8
python3 - "$LOG_DIR" "$COUNT" <<'PY' || fail "(a) loss"
import json, sys
d, count = sys.argv[1], int(sys.argv[2])
def dropped(name):
    got = {int(l.split()[0]) for l in open(f"{d}/{name}.rx")}
    c = json.loads(open(f"{d}/{name}.json").read().strip().splitlines()[-1])
    lost = set(range(count)) - got
    # Every missing datagram was dropped by the model, for loss, and nothing else went wrong.
    assert c["up"]["received"] == count, c
    assert c["up"]["dropped"]["loss"] == len(lost), (len(lost), c)
    assert c["up"]["sent"] == len(got) and c["relay"]["send_error"] == 0, c
    return lost
a, b, other = dropped("loss7"), dropped("loss7b"), dropped("loss8")
pct = 100.0 * len(a) / count
print(f"[impair] --loss 20 --seed 7: {len(a)} of {count} dropped ({pct:.2f} %); "
      f"rerun: {len(b)}, identical: {a == b}; --seed 8: {len(other)} dropped, "
      f"{len(a & other)} in common", file=sys.stderr)
assert abs(pct - 20) <= 2, pct
assert a == b, sorted(a ^ b)[:20]
assert a != other
PY

# ---- (b) delay 100 ms
run_relay delay 300 10000 --delay 100 --seed 1
python3 - "$LOG_DIR/delay.rx" "$LOG_DIR/delay.json" <<'PY' || fail "(b) delay"
import json, statistics, sys
usr1, final = [json.loads(l) for l in open(sys.argv[2])]  # SIGUSR1, then exit
assert usr1 == final and final["up"]["sent"] == 300, (usr1, final)
ms = [float(l.split()[1]) for l in open(sys.argv[1])]
assert len(ms) == 300, len(ms)
med = statistics.median(ms)
print(f"[impair] --delay 100: one-way median {med:.3f} ms, min {min(ms):.3f}, "
      f"max {max(ms):.3f} ms over {len(ms)} datagrams", file=sys.stderr)
assert abs(med - 100) <= 2, med
assert min(ms) >= 100, min(ms)
PY

# ---- (c) the TCP relay: rate and delay apply to bytes
ip netns exec "$NS_B" "${RT[@]}" "$TUNDRA_BIN" impair --tcp --listen 198.18.0.2:9100 --to 198.18.0.2:9101 \
  --rate 10000 --delay 20 --seed 5 --json >"$LOG_DIR/tcp.json" 2>"$LOG_DIR/tcp.log" &
tcp_relay=$!
wait_for 50 in_ns "$NS_B" sh -c 'ss -Hltn | grep -q 198.18.0.2:9100' || fail "(c) relay did not start"
ip netns exec "$NS_B" python3 "$HERE/impair_tcp.py" sink 198.18.0.2 9101 2 "$LOG_DIR/tcp.sink" &
sink=$!
wait_for 50 test -e "$LOG_DIR/tcp.sink.ready" || fail "(c) sink did not start"
timeout 60 ip netns exec "$NS_A" python3 "$HERE/impair_tcp.py" send 198.18.0.2 9100 6000000 2 \
  "$LOG_DIR/tcp.send" || fail "(c) sender failed"
wait "$sink" || fail "(c) sink failed"
# A connection to a target that refuses (the sink has gone): counted, the relay lives on.
ip netns exec "$NS_A" timeout 10 python3 -c "
import socket
s = socket.create_connection(('198.18.0.2', 9100))
s.settimeout(5)
assert s.recv(1) == b''  # closed by the relay once its connect was refused
" || fail "(c) a refused target did not close the client's connection"
kill -USR1 "$tcp_relay"
wait_for 50 test -s "$LOG_DIR/tcp.json" || fail "(c) nothing on SIGUSR1"
kill -TERM "$tcp_relay"
wait "$tcp_relay" || fail "(c) relay exited $?"
python3 - "$LOG_DIR" <<'PY' || fail "(c) tcp"
import json, sys
d = sys.argv[1]
sent = json.load(open(f"{d}/tcp.send"))
got = json.load(open(f"{d}/tcp.sink"))
c = json.loads(open(f"{d}/tcp.json").read().strip().splitlines()[-1])
assert sorted(s["sha256"] for s in sent) == sorted(g["sha256"] for g in got), (sent, got)
assert all(g["bytes"] == 6000000 for g in got), got
# Two connections of 6 MB share one 10 Mbit/s link: 9.6 s for the bytes, plus the delay.
secs = max(g["end"] for g in got) - min(s["start"] for s in sent)
expect = 2 * 6000000 * 8 / 10e6 + 0.020
print(f"[impair] --tcp --rate 10000 --delay 20: 2 x 6 MB in {secs:.3f} s "
      f"(rate allows {expect:.3f} s, {100 * (secs / expect - 1):+.2f} %); counters {c['tcp']}",
      file=sys.stderr)
assert abs(secs / expect - 1) <= 0.05, secs
t = c["tcp"]
assert t["accepted"] == 3 and t["closed"] == 2 and t["reset"] == 0, t
assert t["connect_error"] == 1 and t["active"] == 0, t
assert t["bytes_in_up"] == t["bytes_out_up"] == 12000000, t
assert t["throttled_up"] > 0, t
assert sum(c["up"]["dropped"].values()) == 0, c
PY
if ip netns exec "$NS_B" "$TUNDRA_BIN" impair --tcp --listen 198.18.0.2:9100 \
  --to 198.18.0.2:9101 --loss 1 >/dev/null 2>"$LOG_DIR/tcp.bad"; then
  fail "(c) --tcp accepted --loss"
fi
grep -q "has no meaning for a TCP stream" "$LOG_DIR/tcp.bad" || fail "(c) unclear error: $(cat "$LOG_DIR/tcp.bad")"
log PASS
