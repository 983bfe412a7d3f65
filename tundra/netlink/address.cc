#include "tundra/netlink/address.h"

#include <fmt/core.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "tundra/netlink/link.h"

namespace tundra::netlink {

MessageBuilder BuildAddress(bool add, int index, const routing::IpPrefix& prefix, bool nodad) {
  ifaddrmsg a{};
  a.ifa_family = uint8_t(prefix.address().family());
  a.ifa_prefixlen = uint8_t(prefix.bits());
  a.ifa_index = uint32_t(index);
  a.ifa_flags = nodad ? IFA_F_NODAD : 0;
  MessageBuilder m(add ? RTM_NEWADDR : RTM_DELADDR, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  m.Family(a).Attr(IFA_LOCAL, prefix.address().bytes()).Attr(IFA_ADDRESS, prefix.address().bytes());
  return m;
}

Status AddAddress(NetlinkSocket& nl, std::string_view ifname, const routing::IpPrefix& prefix,
                  bool nodad) {
  TUNDRA_ASSIGN_OR_RETURN(int index, LinkIndex(nl, ifname));
  return nl.Request(BuildAddress(true, index, prefix, nodad),
                    fmt::format("{} dev {}", prefix.ToString(), ifname));
}

Status DeleteAddress(NetlinkSocket& nl, std::string_view ifname, const routing::IpPrefix& prefix) {
  TUNDRA_ASSIGN_OR_RETURN(int index, LinkIndex(nl, ifname));
  return nl.Request(BuildAddress(false, index, prefix, false),
                    fmt::format("{} dev {}", prefix.ToString(), ifname));
}

Result<std::vector<routing::IpPrefix>> ListAddresses(NetlinkSocket& nl, std::string_view ifname) {
  TUNDRA_ASSIGN_OR_RETURN(int index, LinkIndex(nl, ifname));
  MessageBuilder m(RTM_GETADDR, 0);
  m.Family(ifaddrmsg{});
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Dump(m, fmt::format("dev {}", ifname)));
  std::vector<routing::IpPrefix> out;
  for (const auto& r : replies) {
    auto parsed = ParsePayload<ifaddrmsg>(r);
    if (!parsed.ok() || int(parsed->first.ifa_index) != index) continue;
    const auto& attrs = parsed->second;
    const RtAttr* a = FindAttr(attrs, IFA_LOCAL);
    if (a == nullptr) a = FindAttr(attrs, IFA_ADDRESS);
    if (a == nullptr) continue;
    if (a->data.size() == 4) {
      out.emplace_back(routing::IpAddress::V4(a->data.data()), parsed->first.ifa_prefixlen);
    } else if (a->data.size() == 16) {
      out.emplace_back(routing::IpAddress::V6(a->data.data()), parsed->first.ifa_prefixlen);
    }
  }
  return out;
}

}  // namespace tundra::netlink
