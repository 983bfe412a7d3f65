// Interface addresses (IPv4 and IPv6) over rtnetlink.
#pragma once

#include <vector>

#include "tundra/netlink/socket.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::netlink {

// `prefix` keeps its host bits: 198.19.0.1/24 is the address 198.19.0.1 on a /24.
// `nodad` skips IPv6 duplicate address detection (IFA_F_NODAD).
MessageBuilder BuildAddress(bool add, int index, const routing::IpPrefix& prefix, bool nodad);

Status AddAddress(NetlinkSocket& nl, std::string_view ifname, const routing::IpPrefix& prefix,
                  bool nodad = false);
Status DeleteAddress(NetlinkSocket& nl, std::string_view ifname, const routing::IpPrefix& prefix);
Result<std::vector<routing::IpPrefix>> ListAddresses(NetlinkSocket& nl, std::string_view ifname);

}  // namespace tundra::netlink
