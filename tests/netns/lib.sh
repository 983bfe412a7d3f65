# Shared helpers for tundra's system tests (sourced by tests/netns/*.sh).
#
# Network rule: every test works only inside namespaces it creates (named tundra-<test>-<pid>),
# with addresses from 198.18.0.0/15 and fd18::/16, fd19::/16, and removes them (and every
# process inside) on exit, even on failure.
set -euo pipefail

: "${TUNDRA_BIN:?TUNDRA_BIN must point at the tundra binary}"
# Interop peers: Debian's wireguard-go (package wireguard-go; WG_GO overrides the path), and a
# second implementation with wireguard-go's contract (`BIN IFNAME` creates the interface and
# serves /var/run/wireguard/IFNAME.sock) only when TUNDRA_PEER2 names its binary.
WG_GO=${WG_GO:-/usr/bin/wireguard-go}
TUNDRA_PEER2=${TUNDRA_PEER2:-}
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1

TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
RUN_ID=$$
NAMESPACES=()
CLEANUP_HOOKS=()
LOG_DIR=$(mktemp -d "/tmp/tundra-${TEST_NAME}.XXXXXX")

log() { printf '[%s %s] %s\n' "$(date +%T)" "$TEST_NAME" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

require_root() {
  if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
    if [ "${TUNDRA_NO_SKIP:-0}" = 1 ]; then fail "needs root and /dev/net/tun"; fi
    log "SKIP: needs root and /dev/net/tun"
    exit 77
  fi
}

cleanup() {
  local rc=$?
  set +e
  for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook"; done
  for ns in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
  done
  sleep 0.2
  for ns in "${NAMESPACES[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    log "logs kept in $LOG_DIR:"
    for f in "$LOG_DIR"/*.log; do [ -f "$f" ] && { echo "----- $f"; tail -n 40 "$f"; }; done >&2
  else
    rm -rf "$LOG_DIR"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# new_ns VAR SUFFIX: creates a namespace (lo up), records it for cleanup and stores its name
# in VAR. (Not `$(new_ns ...)`: a subshell could not record it for the cleanup trap.)
new_ns() {
  local ns="tundra-${TEST_NAME:0:8}-$RUN_ID-$2"
  NAMESPACES+=("$ns")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  printf -v "$1" '%s' "$ns"
}

# make_host_pair VAR_A VAR_B [SUFFIX]: two hosts (namespaces a<SUFFIX>, b<SUFFIX>, their names
# in VAR_A, VAR_B) joined by the veth va<SUFFIX> <-> vb<SUFFIX>:
# 198.18.0.1/24 fd18::1/64 <-> 198.18.0.2/24 fd18::2/64.
make_host_pair() {
  local x=${3:-}
  new_ns "$1" "a$x"
  new_ns "$2" "b$x"
  local _a=${!1} _b=${!2}
  ip link add "va$x" netns "$_a" type veth peer name "vb$x" netns "$_b"
  ip -n "$_a" addr add 198.18.0.1/24 dev "va$x"
  ip -n "$_b" addr add 198.18.0.2/24 dev "vb$x"
  ip -n "$_a" addr add fd18::1/64 dev "va$x" nodad
  ip -n "$_b" addr add fd18::2/64 dev "vb$x" nodad
  ip -n "$_a" link set "va$x" up
  ip -n "$_b" link set "vb$x" up
}

# Two hosts A and B (NS_A, NS_B) joined by the veth va <-> vb.
make_two_hosts() { make_host_pair NS_A NS_B; }

# add_third_host VAR: a host C (its namespace name in VAR) joined to host A (NS_A) by the veth
# vac <-> vc: 198.18.1.1/24 <-> 198.18.1.2/24.
add_third_host() {
  new_ns "$1" c
  local _c=${!1}
  ip link add vac netns "$NS_A" type veth peer name vc netns "$_c"
  ip -n "$NS_A" addr add 198.18.1.1/24 dev vac
  ip -n "$_c" addr add 198.18.1.2/24 dev vc
  ip -n "$NS_A" link set vac up
  ip -n "$_c" link set vc up
}

# make_keys DIR NAME...: a private key DIR/NAME.key (mode 0600) and its public key DIR/NAME.pub
# for each NAME.
make_keys() {
  local dir=$1 h; shift
  for h in "$@"; do
    (umask 077; "$TUNDRA_BIN" genkey > "$dir/$h.key") || fail "genkey $dir/$h.key"
    "$TUNDRA_BIN" pubkey < "$dir/$h.key" > "$dir/$h.pub" || fail "pubkey $dir/$h.key"
  done
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# A unique interface name (<= 15 bytes): PREFIX + run id.
ifname() { echo "${1}$((RUN_ID % 100000))"; }

# The interop peers of this run: wireguard-go, and peer2 when TUNDRA_PEER2 is set.
interop_peers() {
  echo wireguard-go
  if [ -n "$TUNDRA_PEER2" ]; then echo peer2; fi
}

# start_impl NS IMPL IFNAME: tundra | tundra-no-offload | tundra-tun-fd[-no-vnet] (the TUN
# comes from a parent through WG_TUN_FD) | wireguard-go | peer2 (TUNDRA_PEER2), daemonized, then
# wait for the UAPI socket. Its log level: IMPL_LOG_LEVEL (default debug).
start_impl() {
  local ns=$1 impl=$2 ifn=$3 bin args=()
  case $impl in
    tundra) bin=$TUNDRA_BIN ;;
    tundra-no-offload) bin=$TUNDRA_BIN args=(--no-offload) ;;  # the wireguard-go-style form
    tundra-tun-fd | tundra-tun-fd-no-vnet)  # a parent opens the TUN and passes WG_TUN_FD
      args=("$TUNDRA_BIN")
      [ "$impl" = tundra-tun-fd-no-vnet ] && args=(--no-vnet "$TUNDRA_BIN")
      bin="$(dirname "${BASH_SOURCE[0]}")/tun_fd_exec.py"
      ;;
    wireguard-go) bin=$WG_GO ;;
    peer2)
      [ -n "$TUNDRA_PEER2" ] || fail "peer2 asked for, but TUNDRA_PEER2 is not set"
      bin=$TUNDRA_PEER2
      ;;
    *) fail "unknown implementation $impl" ;;
  esac
  [ -x "$bin" ] || fail "$impl not found at $bin"
  CLEANUP_HOOKS+=("ip -n $ns link del $ifn 2>/dev/null; rm -f /var/run/wireguard/$ifn.sock")
  LOG_LEVEL=${IMPL_LOG_LEVEL:-debug} in_ns "$ns" "$bin" "${args[@]}" "$ifn" >"$LOG_DIR/$impl-$ifn.log" 2>&1 ||
    fail "$impl $ifn failed to start"
  for _ in $(seq 50); do [ -S "/var/run/wireguard/$ifn.sock" ] && return 0; sleep 0.1; done
  fail "$impl $ifn: no UAPI socket"
}

# Wait until CMD succeeds (up to N tenths of a second).
wait_for() {
  local n=$1; shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# Strict ping: all COUNT replies within DEADLINE seconds.
ping_ok() {
  local ns=$1 dst=$2 count=${3:-3}
  in_ns "$ns" ping -c "$count" -i 0.2 -w 10 -q "$dst" >/dev/null
}
