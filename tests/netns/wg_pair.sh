# Helpers for tests with two WireGuard hosts (sourced after lib.sh by interop.sh and
# scenarios.sh): `setup IMPL_A IMPL_B UNDERLAY PSK` builds hosts A (198.19.0.1, fd19::1) and
# B (198.19.0.2, fd19::2) with one peer each, `teardown` deletes them and checks that both
# daemons exit; `stats`/`stat_of` read tundra's counters, `peer_dump` the single peer's
# handshake, rx and tx from `wg show dump`.

PAIR=0
stats() {  # stats IFNAME -> tundra's per-reason drop counters (tundra_stats=1 on the UAPI socket)
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(f"/var/run/wireguard/{sys.argv[1]}.sock")
s.sendall(b"tundra_stats=1\n\n"); out = b""
while not out.endswith(b"\n\n"):
    chunk = s.recv(4096)
    if not chunk: break
    out += chunk
print(out.decode().strip())
PY
}
stat_of() { stats "$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

# setup IMPL_A IMPL_B UNDERLAY PSK(yes|no) [A_PEER_KEY_OVERRIDE] [B_PSK_OVERRIDE]
setup() {
  local impl_a=$1 impl_b=$2 underlay=$3 use_psk=$4
  PAIR=$((PAIR + 1))
  make_two_hosts
  IF_A=$(ifname "ta$PAIR") IF_B=$(ifname "tb$PAIR")
  start_impl "$NS_A" "$impl_a" "$IF_A"
  start_impl "$NS_B" "$impl_b" "$IF_B"
  umask 077
  "$TUNDRA_BIN" genkey > "$LOG_DIR/a.key"; "$TUNDRA_BIN" pubkey < "$LOG_DIR/a.key" > "$LOG_DIR/a.pub"
  wg genkey > "$LOG_DIR/b.key"; wg pubkey < "$LOG_DIR/b.key" > "$LOG_DIR/b.pub"
  # tundra's pubkey agrees with wg's.
  [ "$(wg pubkey < "$LOG_DIR/a.key")" = "$(cat "$LOG_DIR/a.pub")" ] || fail "tundra pubkey != wg pubkey"
  "$TUNDRA_BIN" genpsk > "$LOG_DIR/psk"
  local ep_a=198.18.0.1 ep_b=198.18.0.2
  if [ "$underlay" = 6 ]; then ep_a='[fd18::1]'; ep_b='[fd18::2]'; fi
  local psk_a=() psk_b=()
  if [ "$use_psk" = yes ]; then
    psk_a=(preshared-key "$LOG_DIR/psk")
    psk_b=(preshared-key "${B_PSK_FILE:-$LOG_DIR/psk}")
  fi
  local b_pub_for_a=${A_PEER_KEY:-$(cat "$LOG_DIR/b.pub")}
  wg set "$IF_A" listen-port 51820 private-key "$LOG_DIR/a.key" peer "$b_pub_for_a" \
    allowed-ips 198.19.0.2/32,fd19::2/128 endpoint "$ep_b:51821" "${psk_a[@]}"
  wg set "$IF_B" listen-port 51821 private-key "$LOG_DIR/b.key" peer "$(cat "$LOG_DIR/a.pub")" \
    allowed-ips 198.19.0.1/32,fd19::1/128 endpoint "$ep_a:51820" "${psk_b[@]}"
  ip -n "$NS_A" addr add 198.19.0.1/24 dev "$IF_A"
  ip -n "$NS_B" addr add 198.19.0.2/24 dev "$IF_B"
  ip -n "$NS_A" addr add fd19::1/64 dev "$IF_A" nodad
  ip -n "$NS_B" addr add fd19::2/64 dev "$IF_B" nodad
  ip -n "$NS_A" link set "$IF_A" mtu 1420 up
  ip -n "$NS_B" link set "$IF_B" mtu 1420 up
}

teardown() {
  # Deleting the interface must make each daemon exit and remove its socket.
  ip -n "$NS_A" link del "$IF_A"
  ip -n "$NS_B" link del "$IF_B"
  wait_for 50 test ! -S "/var/run/wireguard/$IF_A.sock" || fail "$IF_A socket left behind"
  wait_for 50 test ! -S "/var/run/wireguard/$IF_B.sock" || fail "$IF_B socket left behind"
  wait_for 50 sh -c "[ -z \"\$(ip netns pids $NS_A)\" ] && [ -z \"\$(ip netns pids $NS_B)\" ]" ||
    fail "a daemon did not exit after its interface was deleted"
  for ns in "$NS_A" "$NS_B"; do ip netns del "$ns"; done
  NAMESPACES=()  # deleted: nothing left for the cleanup trap
}

# Fields of `wg show IF dump` for the single peer: handshake rx tx
peer_dump() { wg show "$1" dump | awk 'NR == 2 {print $5, $6, $7}'; }

# add_flood_host: a third host C (NS_C) on a second link to B, 198.18.2.1 at B, with the 32
# source addresses 198.18.2.10-41 for start_flood.
add_flood_host() {
  new_ns NS_C c
  ip link add vc netns "$NS_C" type veth peer name vbc netns "$NS_B"
  ip -n "$NS_B" addr add 198.18.2.1/24 dev vbc
  ip -n "$NS_B" link set vbc up
  ip -n "$NS_C" link set vc up
  local i
  for i in $(seq 10 41); do ip -n "$NS_C" addr add "198.18.2.$i/24" dev vc; done
}

# start_flood RATE SECONDS: in the background, initiations with a valid mac1 for B's key
# ($LOG_DIR/b.pub) from C's 32 addresses at B's port 51821 (HANDSHAKE_FLOOD, sendmmsg, paced);
# its pid in FLOOD_PID, its output ("SENT RATE") on stdout.
start_flood() {
  in_ns "$NS_C" "$HANDSHAKE_FLOOD" "$(cat "$LOG_DIR/b.pub")" 198.18.2.1:51821 198.18.2. 10 32 \
    "$1" "$2" &
  FLOOD_PID=$!
}

# daemon_in NS: the pid of the tundra daemon in NS.
daemon_in() {
  local pid
  for pid in $(ip netns pids "$1"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tundra ] && { echo "$pid"; return; }
  done
}
