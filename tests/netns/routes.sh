#!/bin/bash
# Routing around the tunnel, tundra <-> tundra (issue #15, kernel parity):
#   ROUTE  a better route to the peer appears while the old source still works: B's replies
#          leave by it, from its source. A and B are joined by two links (198.18.0.0/24 and
#          198.18.2.0/24); A reaches B at 198.18.0.2, so B's sticky source is 198.18.0.2 on vb.
#          A /32 route on B to A's address via the second link makes the kernel's routing say
#          "vb2, from 198.18.2.2": B drops the sticky source (sticky_sources_rerouted), its
#          replies come from 198.18.2.2 and A's endpoint for B roams there, as with the
#          kernel's send4 (the sticky source is kept only while the route leaves by the
#          interface it was learnt on). Before, IP_PKTINFO pinned every reply to vb.
#   FWD    ICMP errors for packets A forwarded (C -> A -> wg0) and NATed (nftables masquerade
#          on wg0) to an address no peer owns: the host unreachable reaches C, the original
#          sender. Its source is the unreachable address, not A's (docs/security.md: what a
#          user-space daemon can and cannot do here).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wg_pair.sh"
require_root
command -v wg >/dev/null || fail "wg (wireguard-tools) is not installed"

endpoint_of_b() { wg show "$IF_A" endpoints | awk '{print $2}'; }

log "ROUTE: a better route to A appears on B; the old source still works"
setup tundra tundra 4 no
ip link add va2 netns "$NS_A" type veth peer name vb2 netns "$NS_B"
ip -n "$NS_A" addr add 198.18.2.1/24 dev va2
ip -n "$NS_B" addr add 198.18.2.2/24 dev vb2
ip -n "$NS_A" link set va2 up
ip -n "$NS_B" link set vb2 up
for ns in "$NS_A" "$NS_B"; do
  in_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ping_ok "$NS_A" 198.19.0.2 2 || fail "first ping"
[ "$(endpoint_of_b)" = 198.18.0.2:51821 ] || fail "A's endpoint for B is $(endpoint_of_b)"
# The better route: more specific, by the second link, with its own source.
ip -n "$NS_B" route add 198.18.0.1/32 via 198.18.2.1 dev vb2
ok=no
for _ in $(seq 40); do
  in_ns "$NS_A" ping -c 1 -W 1 -q 198.19.0.2 >/dev/null || true
  if [ "$(endpoint_of_b)" = 198.18.2.2:51821 ]; then ok=yes; break; fi
  sleep 0.1
done
[ $ok = yes ] || fail "B's replies did not follow the better route: A's endpoint for B is $(endpoint_of_b)"
rerouted=$(stat_of "$IF_B" sticky_sources_rerouted)
[ "${rerouted:-0}" -ge 1 ] || fail "B's sticky_sources_rerouted is '${rerouted:-}'"
ping_ok "$NS_A" 198.19.0.2 3 || fail "ping after the route change"
ping_ok "$NS_B" 198.19.0.1 3 || fail "ping B -> A after the route change"
[ "$(endpoint_of_b)" = 198.18.2.2:51821 ] || fail "A's endpoint for B went back to $(endpoint_of_b)"
# The old source was not the problem: it is still there and answers.
ping_ok "$NS_A" 198.18.0.2 2 || fail "B's old address no longer answers"
log "  replies follow the new route: A's endpoint for B is $(endpoint_of_b), rerouted=$rerouted"
teardown

log "FWD: ICMP errors for packets forwarded and NATed into the tunnel reach the sender"
setup tundra tundra 4 no
new_ns NS_C c
ip link add vc netns "$NS_C" type veth peer name vac netns "$NS_A"
ip -n "$NS_C" addr add 198.18.3.1/24 dev vc
ip -n "$NS_A" addr add 198.18.3.2/24 dev vac
ip -n "$NS_C" link set vc up
ip -n "$NS_A" link set vac up
ip -n "$NS_C" route add 198.19.0.0/16 via 198.18.3.2
in_ns "$NS_A" sysctl -qw net.ipv4.ip_forward=1
ping_ok "$NS_A" 198.19.0.2 1 || fail "first ping"

# unreachable_from: pings 198.19.0.99 (no peer's allowed IPs) from C once; prints the source
# of the "Destination Host Unreachable" C received, or nothing.
unreachable_from() {
  { in_ns "$NS_C" ping -n -c 1 -W 2 198.19.0.99 2>&1 || true; } |
    awk '/Destination Host Unreachable/ {print $2; exit}'
}
before=$(stat_of "$IF_A" icmp_unreachable_sent)
from=$(unreachable_from)
[ -n "$from" ] || fail "forwarded: C got no host unreachable"
[ "$from" = 198.19.0.99 ] || fail "forwarded: the error came from $from"
log "  forwarded: C got host unreachable from $from"

in_ns "$NS_A" nft -f - <<EOF
table ip tundra_fwd {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "$IF_A" masquerade
  }
}
EOF
CLEANUP_HOOKS+=("ip netns exec $NS_A nft delete table ip tundra_fwd 2>/dev/null")
from=$(unreachable_from)
[ -n "$from" ] || fail "NATed: C got no host unreachable"
[ "$from" = 198.19.0.99 ] || fail "NATed: the error came from $from"
after=$(stat_of "$IF_A" icmp_unreachable_sent)
[ $((after - before)) -ge 2 ] || fail "A sent $((after - before)) ICMP errors, want 2"
log "  NATed (masquerade on $IF_A): C got host unreachable from $from"
in_ns "$NS_A" nft delete table ip tundra_fwd
teardown
ip netns del "$NS_C"
NAMESPACES=()

log "PASS"
