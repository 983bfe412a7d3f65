#!/bin/bash
# TAP mode (Mode = tap, docs/l2.md) between three tundra daemons brought up by `tundra up` from
# config files, in namespaces joined by one underlay switch:
#   1. a full mesh in switch mode: ARP and ping between every pair over the TAPs' addresses;
#      the TAP MTU is the documented 1399; IPv6 ping (neighbour discovery); 802.1Q-tagged raw
#      frames arrive with their tag and payload intact;
#   2. raw frames of a non-IP ethertype (l2_frames.py): to an unknown MAC they are flooded to
#      both other hosts, byte-exact; to a learned MAC only its host gets them;
#   4. hub mode (SwitchMode = hub, applied by syncconf): a learned unicast is flooded too;
#   5. AllowedMACs: a frame from a spoofed source is dropped and counted; `tundra save` writes
#      Mode and AllowedMACs back;
#   6. a star: B and C peer only with the hub A; with Forward = yes they ping each other
#      through A (relayed), with Forward = no they do not (not_forwarding counted); MAC expiry
#      at the hub (MACExpiry = 10 s on a 10x clock): the entry expires, counted, and the next
#      frame to it is flooded again;
#   7. the TAP in a Linux bridge on B: A reaches a host D behind B's bridge through it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
require_root
command -v python3 >/dev/null || fail "python3 is not installed"
FRAMES="$(dirname "$0")/l2_frames.py"
export TUNDRA_TEST_TIME_SCALE=10  # MACExpiry 10 s passes in 1 s (test-only, daemon.h)

# The underlay: hosts A, B, C (198.18.0.1-3/24) on one bridge in namespace SW.
new_ns NS_SW sw
ip -n "$NS_SW" link add br0 type bridge
ip -n "$NS_SW" link set br0 up
HOSTS=(a b c)
declare -A NS
for i in 0 1 2; do
  h=${HOSTS[$i]}
  new_ns "NS[$h]" "$h"
  ip link add "u$h" netns "${NS[$h]}" type veth peer name "s$h" netns "$NS_SW"
  ip -n "$NS_SW" link set "s$h" master br0 up
  ip -n "${NS[$h]}" addr add "198.18.0.$((i + 1))/24" dev "u$h"
  ip -n "${NS[$h]}" link set "u$h" up
done
declare -A IF
for h in a b c; do IF[$h]=$(ifname "l2$h"); done
CONF=$LOG_DIR/conf
mkdir -m 700 "$CONF"
umask 077
make_keys "$CONF" a b c
declare -A NUM=([a]=1 [b]=2 [c]=3)

down_all() {
  for h in a b c; do
    [ -f "/run/tundra/${IF[$h]}.state" ] && in_ns "${NS[$h]}" "$TUNDRA_BIN" down "${IF[$h]}" >>"$LOG_DIR/down.log" 2>&1
    ip -n "${NS[$h]}" link del "${IF[$h]}" 2>/dev/null || true
    rm -f "/run/tundra/${IF[$h]}.state" "/var/run/wireguard/${IF[$h]}.sock"
  done
  return 0
}
CLEANUP_HOOKS+=(down_all)

# write_conf HOST "INTERFACE LINES" PEER[:PEER_LINES]...: HOST's TAP-mode config with the
# given peers (each with its endpoint).
write_conf() {
  local h=$1 extra=$2 p lines; shift 2
  {
    echo "[Interface]"
    echo "PrivateKeyFile = $h.key"
    echo "Mode = tap"
    echo "Address = 198.19.0.${NUM[$h]}/24"
    echo "ListenPort = 51820"
    if [ -n "$extra" ]; then printf '%s\n' "$extra"; fi
    for p in "$@"; do
      lines=${p#*:}
      [ "$lines" = "$p" ] && lines=
      p=${p%%:*}
      echo "[Peer]"
      echo "PublicKey = $(cat "$CONF/$p.pub")"
      echo "Endpoint = 198.18.0.${NUM[$p]}:51820"
      echo "PersistentKeepalive = 25"
      if [ -n "$lines" ]; then printf '%s\n' "$lines"; fi
    done
  } > "$CONF/${IF[$h]}.conf"
}
up() {
  in_ns "${NS[$1]}" "$TUNDRA_BIN" up "$CONF/${IF[$1]}.conf" >>"$LOG_DIR/up-$1.log" 2>&1 ||
    fail "tundra up on $1: $(tail -5 "$LOG_DIR/up-$1.log")"
}
tap_mac() { in_ns "${NS[$1]}" cat "/sys/class/net/${IF[$1]}/address"; }
ping_pair() { ping_ok "${NS[$1]}" "198.19.0.${NUM[$2]}" 3 || fail "no ping $1 -> $2 over the TAPs"; }

# recv_start HOST NAME SECONDS: l2_frames.py recv on HOST's TAP (ethertype 88b5) into
# $LOG_DIR/NAME, in the background; waits until it listens.
recv_start() {
  local out=$LOG_DIR/$2
  rm -f "$out" "$out.ready"
  in_ns "${NS[$1]}" python3 "$FRAMES" recv "${IF[$1]}" 88b5 "$3" "$out" &
  wait_for 50 test -e "$out.ready" || fail "receiver on $1 did not start"
}
frames_in() { [ -f "$LOG_DIR/$1" ] && wc -l < "$LOG_DIR/$1" || echo 0; }
send_frames() {  # send_frames HOST DST SRC COUNT
  in_ns "${NS[$1]}" python3 "$FRAMES" send "${IF[$1]}" "$2" "$3" 88b5 "$4" || fail "send on $1"
}

log "1. full mesh, switch mode: ARP and ping between every pair"
write_conf a "" b c
write_conf b "" a c
write_conf c "" a b
for h in a b c; do up $h; done
mtu=$(in_ns "${NS[a]}" cat "/sys/class/net/${IF[a]}/mtu")
[ "$mtu" = 1399 ] || fail "TAP MTU is $mtu, not 1399 (1500 - 80 - 21)"
for pair in "a b" "a c" "b a" "b c" "c a" "c b"; do ping_pair $pair; done
in_ns "${NS[a]}" ip neigh show dev "${IF[a]}" | grep -q "198.19.0.2 .*lladdr $(tap_mac b)" ||
  fail "A did not resolve B's TAP address by ARP"
MAC_B=$(tap_mac b) MAC_C=$(tap_mac c)
log "1b. IPv6 (neighbour discovery over the segment) and 802.1Q-tagged frames"
for h in a b c; do in_ns "${NS[$h]}" ip addr add "fd19::${NUM[$h]}/64" dev "${IF[$h]}" nodad; done
for pair in "a b" "b c" "c a"; do
  set -- $pair
  in_ns "${NS[$1]}" ping -6 -c 3 -i 0.2 -w 10 -q "fd19::${NUM[$2]}" >/dev/null || fail "no IPv6 ping $1 -> $2"
done
# 802.1Q-tagged frames (this kernel has no VLAN devices: raw frames with a tag) cross intact.
recv_start b vlan-b 4
in_ns "${NS[a]}" python3 "$FRAMES" send "${IF[a]}" "$MAC_B" - 88b5 3 7 || fail "send tagged frames"
wait
[ "$(awk '{print $3, $4}' "$LOG_DIR/vlan-b" | sort)" = "$(python3 "$FRAMES" expected 88b5 3 | sed 's/$/ 7/' | sort)" ] ||
  fail "B did not get the 3 VLAN 7 frames intact: $(cat "$LOG_DIR/vlan-b")"
# From here on only the test's own frames and ARP: no IPv6 ND/MLD on the TAPs.
for h in a b c; do in_ns "${NS[$h]}" sysctl -qw "net.ipv6.conf.${IF[$h]}.disable_ipv6=1"; done

log "2. a non-IP ethertype: flooded to an unknown MAC, unicast to a learned one"
expect=$(python3 "$FRAMES" expected 88b5 5 | sort)
recv_start b flood-b 4
recv_start c flood-c 4
send_frames a 02:00:00:00:00:99 - 5
wait
for h in b c; do
  [ "$(awk '{print $3}' "$LOG_DIR/flood-$h" | sort)" = "$expect" ] ||
    fail "$h did not get the 5 flooded frames byte-exact: $(cat "$LOG_DIR/flood-$h")"
done
recv_start b uni-b 4
recv_start c uni-c 4
send_frames a "$MAC_B" - 5
wait
[ "$(frames_in uni-b)" = 5 ] || fail "B got $(frames_in uni-b) of 5 unicast frames"
[ "$(frames_in uni-c)" = 0 ] || fail "C got $(frames_in uni-c) frames meant for B's learned MAC"
log "   flood reached B and C (5 each, sha256-exact); unicast to B's MAC only B"

log "4. hub mode: a learned unicast is flooded"
ping_pair a b  # A learns B again
write_conf a "SwitchMode = hub" b c
in_ns "${NS[a]}" "$TUNDRA_BIN" syncconf "$CONF/${IF[a]}.conf" >>"$LOG_DIR/sync.log" 2>&1 ||
  fail "syncconf to hub: $(tail -3 "$LOG_DIR/sync.log")"
# C knows B's MAC behind its peer B, so it takes A's copies as frames from one peer to another
# (not_forwarding, Forward = no) unless that entry has expired, when its TAP gets them: either
# way all 3 reached C.
nf=$(stat_of "${IF[c]}" drop_not_forwarding)
recv_start c hub-c 4
send_frames a "$MAC_B" - 3
wait
reached=$(( $(frames_in hub-c) + $(stat_of "${IF[c]}" drop_not_forwarding) - ${nf:-0} ))
[ "$reached" -ge 3 ] || fail "hub mode: $reached of 3 frames for B reached C"

log "5. AllowedMACs: a spoofed source from B is dropped at A"
write_conf a "" "b:AllowedMACs = $MAC_B" c
in_ns "${NS[a]}" "$TUNDRA_BIN" syncconf "$CONF/${IF[a]}.conf" >>"$LOG_DIR/sync.log" 2>&1 ||
  fail "syncconf AllowedMACs: $(tail -3 "$LOG_DIR/sync.log")"
ping_pair b a  # B's own MAC still passes
before=$(stat_of "${IF[a]}" drop_source_mac_not_allowed)
recv_start a spoof-a 4
send_frames b ff:ff:ff:ff:ff:ff 02:00:00:00:0b:0b 5
wait
[ "$(frames_in spoof-a)" = 0 ] || fail "A's TAP got $(frames_in spoof-a) spoofed frames"
after=$(stat_of "${IF[a]}" drop_source_mac_not_allowed)
[ "$((after - ${before:-0}))" = 5 ] || fail "drop_source_mac_not_allowed rose by $((after - ${before:-0})), not 5"
# tundra save writes the TAP keys back (Mode, the peer's AllowedMACs).
in_ns "${NS[a]}" "$TUNDRA_BIN" save "$CONF/${IF[a]}.conf" >>"$LOG_DIR/save.log" 2>&1 || fail "tundra save: $(tail -3 "$LOG_DIR/save.log")"
grep -qx "Mode = tap" "$CONF/${IF[a]}.conf" || fail "saved file lost Mode = tap: $(cat "$CONF/${IF[a]}.conf")"
grep -qix "AllowedMACs = $MAC_B" "$CONF/${IF[a]}.conf" || fail "saved file lost AllowedMACs: $(cat "$CONF/${IF[a]}.conf")"

log "6. a star: B and C reach each other only through A with Forward = yes"
down_all
write_conf a "Forward = yes
MACExpiry = 10" b c
write_conf b "" a
write_conf c "MACExpiry = 10" a
for h in a b c; do up $h; done
ping_pair b c
ping_pair c b
[ "$(stat_of "${IF[a]}" drop_not_forwarding)" = 0 ] || fail "not_forwarding at a forwarding hub"

log "6b. MAC expiry (MACExpiry = 10 s, 1 s on the 10x clock): the hub forgets B's MAC, and floods to it again"
# Quiet the TAPs: no IPv6 ND/MLD, static ARP entries, so that nothing renews a MAC at A.
for h in a b c; do in_ns "${NS[$h]}" sysctl -qw "net.ipv6.conf.${IF[$h]}.disable_ipv6=1"; done
for h in a b c; do
  for o in a b c; do
    [ $h = $o ] && continue
    in_ns "${NS[$h]}" ip neigh replace "198.19.0.${NUM[$o]}" lladdr "$(tap_mac $o)" dev "${IF[$h]}" nud permanent
  done
done
expired=$(stat_of "${IF[a]}" mac_expired)
send_frames b ff:ff:ff:ff:ff:ff - 1  # A learns B's MAC
a_has() { [ "$(stat_of "${IF[a]}" mac_entries)" -ge 1 ]; }
a_forgot() {
  [ "$(stat_of "${IF[a]}" mac_entries)" = 0 ] && [ "$(stat_of "${IF[a]}" mac_expired)" -gt "${expired:-0}" ]
}
wait_for 20 a_has || fail "A did not learn B's MAC"
wait_for 100 a_forgot || fail "A's MAC table did not expire (entries $(stat_of "${IF[a]}" mac_entries), expired $(stat_of "${IF[a]}" mac_expired))"
# C forgets too (else it would take the flooded frames for B as coming back from B's side).
c_forgot() { [ "$(stat_of "${IF[c]}" mac_entries)" = 0 ]; }
wait_for 100 c_forgot || fail "C's MAC table did not expire"
recv_start c exp-c 4
send_frames a "$MAC_B" - 3
wait
[ "$(frames_in exp-c)" = 3 ] || fail "after expiry, C got $(frames_in exp-c) of 3 frames for B (not flooded)"
log "   mac_expired $expired -> $(stat_of "${IF[a]}" mac_expired); the next frames to B reached C too"

write_conf a "Forward = no
MACExpiry = 10" b c
in_ns "${NS[a]}" "$TUNDRA_BIN" syncconf "$CONF/${IF[a]}.conf" >>"$LOG_DIR/sync.log" 2>&1 ||
  fail "syncconf Forward = no: $(tail -3 "$LOG_DIR/sync.log")"
# C pings A meanwhile, so that A knows C's MAC (MACExpiry is short here): B's frames for it are
# then peer-to-peer unicast, refused and counted (not_forwarding), not flooded to A's TAP.
in_ns "${NS[c]}" ping -c 25 -i 0.2 -q 198.19.0.1 >/dev/null 2>&1 &
bg_ping=$!
sleep 0.5
if in_ns "${NS[b]}" ping -c 3 -i 0.2 -W 1 -q 198.19.0.3 >/dev/null 2>&1; then
  fail "B reached C through A with Forward = no"
fi
wait $bg_ping || fail "C's pings to A failed"
[ "$(stat_of "${IF[a]}" drop_not_forwarding)" -gt 0 ] || fail "no not_forwarding drop at A"
ping_pair a b
ping_pair a c

log "7. the TAP in a Linux bridge: A reaches D behind B's bridge"
new_ns NS_D d
ip -n "${NS[b]}" link add brl2 type bridge
ip link add vbd netns "${NS[b]}" type veth peer name vd netns "$NS_D"
ip -n "${NS[b]}" addr flush dev "${IF[b]}"
ip -n "${NS[b]}" link set "${IF[b]}" master brl2
ip -n "${NS[b]}" link set vbd master brl2 up
ip -n "${NS[b]}" addr add 198.19.0.2/24 dev brl2
ip -n "${NS[b]}" link set brl2 up
ip -n "$NS_D" addr add 198.19.0.4/24 dev vd
ip -n "$NS_D" link set vd mtu 1399 up
ping_ok "${NS[a]}" 198.19.0.4 3 || fail "A cannot reach D behind B's bridge"
ping_ok "$NS_D" 198.19.0.1 3 || fail "D cannot reach A through B's bridge"
ping_ok "${NS[a]}" 198.19.0.2 3 || fail "A cannot reach B's bridge address"
log "PASS"
