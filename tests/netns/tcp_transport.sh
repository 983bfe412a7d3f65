#!/bin/bash
# The TCP transport (docs/tcp-transport.md) between two tundra daemons in namespaces whose UDP is
# dropped by nftables: ping and a 200 MB sha256-checked transfer over TCP; the connection killed
# with `ss -K` and the listener's daemon restarted -> traffic resumes by itself; an oversize frame
# -> that connection dropped and counted, the daemon alive, the peer unaffected.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
source "$(dirname "$0")/tcp_lib.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"
command -v nft >/dev/null || fail "nft (nftables) is not installed"
BYTES=${TCP_TRANSFER_BYTES:-200000000}

make_two_hosts
IF_A=$(ifname tcpa) IF_B=$(ifname tcpb)
umask 077
make_keys "$LOG_DIR" a b

# A listens (interface transport tcp: TCP on its ListenPort); B dials A over TCP.
configure_a() {
  wg set "$IF_A" listen-port 51820 private-key "$LOG_DIR/a.key" \
    peer "$(cat "$LOG_DIR/b.pub")" allowed-ips 198.19.0.2/32
  uapi_set "$IF_A" "tundra_transport=tcp"
  ip -n "$NS_A" addr add 198.19.0.1/24 dev "$IF_A"
  ip -n "$NS_A" link set "$IF_A" up
}
start_impl "$NS_A" tundra "$IF_A"
configure_a
start_impl "$NS_B" tundra "$IF_B"
wg set "$IF_B" listen-port 51821 private-key "$LOG_DIR/b.key" \
  peer "$(cat "$LOG_DIR/a.pub")" allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820 \
  persistent-keepalive 25
uapi_set "$IF_B" "public_key=$(hexkey "$LOG_DIR/a.pub")" "tundra_transport=tcp"
ip -n "$NS_B" addr add 198.19.0.2/24 dev "$IF_B"
ip -n "$NS_B" link set "$IF_B" up
# `wg` still parses get=1 (no extension keys in it).
wg show "$IF_B" >/dev/null || fail "wg show fails on a TCP peer"

block_udp "$NS_A"
block_udp "$NS_B"

log "1. ping both ways over TCP with all UDP dropped"
ping_ok "$NS_B" 198.19.0.1 5 || fail "no ping B -> A over TCP"
ping_ok "$NS_A" 198.19.0.2 5 || fail "no ping A -> B over TCP"
[ "$(transport_of "$IF_B" "$LOG_DIR/a.pub")" = tcp ] || fail "B does not report TCP for A"
[ "$(transport_of "$IF_A" "$LOG_DIR/b.pub")" = tcp ] || fail "A does not report TCP for B"
in_ns "$NS_A" ss -Htn state established "( sport = :51820 )" | grep -q . ||
  fail "no TCP connection on A's port 51820"
[ "$(udp_dropped "$NS_B")" -gt 0 ] || log "(no UDP was even tried by B)"

log "2. $BYTES bytes B -> A over TCP, sha256-checked"
mbit=$(sha_transfer "$NS_B" "$NS_A" 198.19.0.1 "$BYTES") || exit 1
log "   byte-exact, $mbit Mbit/s"

log "3. the connection killed with ss -K: traffic resumes by itself"
dialed=$(tcp_stat "$IF_B" tcp_dialed)
closed=$(tcp_stat "$IF_B" tcp_closed_by_peer)
in_ns "$NS_B" ss -K state established dst 198.18.0.1 dport = 51820 >"$LOG_DIR/ss-K.log" 2>&1 || true
b_closed() { [ "$(tcp_stat "$IF_B" tcp_closed_by_peer)" -gt "$closed" ]; }
wait_for 50 b_closed || fail "ss -K did not close B's connection"
b_redialed() { [ "$(tcp_stat "$IF_B" tcp_dialed)" -gt "$dialed" ]; }
wait_for 150 b_redialed ||
  fail "B did not reconnect after ss -K"
wait_for 300 ping_ok "$NS_A" 198.19.0.2 2 || fail "A -> B did not resume after ss -K"
ping_ok "$NS_B" 198.19.0.1 3 || fail "B -> A did not resume after ss -K"

log "4. the listener's daemon restarted: traffic resumes by itself"
ip -n "$NS_A" link del "$IF_A"
wait_for 50 test ! -S "/var/run/wireguard/$IF_A.sock" || fail "A did not exit"
sleep 1
start_impl "$NS_A" tundra "$IF_A"
configure_a
wait_for 450 ping_ok "$NS_B" 198.19.0.1 2 || fail "B -> A did not resume after A restarted"
ping_ok "$NS_A" 198.19.0.2 3 || fail "A -> B did not resume after A restarted"

log "5. an oversize frame: that connection dropped and counted, A alive, B unaffected"
in_ns "$NS_B" python3 - <<'PY' || fail "the oversize connection was not closed by A"
import socket, struct
s = socket.create_connection(("198.18.0.1", 51820), timeout=10)
s.sendall(struct.pack(">I", 1 << 20) + b"\x04\x00\x00\x00" + bytes(60))
s.settimeout(10)
try:
    assert s.recv(1) == b""
except ConnectionResetError:
    pass
PY
[ "$(tcp_stat "$IF_A" tcp_drop_frame_oversize)" = 1 ] || fail "oversize frame not counted on A"
wg show "$IF_A" >/dev/null || fail "A's daemon is gone"
ping_ok "$NS_B" 198.19.0.1 3 || fail "B -> A broken after another connection's oversize frame"
stats "$IF_A" | grep '^tcp_' > "$LOG_DIR/a-tcp.txt"
log "   A: $(tr '\n' ' ' < "$LOG_DIR/a-tcp.txt")"
log "PASS"
