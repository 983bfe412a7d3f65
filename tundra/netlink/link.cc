#include "tundra/netlink/link.h"

#include <fmt/core.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

namespace tundra::netlink {
namespace {

ifinfomsg Info(int index) {
  ifinfomsg i{};
  i.ifi_family = AF_UNSPEC;
  i.ifi_index = index;
  return i;
}

}  // namespace

MessageBuilder BuildGetLink(std::string_view name) {
  MessageBuilder m(RTM_GETLINK, 0);
  m.Family(Info(0)).String(IFLA_IFNAME, name);
  return m;
}

MessageBuilder BuildSetLinkFlags(int index, bool up) {
  ifinfomsg i = Info(index);
  i.ifi_flags = up ? IFF_UP : 0;
  i.ifi_change = IFF_UP;
  MessageBuilder m(RTM_NEWLINK, 0);
  m.Family(i);
  return m;
}

MessageBuilder BuildSetLinkMtu(int index, int mtu) {
  MessageBuilder m(RTM_NEWLINK, 0);
  m.Family(Info(index)).U32(IFLA_MTU, uint32_t(mtu));
  return m;
}

MessageBuilder BuildRenameLink(int index, std::string_view new_name) {
  MessageBuilder m(RTM_NEWLINK, 0);
  m.Family(Info(index)).String(IFLA_IFNAME, new_name);
  return m;
}

MessageBuilder BuildDeleteLink(int index) {
  MessageBuilder m(RTM_DELLINK, 0);
  m.Family(Info(index));
  return m;
}

MessageBuilder BuildMoveToNetns(int index, int netns_fd) {
  MessageBuilder m(RTM_NEWLINK, 0);
  m.Family(Info(index)).U32(IFLA_NET_NS_FD, uint32_t(netns_fd));
  return m;
}

MessageBuilder BuildNewVeth(std::string_view name, std::string_view peer, int peer_netns_fd) {
  MessageBuilder m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  m.Family(Info(0)).String(IFLA_IFNAME, name);
  const size_t linkinfo = m.BeginNested(IFLA_LINKINFO);
  m.String(IFLA_INFO_KIND, "veth");
  const size_t data = m.BeginNested(IFLA_INFO_DATA);
  const size_t peer_info = m.BeginNested(VETH_INFO_PEER);
  m.Family(Info(0)).String(IFLA_IFNAME, peer);
  if (peer_netns_fd >= 0) m.U32(IFLA_NET_NS_FD, uint32_t(peer_netns_fd));
  m.EndNested(peer_info);
  m.EndNested(data);
  m.EndNested(linkinfo);
  return m;
}

Result<LinkInfo> ParseLink(ByteSpan payload) {
  TUNDRA_ASSIGN_OR_RETURN(auto parsed, ParsePayload<ifinfomsg>(payload));
  const auto& [info, attrs] = parsed;
  LinkInfo link;
  link.index = info.ifi_index;
  link.flags = info.ifi_flags;
  if (const RtAttr* a = FindAttr(attrs, IFLA_IFNAME)) link.name = std::string(a->Str());
  if (const RtAttr* a = FindAttr(attrs, IFLA_MTU)) link.mtu = int(a->U32());
  if (const RtAttr* a = FindAttr(attrs, IFLA_OPERSTATE); a && !a->data.empty()) {
    link.operstate = a->data[0];
  }
  if (const RtAttr* a = FindAttr(attrs, IFLA_LINKINFO)) {
    auto nested = ParseAttrs(a->data);
    if (nested.ok()) {
      if (const RtAttr* k = FindAttr(*nested, IFLA_INFO_KIND)) link.kind = std::string(k->Str());
    }
  }
  return link;
}

Result<std::vector<LinkInfo>> ListLinks(NetlinkSocket& nl) {
  MessageBuilder m(RTM_GETLINK, 0);
  m.Family(Info(0));
  TUNDRA_ASSIGN_OR_RETURN(auto replies, nl.Dump(m, "(all links)"));
  std::vector<LinkInfo> out;
  for (const auto& r : replies) {
    auto link = ParseLink(r);
    if (link.ok()) out.push_back(std::move(*link));
  }
  return out;
}

Result<LinkInfo> GetLink(NetlinkSocket& nl, std::string_view name) {
  // A dump filtered by hand: RTM_GETLINK by name replies with the link itself, not an ack.
  TUNDRA_ASSIGN_OR_RETURN(auto links, ListLinks(nl));
  for (auto& l : links) {
    if (l.name == name) return l;
  }
  return Error(ENODEV, fmt::format("link {}", name), "No such device");
}

Result<int> LinkIndex(NetlinkSocket& nl, std::string_view name) {
  TUNDRA_ASSIGN_OR_RETURN(LinkInfo l, GetLink(nl, name));
  return l.index;
}

Status SetLinkUp(NetlinkSocket& nl, std::string_view name, bool up) {
  TUNDRA_ASSIGN_OR_RETURN(int index, LinkIndex(nl, name));
  return nl.Request(BuildSetLinkFlags(index, up), fmt::format("{} {}", name, up ? "up" : "down"));
}

Status SetLinkMtu(NetlinkSocket& nl, std::string_view name, int mtu) {
  TUNDRA_ASSIGN_OR_RETURN(int index, LinkIndex(nl, name));
  return nl.Request(BuildSetLinkMtu(index, mtu), fmt::format("{} mtu {}", name, mtu));
}

Status RenameLink(NetlinkSocket& nl, std::string_view name, std::string_view new_name) {
  TUNDRA_ASSIGN_OR_RETURN(int index, LinkIndex(nl, name));
  return nl.Request(BuildRenameLink(index, new_name), fmt::format("{} name {}", name, new_name));
}

Status DeleteLink(NetlinkSocket& nl, std::string_view name) {
  TUNDRA_ASSIGN_OR_RETURN(int index, LinkIndex(nl, name));
  return nl.Request(BuildDeleteLink(index), fmt::format("{}", name));
}

Status MoveLinkToNetns(NetlinkSocket& nl, std::string_view name, int netns_fd) {
  TUNDRA_ASSIGN_OR_RETURN(int index, LinkIndex(nl, name));
  return nl.Request(BuildMoveToNetns(index, netns_fd), fmt::format("{} netns", name));
}

Status CreateVethPair(NetlinkSocket& nl, std::string_view name, std::string_view peer,
                      int peer_netns_fd) {
  return nl.Request(BuildNewVeth(name, peer, peer_netns_fd),
                    fmt::format("veth {} peer {}", name, peer));
}

}  // namespace tundra::netlink
