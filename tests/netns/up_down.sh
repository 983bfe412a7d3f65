#!/bin/bash
# tundra up / down / syncconf / save between two namespaces, from config files, with real
# processes (tundra/cli/up, docs/config.md "tundra up"):
#   1. up on both hosts: ping both ways (IPv4, IPv6) and 20 MB of iperf3; the automatic MTU
#      (veth 1500 - 80); hooks ran with %i / %% substituted (they append to a file);
#      syncconf with a changed file keeps the unchanged peer's session; save writes it back;
#      down leaves no device, address, route, rule, socket, state file or process.
#   2. the default route (0.0.0.0/0 and ::/0): fwmark, `not fwmark` and
#      `suppress_prefixlength 0` rules in both families, the tunnel works and the underlay
#      stays reachable; then kill -9 of the daemon: up again replaces what it left, and after
#      another kill -9 down still removes everything.
#   3. a failing PreUp, and a failing PostUp after the routes and rules: up fails and nothing
#      is left.
#   4. an Endpoint host name (a private /etc/hosts in a mount namespace) that moves to another
#      address is followed by the re-resolver.
#   5. DNS (handed to resolvconf, a stand-in in PATH; without one a warning), User (the
#      daemon's uids), PeerUp/PeerDown (run as User with %i %k %e, on a 20x clock), tundra show
#      --json's per-peer counters, SaveConfig (down writes a peer added at run time back).
. "$(dirname "$0")/lib.sh"
require_root
for tool in wg iperf3 unshare; do
  command -v "$tool" >/dev/null || { [ "${TUNDRA_NO_SKIP:-0}" = 1 ] && fail "needs $tool"; log "SKIP: needs $tool"; exit 77; }
done

make_two_hosts
IF_A=$(ifname ua) IF_B=$(ifname ub)
CONF=$LOG_DIR/conf
mkdir -m 700 "$CONF"
HOOKS=$LOG_DIR/hooks.out
umask 077
make_keys "$CONF" a b
PUB_A=$(cat "$CONF/a.pub") PUB_B=$(cat "$CONF/b.pub")

cleanup_tunnels() {
  for pair in "$NS_A $IF_A" "$NS_B $IF_B"; do
    set -- $pair
    [ -f "/run/tundra/$2.state" ] && in_ns "$1" "$TUNDRA_BIN" down "$2" >/dev/null 2>&1
    ip -n "$1" link del "$2" 2>/dev/null
    rm -f "/run/tundra/$2.state" "/var/run/wireguard/$2.sock"
  done
}
CLEANUP_HOOKS+=(cleanup_tunnels)

# write_conf HOST IFNAME ALLOWED_IPS ENDPOINT [EXTRA_INTERFACE_LINES]
write_conf() {
  local h=$1 ifn=$2 ips=$3 ep=$4 extra=${5:-} n peer
  n=$([ "$h" = a ] && echo 1 || echo 2)
  peer=$([ "$h" = a ] && echo "$PUB_B" || echo "$PUB_A")
  {
    echo "[Interface]"
    echo "PrivateKeyFile = $h.key"
    echo "Address = 198.19.0.$n/24, fd19::$n/64"
    echo "ListenPort = 51820"
    [ -n "$extra" ] && printf '%s\n' "$extra"
    echo "[Peer]"
    echo "PublicKey = $peer"
    echo "AllowedIPs = $ips"
    if [ -n "$ep" ]; then echo "Endpoint = $ep"; fi
  } > "$CONF/$ifn.conf"
}

up() { in_ns "$1" "$TUNDRA_BIN" up "$CONF/$2.conf" >>"$LOG_DIR/up-$2.log" 2>&1; }
down() { in_ns "$1" "$TUNDRA_BIN" down "$2" >>"$LOG_DIR/down-$2.log" 2>&1; }
daemon_pid() { awk '$1 == "daemon" {print $2}' "/run/tundra/$1.state"; }
resolver_pid() { awk '$1 == "resolver" {print $2}' "/run/tundra/$1.state"; }

# assert_clean NS IFNAME PID...: nothing of the tunnel is left.
assert_clean() {
  local ns=$1 ifn=$2; shift 2
  ! ip -n "$ns" link show "$ifn" >/dev/null 2>&1 || fail "$ifn still exists"
  ! ip -n "$ns" addr | grep -q '198\.19\.\|fd19::' || fail "a tunnel address is left: $(ip -n "$ns" addr | grep '198\.19\.\|fd19::')"
  for fam in -4 -6; do
    ! ip -n "$ns" $fam route show table all | grep -q "$ifn\|198\.19\.\|fd19::" ||
      fail "a route is left: $(ip -n "$ns" $fam route show table all | grep "$ifn\|198\.19\.\|fd19::")"
    [ "$(ip -n "$ns" $fam rule show | grep -c 'fwmark\|suppress_prefixlength')" = 0 ] ||
      fail "a rule is left: $(ip -n "$ns" $fam rule show)"
  done
  [ ! -e "/var/run/wireguard/$ifn.sock" ] || fail "the UAPI socket of $ifn is left"
  [ ! -e "/run/tundra/$ifn.state" ] || fail "the state file of $ifn is left"
  for pid in "$@"; do
    if [ -n "$pid" ] && [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status"; then
      fail "process $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline")) is left"
    fi
  done
}

# ---- 1. up on both hosts, traffic, hooks, syncconf, save, down ----
HOOK_LINES="PreUp = echo preup %i >> $HOOKS
PostUp = /bin/sh -c 'echo \"postup \$1 [\$2]\" >> $HOOKS' hook %i '100%%'
PreDown = echo predown %i >> $HOOKS
PostDown = echo postdown %i >> $HOOKS"
write_conf a "$IF_A" "198.19.0.2/32, fd19::2/128" "198.18.0.2:51820" "$HOOK_LINES"
write_conf b "$IF_B" "198.19.0.1/32, fd19::1/128" "198.18.0.1:51820"
up "$NS_A" "$IF_A" || fail "tundra up $IF_A: $(cat "$LOG_DIR/up-$IF_A.log")"
up "$NS_B" "$IF_B" || fail "tundra up $IF_B: $(cat "$LOG_DIR/up-$IF_B.log")"
[ "$(stat -c %a "/run/tundra/$IF_A.state")" = 600 ] || fail "state file mode"
! grep -qi "$(cut -c1-20 "$CONF/a.key")" "/run/tundra/$IF_A.state" "$LOG_DIR/up-$IF_A.log" ||
  fail "the private key appears in the state file or the output"
ping_ok "$NS_A" 198.19.0.2 || fail "ping A -> B (IPv4)"
ping_ok "$NS_B" 198.19.0.1 || fail "ping B -> A (IPv4)"
ping_ok "$NS_A" fd19::2 || fail "ping A -> B (IPv6)"
ping_ok "$NS_B" fd19::1 || fail "ping B -> A (IPv6)"
in_ns "$NS_B" iperf3 -s -D -1 -I "$LOG_DIR/iperf.pid" >/dev/null
sleep 0.5
in_ns "$NS_A" timeout 60 iperf3 -c 198.19.0.2 -n 20M >"$LOG_DIR/iperf.log" 2>&1 || fail "iperf3 through the tunnel"
mtu=$(ip -n "$NS_A" -o link show "$IF_A" | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
[ "$mtu" = 1420 ] || fail "automatic MTU: $mtu, want 1500 - 80"
ip -n "$NS_A" route show dev "$IF_A" | grep -q '^198.19.0.0/24' || fail "no prefix route"
printf 'preup %s\npostup %s [100%%]\n' "$IF_A" "$IF_A" | cmp -s - "$HOOKS" ||
  fail "hook output: $(cat "$HOOKS")"
log "up: ping both ways and families, 20 MB iperf3, MTU $mtu, hooks ok"

# syncconf: one more allowed IP for B's peer on A; the session (handshake time) is kept.
hs() { in_ns "$NS_A" wg show "$IF_A" latest-handshakes | awk '{print $2}'; }
hs_before=$(hs)
rx_before=$(in_ns "$NS_A" wg show "$IF_A" transfer | awk '{print $2}')
sed -i 's|^AllowedIPs = .*|AllowedIPs = 198.19.0.2/32, fd19::2/128, 198.19.9.0/24|' "$CONF/$IF_A.conf"
in_ns "$NS_A" "$TUNDRA_BIN" syncconf "$IF_A" >"$LOG_DIR/sync.log" 2>&1 || fail "syncconf: $(cat "$LOG_DIR/sync.log")"
in_ns "$NS_A" wg show "$IF_A" allowed-ips | grep -q 198.19.9.0/24 || fail "syncconf did not add the allowed IP"
[ "$(hs)" = "$hs_before" ] || fail "syncconf touched the session (handshake $hs_before -> $(hs))"
rx_after=$(in_ns "$NS_A" wg show "$IF_A" transfer | awk '{print $2}')
[ "$rx_after" -ge "$rx_before" ] || fail "syncconf reset the peer's counters"
in_ns "$NS_A" "$TUNDRA_BIN" syncconf "$IF_A" 2>&1 | grep -q 'nothing changed' || fail "second syncconf changed something"
ping_ok "$NS_A" 198.19.0.2 || fail "ping after syncconf"
# save: the running config goes back to the file (addresses from the interface, key file kept).
in_ns "$NS_A" "$TUNDRA_BIN" save "$IF_A" >"$LOG_DIR/save.log" 2>&1 || fail "save: $(cat "$LOG_DIR/save.log")"
grep -q '^PrivateKeyFile = a.key$' "$CONF/$IF_A.conf" || fail "save lost PrivateKeyFile: $(cat "$CONF/$IF_A.conf")"
grep -q '^AllowedIPs = .*198.19.9.0/24' "$CONF/$IF_A.conf" || fail "save: allowed IPs"
grep -q '^Address = 198.19.0.1/24$' "$CONF/$IF_A.conf" || fail "save: address"
"$TUNDRA_BIN" strip "$CONF/$IF_A.conf" >/dev/null || fail "the saved file does not parse"
log "syncconf kept the session (handshake $hs_before), save wrote the file"

pids_a="$(daemon_pid "$IF_A")" pids_b="$(daemon_pid "$IF_B")"
down "$NS_A" "$IF_A" || fail "down $IF_A: $(cat "$LOG_DIR/down-$IF_A.log")"
down "$NS_B" "$IF_B" || fail "down $IF_B: $(cat "$LOG_DIR/down-$IF_B.log")"
assert_clean "$NS_A" "$IF_A" $pids_a
assert_clean "$NS_B" "$IF_B" $pids_b
tail -n 2 "$HOOKS" | cmp -s - <(printf 'predown %s\npostdown %s\n' "$IF_A" "$IF_A") ||
  fail "down hooks: $(cat "$HOOKS")"
log "down: nothing left (daemons $pids_a $pids_b gone)"

# ---- 2. default route, then kill -9 of the daemon ----
write_conf a "$IF_A" "0.0.0.0/0, ::/0" "198.18.0.2:51820"
up "$NS_A" "$IF_A" || fail "up (default route): $(cat "$LOG_DIR/up-$IF_A.log")"
up "$NS_B" "$IF_B" || fail "up $IF_B again"
for fam in -4 -6; do
  rules=$(ip -n "$NS_A" $fam rule show)
  echo "$rules" | grep -q 'not from all fwmark 0xca6c lookup 51820' || fail "$fam: no 'not fwmark' rule: $rules"
  echo "$rules" | grep -q 'from all lookup main suppress_prefixlength 0' || fail "$fam: no suppress rule: $rules"
  ip -n "$NS_A" $fam route show table 51820 | grep -q "^default dev $IF_A" || fail "$fam: no default route in table 51820"
done
in_ns "$NS_A" wg show "$IF_A" fwmark | grep -q 0xca6c || fail "fwmark not set on the device"
in_ns "$NS_A" ip route get 198.19.5.5 | grep -q "dev $IF_A" || fail "198.19.5.5 does not go through the tunnel"
in_ns "$NS_A" ip -6 route get fd19::77 | grep -q "dev $IF_A" || fail "fd19::77 does not go through the tunnel"
ping_ok "$NS_A" 198.19.0.2 || fail "ping through the default route"
ping_ok "$NS_A" fd19::2 || fail "ping6 through the default route"
ping_ok "$NS_A" 198.18.0.2 || fail "the underlay is not reachable with the default route"
ping_ok "$NS_A" fd18::2 || fail "the IPv6 underlay is not reachable with the default route"
log "default route: rules, fwmark, tunnel and underlay ok"
pid=$(daemon_pid "$IF_A")
kill -9 "$pid"
wait_for 50 sh -c "! ip -n $NS_A link show $IF_A" || fail "the interface outlived kill -9"
# up again: what the killed daemon left (state, rules) goes first, then the tunnel comes up.
up "$NS_A" "$IF_A" || fail "up after kill -9: $(cat "$LOG_DIR/up-$IF_A.log")"
grep -q "which is gone: removing what it left first" "$LOG_DIR/up-$IF_A.log" ||
  fail "up after kill -9 did not say it removed the stale state: $(cat "$LOG_DIR/up-$IF_A.log")"
for fam in -4 -6; do
  n=$(ip -n "$NS_A" $fam rule show | grep -c 'not from all fwmark 0xca6c lookup 51820' || true)
  [ "$n" = 1 ] || fail "$fam: $n 'not fwmark' rules after up over a stale state"
done
ping_ok "$NS_A" 198.19.0.2 || fail "ping after up over a stale state"
pid2=$(daemon_pid "$IF_A")
kill -9 "$pid2"
wait_for 50 sh -c "! ip -n $NS_A link show $IF_A" || fail "the interface outlived kill -9"
down "$NS_A" "$IF_A" || fail "down after kill -9: $(cat "$LOG_DIR/down-$IF_A.log")"
assert_clean "$NS_A" "$IF_A" "$pid" "$pid2"
log "kill -9 + up: stale state replaced; kill -9 + down: nothing left"

# ---- 3. failing PreUp / PostUp roll back ----
write_conf a "$IF_A" "198.19.0.2/32" "198.18.0.2:51820" "PreUp = false
PostUp = echo must-not-run >> $HOOKS"
! up "$NS_A" "$IF_A" || fail "up with a failing PreUp succeeded"
grep -q "PreUp: hook 'false': exited with status 1" "$LOG_DIR/up-$IF_A.log" || fail "PreUp error: $(cat "$LOG_DIR/up-$IF_A.log")"
! grep -q must-not-run "$HOOKS" || fail "PostUp ran after a failed PreUp"
assert_clean "$NS_A" "$IF_A"
write_conf a "$IF_A" "0.0.0.0/0, ::/0" "198.18.0.2:51820" "PostUp = sh -c 'exit 3'"
! up "$NS_A" "$IF_A" || fail "up with a failing PostUp succeeded"
grep -q "rule add" "$LOG_DIR/up-$IF_A.log" || fail "the PostUp case did not get to the rules"
assert_clean "$NS_A" "$IF_A"
log "failing PreUp and PostUp: rolled back"

# ---- 4. an Endpoint host name that moves ----
down "$NS_B" "$IF_B" || fail "down $IF_B"
HOSTS=$LOG_DIR/hosts
printf '127.0.0.1 localhost\n198.18.0.2 peerb.tundra.test\n' > "$HOSTS"
chmod 644 "$HOSTS"
write_conf a "$IF_A" "198.19.0.2/32" "peerb.tundra.test:51820"
write_conf b "$IF_B" "198.19.0.1/32" ""  # B knows no endpoint: only A's re-resolution can reach it
up "$NS_B" "$IF_B" || fail "up $IF_B (passive)"
TUNDRA_RERESOLVE_AFTER=3 unshare -m sh -c "mount --bind '$HOSTS' /etc/hosts && ip netns exec '$NS_A' '$TUNDRA_BIN' up '$CONF/$IF_A.conf'" \
  >>"$LOG_DIR/up-$IF_A.log" 2>&1 || fail "up with a host name: $(cat "$LOG_DIR/up-$IF_A.log")"
rpid=$(resolver_pid "$IF_A")
[ -n "$rpid" ] || fail "no re-resolver started"
ping_ok "$NS_A" 198.19.0.2 || fail "ping to the host-name endpoint"
in_ns "$NS_A" wg show "$IF_A" endpoints | grep -q '198.18.0.2:51820' || fail "endpoint not resolved"
# B moves to 198.18.0.3 (a fresh daemon that has never heard of A), and the name follows.
down "$NS_B" "$IF_B" || fail "down $IF_B before the move"
ip -n "$NS_B" addr del 198.18.0.2/24 dev vb
ip -n "$NS_B" addr add 198.18.0.3/24 dev vb
printf '127.0.0.1 localhost\n198.18.0.3 peerb.tundra.test\n' > "$HOSTS"  # same inode: the bind mount sees it
up "$NS_B" "$IF_B" || fail "up $IF_B after the move"
moved() { in_ns "$NS_A" wg show "$IF_A" endpoints | grep -q '198.18.0.3:51820'; }
start=$(date +%s)
wait_for 600 moved || fail "the endpoint did not follow the name: $(in_ns "$NS_A" wg show "$IF_A" endpoints)"
in_ns "$NS_A" ping -c 3 -i 0.3 -w 20 -q 198.19.0.2 >/dev/null || fail "ping after the move"
log "host name followed to 198.18.0.3 in $(( $(date +%s) - start )) s; ping ok"
pid=$(daemon_pid "$IF_A")
down "$NS_A" "$IF_A" || fail "down $IF_A (host name)"
assert_clean "$NS_A" "$IF_A" "$pid" "$rpid"

# ---- 5. DNS, SaveConfig, User and PeerUp/PeerDown from the file ----
# DNS goes to resolvconf when there is one in PATH: a stand-in that records its arguments
# and input (the real one would rewrite this machine's /etc/resolv.conf).
mkdir -p "$LOG_DIR/bin"
cat > "$LOG_DIR/bin/resolvconf" <<EOF_RC
#!/bin/sh
{ echo "args: \$*"; cat; } >> "$LOG_DIR/resolvconf.log"
EOF_RC
chmod 755 "$LOG_DIR/bin/resolvconf"
U="tundra-up$((RUN_ID % 100000))"
useradd --system --no-create-home --shell /usr/sbin/nologin "$U" || fail "useradd $U"
CLEANUP_HOOKS+=("userdel -f $U 2>/dev/null")
EVENTS_DIR=$(mktemp -d /tmp/tundra-up-events.XXXXXX)
CLEANUP_HOOKS+=("rm -rf $EVENTS_DIR")
chown "$U" "$EVENTS_DIR"
EVENTS=$EVENTS_DIR/events
write_conf a "$IF_A" "198.19.0.2/32" "198.18.0.3:51820" "DNS = 198.19.0.53, tundra.test
SaveConfig = true
User = $U
PeerUp = echo up %i %k %e \$(id -u) >> $EVENTS
PeerDown = echo down %i %k %e \$(id -u) >> $EVENTS"
TUNDRA_TEST_TIME_SCALE=20 PATH="$LOG_DIR/bin:$PATH" up "$NS_A" "$IF_A" ||
  fail "up with DNS, SaveConfig, User, PeerUp: $(cat "$LOG_DIR/up-$IF_A.log")"
printf 'args: -a %s -m 0 -x\nnameserver 198.19.0.53\nsearch tundra.test\n' "$IF_A" |
  cmp -s - "$LOG_DIR/resolvconf.log" || fail "resolvconf got: $(cat "$LOG_DIR/resolvconf.log")"
pid=$(daemon_pid "$IF_A")
uid_u=$(id -u "$U")
awk '$1 == "Uid:" {print $2, $3, $4, $5}' "/proc/$pid/status" | grep -qx "$uid_u $uid_u $uid_u $uid_u" ||
  fail "User = $U: the daemon's uids are $(grep Uid: "/proc/$pid/status")"
ping_ok "$NS_A" 198.19.0.2 || fail "ping with User = $U"
wait_for 50 grep -q "^up" "$EVENTS" || fail "PeerUp did not run: $(cat "$EVENTS" 2>/dev/null)"
grep -qx "up $IF_A $PUB_B 198.18.0.3:51820 $uid_u" "$EVENTS" || fail "PeerUp line: $(cat "$EVENTS")"
# Silence: the session expires after REJECT_AFTER_TIME (180 s / 20), then PeerDown.
wait_for 300 grep -q "^down" "$EVENTS" || fail "PeerDown did not run within 30 s: $(cat "$EVENTS")"
grep -qx "down $IF_A $PUB_B 198.18.0.3:51820 $uid_u" "$EVENTS" || fail "PeerDown line: $(cat "$EVENTS")"
# tundra show reads the per-peer counters (tundra_peers=1) from the running daemon.
in_ns "$NS_A" "$TUNDRA_BIN" show "$IF_A" --json > "$LOG_DIR/show.json" || fail "tundra show --json"
python3 - "$LOG_DIR/show.json" "$PUB_B" <<'PY' || fail "show --json: $(cat "$LOG_DIR/show.json")"
import json, sys
peer = json.load(open(sys.argv[1]))["interfaces"][0]["peers"][0]
assert peer["public_key"] == sys.argv[2], peer
t = peer["tundra"]
assert t["transport_in_use"] == "udp" and t["handshakes"] >= 1, t
assert t["tx_packets"] >= 1 and t["rx_packets"] >= 1 and t["handshake_initiations"] >= 1, t
PY
# SaveConfig: a peer added at run time is in the file after down.
NEW_PEER=$("$TUNDRA_BIN" genkey | "$TUNDRA_BIN" pubkey)
in_ns "$NS_A" wg set "$IF_A" peer "$NEW_PEER" allowed-ips 198.19.7.7/32 || fail "wg set (new peer)"
PATH="$LOG_DIR/bin:$PATH" down "$NS_A" "$IF_A" || fail "down (SaveConfig): $(cat "$LOG_DIR/down-$IF_A.log")"
grep -q "^args: -d $IF_A -f$" "$LOG_DIR/resolvconf.log" || fail "down did not remove the DNS: $(cat "$LOG_DIR/resolvconf.log")"
grep -q "^PublicKey = $NEW_PEER$" "$CONF/$IF_A.conf" || fail "SaveConfig: the new peer is not in the file: $(cat "$CONF/$IF_A.conf")"
grep -q '^AllowedIPs = 198.19.7.7/32$' "$CONF/$IF_A.conf" || fail "SaveConfig: the new peer's allowed IPs"
grep -q "^User = $U$" "$CONF/$IF_A.conf" || fail "SaveConfig lost User"
assert_clean "$NS_A" "$IF_A" "$pid"
# Without resolvconf in PATH: a warning naming the way out, and the tunnel comes up anyway.
sed -i '/^User = /d; /^SaveConfig = /d; /^Peer\(Up\|Down\) = /d' "$CONF/$IF_A.conf"
PATH=/usr/bin:/bin up "$NS_A" "$IF_A" || fail "up with DNS and no resolvconf: $(cat "$LOG_DIR/up-$IF_A.log")"
grep -q "DNS for $IF_A not set: no resolvconf in PATH" "$LOG_DIR/up-$IF_A.log" || fail "no DNS warning: $(cat "$LOG_DIR/up-$IF_A.log")"
! grep -qx dns "/run/tundra/$IF_A.state" || fail "the state says DNS was set"
pid=$(daemon_pid "$IF_A")
PATH=/usr/bin:/bin down "$NS_A" "$IF_A" || fail "down (no resolvconf)"
assert_clean "$NS_A" "$IF_A" "$pid"
log "DNS via resolvconf (and the warning without), SaveConfig, User, PeerUp/PeerDown ok"
log "PASS"
