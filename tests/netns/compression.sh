#!/bin/bash
# Opt-in compression on real TUN devices (docs/compression.md): a hub A brought up by
# `tundra up` from a file with `Compression = lz4` in its [Interface] (the default for its
# peers), a tundra peer B brought up the same way with `Compression = lz4` on its peer, and a
# wireguard-go peer C, which knows nothing of compression, on the same interface of A.
#   1. B and A agree (compression_active, `tundra show` says "in use"); C never sends a hello,
#      so A's peer C waits for one and A never compresses to it.
#   2. 50 MB of compressible text B -> A over TCP: byte-exact (sha256 both ends), B's counters
#      show it less than half as large on the wire, A's show it decompressed.
#   3. 30 MB of random bytes B -> A: byte-exact and sent as it is (bytes after >= 99 % before).
#   4. C <-> A: pings and 30 MB sha256-checked each way; A counts nothing to or from C as
#      compressed or decompressed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
source "$(dirname "$0")/tcp_lib.sh"
require_root
for tool in wg python3; do
  command -v "$tool" >/dev/null || { [ "${TUNDRA_NO_SKIP:-0}" = 1 ] && fail "needs $tool"; log "SKIP: needs $tool"; exit 77; }
done
make_two_hosts
add_third_host NS_C
IF_A=$(ifname cpa) IF_B=$(ifname cpb) IF_C=$(ifname cpc)
CONF=$LOG_DIR/conf
mkdir -m 700 "$CONF"
umask 077
make_keys "$CONF" a b c
cleanup_tunnels() {
  local pair ns ifn
  for pair in "$NS_A:$IF_A" "$NS_B:$IF_B"; do
    ns=${pair%%:*} ifn=${pair#*:}
    [ -f "/run/tundra/$ifn.state" ] && in_ns "$ns" "$TUNDRA_BIN" down "$ifn" >/dev/null 2>&1
    rm -f "/run/tundra/$ifn.state"
  done
}
CLEANUP_HOOKS+=(cleanup_tunnels)

printf '%s\n' "[Interface]" "PrivateKeyFile = a.key" "Address = 198.19.0.1/24" "ListenPort = 51820" \
  "Compression = lz4" "" "[Peer]" "PublicKey = $(cat "$CONF/b.pub")" "AllowedIPs = 198.19.0.2/32" \
  "" "[Peer]" "PublicKey = $(cat "$CONF/c.pub")" "AllowedIPs = 198.19.0.3/32" > "$CONF/$IF_A.conf"
printf '%s\n' "[Interface]" "PrivateKeyFile = b.key" "Address = 198.19.0.2/24" "" "[Peer]" \
  "PublicKey = $(cat "$CONF/a.pub")" "AllowedIPs = 198.19.0.1/32" "Endpoint = 198.18.0.1:51820" \
  "Compression = lz4" > "$CONF/$IF_B.conf"
in_ns "$NS_A" "$TUNDRA_BIN" up "$CONF/$IF_A.conf" > "$LOG_DIR/up-a.log" 2>&1 || fail "tundra up A: $(cat "$LOG_DIR/up-a.log")"
in_ns "$NS_B" "$TUNDRA_BIN" up "$CONF/$IF_B.conf" > "$LOG_DIR/up-b.log" 2>&1 || fail "tundra up B: $(cat "$LOG_DIR/up-b.log")"
start_impl "$NS_C" wireguard-go "$IF_C"
wg set "$IF_C" private-key "$CONF/c.key" \
  peer "$(cat "$CONF/a.pub")" allowed-ips 198.19.0.1/32 endpoint 198.18.1.1:51820
ip -n "$NS_C" addr add 198.19.0.3/24 dev "$IF_C"
ip -n "$NS_C" link set "$IF_C" up

# counter IFNAME PUBFILE KEY: a counter of that peer (tundra_peers=1).
counter() {
  local want; want=$(hexkey "$2")
  uapi "$1" "tundra_peers=1\n\n" |
    awk -F= -v k="$want" -v f="$3" '$1 == "public_key" {p = ($2 == k)} p && $1 == f {print $2}'
}
active() { [ "$(counter "$1" "$2" compression_active)" = 1 ]; }

log "1. B and A agree on lz4; wireguard-go C sends no hello"
ping_ok "$NS_B" 198.19.0.1 3 || fail "B -> A"
ping_ok "$NS_C" 198.19.0.1 3 || fail "C -> A (wireguard-go)"
wait_for 50 active "$IF_B" "$CONF/a.pub" || fail "B's peer A: compression not in use: $(uapi "$IF_B" "tundra_peers=1\n\n")"
wait_for 50 active "$IF_A" "$CONF/b.pub" || fail "A's peer B: compression not in use"
! active "$IF_A" "$CONF/c.pub" || fail "A's peer C (wireguard-go) says compression in use"
in_ns "$NS_A" "$TUNDRA_BIN" show "$IF_A" > "$LOG_DIR/show-a.txt"
grep -q "compression: lz4 (in use)" "$LOG_DIR/show-a.txt" || fail "tundra show A: $(cat "$LOG_DIR/show-a.txt")"
grep -q "compression: lz4 (waiting for the peer's hello)" "$LOG_DIR/show-a.txt" ||
  fail "tundra show A does not say that C sent no hello: $(cat "$LOG_DIR/show-a.txt")"

log "2. 50 MB of text B -> A: byte-exact and smaller on the wire"
tx_before0=$(counter "$IF_B" "$CONF/a.pub" compress_tx_before)
tx_after0=$(counter "$IF_B" "$CONF/a.pub" compress_tx_after)
rx_after0=$(counter "$IF_A" "$CONF/b.pub" compress_rx_after)
TRANSFER_CONTENT=text sha_transfer "$NS_B" "$NS_A" 198.19.0.1 $((50 * 1000 * 1000)) > /dev/null
before=$(($(counter "$IF_B" "$CONF/a.pub" compress_tx_before) - tx_before0))
after=$(($(counter "$IF_B" "$CONF/a.pub" compress_tx_after) - tx_after0))
rx_after=$(($(counter "$IF_A" "$CONF/b.pub" compress_rx_after) - rx_after0))
log "   B sent $before bytes of packets as $after bytes ($((100 * after / (before > 0 ? before : 1))) %); A decompressed $rx_after bytes"
[ "$before" -gt $((50 * 1000 * 1000)) ] || fail "B offered only $before bytes to compression for 50 MB"
[ $((after * 2)) -lt "$before" ] || fail "the text was not compressed: $before -> $after bytes"
[ "$rx_after" -gt $((45 * 1000 * 1000)) ] || fail "A decompressed only $rx_after bytes"

log "3. 30 MB of random bytes B -> A: byte-exact and sent as it is"
tx_before0=$(counter "$IF_B" "$CONF/a.pub" compress_tx_before)
tx_after0=$(counter "$IF_B" "$CONF/a.pub" compress_tx_after)
compressed0=$(counter "$IF_B" "$CONF/a.pub" compress_tx_compressed)
sha_transfer "$NS_B" "$NS_A" 198.19.0.1 $((30 * 1000 * 1000)) > /dev/null
before=$(($(counter "$IF_B" "$CONF/a.pub" compress_tx_before) - tx_before0))
after=$(($(counter "$IF_B" "$CONF/a.pub" compress_tx_after) - tx_after0))
compressed=$(($(counter "$IF_B" "$CONF/a.pub" compress_tx_compressed) - compressed0))
log "   B sent $before bytes of packets as $after bytes; $compressed packets compressed"
[ "$before" -gt $((30 * 1000 * 1000)) ] || fail "B offered only $before bytes to compression for 30 MB"
[ $((after * 100)) -ge $((before * 99)) ] || fail "random data came out smaller: $before -> $after bytes"

log "4. wireguard-go C on the same interface: pings and 30 MB each way, nothing compressed"
ping_ok "$NS_C" 198.19.0.1 3 || fail "C -> A"
ping_ok "$NS_A" 198.19.0.3 3 || fail "A -> C"
sha_transfer "$NS_C" "$NS_A" 198.19.0.1 $((30 * 1000 * 1000)) > /dev/null
sha_transfer "$NS_A" "$NS_C" 198.19.0.3 $((30 * 1000 * 1000)) > /dev/null
for k in compress_tx_packets compress_rx_packets; do
  v=$(counter "$IF_A" "$CONF/c.pub" "$k")
  [ "$v" = 0 ] || fail "A's peer C (wireguard-go): $k = $v"
done
in_ns "$NS_A" "$TUNDRA_BIN" show "$IF_A" | grep -E "^peer|compression" | sed 's/^/    /' >&2
in_ns "$NS_A" "$TUNDRA_BIN" down "$IF_A" > "$LOG_DIR/down-a.log" 2>&1 || fail "down A: $(cat "$LOG_DIR/down-a.log")"
in_ns "$NS_B" "$TUNDRA_BIN" down "$IF_B" > "$LOG_DIR/down-b.log" 2>&1 || fail "down B: $(cat "$LOG_DIR/down-b.log")"
log "PASS"
