#!/bin/bash
# tundra@.service's sandbox, without systemd as PID 1: `tundra up`, `save` and `down` run inside
# the unit's own limits, read from dist/systemd/tundra@.service.in:
#   - CapabilityBoundingSet (setpriv --bounding-set: as root, a program gets no other capability),
#   - NoNewPrivileges (setpriv --no-new-privs) and UMask,
#   - ProtectSystem=strict with ReadWritePaths: in a private mount namespace the root file system
#     is read-only, /run is writable and the config directory stands in for /etc/tundra.
# The underlay's MTU is 1400, so the automatic MTU must be 1320. The tunnel runs as
# User = nobody; pings cross it both ways, `save` rewrites the file, `down` of a stuck (stopped)
# daemon, which it must signal although that is no longer root (CAP_KILL), leaves nothing
# behind, and PostDown runs then; without CAP_KILL `down` fails, keeps the state and does not
# run PostDown. A capability the daemon needs and the unit lacks (CAP_NET_BROADCAST was one) fails
# `up` here.
source "$(dirname "$0")/lib.sh"
require_root
for tool in wg setpriv unshare; do
  command -v "$tool" >/dev/null || { [ "${TUNDRA_NO_SKIP:-0}" = 1 ] && fail "needs $tool"; log "SKIP: needs $tool"; exit 77; }
done
UNIT="$(dirname "$0")/../../dist/systemd/tundra@.service.in"
[ -f "$UNIT" ] || fail "no unit template at $UNIT"
directive() { awk -F= -v k="$1" '$1 == k {sub(/^[^=]*=/, ""); print}' "$UNIT"; }

CAPS=$(directive CapabilityBoundingSet)
[ -n "$CAPS" ] || fail "the unit has no CapabilityBoundingSet"
BSET=-all
for c in $CAPS; do c=${c#CAP_}; BSET+=",+${c,,}"; done
[ "$(directive NoNewPrivileges)" = yes ] || fail "the unit does not set NoNewPrivileges=yes"
[ "$(directive ProtectSystem)" = strict ] || fail "the unit does not set ProtectSystem=strict"
UMASK=$(directive UMask)
RW_PATHS=$(directive ReadWritePaths)
case " $RW_PATHS " in *" /run "*) ;; *) fail "ReadWritePaths lacks /run: $RW_PATHS" ;; esac
case " $RW_PATHS " in *" -/etc/tundra "*) ;; *) fail "ReadWritePaths lacks /etc/tundra: $RW_PATHS" ;; esac
log "unit: bounding set $CAPS; umask $UMASK; writable $RW_PATHS"

make_two_hosts
IF_A=$(ifname sba) IF_B=$(ifname sbb)
CONF=$LOG_DIR/conf  # stands in for /etc/tundra
mkdir -m 700 "$CONF"
umask 077
make_keys "$CONF" a b
cleanup_tunnel() {
  [ -f "/run/tundra/$IF_A.state" ] && in_ns "$NS_A" "$TUNDRA_BIN" down "$IF_A" >/dev/null 2>&1
  ip -n "$NS_A" link del "$IF_A" 2>/dev/null
  rm -f "/run/tundra/$IF_A.state" "/run/tundra/$IF_A.log" "/var/run/wireguard/$IF_A.sock"
}
CLEANUP_HOOKS+=(cleanup_tunnel)
cat > "$CONF/$IF_A.conf" <<EOF
[Interface]
PrivateKeyFile = a.key
Address = 198.19.0.1/24, fd19::1/64
ListenPort = 51820
User = nobody
PostDown = touch $CONF/postdown-ran

[Peer]
PublicKey = $(cat "$CONF/b.pub")
AllowedIPs = 198.19.0.2/32, fd19::2/128
Endpoint = 198.18.0.2:51821
EOF

# sandboxed NS CMD...: CMD in NS inside the unit's limits (see the top).
sandboxed() {
  local ns=$1; shift
  unshare -m --propagation private bash -s "$ns" "$CONF" "$BSET" "$UMASK" "$@" <<'INNER'
set -euo pipefail
ns=$1 conf=$2 bset=$3 mask=$4; shift 4
mount -o remount,bind,ro /  # (only / itself: submounts such as a tmpfs /tmp keep their flags)
for p in /run "$conf"; do mount --rbind "$p" "$p"; mount -o remount,bind,rw "$p"; done
if touch /usr/.tundra-sandbox-probe 2>/dev/null; then
  rm -f /usr/.tundra-sandbox-probe; echo "the root file system is writable" >&2; exit 99
fi
umask "$mask"
exec ip netns exec "$ns" setpriv --no-new-privs --bounding-set "$bset" -- "$@"
INNER
}

start_impl "$NS_B" tundra "$IF_B"
wg set "$IF_B" listen-port 51821 private-key "$CONF/b.key" \
  peer "$(cat "$CONF/a.pub")" allowed-ips 198.19.0.1/32,fd19::1/128 endpoint 198.18.0.1:51820
ip -n "$NS_B" addr add 198.19.0.2/24 dev "$IF_B"
ip -n "$NS_B" addr add fd19::2/64 dev "$IF_B" nodad
ip -n "$NS_B" link set "$IF_B" up

log "1. up inside the sandbox (and the automatic MTU over a 1400-byte underlay: 1320)"
ip -n "$NS_A" link set va mtu 1400
sandboxed "$NS_A" "$TUNDRA_BIN" up "$CONF/$IF_A.conf" > "$LOG_DIR/up.log" 2>&1 ||
  fail "tundra up inside the unit's sandbox: $(cat "$LOG_DIR/up.log")"
DAEMON=$(awk '$1 == "daemon" {print $2}' "/run/tundra/$IF_A.state")
[ -n "$DAEMON" ] || fail "no daemon in the state file"
status() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
[ "$(status "$DAEMON" Uid)" = "$(id -u nobody)" ] || fail "the daemon runs as uid $(status "$DAEMON" Uid), not nobody"
[ "$(status "$DAEMON" NoNewPrivs)" = 1 ] || fail "the daemon lacks NoNewPrivs"
# Its bounding set is inside the unit's (it keeps CAP_NET_ADMIN only after the drop).
# (setpriv --list-caps names them in the kernel's order: bit N is the N-th name.)
extra=$(python3 - "$(status "$DAEMON" CapBnd)" "$CAPS" "$(setpriv --list-caps)" <<'PY'
import sys
bnd, unit, names = int(sys.argv[1], 16), sys.argv[2].lower().split(), sys.argv[3].split()
allowed = sum(1 << names.index(c[len("cap_"):]) for c in unit)
print(" ".join(n for i, n in enumerate(names) if bnd & ~allowed & (1 << i)))
PY
)
[ -z "$extra" ] || fail "the daemon's bounding set has capabilities the unit does not: $extra"
# What it keeps after the drop: CAP_NET_ADMIN (bit 12) only, nothing to pass on to an exec.
for set in CapEff:0000000000001000 CapPrm:0000000000001000 CapInh:0000000000000000 CapAmb:0000000000000000; do
  [ "$(status "$DAEMON" "${set%%:*}")" = "${set#*:}" ] ||
    fail "the daemon's ${set%%:*} is $(status "$DAEMON" "${set%%:*}"), not ${set#*:}"
done
[ "$(in_ns "$NS_A" cat "/sys/class/net/$IF_A/mtu")" = 1320 ] ||
  fail "automatic MTU $(in_ns "$NS_A" cat "/sys/class/net/$IF_A/mtu"), not 1400 - 80"
ping_ok "$NS_A" 198.19.0.2 3 || fail "A -> B through the sandboxed tunnel"
ping_ok "$NS_B" 198.19.0.1 3 || fail "B -> A"
ping_ok "$NS_B" fd19::1 3 || fail "B -> A over IPv6"

log "2. save inside the sandbox (the config directory is writable, the rest is not)"
wg set "$IF_A" peer "$(cat "$CONF/b.pub")" persistent-keepalive 17
sandboxed "$NS_A" "$TUNDRA_BIN" save "$IF_A" > "$LOG_DIR/save.log" 2>&1 ||
  fail "tundra save inside the sandbox: $(cat "$LOG_DIR/save.log")"
grep -q "^PersistentKeepalive = 17" "$CONF/$IF_A.conf" || fail "save did not write the keepalive: $(cat "$CONF/$IF_A.conf")"

log "3. down of a stuck daemon (SIGSTOP: it cannot see its interface go) without CAP_KILL fails and keeps the state"
grep -q "^PostDown = " "$CONF/$IF_A.conf" || fail "save dropped the PostDown hook: $(cat "$CONF/$IF_A.conf")"
kill -STOP "$DAEMON"
FULL_BSET=$BSET
BSET=${FULL_BSET/,+kill/}
[ "$BSET" != "$FULL_BSET" ] || fail "the unit's bounding set has no CAP_KILL to take away"
if sandboxed "$NS_A" "$TUNDRA_BIN" down "$IF_A" > "$LOG_DIR/down-nokill.log" 2>&1; then
  fail "down without CAP_KILL succeeded although the daemon cannot be signalled: $(cat "$LOG_DIR/down-nokill.log")"
fi
grep -q "still runs.*; state kept" "$LOG_DIR/down-nokill.log" || fail "down without CAP_KILL: $(cat "$LOG_DIR/down-nokill.log")"
kill -0 "$DAEMON" 2>/dev/null || fail "the daemon is gone although down could not signal it"
[ -e "/run/tundra/$IF_A.state" ] || fail "the state file is gone although the daemon runs"
[ ! -e "$CONF/postdown-ran" ] || fail "PostDown ran although the tunnel is not down"
BSET=$FULL_BSET

log "4. down inside the sandbox (with CAP_KILL), of the same stuck daemon"
sandboxed "$NS_A" "$TUNDRA_BIN" down "$IF_A" > "$LOG_DIR/down.log" 2>&1 ||
  fail "tundra down inside the sandbox: $(cat "$LOG_DIR/down.log")"
for _ in $(seq 50); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$DAEMON" 2>/dev/null || fail "the daemon $DAEMON still runs after down"
! ip -n "$NS_A" link show "$IF_A" >/dev/null 2>&1 || fail "$IF_A is left"
[ ! -e "/run/tundra/$IF_A.state" ] || fail "the state file is left"
[ ! -e "/var/run/wireguard/$IF_A.sock" ] || fail "the UAPI socket is left"
[ -e "$CONF/postdown-ran" ] || fail "PostDown did not run: $(cat "$LOG_DIR/down.log")"
log "PASS"
