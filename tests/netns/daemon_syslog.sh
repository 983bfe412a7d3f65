#!/bin/bash
# A daemon in the background without LOG_LEVEL logs to syslog: in a private mount namespace
# with its own /dev (a tmpfs holding only null, zero, urandom, net/tun and a /dev/log socket
# this test listens on), `tundra --log-level info IFNAME` goes to the background and its
# "device IFNAME up" line arrives at /dev/log as a daemon.info message tagged tundra[PID]; a
# foreground daemon logs to stderr and sends nothing there; the daemon that `tundra up` starts
# (in the foreground, --syslog) logs its "device IFNAME up" there too. (The unit tests check the
# level filter through a recording sink; this checks the real syslog path.)
source "$(dirname "$0")/lib.sh"
require_root
command -v unshare > /dev/null || fail "unshare missing"

new_ns NS s
IFN=$(ifname sl)
CLEANUP_HOOKS+=("rm -f /var/run/wireguard/$IFN.sock /var/run/wireguard/${IFN}f.sock")
CLEANUP_HOOKS+=("[ -f /run/tundra/${IFN}u.state ] && ip netns exec $NS $TUNDRA_BIN down ${IFN}u")
umask 077
"$TUNDRA_BIN" genkey > "$LOG_DIR/u.key"
printf '[Interface]\nPrivateKeyFile = u.key\nAddress = 198.19.0.1/24\n' > "$LOG_DIR/${IFN}u.conf"
OUT=$LOG_DIR/syslog.out

unshare -m --propagation private bash -s "$NS" "$IFN" "$TUNDRA_BIN" "$OUT" "$LOG_DIR" <<'INNER' ||
set -euo pipefail
NS=$1 IFN=$2 BIN=$3 OUT=$4 DIR=$5
mount -t tmpfs -o mode=755 tundra-dev /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/urandom c 1 9
mkdir /dev/net; mknod -m 666 /dev/net/tun c 10 200
python3 - "$OUT" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + ".ready", "w").close()
s.settimeout(20)
with open(sys.argv[1], "ab", buffering=0) as out:
    try:
        while True:
            out.write(s.recv(4096) + b"\n")
    except socket.timeout:
        pass
PY
LISTENER=$!
trap 'kill $LISTENER 2> /dev/null' EXIT
for _ in $(seq 50); do [ -e "$OUT.ready" ] && break; sleep 0.1; done
ip netns exec "$NS" "$BIN" --log-level info "$IFN" 2> "$DIR/bg-stderr.log"
for _ in $(seq 50); do grep -q "device $IFN up" "$OUT" 2> /dev/null && break; sleep 0.1; done
ip -n "$NS" link del "$IFN"
for _ in $(seq 50); do grep -q "shutting down" "$OUT" 2> /dev/null && break; sleep 0.1; done
# The foreground: stderr, nothing to syslog.
: > "$OUT.fg-mark"
timeout 3 ip netns exec "$NS" "$BIN" -f --log-level info "${IFN}f" 2> "$DIR/fg-stderr.log" || true
# tundra up (no LOG_LEVEL, --log-level info): its daemon stays in the foreground (of up's
# making) and logs to syslog.
ip netns exec "$NS" "$BIN" up --log-level info "$DIR/${IFN}u.conf" 2> "$DIR/up.log"
for _ in $(seq 50); do grep -q "device ${IFN}u up" "$OUT" 2> /dev/null && break; sleep 0.1; done
ip netns exec "$NS" "$BIN" down "${IFN}u" 2>> "$DIR/up.log"
kill "$LISTENER" 2> /dev/null || true
INNER
  fail "the mount-namespace part failed"

log "syslog received: $(tr '\n' '|' < "$OUT")"
# <30> = facility daemon (3) * 8 + info (6).
grep -Eq "^<30>.*tundra\[[0-9]+\]: $IFN: device $IFN up" "$OUT" ||
  fail "no daemon.info 'device $IFN up' line from tundra[PID] at /dev/log"
grep -q "shutting down: the interface was deleted" "$OUT" || fail "the exit was not logged"
[ ! -s "$LOG_DIR/bg-stderr.log" ] || fail "the background daemon wrote to stderr: $(cat "$LOG_DIR/bg-stderr.log")"
grep -q "${IFN}f" "$OUT" && fail "the foreground daemon logged to syslog"
grep -q "device ${IFN}f up" "$LOG_DIR/fg-stderr.log" || fail "the foreground daemon did not log to stderr"
grep -Eq "^<30>.*tundra\[[0-9]+\]: ${IFN}u: device ${IFN}u up" "$OUT" ||
  fail "the daemon of tundra up did not log 'device ${IFN}u up' to syslog: $(cat "$LOG_DIR/up.log")"
log "PASS"
