// Links (interfaces) over rtnetlink: look up, list, up/down, MTU, rename, delete, veth pairs,
// moving a link to another network namespace. The Build* functions make the exact request
// bytes (unit-tested); the others send them.
#pragma once

#include <string>
#include <vector>

#include "tundra/netlink/socket.h"

namespace tundra::netlink {

struct LinkInfo {
  int index = 0;
  std::string name;
  unsigned flags = 0;  // IFF_UP, IFF_RUNNING, ...
  int mtu = 0;
  std::string kind;  // "veth", "tun", ... (empty when the kernel does not say)
  uint8_t operstate = 0;
};

MessageBuilder BuildGetLink(std::string_view name);
MessageBuilder BuildSetLinkFlags(int index, bool up);
MessageBuilder BuildSetLinkMtu(int index, int mtu);
MessageBuilder BuildRenameLink(int index, std::string_view new_name);
MessageBuilder BuildDeleteLink(int index);
MessageBuilder BuildMoveToNetns(int index, int netns_fd);
// veth pair `name` <-> `peer`; the peer starts in the namespace `peer_netns_fd` if >= 0.
MessageBuilder BuildNewVeth(std::string_view name, std::string_view peer, int peer_netns_fd);

Result<LinkInfo> ParseLink(ByteSpan payload);

Result<LinkInfo> GetLink(NetlinkSocket& nl, std::string_view name);
Result<int> LinkIndex(NetlinkSocket& nl, std::string_view name);
Result<std::vector<LinkInfo>> ListLinks(NetlinkSocket& nl);
Status SetLinkUp(NetlinkSocket& nl, std::string_view name, bool up);
Status SetLinkMtu(NetlinkSocket& nl, std::string_view name, int mtu);
Status RenameLink(NetlinkSocket& nl, std::string_view name, std::string_view new_name);
Status DeleteLink(NetlinkSocket& nl, std::string_view name);
Status MoveLinkToNetns(NetlinkSocket& nl, std::string_view name, int netns_fd);
Status CreateVethPair(NetlinkSocket& nl, std::string_view name, std::string_view peer,
                      int peer_netns_fd = -1);

}  // namespace tundra::netlink
