#include "tundra/netlink/link.h"

#include <fmt/core.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

namespace tundra::netlink {
namespace {

ifinfomsg Info(int index) {
  ifinfomsg i{};
  i.ifi_family = AF_UNSPEC;
  i.ifi_index = index;
  return i;
}

// The family header for `link`, and IFLA_IFNAME when it is named (the kernel looks a link up
// by name when ifi_index is 0).
MessageBuilder Start(uint16_t type, LinkId link, const ifinfomsg& info) {
  MessageBuilder m(type, 0);
  m.Family(info);
  if (link.index() == 0) m.String(IFLA_IFNAME, link.name());
  return m;
}

Error Malformed(const char* attr) {
  return MakeError(EBADMSG, fmt::format("netlink: malformed {} in a link message", attr));
}

}  // namespace

std::string LinkId::ToString() const {
  return index_ != 0 ? fmt::format("ifindex {}", index_) : std::string(name_);
}

Status ValidateLinkName(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name == "." || name == "..") {
    return InvalidArgument(
        fmt::format("invalid interface name '{}' (1 to {} bytes)", name, IFNAMSIZ - 1));
  }
  for (char c : name) {
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\0') {
      return InvalidArgument(fmt::format("invalid interface name '{}'", name));
    }
  }
  return OkStatus();
}

MessageBuilder BuildGetLink(LinkId link) { return Start(RTM_GETLINK, link, Info(link.index())); }

MessageBuilder BuildListLinks() {
  MessageBuilder m(RTM_GETLINK, 0);
  m.Family(Info(0));
  return m;
}

MessageBuilder BuildSetLinkUp(LinkId link, bool up) {
  ifinfomsg i = Info(link.index());
  i.ifi_flags = up ? IFF_UP : 0;
  i.ifi_change = IFF_UP;
  return Start(RTM_NEWLINK, link, i);
}

MessageBuilder BuildSetLinkMtu(LinkId link, uint32_t mtu) {
  MessageBuilder m = Start(RTM_NEWLINK, link, Info(link.index()));
  m.U32(IFLA_MTU, mtu);
  return m;
}

MessageBuilder BuildRenameLink(int index, std::string_view new_name) {
  MessageBuilder m(RTM_NEWLINK, 0);
  m.Family(Info(index)).String(IFLA_IFNAME, new_name);
  return m;
}

MessageBuilder BuildDeleteLink(LinkId link) { return Start(RTM_DELLINK, link, Info(link.index())); }

MessageBuilder BuildMoveToNetns(LinkId link, int netns_fd) {
  MessageBuilder m = Start(RTM_NEWLINK, link, Info(link.index()));
  m.U32(IFLA_NET_NS_FD, uint32_t(netns_fd));
  return m;
}

MessageBuilder BuildNewVeth(std::string_view name, std::string_view peer, int peer_netns_fd) {
  MessageBuilder m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.Family(Info(0)).String(IFLA_IFNAME, name);
  const size_t linkinfo = m.BeginNested(IFLA_LINKINFO);
  m.Attr(IFLA_INFO_KIND, "veth", 4);  // no NUL, as iproute2 sends it (NLA_STRING allows both)
  const size_t data = m.BeginNested(IFLA_INFO_DATA);
  const size_t peer_info = m.BeginNested(VETH_INFO_PEER);  // an ifinfomsg, then attributes
  m.Family(Info(0)).String(IFLA_IFNAME, peer);
  if (peer_netns_fd >= 0) m.U32(IFLA_NET_NS_FD, uint32_t(peer_netns_fd));
  m.EndNested(peer_info).EndNested(data).EndNested(linkinfo);
  return m;
}

Result<LinkInfo> ParseLink(ByteSpan payload) {
  TUNDRA_ASSIGN_OR_RETURN(auto parsed, ParsePayload<ifinfomsg>(payload));
  const auto& [info, attrs] = parsed;
  LinkInfo link;
  link.index = info.ifi_index;
  link.flags = info.ifi_flags;
  if (const RtAttr* a = FindAttr(attrs, IFLA_IFNAME)) link.name = std::string(a->Str());
  if (const RtAttr* a = FindAttr(attrs, IFLA_MTU)) {
    auto mtu = a->AsU32();
    if (!mtu || *mtu > 0x7fffffff) return Malformed("IFLA_MTU");
    link.mtu = int(*mtu);
  }
  if (const RtAttr* a = FindAttr(attrs, IFLA_OPERSTATE)) {
    auto state = a->AsU8();
    if (!state) return Malformed("IFLA_OPERSTATE");
    link.operstate = *state;
  }
  if (const RtAttr* a = FindAttr(attrs, IFLA_LINKINFO)) {
    auto nested = ParseAttrs(a->data);
    if (!nested.ok()) return Malformed("IFLA_LINKINFO");
    if (const RtAttr* k = FindAttr(*nested, IFLA_INFO_KIND)) link.kind = std::string(k->Str());
  }
  return link;
}

Result<LinkInfo> GetLink(NetlinkSocket& nl, LinkId link) {
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Query(BuildGetLink(link), link.ToString()));
  for (const Reply& r : replies) {
    if (r.type != RTM_NEWLINK) continue;
    auto info = ParseLink(r.payload);
    if (!info.ok())
      return info.error().Wrap(fmt::format("netlink RTM_GETLINK {}", link.ToString()));
    return info;
  }
  return Error(EBADMSG, fmt::format("netlink RTM_GETLINK {}", link.ToString()),
               "acknowledged without the link");
}

Result<int> LinkIndex(NetlinkSocket& nl, std::string_view name) {
  TUNDRA_ASSIGN_OR_RETURN(LinkInfo l, GetLink(nl, name));
  return l.index;
}

Result<std::vector<LinkInfo>> ListLinks(NetlinkSocket& nl) {
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Dump(BuildListLinks(), "(all links)"));
  std::vector<LinkInfo> out;
  for (const Reply& r : replies) {
    if (r.type != RTM_NEWLINK) continue;
    auto link = ParseLink(r.payload);
    if (!link.ok()) return link.error().Wrap("netlink RTM_GETLINK (all links)");
    out.push_back(std::move(*link));
  }
  return out;
}

Status SetLinkUp(NetlinkSocket& nl, LinkId link, bool up) {
  return nl.Request(BuildSetLinkUp(link, up),
                    fmt::format("{} {}", link.ToString(), up ? "up" : "down"));
}

Status SetLinkMtu(NetlinkSocket& nl, LinkId link, int mtu) {
  if (mtu <= 0) return InvalidArgument(fmt::format("{}: invalid MTU {}", link.ToString(), mtu));
  return nl.Request(BuildSetLinkMtu(link, uint32_t(mtu)),
                    fmt::format("{} mtu {}", link.ToString(), mtu));
}

Status RenameLink(NetlinkSocket& nl, LinkId link, std::string_view new_name) {
  TUNDRA_RETURN_IF_ERROR(ValidateLinkName(new_name));
  int index = link.index();
  if (index == 0) {
    TUNDRA_ASSIGN_OR_RETURN(index, LinkIndex(nl, link.name()));
  }
  return nl.Request(BuildRenameLink(index, new_name),
                    fmt::format("{} name {}", link.ToString(), new_name));
}

Status DeleteLink(NetlinkSocket& nl, LinkId link) {
  return nl.Request(BuildDeleteLink(link), link.ToString());
}

Status MoveLinkToNetns(NetlinkSocket& nl, LinkId link, int netns_fd) {
  if (netns_fd < 0) return InvalidArgument(fmt::format("{}: no namespace fd", link.ToString()));
  return nl.Request(BuildMoveToNetns(link, netns_fd),
                    fmt::format("{} netns fd {}", link.ToString(), netns_fd));
}

Status CreateVethPair(NetlinkSocket& nl, std::string_view name, std::string_view peer,
                      int peer_netns_fd) {
  TUNDRA_RETURN_IF_ERROR(ValidateLinkName(name));
  TUNDRA_RETURN_IF_ERROR(ValidateLinkName(peer));
  return nl.Request(BuildNewVeth(name, peer, peer_netns_fd),
                    fmt::format("veth {} peer {}", name, peer));
}

}  // namespace tundra::netlink
