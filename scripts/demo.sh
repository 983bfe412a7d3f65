#!/bin/bash
# `make demo`: tundra end to end with zero configuration.
#
# Two hosts (network namespaces) joined by a veth; a WireGuard tunnel between them run by two
# tundra daemons and configured with the stock `wg` tool; pings both ways over IPv4 and IPv6
# inside the tunnel, a 3-second TCP transfer, `wg show`, then everything is removed again.
# Addresses: underlay 198.18.0.1/.2 and fd18::1/::2, tunnel 198.19.0.1/.2 and fd19::1/::2
# (benchmarking/documentation ranges; nothing leaves this machine).
set -euo pipefail
build=${1:-build}
TUNDRA=$(cd "$build" && pwd)/tundra/cli/tundra
[ -x "$TUNDRA" ] || { echo "demo: $TUNDRA not built" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "demo: needs root (network namespaces, TUN devices)" >&2; exit 1; fi

id=$$
A=tundra-demo-$id-a; B=tundra-demo-$id-b
IF_A=tdemo${id}a; IF_B=tdemo${id}b
IF_A=${IF_A:0:15}; IF_B=${IF_B:0:15}
work=$(mktemp -d /tmp/tundra-demo.XXXXXX)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
  set +e
  ip -n "$A" link del "$IF_A" 2>/dev/null; ip -n "$B" link del "$IF_B" 2>/dev/null
  for ns in "$A" "$B"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
  done
  sleep 0.3
  for ns in "$A" "$B"; do ip netns del "$ns" 2>/dev/null; done
  rm -f "/var/run/wireguard/$IF_A.sock" "/var/run/wireguard/$IF_B.sock"
  rm -rf "$work"
}
trap cleanup EXIT

step "Two hosts, A and B, as network namespaces joined by a veth pair"
ip netns add "$A"; ip netns add "$B"
ip link add va netns "$A" type veth peer name vb netns "$B"
ip -n "$A" addr add 198.18.0.1/24 dev va; ip -n "$A" addr add fd18::1/64 dev va nodad
ip -n "$B" addr add 198.18.0.2/24 dev vb; ip -n "$B" addr add fd18::2/64 dev vb nodad
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set va up; ip -n "$B" link set vb up
echo "A: 198.18.0.1 fd18::1    B: 198.18.0.2 fd18::2"

step "Keys (tundra genkey / pubkey: never on the command line)"
umask 077
"$TUNDRA" genkey > "$work/a.key"; "$TUNDRA" pubkey < "$work/a.key" > "$work/a.pub"
"$TUNDRA" genkey > "$work/b.key"; "$TUNDRA" pubkey < "$work/b.key" > "$work/b.pub"
echo "A public key: $(cat "$work/a.pub")"
echo "B public key: $(cat "$work/b.pub")"

step "A tundra daemon on each host (wireguard-go's contract: tundra IFNAME)"
run ip netns exec "$A" "$TUNDRA" "$IF_A"
run ip netns exec "$B" "$TUNDRA" "$IF_B"

step "Configured with the stock wg tool over the UAPI socket"
run wg set "$IF_A" listen-port 51820 private-key "$work/a.key" \
  peer "$(cat "$work/b.pub")" allowed-ips 198.19.0.2/32,fd19::2/128 endpoint 198.18.0.2:51821
run wg set "$IF_B" listen-port 51821 private-key "$work/b.key" \
  peer "$(cat "$work/a.pub")" allowed-ips 198.19.0.1/32,fd19::1/128 endpoint 198.18.0.1:51820
ip -n "$A" addr add 198.19.0.1/24 dev "$IF_A"; ip -n "$A" addr add fd19::1/64 dev "$IF_A" nodad
ip -n "$B" addr add 198.19.0.2/24 dev "$IF_B"; ip -n "$B" addr add fd19::2/64 dev "$IF_B" nodad
ip -n "$A" link set "$IF_A" up; ip -n "$B" link set "$IF_B" up

step "Proof: pings through the tunnel, both ways, IPv4 and IPv6"
run ip netns exec "$A" ping -c 3 -i 0.2 -w 10 198.19.0.2
run ip netns exec "$B" ping -c 3 -i 0.2 -w 10 fd19::1

step "A 3-second TCP transfer through the tunnel (iperf3)"
ip netns exec "$B" iperf3 -s -D -1 -I "$work/iperf.pid" >/dev/null
sleep 0.3
ip netns exec "$A" iperf3 -c 198.19.0.2 -t 3 | grep -E 'sender|receiver'

step "wg show on host A"
run wg show "$IF_A"

step "tundra stats on host A: drops by reason, and the TUN offloads at work"
run "$TUNDRA" stats "$IF_A"

step "Tearing down: deleting the interfaces stops the daemons"
ip -n "$A" link del "$IF_A"; ip -n "$B" link del "$IF_B"
for _ in $(seq 50); do
  [ ! -e "/var/run/wireguard/$IF_A.sock" ] && [ ! -e "/var/run/wireguard/$IF_B.sock" ] && break
  sleep 0.1
done
echo "daemons gone, sockets removed; namespaces removed on exit"
printf '\n\033[1mdemo: OK\033[0m\n'
