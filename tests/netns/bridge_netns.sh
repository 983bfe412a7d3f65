#!/bin/bash
# System test of `tundra bridge` (real binary, real TAP devices):
#   nsbr: `tundra bridge tbra tbrb` creates both TAPs;
#   the TAPs are moved to ns1 and ns2 (the bridge's fds keep working across the move), get
#   198.18.7.1/24 and 198.18.7.2/24 (+ fd18:7::1/64, fd18:7::2/64), and ping each other
#   through the bridge (strict: all 5 replies within 10 s);
#   SIGTERM: the bridge exits 0, prints its counters, both TAPs disappear, no process is left.
# Needs TUNDRA_BIN. Root only (exit 77 otherwise, unless TUNDRA_NO_SKIP=1).
set -euo pipefail

: "${TUNDRA_BIN:?TUNDRA_BIN must point at the tundra binary}"

log() { printf '[bridge] %s\n' "$*" >&2; }
fail() {
  log "FAIL: $*"
  for f in "$TMP"/bridge.*; do [ -f "$f" ] && { echo "----- $f"; cat "$f"; } >&2; done
  exit 1
}

if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
  [ "${TUNDRA_NO_SKIP:-0}" = 1 ] && { log "FAIL: needs root and /dev/net/tun"; exit 1; }
  log "SKIP: needs root and /dev/net/tun"
  exit 77
fi

NSBR=tundra-brb-$$
NS1=tundra-br1-$$
NS2=tundra-br2-$$
TMP=$(mktemp -d /tmp/tundra-bridge.XXXXXX)
BR_PID=

cleanup() {
  local rc=$?
  set +e
  [ -n "$BR_PID" ] && kill -9 "$BR_PID" 2>/dev/null
  for ns in "$NSBR" "$NS1" "$NS2"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  done
  for ns in "$NSBR" "$NS1" "$NS2"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$TMP"
  [ $rc -eq 0 ] && log PASS || log "exit $rc"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for TENTHS CMD...
  local n=$1
  shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

for ns in "$NSBR" "$NS1" "$NS2"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done

log "tundra bridge tbra tbrb in $NSBR"
ip netns exec "$NSBR" "$TUNDRA_BIN" bridge tbra tbrb >"$TMP/bridge.out" 2>"$TMP/bridge.err" &
BR_PID=$!
wait_for 50 ip -n "$NSBR" link show tbra || fail "tbra did not appear"
wait_for 50 ip -n "$NSBR" link show tbrb || fail "tbrb did not appear"
[ "$(ip netns pids "$NSBR")" = "$BR_PID" ] || fail "bridge pid $BR_PID is not the process in $NSBR"

ip -n "$NSBR" link set tbra netns "$NS1"
ip -n "$NSBR" link set tbrb netns "$NS2"
ip -n "$NS1" addr add 198.18.7.1/24 dev tbra
ip -n "$NS2" addr add 198.18.7.2/24 dev tbrb
ip -n "$NS1" addr add fd18:7::1/64 dev tbra nodad
ip -n "$NS2" addr add fd18:7::2/64 dev tbrb nodad
ip -n "$NS1" link set tbra up
ip -n "$NS2" link set tbrb up

log "ping across the bridge"
ip netns exec "$NS1" ping -n -c 5 -i 0.2 -w 10 198.18.7.2 >"$TMP/bridge.ping4" ||
  fail "IPv4 ping ns1 -> ns2 through the bridge"
ip netns exec "$NS2" ping -n -c 5 -i 0.2 -w 10 198.18.7.1 >>"$TMP/bridge.ping4" ||
  fail "IPv4 ping ns2 -> ns1 through the bridge"
ip netns exec "$NS1" ping -6 -n -c 5 -i 0.2 -w 10 fd18:7::2 >"$TMP/bridge.ping6" ||
  fail "IPv6 ping ns1 -> ns2 through the bridge"

log "SIGTERM"
kill -TERM "$BR_PID"
rc=0
wait "$BR_PID" || rc=$?
BR_PID=
[ $rc -eq 0 ] || fail "bridge exited $rc"
cat "$TMP/bridge.out" >&2
grep -q "SIGTERM received" "$TMP/bridge.err" || fail "no shutdown message"
# At least the 15 echo requests one way and 15 replies the other (plus ARP/ND).
a2b=$(awk '/^tbra -> tbrb:/ {print $8}' "$TMP/bridge.out")
b2a=$(awk '/^tbrb -> tbra:/ {print $8}' "$TMP/bridge.out")
[ -n "$a2b" ] && [ "$a2b" -ge 15 ] || fail "tbra -> tbrb forwarded '$a2b' frames"
[ -n "$b2a" ] && [ "$b2a" -ge 15 ] || fail "tbrb -> tbra forwarded '$b2a' frames"
grep -q "^tbra drops: none" "$TMP/bridge.out" || fail "drops on tbra"
grep -q "^tbrb drops: none" "$TMP/bridge.out" || fail "drops on tbrb"

wait_for 20 sh -c "! ip -n $NS1 link show tbra" || fail "tbra still exists after the bridge exited"
wait_for 20 sh -c "! ip -n $NS2 link show tbrb" || fail "tbrb still exists after the bridge exited"
for ns in "$NSBR" "$NS1" "$NS2"; do
  [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns: $(ip netns pids "$ns")"
done
