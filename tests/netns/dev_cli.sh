#!/bin/bash
# System test of `tundra dev` (real binary, real kernel), all inside one private namespace:
#   - `dev add --owner` makes a persistent TUN that outlives the creating process (sysfs),
#     `dev list` / `dev show` report it with its owner;
#   - the owner (a temporary system user) can attach to it, another unprivileged user cannot
#     (EPERM). The users attach through tun_attach_helper with a /dev/net/tun fd opened by root
#     inside the namespace and inherited across `setpriv` (the clone device may be mode 0600;
#     the kernel checks ownership at TUNSETIFF);
#   - `dev add tdt%d` prints the real name; `dev del` removes devices;
#   - CLI errors end to end: too-long name, existing device of the other mode, unknown user and
#     group, no CAP_NET_ADMIN (an unprivileged user; root without CAP_NET_ADMIN), `dev del` of a
#     non-TUN or missing device: exit != 0, exactly one line on stderr naming the object, and no
#     device left behind.
# Needs: TUNDRA_BIN, TUN_ATTACH_HELPER. Root only (exit 77 otherwise, unless TUNDRA_NO_SKIP=1).
set -euo pipefail

: "${TUNDRA_BIN:?TUNDRA_BIN must point at the tundra binary}"
: "${TUN_ATTACH_HELPER:?TUN_ATTACH_HELPER must point at tun_attach_helper}"

log() { printf '[dev_cli] %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
  [ "${TUNDRA_NO_SKIP:-0}" = 1 ] && fail "needs root and /dev/net/tun"
  log "SKIP: needs root and /dev/net/tun"
  exit 77
fi

NS=tundra-dev-$$
OWNER=tundra-do-$$
OTHER=tundra-dx-$$
TMP=$(mktemp -d /tmp/tundra-dev-cli.XXXXXX)
chmod 755 "$TMP"

cleanup() {
  local rc=$?
  set +e
  for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  ip netns del "$NS" 2>/dev/null
  userdel "$OWNER" 2>/dev/null
  userdel "$OTHER" 2>/dev/null
  rm -rf "$TMP"
  [ $rc -eq 0 ] && log PASS || log "exit $rc"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The binaries must be executable by the unprivileged users: copy them to a 0755 directory.
cp "$TUNDRA_BIN" "$TMP/tundra"
cp "$TUN_ATTACH_HELPER" "$TMP/tun_attach_helper"
chmod 755 "$TMP/tundra" "$TMP/tun_attach_helper"
T=$TMP/tundra
H=$TMP/tun_attach_helper

ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER"
useradd --system --no-create-home --shell /usr/sbin/nologin "$OTHER"
OWNER_UID=$(id -u "$OWNER") OWNER_GID=$(id -g "$OWNER")
OTHER_UID=$(id -u "$OTHER") OTHER_GID=$(id -g "$OTHER")
as_user() {  # as_user UID GID CMD... (inside the namespace, all capabilities gone)
  local uid=$1 gid=$2
  shift 2
  in_ns setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
}
# attach_as UID GID NAME: the user attaches to NAME through tun_attach_helper, using a
# /dev/net/tun fd opened by root INSIDE the namespace (a TUN fd belongs to the namespace it was
# opened in: one opened outside would look the name up, and create it, in the root namespace).
attach_as() {
  in_ns sh -c 'exec 3<>/dev/net/tun && exec setpriv --reuid="$1" --regid="$2" --clear-groups \
    "$3" --fd 3 "$4"' attach_as "$1" "$2" "$H" "$3"
}
links() { ip -n "$NS" -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' '; }

# --- persistent device with an owner ---
log "dev add tdp0 --owner $OWNER --no-pi"
in_ns "$T" dev add tdp0 --owner "$OWNER" --no-pi
# The creating process has exited; the device remains.
in_ns test -e /sys/class/net/tdp0/tun_flags || fail "tdp0 vanished with its creator"
[ "$(in_ns cat /sys/class/net/tdp0/tun_flags)" = 0x1801 ] ||
  fail "tun_flags $(in_ns cat /sys/class/net/tdp0/tun_flags), expected 0x1801 (tun persist no_pi)"
[ "$(in_ns cat /sys/class/net/tdp0/owner)" = "$OWNER_UID" ] || fail "owner not set"
in_ns "$T" dev list | tee "$TMP/list" >&2
grep -qx "tdp0: tun persist no_pi user $OWNER_UID" "$TMP/list" || fail "dev list: $(cat "$TMP/list")"
in_ns "$T" dev show tdp0 > "$TMP/show"
grep -q "owner: *$OWNER_UID ($OWNER)" "$TMP/show" || fail "dev show: $(cat "$TMP/show")"
grep -q "flags: *persist no_pi" "$TMP/show" || fail "dev show flags: $(cat "$TMP/show")"

log "the owner can attach"
out=$(attach_as "$OWNER_UID" "$OWNER_GID" tdp0 2>&1) ||
  fail "owner could not attach: $out"
[ "$out" = "attached tdp0" ] || fail "helper said: $out"
in_ns test -e /sys/class/net/tdp0 || fail "tdp0 vanished after the owner detached"

log "another unprivileged user cannot"
if out=$(attach_as "$OTHER_UID" "$OTHER_GID" tdp0 2>&1); then
  fail "$OTHER attached to a device owned by $OWNER"
fi
[ "$out" = "ioctl(TUNSETIFF) tdp0: Operation not permitted" ] || fail "unexpected: $out"

log "dev add with a template prints the real name"
name=$(in_ns "$T" dev add tdt%d --mode tap --multi-queue --vnet-hdr)
[ "$name" = tdt0 ] || fail "template gave '$name'"
[ "$(in_ns cat /sys/class/net/tdt0/tun_flags)" = 0x4902 ] || fail "tdt0 flags"

# --- errors: one line naming the object, exit != 0, nothing created ---
expect_error() {  # expect_error REGEX CMD...
  local regex=$1
  shift
  local before after rc=0
  before=$(links)
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  after=$(links)
  [ $rc -ne 0 ] || fail "succeeded: $*"
  [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "not one line on stderr: $*: $(cat "$TMP/err")"
  grep -Eq "$regex" "$TMP/err" || fail "stderr '$(cat "$TMP/err")' does not match /$regex/"
  [ "$before" = "$after" ] || fail "devices changed: [$before] -> [$after] after: $*"
  log "ok (exit $rc): $(cat "$TMP/err")"
}

expect_error "interface name 'abcdefghijklmnop' is 16 bytes long" \
  in_ns "$T" dev add abcdefghijklmnop
expect_error "tdp0 exists and is a TUN device, not TAP" in_ns "$T" dev add tdp0 --mode tap
expect_error "tdt0 exists and is a TAP device, not TUN" in_ns "$T" dev add tdt0
expect_error "tdp0 already exists" in_ns "$T" dev add tdp0 --no-pi
expect_error "dev add tde0: unknown user 'tundra-no-such-user'" \
  in_ns "$T" dev add tde0 --owner tundra-no-such-user
expect_error "dev add tde0: unknown group 'tundra-no-such-group'" \
  in_ns "$T" dev add tde0 --group tundra-no-such-group
# An unprivileged user: /dev/net/tun may be closed to it (EACCES) or TUNSETIFF refuses (EPERM).
expect_error "(dev add tde0: open\(/dev/net/tun\): Permission denied|ioctl\(TUNSETIFF\) tde0: Operation not permitted)" \
  as_user "$OTHER_UID" "$OTHER_GID" "$T" dev add tde0
# root without CAP_NET_ADMIN: the kernel's EPERM at TUNSETIFF.
expect_error "ioctl\(TUNSETIFF\) tde0: Operation not permitted \(needs CAP_NET_ADMIN" \
  in_ns setpriv --inh-caps=-net_admin --bounding-set=-net_admin "$T" dev add tde0
expect_error "dev del: lo is not a TUN/TAP device" in_ns "$T" dev del lo
expect_error "dev del: tdnone: no such network device" in_ns "$T" dev del tdnone
expect_error "dev show: lo is not a TUN/TAP device" in_ns "$T" dev show lo

# --- deletion ---
log "dev del"
in_ns "$T" dev del tdp0
in_ns "$T" dev del tdt0
in_ns test ! -e /sys/class/net/tdp0 || fail "tdp0 still exists"
in_ns test ! -e /sys/class/net/tdt0 || fail "tdt0 still exists"
[ -z "$(in_ns "$T" dev list)" ] || fail "dev list not empty: $(in_ns "$T" dev list)"
