#!/bin/bash
# System test of `tundra bridge` (real binary, real TAP and TUN devices):
#   nsbr: `tundra bridge tbra tbrb` creates both TAPs;
#   the TAPs are moved to ns1 and ns2 (the bridge's fds keep working across the move), get
#   198.18.7.1/24 and 198.18.7.2/24 (+ fd18:7::1/64, fd18:7::2/64), and ping each other
#   through the bridge (strict: all 5 replies within 10 s);
#   SIGTERM: the bridge exits 0, prints its counters, both TAPs disappear, no process is left.
#   Then the same with `--mode tun` and two point-to-point TUNs (198.18.8.1 <-> 198.18.8.2),
#   plus 20 MB of iperf3 each way, which must go through the TUN offloads (super-packets split
#   on read, coalesced on write).
#   Impaired (the ns-3 TapBridge use): `tundra bridge --delay 50` between two TAPs; ping's RTT
#   (two crossings) is 100 ms +- 2 ms (median of 20), none below 100 ms; SIGUSR1 prints the
#   counters with the impairment's and the bridge goes on; `--loss-up 100` drops every frame
#   one way (counted dropped_loss), none the other.
#   Path MTU (`--mtu 1280 --mtu-reply icmp`, two TAPs): `ping -M do -s 1400` gets "Frag needed"
#   (mtu = 1280) and IPv6 "Packet too big", and a TCP transfer the other way (from a fresh
#   route cache: its 1500-byte segments are answered) completes at the smaller MTU; the
#   senders' route caches then say `mtu 1280`; with `--mtu 1280` alone the ping gets no answer.
#   The same with `--mode tun` (two point-to-point TUNs): the too-big reply is written back
#   into the sending TUN, and ping -M do gets "Frag needed" with mtu = 1280.
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

# bridge_and_ping MODE IF1 IF2 NET: `tundra bridge --mode MODE IF1 IF2` in nsbr, IF1 moved to ns1
# (NET.1) and IF2 to ns2 (NET.2), pings both ways (+ IPv6 for TAP), SIGTERM, checks the exit,
# the counters, that both interfaces are gone and that no process is left.
bridge_and_ping() {
  local mode=$1 a=$2 b=$3 net=$4
  log "tundra bridge --mode $mode $a $b in $NSBR"
  ip netns exec "$NSBR" "$TUNDRA_BIN" bridge --mode "$mode" "$a" "$b" \
    >"$TMP/bridge.out" 2>"$TMP/bridge.err" &
  BR_PID=$!
  wait_for 50 ip -n "$NSBR" link show "$a" || fail "$a did not appear"
  wait_for 50 ip -n "$NSBR" link show "$b" || fail "$b did not appear"
  [ "$(ip netns pids "$NSBR")" = "$BR_PID" ] || fail "bridge pid $BR_PID is not the process in $NSBR"

  # The bridge's fds keep working across the move to other namespaces.
  ip -n "$NSBR" link set "$a" netns "$NS1"
  ip -n "$NSBR" link set "$b" netns "$NS2"
  if [ "$mode" = tap ]; then
    ip -n "$NS1" addr add "$net.1/24" dev "$a"
    ip -n "$NS2" addr add "$net.2/24" dev "$b"
    ip -n "$NS1" addr add fd18:7::1/64 dev "$a" nodad
    ip -n "$NS2" addr add fd18:7::2/64 dev "$b" nodad
  else  # TUN: point-to-point, no link layer
    ip -n "$NS1" addr add "$net.1" peer "$net.2" dev "$a"
    ip -n "$NS2" addr add "$net.2" peer "$net.1" dev "$b"
  fi
  ip -n "$NS1" link set "$a" up
  ip -n "$NS2" link set "$b" up

  log "ping across the bridge ($mode)"
  ip netns exec "$NS1" ping -n -c 5 -i 0.2 -w 10 "$net.2" >"$TMP/bridge.ping4" ||
    fail "IPv4 ping ns1 -> ns2 through the $mode bridge"
  ip netns exec "$NS2" ping -n -c 5 -i 0.2 -w 10 "$net.1" >>"$TMP/bridge.ping4" ||
    fail "IPv4 ping ns2 -> ns1 through the $mode bridge"
  if [ "$mode" = tap ]; then
    ip netns exec "$NS1" ping -6 -n -c 5 -i 0.2 -w 10 fd18:7::2 >"$TMP/bridge.ping6" ||
      fail "IPv6 ping ns1 -> ns2 through the bridge"
  else  # TUN sides run with offloads: a bulk transfer both ways goes through them
    for dir in "" -R; do
      ip netns exec "$NS2" iperf3 -s -D -1 -I "$TMP/iperf.pid" >/dev/null
      sleep 0.3
      ip netns exec "$NS1" timeout 60 iperf3 -c "$net.2" -n 20M $dir >/dev/null ||
        fail "iperf3 $dir through the tun bridge"
    done
  fi

  log "SIGTERM"
  kill -TERM "$BR_PID"
  local rc=0
  wait "$BR_PID" || rc=$?
  BR_PID=
  [ $rc -eq 0 ] || fail "bridge exited $rc"
  cat "$TMP/bridge.out" >&2
  grep -q "SIGTERM received" "$TMP/bridge.err" || fail "no shutdown message"
  # At least the 10 IPv4 echo requests one way and 10 replies the other.
  local a2b b2a
  a2b=$(awk -v p="^$a -> $b:" '$0 ~ p {print $8}' "$TMP/bridge.out")
  b2a=$(awk -v p="^$b -> $a:" '$0 ~ p {print $8}' "$TMP/bridge.out")
  [ -n "$a2b" ] && [ "$a2b" -ge 10 ] || fail "$a -> $b forwarded '$a2b' frames"
  [ -n "$b2a" ] && [ "$b2a" -ge 10 ] || fail "$b -> $a forwarded '$b2a' frames"
  # The only acceptable drops: a few writes refused (EIO) while the other side was still down
  # during setup (e.g. IPv6 router solicitations sent as soon as one side came up).
  if [ "$mode" = tun ]; then
    grep -Eq "^$a offloads: [1-9][0-9]* super-packets read" "$TMP/bridge.out" ||
      fail "$a: no super-packets went through the offloads"
    grep -Eq "^$b offloads: [1-9][0-9]* super-packets read" "$TMP/bridge.out" ||
      fail "$b: no super-packets went through the offloads"
  fi
  grep -Eq "^$a drops: (none|write_rejected=[1-5])$" "$TMP/bridge.out" || fail "drops on $a"
  grep -Eq "^$b drops: (none|write_rejected=[1-5])$" "$TMP/bridge.out" || fail "drops on $b"

  wait_for 20 sh -c "! ip -n $NS1 link show $a" || fail "$a still exists after the bridge exited"
  wait_for 20 sh -c "! ip -n $NS2 link show $b" || fail "$b still exists after the bridge exited"
  for ns in "$NSBR" "$NS1" "$NS2"; do
    [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns: $(ip netns pids "$ns")"
  done
}

bridge_and_ping tap tbra tbrb 198.18.7
bridge_and_ping tun tbua tbub 198.18.8

# The impaired bridge runs SCHED_FIFO: on a loaded machine the CFS run queue alone would
# stretch its 50 ms delays by 10-15 ms.
RT=()
chrt -f 10 true 2>/dev/null && RT=(chrt -f 10)

# start_impaired TAG OPTIONS...: `tundra bridge tbia tbib OPTIONS` in nsbr, the TAPs moved to
# ns1 (198.18.9.1) and ns2 (198.18.9.2) and up; output in $TMP/bridge.TAG.{out,err}.
start_impaired() {
  local tag=$1 a=tbia b=tbib net=198.18.9
  shift
  log "tundra bridge $a $b $*"
  ip netns exec "$NSBR" "${RT[@]}" "$TUNDRA_BIN" bridge "$a" "$b" "$@" \
    >"$TMP/bridge.$tag.out" 2>"$TMP/bridge.$tag.err" &
  BR_PID=$!
  wait_for 50 ip -n "$NSBR" link show "$a" || fail "$a did not appear"
  wait_for 50 ip -n "$NSBR" link show "$b" || fail "$b did not appear"
  ip -n "$NSBR" link set "$a" netns "$NS1"
  ip -n "$NSBR" link set "$b" netns "$NS2"
  ip -n "$NS1" addr add "$net.1/24" dev "$a"
  ip -n "$NS2" addr add "$net.2/24" dev "$b"
  ip -n "$NS1" link set "$a" up
  ip -n "$NS2" link set "$b" up
}

stop_impaired() {
  kill -TERM "$BR_PID"
  local rc=0
  wait "$BR_PID" || rc=$?
  BR_PID=
  [ $rc -eq 0 ] || fail "impaired bridge exited $rc"
}

# bridge_impaired: TAPs in ns1/ns2 joined across a simulated link: 50 ms delay each way, then
# 100 % loss one way.
bridge_impaired() {
  local a=tbia b=tbib net=198.18.9
  start_impaired imp --delay 50 --seed 3
  grep -q "impaired, seed 3" "$TMP/bridge.imp.err" || fail "no impairment in the start line"
  # The first ping also carries the ARP exchange (two more crossings): warm up, then measure.
  ip netns exec "$NS1" ping -n -c 2 -w 10 "$net.2" >/dev/null || fail "ping through the delay"
  ip netns exec "$NS1" ping -n -c 20 -i 0.05 -w 20 "$net.2" >"$TMP/bridge.imp.ping" ||
    fail "20 pings through the delayed bridge"
  python3 - "$TMP/bridge.imp.ping" <<'PY' || fail "RTT through --delay 50"
import re, statistics, sys
rtt = [float(m.group(1)) for m in re.finditer(r"time=([0-9.]+) ms", open(sys.argv[1]).read())]
assert len(rtt) == 20, rtt
med = statistics.median(rtt)
print(f"[bridge] --delay 50 each way: ping RTT median {med:.2f} ms, min {min(rtt):.2f}, "
      f"max {max(rtt):.2f} ms over {len(rtt)} pings", file=sys.stderr)
assert abs(med - 100) <= 2, med
assert min(rtt) >= 100, min(rtt)
PY
  kill -USR1 "$BR_PID"
  wait_for 50 grep -q "^impair $a->$b sent" "$TMP/bridge.imp.out" || fail "nothing on SIGUSR1"
  kill -0 "$BR_PID" || fail "bridge exited on SIGUSR1"
  stop_impaired
  local sent
  sent=$(awk -v p="^impair $a->$b sent" '$0 ~ p {v=$4} END {print v}' "$TMP/bridge.imp.out")
  [ -n "$sent" ] && [ "$sent" -ge 22 ] || fail "$a -> $b: impairment sent '$sent' frames"

  start_impaired loss --loss-up 100 --seed 4
  ! ip netns exec "$NS1" ping -n -c 3 -i 0.2 -w 2 "$net.2" >/dev/null 2>&1 ||
    fail "ping crossed a direction with 100 % loss"
  stop_impaired
  local lost
  lost=$(awk -v p="^impair $a->$b dropped_loss" '$0 ~ p {print $4}' "$TMP/bridge.loss.out")
  [ -n "$lost" ] && [ "$lost" -ge 3 ] || fail "$a -> $b: dropped_loss '$lost'"
  grep -q "^impair $b->$a dropped_loss 0$" "$TMP/bridge.loss.out" || fail "losses the other way"
  for ns in "$NSBR" "$NS1" "$NS2"; do
    [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns: $(ip netns pids "$ns")"
  done
}

bridge_impaired

# bridge_too_big: path MTU discovery across `--mtu 1280 --mtu-reply icmp` (TAP sides).
bridge_too_big() {
  local a=tbia b=tbib net=198.18.9 out
  start_impaired drop --mtu 1280 --seed 5
  ip netns exec "$NS1" ping -n -c 2 -w 5 "$net.2" >/dev/null || fail "small ping over --mtu 1280"
  out=$(ip netns exec "$NS1" ping -n -M do -s 1400 -c 1 -w 2 "$net.2" 2>&1 || true)
  ! grep -q "Frag needed" <<<"$out" || fail "--mtu alone answered: $out"
  stop_impaired
  grep -Eq "^impair $a->$b dropped_too_big [1-9]" "$TMP/bridge.drop.out" || fail "no too_big drop"
  grep -q "^impair $a->$b too_big_replies_sent 0$" "$TMP/bridge.drop.out" || fail "replies sent"

  start_impaired pmtu --mtu 1280 --mtu-reply icmp --seed 5
  # TCP from ns2 to ns1 first, while neither has learned anything (a host that knows the path
  # MTU advertises the smaller MSS): ns2's first full-size segments are too big, the
  # frag-needed replies make it resegment, and the transfer completes.
  ip -n "$NS2" route get "$net.1" | grep -q "mtu 1280" && fail "ns2 already knew the path MTU"
  ip netns exec "$NS1" iperf3 -s -D -1 -I "$TMP/iperf.pid" >/dev/null
  sleep 0.3
  ip netns exec "$NS2" timeout 60 iperf3 -c "$net.1" -n 5M >"$TMP/bridge.pmtu.iperf" ||
    fail "TCP over --mtu 1280 --mtu-reply icmp"
  log "TCP 5 MB ns2 -> ns1: $(grep -m1 sender "$TMP/bridge.pmtu.iperf" | tr -s ' ')"
  out=$(ip -n "$NS2" route get "$net.1")
  grep -q "mtu 1280" <<<"$out" || fail "ns2's route cache did not learn mtu 1280: $out"
  ip -n "$NS1" addr add fd18:9::1/64 dev "$a" nodad
  ip -n "$NS2" addr add fd18:9::2/64 dev "$b" nodad
  ip netns exec "$NS1" ping -n -c 2 -w 5 "$net.2" >/dev/null || fail "small ping over --mtu 1280"
  out=$(ip netns exec "$NS1" ping -n -M do -s 1400 -c 1 -w 3 "$net.2" 2>&1 || true)
  log "ping -M do -s 1400: $(grep -m1 -E 'Frag|mtu' <<<"$out" || echo "$out")"
  grep -q "Frag needed.*mtu = 1280" <<<"$out" || fail "no frag-needed with mtu 1280: $out"
  out=$(ip -n "$NS1" route get "$net.2")
  grep -q "mtu 1280" <<<"$out" || fail "ns1's route cache did not learn mtu 1280: $out"
  log "ip route get $net.2: $(tr -s ' \n' ' ' <<<"$out")"
  ip netns exec "$NS1" ping -6 -n -c 2 -w 5 fd18:9::2 >/dev/null || fail "small IPv6 ping"
  out=$(ip netns exec "$NS1" ping -6 -n -M do -s 1400 -c 1 -w 3 fd18:9::2 2>&1 || true)
  log "ping -6 -M do -s 1400: $(grep -m1 -iE 'too big|mtu' <<<"$out" || echo "$out")"
  grep -q "Packet too big: mtu=1280" <<<"$out" || fail "no packet too big with mtu 1280: $out"
  out=$(ip -n "$NS1" -6 route get fd18:9::2)
  grep -q "mtu 1280" <<<"$out" || fail "ns1's IPv6 route cache did not learn mtu 1280: $out"

  stop_impaired
  cat "$TMP/bridge.pmtu.out" >&2
  local replied
  replied=$(awk -v p="^impair $b->$a too_big_replies_sent" '$0 ~ p {print $4}' "$TMP/bridge.pmtu.out")
  [ -n "$replied" ] && [ "$replied" -ge 1 ] || fail "$b -> $a: too_big_replies_sent '$replied'"
  grep -Eq "^impair $a->$b too_big_replies_sent [2-9]" "$TMP/bridge.pmtu.out" ||
    fail "$a -> $b: no IPv4 and IPv6 replies"
  for ns in "$NSBR" "$NS1" "$NS2"; do
    [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns: $(ip netns pids "$ns")"
  done
}

bridge_too_big

# bridge_too_big_tun: the same reply on TUN sides (no link layer: the ICMP error goes back into
# the TUN the packet came from).
bridge_too_big_tun() {
  local a=tbma b=tbmb net=198.18.10 out
  log "tundra bridge --mode tun $a $b --mtu 1280 --mtu-reply icmp"
  ip netns exec "$NSBR" "$TUNDRA_BIN" bridge --mode tun "$a" "$b" --mtu 1280 --mtu-reply icmp \
    --seed 6 >"$TMP/bridge.tunmtu.out" 2>"$TMP/bridge.tunmtu.err" &
  BR_PID=$!
  wait_for 50 ip -n "$NSBR" link show "$a" || fail "$a did not appear"
  wait_for 50 ip -n "$NSBR" link show "$b" || fail "$b did not appear"
  ip -n "$NSBR" link set "$a" netns "$NS1"
  ip -n "$NSBR" link set "$b" netns "$NS2"
  ip -n "$NS1" addr add "$net.1" peer "$net.2" dev "$a"
  ip -n "$NS2" addr add "$net.2" peer "$net.1" dev "$b"
  ip -n "$NS1" link set "$a" up
  ip -n "$NS2" link set "$b" up
  ip netns exec "$NS1" ping -n -c 2 -w 5 "$net.2" >/dev/null || fail "small ping over the tun bridge"
  out=$(ip netns exec "$NS1" ping -n -M do -s 1400 -c 1 -w 3 "$net.2" 2>&1 || true)
  log "tun: ping -M do -s 1400: $(grep -m1 -E 'Frag|mtu' <<<"$out" || echo "$out")"
  grep -q "Frag needed.*mtu = 1280" <<<"$out" || fail "tun: no frag-needed with mtu 1280: $out"
  out=$(ip -n "$NS1" route get "$net.2")
  grep -q "mtu 1280" <<<"$out" || fail "tun: ns1's route cache did not learn mtu 1280: $out"
  stop_impaired
  grep -Eq "^impair $a->$b too_big_replies_sent [1-9]" "$TMP/bridge.tunmtu.out" ||
    fail "tun: $a -> $b: no too-big reply counted"
  for ns in "$NSBR" "$NS1" "$NS2"; do
    [ -z "$(ip netns pids "$ns")" ] || fail "processes left in $ns: $(ip netns pids "$ns")"
  done
}

bridge_too_big_tun
