// ICMP errors answering a packet read from a TUN/TAP interface, written back into it: no I/O.
//   - BuildUnreachable: the device's "destination unreachable" for packets the tunnel cannot
//     carry (no peer owns the destination, or the peer has no endpoint), as the kernel's
//     WireGuard does (icmp_ndo_send: ICMP host unreachable / ICMPv6 address unreachable), so
//     that `ping` and TCP connects fail at once instead of timing out.
//   - BuildTooBig: the simulated link's answer to a packet larger than its MTU (`tundra bridge
//     --mtu N --mtu-reply icmp`): ICMP "fragmentation needed" (type 3 code 4, RFC 792 / RFC
//     1191 next-hop MTU) or ICMPv6 "packet too big" (type 2, RFC 4443 3.2), so the sender's
//     path MTU discovery learns N.
// Each error goes from the packet's destination to its source (there is no router address of
// our own to send from) and quotes as much of the packet as RFC 1812 4.3.2.3 (576 bytes in
// all) and RFC 4443 2.4(c) (1280) allow.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tundra/base/bytes.h"

namespace tundra::tun {

// The largest error a builder writes: the IPv6 minimum MTU (IPv4 errors stop at 576).
inline constexpr size_t kMaxIcmpError = 1280;
// The rate limit of generated ICMP errors (RFC 1812 4.3.2.8, RFC 4443 2.4(f)): Linux's
// default icmp_msgs_per_sec / icmp_msgs_burst, a token bucket per sender of errors.
inline constexpr uint64_t kIcmpErrorsPerSecond = 1000;
inline constexpr uint64_t kIcmpErrorBurst = 50;

// Writes into `out` (at least kMaxIcmpError bytes) the ICMP error answering `packet`, from the
// packet's destination to its source, quoting as much of it as fits; returns its length, or 0
// when no error may be sent (RFC 1812 4.3.2.7, RFC 4443 2.4(e)): the packet is malformed, an
// ICMP error itself, a non-initial IPv4 fragment, to a multicast/broadcast address, or from an
// unspecified, multicast or loopback source.
size_t BuildUnreachable(ByteSpan packet, MutableByteSpan out);

// The same rules, for a packet larger than `mtu` (the next-hop MTU the error carries, at most
// 65535): ICMP fragmentation needed for IPv4 — only when the packet has DF set (0 otherwise: a
// router would fragment it) — and ICMPv6 packet too big for IPv6.
size_t BuildTooBig(ByteSpan packet, size_t mtu, MutableByteSpan out);

}  // namespace tundra::tun
