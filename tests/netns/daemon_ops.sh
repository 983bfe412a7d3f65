#!/bin/bash
# The daemon's operations features (issue #11): --user and PeerUp/PeerDown hooks.
#
# Host A runs `tundra -f --user U --peer-up ... --peer-down ...`, host B a plain tundra; both
# with the test-only TUNDRA_TEST_TIME_SCALE=20 (REKEY_AFTER_TIME 6 s, REJECT_AFTER_TIME 9 s).
#   0. An unknown --user is refused with its name before anything is created.
#   1. A's daemon runs as U with CAP_NET_ADMIN only (Uid, CapEff/CapPrm/CapBnd/CapAmb/CapInh
#      from /proc/PID/status), is not dumpable (its /proc files are root's; U cannot read its
#      environ), and root configures it over the UAPI socket after the drop (wg set, fwmark).
#   2. The first ping brings the peer up: the PeerUp hook ran as U with %i %k %e.
#   3. Traffic for longer than REKEY_AFTER_TIME: a new handshake (rekey), no ping lost; B moves
#      to another port and A follows (roaming); an MTU change reaches A's daemon.
#   4. Silence: the PeerDown hook runs with %i %k %e once the last session is REJECT_AFTER_TIME
#      old (not before), as U.
#   5. Deleting the interface ends the daemon; its socket file (in root's directory, which U
#      cannot write) is removed by the janitor, which exits too.
source "$(dirname "$0")/lib.sh"
require_root

SCALE=20
U="tundra-ops$((RUN_ID % 100000))"
useradd --system --no-create-home --shell /usr/sbin/nologin "$U" || fail "useradd $U"
# Runs first in the cleanup: the daemon (by its pid) must be gone before its user can go.
CLEANUP_HOOKS+=('[ -n "${PID_A:-}" ] && kill "$PID_A" 2>/dev/null && sleep 0.5; userdel -f "$U" 2>/dev/null')
UID_U=$(id -u "$U")
HOOK_DIR=$(mktemp -d /tmp/tundra-ops-hooks.XXXXXX)
CLEANUP_HOOKS+=("rm -rf $HOOK_DIR")
chown "$U" "$HOOK_DIR"
EVENTS=$HOOK_DIR/events

make_two_hosts
IF_A=$(ifname opa) IF_B=$(ifname opb)
CLEANUP_HOOKS+=("ip -n $NS_A link del $IF_A 2>/dev/null; ip -n $NS_B link del $IF_B 2>/dev/null")
umask 077
make_keys "$LOG_DIR" a b
PUB_A=$(cat "$LOG_DIR/a.pub") PUB_B=$(cat "$LOG_DIR/b.pub")

# An unknown user: refused before anything is created.
if out=$(in_ns "$NS_A" "$TUNDRA_BIN" --user "no-such-user-$RUN_ID" "$IF_A" 2>&1); then
  fail "an unknown --user was accepted"
fi
grep -q -- "--user: unknown user 'no-such-user-$RUN_ID'" <<< "$out" || fail "unclear error: $out"
ip -n "$NS_A" link show "$IF_A" > /dev/null 2>&1 && fail "unknown user: interface left behind"
[ -e "/var/run/wireguard/$IF_A.sock" ] && fail "unknown user: socket left behind"

# A plain command (not the in_ns function) so that $! is the daemon itself.
TUNDRA_TEST_TIME_SCALE=$SCALE LOG_LEVEL=debug ip netns exec "$NS_A" "$TUNDRA_BIN" -f --user "$U" \
  --peer-up "echo up %i %k %e \$(id -u) \$(date +%s) >> $EVENTS" \
  --peer-down "echo down %i %k %e \$(id -u) \$(date +%s) >> $EVENTS" \
  "$IF_A" > "$LOG_DIR/a.log" 2>&1 &
PID_A=$!
TUNDRA_TEST_TIME_SCALE=$SCALE LOG_LEVEL=debug in_ns "$NS_B" "$TUNDRA_BIN" "$IF_B" \
  > "$LOG_DIR/b.log" 2>&1 || fail "B did not start"
wait_for 50 test -S "/var/run/wireguard/$IF_A.sock" || fail "A: no UAPI socket"
wait_for 50 grep -q "device $IF_A up" "$LOG_DIR/a.log" || fail "A: device not up"

# 1. Who A's daemon is now.
status() { grep "^$1:" "/proc/$PID_A/status" | awk '{print $2}'; }
[ "$(status Uid)" = "$UID_U" ] || fail "A's uid is $(status Uid), not $UID_U"
grep -q "^Uid:[[:space:]]*$UID_U[[:space:]]*$UID_U[[:space:]]*$UID_U[[:space:]]*$UID_U\$" \
  "/proc/$PID_A/status" || fail "A's real/effective/saved/fs uid are not all $UID_U"
[ "$(status Gid)" = "$(id -g "$U")" ] || fail "A's gid is $(status Gid)"
NET_ADMIN=0000000000001000  # 1 << CAP_NET_ADMIN (12)
for c in CapEff CapPrm CapBnd; do
  [ "$(status $c)" = "$NET_ADMIN" ] || fail "A's $c is $(status $c), not CAP_NET_ADMIN only"
done
for c in CapAmb CapInh; do
  [ "$(status $c)" = 0000000000000000 ] || fail "A's $c is $(status $c), not empty"
done
[ "$(stat -c %u "/proc/$PID_A/environ")" = 0 ] || fail "A is dumpable: /proc/PID files are its uid's"
if setpriv --reuid="$UID_U" --regid="$(id -g "$U")" --clear-groups cat "/proc/$PID_A/environ" \
  > /dev/null 2>&1; then
  fail "A's own user can read its /proc/PID/environ (dumpable)"
fi
log "A runs as $U (uid $UID_U): CapEff=CapPrm=CapBnd=$NET_ADMIN, not dumpable"

# Configured after the drop, by root, over the UAPI socket.
wg set "$IF_A" listen-port 51820 private-key "$LOG_DIR/a.key" fwmark 0x51 peer "$PUB_B" \
  allowed-ips 198.19.0.2/32 endpoint 198.18.0.2:51821 || fail "wg set on A after the drop"
wg set "$IF_B" listen-port 51821 private-key "$LOG_DIR/b.key" peer "$PUB_A" \
  allowed-ips 198.19.0.1/32 endpoint 198.18.0.1:51820
[ "$(wg show "$IF_A" fwmark)" = 0x51 ] || fail "fwmark (SO_MARK, CAP_NET_ADMIN) not set"
ip -n "$NS_A" addr add 198.19.0.1/24 dev "$IF_A"
ip -n "$NS_B" addr add 198.19.0.2/24 dev "$IF_B"
ip -n "$NS_A" link set "$IF_A" up
ip -n "$NS_B" link set "$IF_B" up

# 2. Up.
ping_ok "$NS_A" 198.19.0.2 3 || fail "no ping through the tunnel"
wait_for 50 grep -q "^up" "$EVENTS" || fail "PeerUp did not run"
[ "$(grep -c . "$EVENTS")" = 1 ] || fail "expected one event: $(cat "$EVENTS")"
read -r kind ifn key ep uid t_up < "$EVENTS"
[ "$ifn $key $ep $uid" = "$IF_A $PUB_B 198.18.0.2:51821 $UID_U" ] ||
  fail "PeerUp got '$ifn $key $ep $uid', wanted '$IF_A $PUB_B 198.18.0.2:51821 $UID_U'"
log "PeerUp: $kind $ifn $key $ep (uid $uid)"

# 3. Rekey, roaming, MTU, all after the drop.
hs() { wg show "$IF_A" latest-handshakes | awk '{print $2}'; }
first=$(hs)
lost=$(in_ns "$NS_A" ping -c 50 -i 0.2 -W 2 198.19.0.2 | awk '/packet loss/ {print $1 - $4}')
[ "$lost" -le 2 ] || fail "$lost of 50 pings lost across the rekey"
wait_for 50 sh -c "[ \$(wg show $IF_A latest-handshakes | awk '{print \$2}') -ge $((first + 5)) ]" ||
  fail "no new handshake after REKEY_AFTER_TIME (6 s scaled): first $first, now $(hs)"
log "rekeyed: handshake at $first, then $(hs); $lost of 50 pings lost"
wg set "$IF_B" listen-port 51822
ping_ok "$NS_B" 198.19.0.1 3 || fail "no ping after B moved its port"
[ "$(wg show "$IF_A" endpoints | awk '{print $2}')" = 198.18.0.2:51822 ] ||
  fail "A did not follow B to port 51822: $(wg show "$IF_A" endpoints)"
ip -n "$NS_A" link set "$IF_A" mtu 1300
wait_for 50 grep -q "MTU changed to 1300" "$LOG_DIR/a.log" || fail "A missed the MTU change"
ping_ok "$NS_A" 198.19.0.2 3 || fail "no ping after the MTU change"
[ "$(grep -c . "$EVENTS")" = 1 ] || fail "a rekey or roam produced an event: $(cat "$EVENTS")"

# 4. Down: silence until the last session is REJECT_AFTER_TIME (180 s / 20 = 9 s) old.
wait_for 300 grep -q "^down" "$EVENTS" || fail "PeerDown did not run within 30 s"
last=$(hs)  # the last session's handshake (a passive keepalive may have rekeyed once more)
read -r kind ifn key ep uid t_down < <(grep "^down" "$EVENTS")
[ "$ifn $key $ep $uid" = "$IF_A $PUB_B 198.18.0.2:51822 $UID_U" ] ||
  fail "PeerDown got '$ifn $key $ep $uid', wanted '$IF_A $PUB_B 198.18.0.2:51822 $UID_U'"
[ $((t_down - last)) -ge 8 ] && [ $((t_down - last)) -le 20 ] ||
  fail "PeerDown $((t_down - last)) s after the last handshake (REJECT_AFTER_TIME scaled is 9 s)"
log "PeerDown $((t_down - last)) s after the last handshake: $kind $ifn $key $ep"
# And up again on the next handshake.
ping_ok "$NS_A" 198.19.0.2 3 || fail "no ping after the peer went down"
wait_for 50 sh -c "[ \$(grep -c '^up' $EVENTS) = 2 ]" || fail "no second PeerUp"

# 5. Exit and clean-up without root.
JANITOR=$(pgrep -P "$PID_A" || true)
[ -n "$JANITOR" ] || fail "no socket janitor"
[ "$(stat -c %u "/proc/$JANITOR")" = 0 ] && [ "$(ls "/proc/$JANITOR/fd" | wc -l)" = 4 ] ||
  fail "janitor: $(ls -l "/proc/$JANITOR/fd")"
ip -n "$NS_A" link del "$IF_A"
wait_for 50 sh -c "! kill -0 $PID_A 2>/dev/null" || fail "A did not exit after its interface went"
wait_for 50 test ! -S "/var/run/wireguard/$IF_A.sock" || fail "A's socket file left behind"
wait_for 50 sh -c "! kill -0 $JANITOR 2>/dev/null" || fail "the janitor did not exit"
log "interface deleted: daemon and janitor gone, socket removed"
ip -n "$NS_B" link del "$IF_B"
log "PASS"
