#include "tundra/netlink/address.h"

#include <fmt/core.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace tundra::netlink {
namespace {

MessageBuilder Build(uint16_t type, uint16_t flags, int index, const routing::IpPrefix& prefix,
                     uint8_t ifa_flags) {
  ifaddrmsg a{};
  a.ifa_family = uint8_t(prefix.address().family());
  a.ifa_prefixlen = uint8_t(prefix.bits());
  a.ifa_flags = ifa_flags;
  a.ifa_scope = RT_SCOPE_UNIVERSE;
  a.ifa_index = uint32_t(index);
  MessageBuilder m(type, flags);
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS the same on a non-point-to-point
  // link (it would be the peer's otherwise). `ip address add` sends both.
  m.Family(a).Attr(IFA_LOCAL, prefix.address().bytes()).Attr(IFA_ADDRESS, prefix.address().bytes());
  return m;
}

Result<int> ResolveIndex(NetlinkSocket& nl, LinkId link) {
  if (link.index() != 0) return link.index();
  return LinkIndex(nl, link.name());
}

std::string Describe(const routing::IpPrefix& prefix, LinkId link) {
  return fmt::format("{} dev {}", prefix.ToString(), link.ToString());
}

}  // namespace

MessageBuilder BuildAddAddress(int index, const routing::IpPrefix& prefix,
                               const AddressOptions& options) {
  return Build(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, prefix,
               options.nodad ? IFA_F_NODAD : 0);
}

MessageBuilder BuildDeleteAddress(int index, const routing::IpPrefix& prefix) {
  return Build(RTM_DELADDR, 0, index, prefix, 0);
}

MessageBuilder BuildListAddresses(int family) {
  ifaddrmsg a{};
  a.ifa_family = uint8_t(family);
  MessageBuilder m(RTM_GETADDR, 0);
  m.Family(a);
  return m;
}

Result<InterfaceAddress> ParseAddress(ByteSpan payload) {
  TUNDRA_ASSIGN_OR_RETURN(auto parsed, ParsePayload<ifaddrmsg>(payload));
  const auto& [h, attrs] = parsed;
  if (h.ifa_family != AF_INET && h.ifa_family != AF_INET6) {
    return MakeError(EAFNOSUPPORT, fmt::format("netlink: address family {}", h.ifa_family));
  }
  const size_t size = h.ifa_family == AF_INET6 ? 16 : 4;
  if (h.ifa_prefixlen > size * 8) {
    return MakeError(EBADMSG, fmt::format("netlink: address prefix length {}", h.ifa_prefixlen));
  }
  const RtAttr* a = FindAttr(attrs, IFA_LOCAL);  // IPv4; IPv6 sends only IFA_ADDRESS
  if (a == nullptr) a = FindAttr(attrs, IFA_ADDRESS);
  if (a == nullptr || a->data.size() != size) {
    return MakeError(EBADMSG, "netlink: address message without a valid IFA_LOCAL/IFA_ADDRESS");
  }
  InterfaceAddress out;
  out.index = int(h.ifa_index);
  out.prefix = routing::IpPrefix(
      size == 16 ? routing::IpAddress::V6(a->data.data()) : routing::IpAddress::V4(a->data.data()),
      h.ifa_prefixlen);
  out.scope = h.ifa_scope;
  out.flags = h.ifa_flags;
  if (const RtAttr* f = FindAttr(attrs, IFA_FLAGS)) {  // all 32 bits (ifa_flags has 8)
    auto flags = f->AsU32();
    if (!flags) return MakeError(EBADMSG, "netlink: malformed IFA_FLAGS");
    out.flags = *flags;
  }
  return out;
}

Status AddAddress(NetlinkSocket& nl, LinkId link, const routing::IpPrefix& prefix,
                  const AddressOptions& options) {
  TUNDRA_ASSIGN_OR_RETURN(int index, ResolveIndex(nl, link));
  return nl.Request(BuildAddAddress(index, prefix, options), Describe(prefix, link));
}

Status DeleteAddress(NetlinkSocket& nl, LinkId link, const routing::IpPrefix& prefix) {
  TUNDRA_ASSIGN_OR_RETURN(int index, ResolveIndex(nl, link));
  return nl.Request(BuildDeleteAddress(index, prefix), Describe(prefix, link));
}

Result<std::vector<InterfaceAddress>> ListAddresses(NetlinkSocket& nl, LinkId link) {
  TUNDRA_ASSIGN_OR_RETURN(int index, ResolveIndex(nl, link));
  const std::string what = fmt::format("dev {}", link.ToString());
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Dump(BuildListAddresses(), what));
  std::vector<InterfaceAddress> out;
  for (const Reply& r : replies) {
    if (r.type != RTM_NEWADDR) continue;
    auto address = ParseAddress(r.payload);
    if (!address.ok()) {
      if (address.error().code() == EAFNOSUPPORT) continue;  // not ours to list
      return address.error().Wrap(fmt::format("netlink RTM_GETADDR {}", what));
    }
    if (address->index == index) out.push_back(std::move(*address));
  }
  return out;
}

}  // namespace tundra::netlink
