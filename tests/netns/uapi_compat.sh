#!/bin/bash
# The `wg` tool and the raw UAPI against tundra, checked against wireguard-go on the same
# inputs where the outputs are comparable: socket mode and discovery, setconf/addconf/syncconf/
# showconf/dump, set semantics (remove, update_only, replace_allowed_ips, moving an allowed IP,
# own key as peer, private-key removal, listen-port 0, fwmark), errno values, several operations
# per connection, stale and live sockets, and the three ways a daemon must end (SIGTERM, socket
# removed, interface deleted).
source "$(dirname "$0")/lib.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"

new_ns NS u
umask 077

# raw IFNAME REQUEST -> the reply bytes (request given with \n escapes)
raw() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5)
s.connect(f"/var/run/wireguard/{sys.argv[1]}.sock")
req = sys.argv[2].encode().decode("unicode_escape")  # the caller writes \n escapes
s.sendall(req.encode())
s.shutdown(socket.SHUT_WR) if req.startswith("set") else None
out = b""
try:
    # One reply per operation, each ending in a blank line; stop early only once all are in.
    while out.count(b"\n\n") < max(1, req.count("\n\n")):
        c = s.recv(65536)
        if not c: break
        out += c
except socket.timeout:
    pass
sys.stdout.write(out.decode())
PY
}
errno_of() { raw "$1" "$2" | sed -n 's/^errno=//p' | head -1; }

key() { wg genkey; }
pub() { echo "$1" | wg pubkey; }

# Normalized showconf: peers sorted, AllowedIPs sorted within a peer.
norm_showconf() {
  wg showconf "$1" | python3 -c '
import sys
head, peers, cur = [], [], None
for line in sys.stdin.read().splitlines():
    if line == "[Peer]":
        cur = []; peers.append(cur); continue
    if not line.strip(): continue
    if line.startswith("AllowedIPs"):
        ips = sorted(x.strip() for x in line.split("=", 1)[1].split(","))
        line = "AllowedIPs = " + ", ".join(ips)
    (cur if cur is not None else head).append(line)
print("\n".join(head))
for p in sorted(peers, key=lambda p: "\n".join(p)):
    print("[Peer]"); print("\n".join(sorted(p)))
'
}

T=$(ifname tu)   # tundra
G=$(ifname gu)   # wireguard-go, for comparison
start_impl "$NS" tundra "$T"
start_impl "$NS" wireguard-go "$G"

log "interface: created with MTU 1420 (wireguard-go's default)"
[ "$(ip -n "$NS" -o link show "$T" | grep -o 'mtu [0-9]*')" = "mtu 1420" ] || fail "initial MTU"

log "socket: mode 0700 (srwx------ root) and listed by wg show interfaces"
mode=$(stat -c '%A %U' "/var/run/wireguard/$T.sock")
[ "$mode" = "srwx------ root" ] || fail "socket mode is '$mode'"
wg show interfaces | tr ' ' '\n' | grep -qx "$T" || fail "wg show interfaces does not list $T"

log "fresh device: a random listen port, no private key"
reply=$(raw "$T" 'get=1\n\n')
echo "$reply" | grep -q '^listen_port=[1-9]' || fail "no random listen port: $reply"
echo "$reply" | grep -q '^private_key=' && fail "fresh device reports a private key"
[ "$(echo "$reply" | tail -n 1)" = errno=0 ] || fail "get does not end with errno=0"

log "wg setconf: the same file on tundra and wireguard-go gives the same showconf"
K=$(key); P1K=$(key); P2K=$(key); PSK=$(wg genpsk)
cat > "$LOG_DIR/conf" <<CONF
[Interface]
PrivateKey = $K
ListenPort = 51000
FwMark = 0x10

[Peer]
PublicKey = $(pub "$P1K")
PresharedKey = $PSK
Endpoint = 198.18.0.2:51820
PersistentKeepalive = 15
AllowedIPs = 198.19.0.2/32, fd19::2/128, 198.19.10.0/24

[Peer]
PublicKey = $(pub "$P2K")
Endpoint = [fd18::3]:51821
AllowedIPs = 198.19.0.3/32
CONF
wg setconf "$T" "$LOG_DIR/conf"
sed 's/ListenPort = 51000/ListenPort = 51001/' "$LOG_DIR/conf" > "$LOG_DIR/conf.g"
wg setconf "$G" "$LOG_DIR/conf.g"
norm_showconf "$T" | sed 's/51000/PORT/' > "$LOG_DIR/show.t"
norm_showconf "$G" | sed 's/51001/PORT/' > "$LOG_DIR/show.g"
diff -u "$LOG_DIR/show.g" "$LOG_DIR/show.t" || fail "showconf differs from wireguard-go"
grep -q "FwMark = 0x10" "$LOG_DIR/show.t" || fail "fwmark not shown"
# wg show dump: interface line + 2 peer lines, psk shown, keepalive 15.
[ "$(wg show "$T" dump | wc -l)" = 3 ] || fail "dump line count"
wg show "$T" dump | grep -q "$PSK" || fail "psk not in dump"
wg show "$T" | grep -q "endpoint: \[fd18::3\]:51821" || fail "wg show endpoint"

log "wg addconf adds, wg syncconf removes what the file lacks"
P3K=$(key)
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 198.19.0.4/32\n' "$(pub "$P3K")" > "$LOG_DIR/add"
wg addconf "$T" "$LOG_DIR/add"
[ "$(wg show "$T" peers | wc -l)" = 3 ] || fail "addconf did not add"
wg syncconf "$T" "$LOG_DIR/conf"
[ "$(wg show "$T" peers | wc -l)" = 2 ] || fail "syncconf did not remove the extra peer"
wg show "$T" peers | grep -q "$(pub "$P3K")" && fail "syncconf left the extra peer"

log "wg set: moving an allowed IP to another peer takes it from the first"
wg set "$T" peer "$(pub "$P2K")" allowed-ips 198.19.0.3/32,198.19.10.0/24
wg show "$T" allowed-ips | grep "$(pub "$P1K")" | grep -q 198.19.10.0/24 && fail "prefix not moved"
wg show "$T" allowed-ips | grep "$(pub "$P2K")" | grep -q 198.19.10.0/24 || fail "prefix not on peer 2"

log "wg set: remove, own public key ignored, private key removal, listen-port 0, fwmark off"
wg set "$T" peer "$(pub "$P2K")" remove
[ "$(wg show "$T" peers | wc -l)" = 1 ] || fail "remove"
wg set "$T" peer "$(pub "$K")" allowed-ips 198.19.0.9/32
wg show "$T" peers | grep -q "$(pub "$K")" && fail "own public key became a peer"
wg set "$T" listen-port 0 fwmark off
p=$(wg show "$T" listen-port)
[ "$p" -gt 0 ] && [ "$p" != 51000 ] || fail "listen-port 0 gave '$p'"
[ "$(wg show "$T" fwmark)" = off ] || fail "fwmark off"
wg set "$T" private-key /dev/null
[ "$(wg show "$T" private-key)" = "(none)" ] || fail "private key not removed"

log "raw UAPI: update_only, replace_allowed_ips, allowed_ip=-"
NK=$(pub "$(key)" | python3 -c 'import base64,sys; print(base64.b64decode(sys.stdin.read()).hex())')
[ "$(errno_of "$T" "set=1\npublic_key=$NK\nupdate_only=true\nallowed_ip=198.19.0.7/32\n\n")" = 0 ] || fail "update_only errno"
wg show "$T" allowed-ips | grep -q 198.19.0.7 && fail "update_only created a peer"
P1HEX=$(pub "$P1K" | python3 -c 'import base64,sys; print(base64.b64decode(sys.stdin.read()).hex())')
[ "$(errno_of "$T" "set=1\npublic_key=$P1HEX\nreplace_allowed_ips=true\nallowed_ip=198.19.5.0/24\nallowed_ip=198.19.6.0/24\n\n")" = 0 ] || fail "replace errno"
[ "$(wg show "$T" allowed-ips | awk '{print NF-1}')" = 2 ] || fail "replace_allowed_ips"
[ "$(errno_of "$T" "set=1\npublic_key=$P1HEX\nallowed_ip=-198.19.5.0/24\n\n")" = 0 ] || fail "allowed_ip=- errno"
wg show "$T" allowed-ips | grep -q 198.19.5.0 && fail "allowed_ip=- did not remove"

log "raw UAPI: errno values as wireguard-go sends them"
for dev in "$T" "$G"; do
  [ "$(errno_of "$dev" 'set=1\nbogus_key=1\n\n')" = -22 ] || fail "$dev: unknown key"
  [ "$(errno_of "$dev" 'set=1\nprivate_key=zz\n\n')" = -22 ] || fail "$dev: bad hex"
  [ "$(errno_of "$dev" "set=1\npublic_key=$P1HEX\nprotocol_version=2\n\n")" = -22 ] || fail "$dev: protocol_version"
  [ "$(errno_of "$dev" 'set=1\nlisten_port=70000\n\n')" = -22 ] || fail "$dev: bad port"
  [ "$(errno_of "$dev" 'set=1\nno equals sign\n\n')" = -71 ] || fail "$dev: EPROTO"
  [ "$(errno_of "$dev" 'get=1\nX')" = -22 ] || fail "$dev: trailing byte after get=1"
  [ -z "$(raw "$dev" 'foo=1\n\n')" ] || fail "$dev: unknown operation was answered"
  n=$(raw "$dev" 'get=1\n\nget=1\n\n' | grep -c '^errno=0')
  [ "$n" = 2 ] || fail "$dev: two gets on one connection gave $n replies"
done
gp=$(wg show "$G" listen-port)
[ "$(errno_of "$T" "set=1\nlisten_port=$gp\n\n")" = -98 ] || fail "port in use is not -98"
wg set "$T" listen-port "$gp" 2>"$LOG_DIR/wgerr" && fail "wg set accepted a port in use"
log "wg says: $(cat "$LOG_DIR/wgerr")"
[ "$(wg show "$T" listen-port)" != "$gp" ] || fail "port changed despite the error"

log "tundra stats: drop counters by reason over the socket"
"$TUNDRA_BIN" stats "$T" --all > "$LOG_DIR/stats" || fail "tundra stats failed"
grep -q "dropped packets by reason" "$LOG_DIR/stats" && grep -q "invalid_mac1" "$LOG_DIR/stats" &&
  grep -q "tun_write_rejected" "$LOG_DIR/stats" && grep -q "icmp_unreachable_sent" "$LOG_DIR/stats" &&
  grep -q "super_packets_read" "$LOG_DIR/stats" ||
  fail "tundra stats output: $(cat "$LOG_DIR/stats")"
"$TUNDRA_BIN" stats "$G" 2>"$LOG_DIR/stats.err" && fail "tundra stats accepted wireguard-go"
grep -q "not run by tundra" "$LOG_DIR/stats.err" || fail "stats on wireguard-go: $(cat "$LOG_DIR/stats.err")"

log "MTU: the daemon follows ip link set mtu (netlink link events)"
ip -n "$NS" link set "$T" mtu 1280
wait_for 50 grep -q "MTU changed to 1280" "$LOG_DIR/tundra-$T.log" || fail "MTU change not followed"
[ "$(ip -n "$NS" -o link show "$T" | grep -o 'mtu [0-9]*')" = "mtu 1280" ] || fail "mtu"

log "lifecycle: a second daemon on the same name fails cleanly"
if in_ns "$NS" "$TUNDRA_BIN" "$T" 2>"$LOG_DIR/dup"; then fail "second daemon for $T started"; fi
grep -q "$T" "$LOG_DIR/dup" || fail "duplicate start error does not name $T: $(cat "$LOG_DIR/dup")"
log "   -> $(cat "$LOG_DIR/dup")"
[ -S "/var/run/wireguard/$T.sock" ] || fail "the failed start removed the live socket"
raw "$T" 'get=1\n\n' | grep -q errno=0 || fail "first daemon no longer answers"

daemon_pid() { pgrep -f "^$TUNDRA_BIN $1\$" | head -1 || true; }
gone() {  # gone IFNAME PID
  wait_for 50 sh -c "! kill -0 $2 2>/dev/null" || fail "$1: daemon still running"
  [ ! -e "/var/run/wireguard/$1.sock" ] || fail "$1: socket left behind"
  ip -n "$NS" link show "$1" >/dev/null 2>&1 && fail "$1: interface left behind"
  return 0
}
log "lifecycle: SIGTERM"
pid=$(daemon_pid "$T"); [ -n "$pid" ] || fail "no pid for $T"
kill -TERM "$pid"; gone "$T" "$pid"
log "lifecycle: socket file removed"
start_impl "$NS" tundra "$T"; pid=$(daemon_pid "$T")
rm "/var/run/wireguard/$T.sock"; gone "$T" "$pid"
log "lifecycle: interface deleted"
start_impl "$NS" tundra "$T"; pid=$(daemon_pid "$T")
ip -n "$NS" link del "$T"; gone "$T" "$pid"
log "lifecycle: a stale socket file is replaced"
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('/var/run/wireguard/$T.sock')"
[ -S "/var/run/wireguard/$T.sock" ] || fail "could not make a stale socket"
start_impl "$NS" tundra "$T"
raw "$T" 'get=1\n\n' | grep -q errno=0 || fail "daemon over a stale socket does not answer"
pid=$(daemon_pid "$T"); kill -INT "$pid"; gone "$T" "$pid"

for how in "-f" "WG_PROCESS_FOREGROUND=1"; do
  log "lifecycle: $how stays in the foreground and exits 0 when the interface is deleted"
  if [ "$how" = -f ]; then
    in_ns "$NS" "$TUNDRA_BIN" -f "$T" >"$LOG_DIR/fg.log" 2>&1 &
  else
    WG_PROCESS_FOREGROUND=1 in_ns "$NS" "$TUNDRA_BIN" "$T" >"$LOG_DIR/fg.log" 2>&1 &
  fi
  fg=$!
  wait_for 50 test -S "/var/run/wireguard/$T.sock" || fail "$how: no UAPI socket"
  sleep 0.3
  kill -0 "$fg" 2>/dev/null || fail "$how: the process we started is gone (it forked away)"
  raw "$T" 'get=1\n\n' | grep -q errno=0 || fail "$how: the socket does not answer"
  ip -n "$NS" link del "$T"
  rc=0; wait "$fg" || rc=$?
  [ $rc = 0 ] || fail "$how: exit status $rc after the interface was deleted"
  [ ! -e "/var/run/wireguard/$T.sock" ] || fail "$how: socket left behind"
done

log "wg-quick runs tundra as its userspace implementation (up and down)"
Q=$(ifname tq)
cat > "$LOG_DIR/$Q.conf" <<CONF
[Interface]
PrivateKey = $(key)
Address = 198.19.9.1/24, fd19::9:1/64
ListenPort = 51999

[Peer]
PublicKey = $(pub "$(key)")
AllowedIPs = 198.19.9.2/32, 198.19.20.0/24
Endpoint = 198.18.9.2:51998
CONF
CLEANUP_HOOKS+=("ip -n $NS link del $Q 2>/dev/null")
mkdir -p "$LOG_DIR/bin"; ln -s "$TUNDRA_BIN" "$LOG_DIR/bin/tundra"
in_ns "$NS" env PATH="$LOG_DIR/bin:$PATH" WG_QUICK_USERSPACE_IMPLEMENTATION=tundra \
  wg-quick up "$LOG_DIR/$Q.conf" > "$LOG_DIR/wg-quick.log" 2>&1 || fail "wg-quick up: $(cat "$LOG_DIR/wg-quick.log")"
grep -q "Falling back to slow userspace implementation" "$LOG_DIR/wg-quick.log" || fail "no userspace fallback"
[ "$(wg show "$Q" listen-port)" = 51999 ] || fail "wg-quick's setconf did not reach tundra"
# Read whole, then grep: with pipefail, `ip ... | grep -q` fails when grep exits before ip has
# written everything (SIGPIPE), which made this check flaky.
routes=$(ip -n "$NS" route)
grep -q "198.19.20.0/24 dev $Q" <<<"$routes" || fail "wg-quick route missing: $routes"
addrs=$(ip -n "$NS" -o addr show dev "$Q")
grep -q "198.19.9.1/24" <<<"$addrs" || fail "wg-quick address missing: $addrs"
mtu=$(sed -n 's/.*ip link set mtu \([0-9]*\) up.*/\1/p' "$LOG_DIR/wg-quick.log")
[ -n "$mtu" ] && ip -n "$NS" -o link show "$Q" | grep -q "mtu $mtu " || fail "wg-quick MTU $mtu not applied"
in_ns "$NS" wg-quick down "$LOG_DIR/$Q.conf" >> "$LOG_DIR/wg-quick.log" 2>&1 || fail "wg-quick down"
wait_for 50 test ! -e "/var/run/wireguard/$Q.sock" || fail "socket left after wg-quick down"
ip -n "$NS" link show "$Q" >/dev/null 2>&1 && fail "interface left after wg-quick down"

log "PASS"
