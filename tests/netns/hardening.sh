#!/bin/bash
# Hardening under hostile input, tundra <-> tundra:
#   MALFORMED  1,000,000 random and mutated datagrams at B's listen port (random bytes, and
#              messages of every type with the right or a wrong size): B does not crash,
#              every datagram is accounted for (B's drop counters plus what the kernel itself
#              dropped for a full socket buffer add up to exactly what was sent), and the live
#              session keeps working without a new handshake.
#   FLOOD      50,000 handshake initiations per second with a valid mac1 from 32 sources at
#              B while A -> B carries an iperf3 stream: the generator reaches >= 90 % of that
#              rate and B accounts for >= 90 % of what it sent (its drop counters plus the
#              kernel's RcvbufErrors), cookies engage, the stream keeps more than
#              FLOOD_MIN_PERCENT of its throughput (the ratio is printed; on 2 cores the
#              generator itself takes CPU from the tunnel), B's memory stays bounded and its CPU
#              returns to idle after.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"
: "${HANDSHAKE_FLOOD:?HANDSHAKE_FLOOD must point at the handshake_flood test tool}"
FLOOD_RATE=${FLOOD_RATE:-50000}
FLOOD_SECONDS=6
# The throughput the stream must keep under the flood, in percent of its rate before (see
# docs/security.md for what was measured on the shared 2-core machine).
FLOOD_MIN_PERCENT=${FLOOD_MIN_PERCENT:-25}

# Drops on B's receive path (transmit-side reasons, such as no_route for the router
# solicitations the kernel sends into the TUN, are left out; so is receive_buffer_full, the
# kernel's RcvbufErrors of B's own sockets, which is counted below from /proc/net/snmp).
drop_total() {
  stats "$1" | awk -F= '$1 ~ /^drop_/ && $1 !~ /^drop_(no_route|no_endpoint|staged_overflow|handshake_gave_up|send_failed|send_buffer_full|receive_buffer_full|peer_removed|routing_loop)$/ {s += $2} END {print s + 0}'
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

log "FLOOD: initiations with a valid mac1 from many sources while a stream runs"
setup tundra tundra 4 no
ping_ok "$NS_A" 198.19.0.2 2 || fail "first ping"
# A third host C on a second link to B, with 32 source addresses.
new_ns NS_C c
ip link add vc netns "$NS_C" type veth peer name vbc netns "$NS_B"
ip -n "$NS_B" addr add 198.18.2.1/24 dev vbc
ip -n "$NS_B" link set vbc up
ip -n "$NS_C" link set vc up
for i in $(seq 10 41); do ip -n "$NS_C" addr add "198.18.2.$i/24" dev vc; done
daemon_pid=""
for pid in $(ip netns pids "$NS_B"); do
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tundra ] && daemon_pid=$pid
done
[ -n "$daemon_pid" ] || fail "B's daemon not found"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$daemon_pid/status"; }
# Secrets never reach a core file: the daemon sets both core size limits to 0.
core=$(awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$daemon_pid/limits")
[ "$core" = 0/0 ] || fail "B's daemon may write core files (soft/hard limit $core)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$daemon_pid/stat"; }
in_ns "$NS_B" iperf3 -s -D -I "$LOG_DIR/iperf.pid" >/dev/null
sleep 0.3
CLEANUP_HOOKS+=("kill \$(cat $LOG_DIR/iperf.pid 2>/dev/null) 2>/dev/null")
mbps() { in_ns "$NS_A" iperf3 -c 198.19.0.2 -t "$1" -J | python3 -c 'import json, sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'; }
base=$(mbps 4)
rss_before=$(rss)
cookies_before=$(stat_of "$IF_B" drop_cookie_sent)
drops_before=$(drop_total "$IF_B")
kernel_before=$(rcvbuf_errors "$NS_B")
in_ns "$NS_C" "$HANDSHAKE_FLOOD" "$(cat "$LOG_DIR/b.pub")" 198.18.2.1:51821 198.18.2. 10 32 \
  "$FLOOD_RATE" "$FLOOD_SECONDS" > "$LOG_DIR/flood.out" &
flood=$!
sleep 1
under=$(mbps 4)
wait $flood || fail "the flood generator failed"
read -r sent rate < "$LOG_DIR/flood.out"
sleep 2  # the backlog drains
cookies=$(( $(stat_of "$IF_B" drop_cookie_sent) - cookies_before ))
# What reached B: every initiation ends as one of B's receive-path drops (cookie reply,
# queue full, rate limited, decryption failed) or in the kernel's count of a full socket buffer.
received=$(( $(drop_total "$IF_B") - drops_before + $(rcvbuf_errors "$NS_B") - kernel_before ))
rss_after=$(rss)
t0=$(cpu_ticks); sleep 2; t1=$(cpu_ticks)
[ "$base" -gt 0 ] || fail "no stream before the flood"
percent=$((100 * under / base))
log "  flood: $sent initiations at ${rate%.*}/s (target $FLOOD_RATE/s), $received reached B ($((100 * received / (sent > 0 ? sent : 1))) %); $cookies cookie replies; stream $base -> $under Mbit/s ($percent %, must keep > $FLOOD_MIN_PERCENT %); RSS $rss_before -> $rss_after kB; CPU after: $((t1 - t0)) ticks in 2 s"
stats "$IF_B" | grep -E '^drop_(cookie_sent|rate_limited|handshake_queue_full|invalid_mac1|handshake_decrypt)=' | sed 's/^/    /' >&2
# The flood was what it claims: the generator kept close to the target rate, and B saw it.
[ "${rate%.*}" -ge $((FLOOD_RATE * 9 / 10)) ] ||
  fail "the generator reached only ${rate%.*}/s of the $FLOOD_RATE/s asked for"
[ "$received" -ge $((sent * 9 / 10)) ] || fail "only $received of $sent initiations reached B"
[ "$received" -ge $((FLOOD_RATE * FLOOD_SECONDS * 9 / 10)) ] ||
  fail "B received $received initiations in ${FLOOD_SECONDS}s, less than 90 % of $FLOOD_RATE/s"
[ "$cookies" -gt 0 ] || fail "no cookie reply under the flood: cookies did not engage"
[ $((rss_after - rss_before)) -lt 20480 ] || fail "B's RSS grew by $((rss_after - rss_before)) kB"
[ $((t1 - t0)) -le 10 ] || fail "B still busy after the flood ($((t1 - t0)) ticks in 2 s)"
[ "$percent" -gt "$FLOOD_MIN_PERCENT" ] ||
  fail "the stream kept only $percent % under the flood ($base -> $under Mbit/s; > $FLOOD_MIN_PERCENT % needed)"
ping_ok "$NS_A" 198.19.0.2 2 || fail "the session broke under the flood"
kill "$(cat "$LOG_DIR/iperf.pid")"
teardown
ip netns del "$NS_C"

log "PASS"
