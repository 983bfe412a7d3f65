#!/bin/bash
# Soak: a TCP transfer of SOAK_BYTES (default 1 GB) between two tundra peers whose underlay
# crosses `tundra impair` with 5 % loss, 2 % reorder (behind a 2 ms delay) and 1 % duplicates
# in each direction. The bytes arrive exactly (sha256 on both sides), and the relay's counters
# show that the impairment happened.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"
SOAK_BYTES=${SOAK_BYTES:-1000000000}

setup tundra tundra 4 no
# A's datagrams for B go to the relay on B's host, which passes them on to B's port; B learns
# the relay as A's endpoint from the first authenticated packet and answers through it.
ip netns exec "$NS_B" "$TUNDRA_BIN" impair --listen 198.18.0.2:9000 --to 198.18.0.2:51821 \
  --loss 5 --delay 2 --reorder 2 --duplicate 1 --seed 42 --json \
  > "$LOG_DIR/impair.json" 2> "$LOG_DIR/impair.log" &
relay=$!
CLEANUP_HOOKS+=("kill $relay 2>/dev/null")
wait_for 50 in_ns "$NS_B" sh -c 'ss -Hlun | grep -q 198.18.0.2:9000' || fail "the relay did not start"
wg set "$IF_A" peer "$(cat "$LOG_DIR/b.pub")" endpoint 198.18.0.2:9000
ping_ok "$NS_A" 198.19.0.2 3 || fail "no tunnel through the relay"

log "SOAK: $SOAK_BYTES bytes A -> B through 5 % loss, 2 % reorder, 1 % duplicates each way"
in_ns "$NS_B" python3 - > "$LOG_DIR/rx.sum" <<'PY' &
import hashlib, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.19.0.2", 5001)); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while (b := c.recv(1 << 20)):
    h.update(b); n += len(b)
print(n, h.hexdigest())
PY
rx=$!
sleep 0.5
start=$(date +%s)
in_ns "$NS_A" python3 - "$SOAK_BYTES" > "$LOG_DIR/tx.sum" <<'PY' || fail "the sender failed"
import hashlib, random, socket, sys
total = int(sys.argv[1]); rng = random.Random(7)
block = rng.randbytes(1 << 20)  # varied content, one new block per MiB
s = socket.create_connection(("198.19.0.2", 5001)); h = hashlib.sha256(); n = 0
while n < total:
    chunk = block[: min(len(block), total - n)]
    s.sendall(chunk); h.update(chunk); n += len(chunk)
    block = block[1:] + block[:1]
s.shutdown(socket.SHUT_WR)
s.recv(1)
print(n, h.hexdigest())
PY
wait "$rx" || fail "the receiver failed"
took=$(( $(date +%s) - start ))
kill -USR1 "$relay"
wait_for 50 test -s "$LOG_DIR/impair.json" || fail "no counters from the relay"
read -r tx_n tx_sum < "$LOG_DIR/tx.sum"
read -r rx_n rx_sum < "$LOG_DIR/rx.sum"
log "  sent $tx_n bytes in ${took} s; received $rx_n; sha256 $rx_sum"
[ "$tx_n" = "$SOAK_BYTES" ] && [ "$rx_n" = "$tx_n" ] || fail "sent $tx_n, received $rx_n"
[ "$rx_sum" = "$tx_sum" ] || fail "sha256 differs: sent $tx_sum, received $rx_sum"
python3 - "$LOG_DIR/impair.json" <<'PY' || fail "the relay's counters do not show the impairment"
import json, sys
c = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
for d in ("up", "down"):
    x = c[d]
    print(f"[soak] {d}: received {x['received']}, dropped {x['dropped']}, duplicated "
          f"{x['duplicated']}, reordered {x['reordered']}", file=sys.stderr)
    assert x["dropped"]["loss"] > 0 and x["duplicated"] > 0 and x["reordered"] > 0, x
PY
kill "$relay"
teardown
log "PASS"
