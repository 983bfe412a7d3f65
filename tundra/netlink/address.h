// Interface addresses (IPv4 and IPv6) over rtnetlink: add, delete, list.
//   AddAddress(nl, "tun0", 198.19.0.1/24) is `ip address add 198.19.0.1/24 dev tun0`.
#pragma once

#include <cstdint>
#include <vector>

#include "tundra/netlink/link.h"
#include "tundra/netlink/socket.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::netlink {

struct AddressOptions {
  bool nodad = false;  // IPv6: skip duplicate address detection (IFA_F_NODAD), usable at once
};

struct InterfaceAddress {
  int index = 0;
  // The local address with its prefix length; host bits kept (198.19.0.1/24).
  routing::IpPrefix prefix;
  uint8_t scope = 0;   // RT_SCOPE_UNIVERSE, RT_SCOPE_LINK (fe80::/10), RT_SCOPE_HOST (loopback)
  uint32_t flags = 0;  // IFA_F_NODAD, IFA_F_TENTATIVE, IFA_F_PERMANENT, ...
};

// `prefix` keeps its host bits: 198.19.0.1/24 is the address 198.19.0.1 on a /24.
MessageBuilder BuildAddAddress(int index, const routing::IpPrefix& prefix,
                               const AddressOptions& options = {});
MessageBuilder BuildDeleteAddress(int index, const routing::IpPrefix& prefix);
MessageBuilder BuildListAddresses(int family = 0);  // AF_INET, AF_INET6 or 0 for both
// An RTM_NEWADDR payload.
Result<InterfaceAddress> ParseAddress(ByteSpan payload);

Status AddAddress(NetlinkSocket& nl, LinkId link, const routing::IpPrefix& prefix,
                  const AddressOptions& options = {});
Status DeleteAddress(NetlinkSocket& nl, LinkId link, const routing::IpPrefix& prefix);
// The addresses of `link`, both families, in the kernel's order.
Result<std::vector<InterfaceAddress>> ListAddresses(NetlinkSocket& nl, LinkId link);

}  // namespace tundra::netlink
