#!/bin/bash
# Interoperability of tundra with wireguard-go, driven by the real `wg` tool:
#   tundra <-> wireguard-go (Debian) both ways round, handshakes initiated from either side,
#   IPv4 and IPv6 inner addresses over IPv4 and IPv6 underlays, a preshared key, persistent
#   keepalive, `wg show` counters on tundra, a 200 MB iperf3 transfer each way against
#   wireguard-go and, when TUNDRA_PEER2 names one, a second implementation (CI: the newer
#   wireguard-go with offloads), tundra <-> tundra TCP over IPv6 and UDP GSO (the TUN offloads:
#   super-packets split on read and coalesced on write, none refused by the kernel), and the
#   failure cases: a wrong public key, a wrong preshared key and garbage datagrams (no tunnel, no
#   crash, counted drops, nothing sent back).
source "$(dirname "$0")/lib.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"

source "$(dirname "$0")/wg_pair.sh"
if [ -n "$TUNDRA_PEER2" ]; then
  log "second interop peer (peer2): TUNDRA_PEER2=$TUNDRA_PEER2"
else
  log "NOTICE: TUNDRA_PEER2 unset: step 5 runs against Debian's wireguard-go only"
fi

check_tundra_show() {
  local ifn=$1 hs rx tx
  read -r hs rx tx <<<"$(peer_dump "$ifn")"
  [ "$hs" -gt 0 ] || fail "wg show $ifn: no latest handshake"
  [ "$rx" -gt 0 ] && [ "$tx" -gt 0 ] || fail "wg show $ifn: transfer counters rx=$rx tx=$tx"
  wg show "$ifn" | grep -q "latest handshake" || fail "wg show $ifn does not print the handshake"
  log "wg show $ifn: handshake at $hs, rx $rx, tx $tx"
}

# check_offloads IFNAME: after TCP both ways, tundra split TSO super-packets from its TUN and
# wrote coalesced ones into it, and the kernel refused none of them.
check_offloads() {
  local ifn=$1 k n
  for k in tun_super_packets_read tun_packets_coalesced; do
    n=$(stat_of "$ifn" $k)
    [ "${n:-0}" -gt 0 ] || fail "$ifn: $k=${n:-none} ($(stats "$ifn" | tr '\n' ' '))"
  done
  for k in tun_drop_write_rejected tun_drop_bad_vnet_hdr tun_drop_unsupported_gso drop_tun_write; do
    n=$(stat_of "$ifn" $k)
    [ "${n:-1}" = 0 ] || fail "$ifn: $k=${n:-none} ($(stats "$ifn" | tr '\n' ' '))"
  done
  log "$ifn offloads: $(stats "$ifn" | grep -E '^tun_(super|segments|packets)' | tr '\n' ' ')"
}

ping_all() {  # ping_all FIRST_SIDE(a|b): handshake starts from that side
  if [ "$1" = a ]; then
    ping_ok "$NS_A" 198.19.0.2 || fail "ping A->B v4"
    ping_ok "$NS_B" 198.19.0.1 || fail "ping B->A v4"
  else
    ping_ok "$NS_B" 198.19.0.1 || fail "ping B->A v4"
    ping_ok "$NS_A" 198.19.0.2 || fail "ping A->B v4"
  fi
  ping_ok "$NS_A" fd19::2 || fail "ping A->B v6"
  ping_ok "$NS_B" fd19::1 || fail "ping B->A v6"
}

log "1. tundra (A) <-> wireguard-go (B), IPv4 underlay, tundra initiates"
setup tundra wireguard-go 4 no
ping_all a
check_tundra_show "$IF_A"
teardown

log "2. wireguard-go (A) <-> tundra (B), IPv6 underlay, wireguard-go initiates, preshared key"
setup wireguard-go tundra 6 yes
ping_all a
check_tundra_show "$IF_B"
wg show "$IF_B" dump | awk 'NR == 2 {print $2}' | grep -qv '(none)' || fail "psk not shown"
teardown

log "3. tundra --no-offload (A) <-> wireguard-go (B), IPv6 underlay, tundra responds"
setup tundra-no-offload wireguard-go 6 no
ping_all b
check_tundra_show "$IF_A"
in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
sleep 0.3
in_ns "$NS_A" iperf3 -c 198.19.0.2 -n 20M -R >/dev/null || fail "iperf3 B->A without offloads"
n=$(stat_of "$IF_A" tun_super_packets_read)
[ "${n:-1}" = 0 ] || fail "--no-offload: $n super-packets read"
teardown

log "4. persistent keepalive: tundra sends a keepalive and handshakes with no traffic at all"
setup tundra wireguard-go 4 no
wg set "$IF_A" peer "$(cat "$LOG_DIR/b.pub")" persistent-keepalive 1
wait_for 60 sh -c "[ \"\$(wg show $IF_B dump | awk 'NR==2 {print \$5}')\" != 0 ]" ||
  fail "no handshake from persistent keepalive"
rx0=$(peer_dump "$IF_B" | awk '{print $2}')
sleep 2.5
rx1=$(peer_dump "$IF_B" | awk '{print $2}')
[ "$rx1" -gt "$rx0" ] || fail "keepalives did not arrive every second (rx $rx0 -> $rx1)"
wg show "$IF_A" | grep -q "persistent keepalive: every 1 second" || fail "keepalive not shown"
teardown

for peer in $(interop_peers); do
  log "5. 200 MB each way with iperf3: tundra (A) <-> $peer (B)"
  setup tundra "$peer" 4 yes
  ping_all a
  in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
  sleep 0.3
  in_ns "$NS_A" iperf3 -c 198.19.0.2 -n 210M -J > "$LOG_DIR/iperf-fwd.json" || fail "iperf3 A->B"
  in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
  sleep 0.3
  in_ns "$NS_A" iperf3 -c 198.19.0.2 -n 210M -R -J > "$LOG_DIR/iperf-rev.json" || fail "iperf3 B->A"
  for d in fwd rev; do
    python3 - "$LOG_DIR/iperf-$d.json" "$d" "$peer" <<'PY' || fail "iperf3 $d with $peer incomplete"
import json, sys
r = json.load(open(sys.argv[1]))["end"]["sum_received"]
assert r["bytes"] >= 200_000_000, r  # 200 MB received (iperf3 -n counts what was sent)
print(f"iperf3 {sys.argv[2]} ({sys.argv[3]}): {r['bytes'] / 2**20:.0f} MiB at {r['bits_per_second'] / 1e6:.0f} Mbit/s", file=sys.stderr)
PY
  done
  check_tundra_show "$IF_A"
  check_offloads "$IF_A"
  teardown
done

log "6. wrong public key: no tunnel, no crash, the handshake never completes"
A_PEER_KEY=$(wg genkey | wg pubkey) setup tundra tundra 4 no
! in_ns "$NS_A" ping -c 2 -w 3 -q 198.19.0.2 >/dev/null || fail "ping worked with a wrong key"
[ "$(peer_dump "$IF_A" | awk '{print $1}')" = 0 ] || fail "handshake with a wrong key"
# A's initiation carries a mac1 keyed to the wrong responder key: B drops it at the first check.
n=$(stat_of "$IF_B" drop_invalid_mac1)
[ "${n:-0}" -gt 0 ] || fail "B did not count the initiation ($(stats "$IF_B" | tr '\n' ' '))"
teardown

log "7. wrong preshared key: no tunnel, counted on the initiator"
B_PSK_FILE=$LOG_DIR/psk2
"$TUNDRA_BIN" genpsk > "$B_PSK_FILE"
B_PSK_FILE=$B_PSK_FILE setup tundra tundra 4 yes
! in_ns "$NS_A" ping -c 2 -w 3 -q 198.19.0.2 >/dev/null || fail "ping worked with a wrong psk"
n=$(stat_of "$IF_A" drop_handshake_decrypt)
[ "${n:-0}" -gt 0 ] || fail "A did not count the bad response ($(stats "$IF_A" | tr '\n' ' '))"
teardown
unset B_PSK_FILE

log "8. garbage datagrams: silence, no crash, counted"
setup tundra tundra 4 no
ping_all a
in_ns "$NS_A" python3 - <<'PY' || fail "garbage test"
import os, random, socket
random.seed(1234)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", 40000)); s.settimeout(0.5)
for i in range(3000):
    n = random.choice([0, 1, 3, 4, 16, 31, 32, 33, 64, 92, 148, random.randint(0, 1500)])
    b = bytearray(os.urandom(n))
    if n >= 4 and i % 2: b[0:4] = random.choice([1, 2, 3, 4]).to_bytes(4, "little")
    s.sendto(bytes(b), ("198.18.0.2", 51821))
try:
    data = s.recv(2000)
    raise SystemExit(f"tundra answered garbage with {len(data)} bytes")
except socket.timeout:
    pass
PY
total=$(stats "$IF_B" | awk -F= '/^drop_/ {s += $2} END {print s + 0}')
[ "$total" -ge 2900 ] || fail "only $total of 3000 garbage datagrams counted as drops"
ping_ok "$NS_A" 198.19.0.2 || fail "tunnel broken after garbage"
teardown

log "9. tundra <-> tundra: TCP over IPv6 inside (TSO6 split, TCPv6 GRO) and UDP GSO (USO split, UDP GRO)"
setup tundra tundra 4 no
ping_all a
in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
sleep 0.3
in_ns "$NS_A" iperf3 -c fd19::2 -n 100M -J > "$LOG_DIR/iperf6.json" || fail "iperf3 v6 A->B"
in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
sleep 0.3
in_ns "$NS_A" iperf3 -c fd19::2 -n 100M -R -J > "$LOG_DIR/iperf6r.json" || fail "iperf3 v6 B->A"
check_offloads "$IF_A"
check_offloads "$IF_B"
# Unlimited-rate UDP (netns.sh S2's iperf3 -u -b 0) over IPv4 and IPv6 inside: loss is allowed
# (the sender outruns everything), a crash or a stall is not.
for dst in 198.19.0.2 fd19::2; do
  in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
  sleep 0.3
  in_ns "$NS_A" timeout 30 iperf3 -c $dst -u -b 0 -t 2 -J > "$LOG_DIR/iperf-udp.json" ||
    fail "iperf3 -u -b 0 to $dst"
  python3 - "$LOG_DIR/iperf-udp.json" <<'PY' || fail "UDP to $dst: nothing arrived"
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
assert s["packets"] - s["lost_packets"] > 1000, s
PY
done
# UDP super-packets (UDP_SEGMENT) sent into A's TUN come out of B's as the same datagrams.
for dst in 198.19.0.2 fd19::2; do
  in_ns "$NS_B" python3 - "$dst" > "$LOG_DIR/udp-rx" <<'PY' &
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
import hashlib
s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((sys.argv[1], 7777)); s.settimeout(5)
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: room for every datagram
got = []
try:
    while len(got) < 200: got.append(s.recv(65536))
except socket.timeout:
    pass
print(len(got), sum(map(len, got)), hashlib.sha256(b"".join(got)).hexdigest())
PY
  rx=$!
  sleep 0.3
  in_ns "$NS_A" python3 - "$dst" "$LOG_DIR/udp-tx" <<'PY' || fail "UDP GSO sender"
import hashlib, socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1200)  # UDP_SEGMENT
data = bytes((i * 7 + i // 251) % 256 for i in range(1200 * 40))
for i in range(5):  # five super-packets of 40 datagrams
    s.sendto(data, (sys.argv[1], 7777))
    time.sleep(0.05)
got = [data[j:j + 1200] for _ in range(5) for j in range(0, len(data), 1200)]
open(sys.argv[2], "w").write(f"{len(got)} {sum(map(len, got))} {hashlib.sha256(b''.join(got)).hexdigest()}\n")
PY
  wait $rx
  [ "$(cat "$LOG_DIR/udp-rx")" = "$(cat "$LOG_DIR/udp-tx")" ] ||
    fail "UDP GSO to $dst: received $(cat "$LOG_DIR/udp-rx"), sent $(cat "$LOG_DIR/udp-tx")"
done
check_offloads "$IF_B"
teardown

log "10. exact transfer counters (netns.sh S1): 10 pings from B are the first traffic, with a psk"
setup tundra tundra 4 yes
in_ns "$NS_B" ping -c 10 -i 0.1 -w 8 -q 198.19.0.1 > "$LOG_DIR/ping10" ||
  fail "10 pings B->A: $(tail -2 "$LOG_DIR/ping10" | tr '\n' ' ') A: $(stats "$IF_A" | grep -v '=0$' | tr '\n' ' ') B: $(stats "$IF_B" | grep -v '=0$' | tr '\n' ' ')"
# Each 84-byte ping pads to 96 bytes: a 128-byte data message. B: 10 replies + the 92-byte
# response in, 10 requests + the 148-byte initiation out (+32 if a keepalive went out already).
read -r _ rx tx <<<"$(peer_dump "$IF_B")"
[ "$rx" = 1372 ] && { [ "$tx" = 1428 ] || [ "$tx" = 1460 ]; } ||
  fail "B: transfer rx=$rx tx=$tx, want 1372 and 1428 or 1460"
read -r _ rx tx <<<"$(peer_dump "$IF_A")"
[ "$tx" = 1372 ] && { [ "$rx" = 1428 ] || [ "$rx" = 1460 ]; } ||
  fail "A: transfer rx=$rx tx=$tx, want 1428 or 1460 and 1372"
teardown

log "11. tunnel MTU 34736 over a 1500-byte path (netns.sh S3) and 50 parallel streams (S2)"
setup tundra tundra 4 no
ip -n "$NS_A" link set "$IF_A" mtu 34736
ip -n "$NS_B" link set "$IF_B" mtu 34736
sleep 0.3  # the daemons follow the MTU change
ping_ok "$NS_A" 198.19.0.2 || fail "ping at MTU 34736"
in_ns "$NS_A" ping -c 2 -i 0.2 -w 5 -q -s 30000 198.19.0.2 >/dev/null || fail "30000-byte pings"
for dir in "" -R; do
  in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
  sleep 0.3
  in_ns "$NS_A" timeout 60 iperf3 -c 198.19.0.2 -n 100M $dir >/dev/null || fail "iperf3 $dir at MTU 34736"
done
in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
sleep 0.3
in_ns "$NS_A" timeout 60 iperf3 -c 198.19.0.2 -P 50 -t 2 -J > "$LOG_DIR/iperf-p50.json" || fail "iperf3 -P 50"
python3 - "$LOG_DIR/iperf-p50.json" <<'PY' || fail "iperf3 -P 50 moved nothing"
import json, sys
r = json.load(open(sys.argv[1]))["end"]["sum_received"]
assert r["bytes"] > 10_000_000, r
PY
for ifn in "$IF_A" "$IF_B"; do
  f=$(stat_of "$ifn" drop_send_failed)
  nb=$(stat_of "$ifn" drop_send_buffer_full)
  [ "${f:-1}" = 0 ] && [ "${nb:-1}" = 0 ] ||
    fail "$ifn: datagrams failed to send: ${f:-?} refused, ${nb:-?} for a full buffer"
done
teardown

log "12. the interface moved into another namespace keeps working; deleting it there ends the daemon"
setup tundra tundra 4 no
new_ns NS_T t
ip -n "$NS_A" link set "$IF_A" netns "$NS_T"   # like netns.sh: the daemon and socket stay in A
ip -n "$NS_T" addr add 198.19.0.1/24 dev "$IF_A"
ip -n "$NS_T" link set "$IF_A" up
ping_ok "$NS_T" 198.19.0.2 || fail "ping from the namespace the interface moved to"
[ -S "/var/run/wireguard/$IF_A.sock" ] || fail "the daemon stopped when its interface moved"
# Its link events are followed over there: an MTU change in the new namespace is seen.
ip -n "$NS_T" link set "$IF_A" mtu 1280
wait_for 50 grep -q "MTU changed to 1280" "$LOG_DIR/tundra-$IF_A.log" ||
  fail "MTU change in the new namespace not followed: $(tail -3 "$LOG_DIR/tundra-$IF_A.log")"
ping_ok "$NS_T" 198.19.0.2 || fail "ping after the MTU change"
ip -n "$NS_T" link del "$IF_A"
wait_for 50 test ! -S "/var/run/wireguard/$IF_A.sock" || fail "deleting the moved interface did not end the daemon"
ip -n "$NS_B" link del "$IF_B"
wait_for 50 test ! -S "/var/run/wireguard/$IF_B.sock" || fail "$IF_B socket left behind"

log "PASS"
