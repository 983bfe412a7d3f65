#!/bin/bash
# Hardening under hostile input, tundra <-> tundra:
#   MALFORMED  1,000,000 random and mutated datagrams at B's listen port (random bytes, and
#              messages of every type with the right or a wrong size): B does not crash,
#              every datagram is accounted for (B's drop counters plus what the kernel itself
#              dropped for a full socket buffer add up to exactly what was sent), and the live
#              session keeps working without a new handshake.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"

# Drops on B's receive path (transmit-side reasons, such as no_route for the router
# solicitations the kernel sends into the TUN, are left out).
drop_total() {
  stats "$1" | awk -F= '$1 ~ /^drop_/ && $1 !~ /^drop_(no_route|no_endpoint|staged_overflow|handshake_gave_up|send_failed|peer_removed|routing_loop)$/ {s += $2} END {print s + 0}'
}
rcvbuf_errors() { in_ns "$1" awk '/^Udp:/ && ++n == 2 {print $6}' /proc/net/snmp; }
# Udp6 lines are "Udp6RcvbufErrors N".
rcvbuf6_errors() { in_ns "$1" awk '$1 == "Udp6RcvbufErrors" {print $2}' /proc/net/snmp6; }

log "MALFORMED: 1,000,000 hostile datagrams at B's port, every one accounted for"
setup tundra tundra 4 no
ping_ok "$NS_A" 198.19.0.2 2 || fail "first ping"
handshake_before=$(peer_dump "$IF_B" | awk '{print $1}')
drops_before=$(drop_total "$IF_B")
kernel_before=$(( $(rcvbuf_errors "$NS_B") + $(rcvbuf6_errors "$NS_B") ))
N=1000000
start=$(date +%s.%N)
in_ns "$NS_A" python3 - "$N" <<'PY' || fail "the generator failed"
import os, random, socket, struct, sys
n = int(sys.argv[1])
rng = random.Random(1234)
pool = []
sizes = {1: 148, 2: 92, 3: 64}
for i in range(4096):
    kind = i % 8
    if kind < 2:            # random bytes, random length (0 .. 300)
        d = bytearray(os.urandom(rng.randrange(0, 301)))
    elif kind < 5:          # handshake / cookie messages: the right size, or one byte off
        t = 1 + kind - 2
        size = sizes[t] + rng.choice([0, 0, 0, -1, 1])
        d = bytearray(os.urandom(size))
        d[0:4] = struct.pack("<I", t)
    else:                   # data messages: random receiver, counter, ciphertext
        d = bytearray(os.urandom(rng.randrange(32, 1500)))
        d[0:4] = struct.pack("<I", 4)
        if kind == 7 and len(d) > 4:
            d[1] = 1        # a non-zero reserved byte
    pool.append(d)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", 0))
dst = ("198.18.0.2", 51821)
for i in range(n):
    d = pool[i & 4095]
    if len(d) >= 8:
        d[4:8] = struct.pack("<I", i)  # each one different
    s.sendto(d, dst)
PY
sent_for=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
# Handshake-sized messages are processed by B's control thread after the socket: wait until
# the count settles.
prev=-1
for _ in $(seq 100); do
  now=$(drop_total "$IF_B")
  [ "$now" = "$prev" ] && break
  prev=$now
  sleep 0.3
done
drops=$(( $(drop_total "$IF_B") - drops_before ))
kernel=$(( $(rcvbuf_errors "$NS_B") + $(rcvbuf6_errors "$NS_B") - kernel_before ))
log "  sent $N in ${sent_for}s; B counted $drops drops, the kernel dropped $kernel (socket buffer full)"
stats "$IF_B" | grep '^drop_' | sed 's/^/    /' >&2
[ $((drops + kernel)) -eq $N ] || fail "$N sent, $drops counted by B + $kernel by the kernel"
[ "$drops" -gt $((N / 2)) ] || fail "B saw only $drops of $N"
stats "$IF_B" >/dev/null || fail "B's daemon no longer answers"
ping_ok "$NS_A" 198.19.0.2 3 || fail "the session broke under the flood"
ping_ok "$NS_B" 198.19.0.1 3 || fail "the session broke under the flood (B->A)"
handshake_after=$(peer_dump "$IF_B" | awk '{print $1}')
[ "$handshake_after" = "$handshake_before" ] ||
  fail "the flood forced a new handshake ($handshake_before -> $handshake_after)"
teardown

log "PASS"
