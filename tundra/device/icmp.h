// ICMP "destination unreachable" for packets the tunnel cannot carry (no peer owns the
// destination, or the peer has no endpoint), written back into the TUN as the kernel's
// WireGuard does (icmp_ndo_send: ICMP host unreachable / ICMPv6 address unreachable), so that
// `ping` and TCP connects fail at once instead of timing out. No I/O.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tundra/base/bytes.h"

namespace tundra::device {

// The largest error BuildUnreachable writes: the IPv6 minimum MTU (IPv4 errors stop at 576).
inline constexpr size_t kMaxIcmpError = 1280;

// Writes into `out` (at least kMaxIcmpError bytes) the ICMP error answering `packet`, from the
// packet's destination to its source, quoting as much of it as fits; returns its length, or 0
// when no error may be sent (RFC 1812 4.3.2.7, RFC 4443 2.4(e)): the packet is malformed, an
// ICMP error itself, a non-initial IPv4 fragment, to a multicast/broadcast address, or from an
// unspecified, multicast or loopback source.
size_t BuildUnreachable(ByteSpan packet, MutableByteSpan out);

}  // namespace tundra::device
