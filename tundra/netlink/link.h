// Links (interfaces) over rtnetlink: look up, list, up/down, MTU, rename, delete, veth pairs,
// moving a link to another network namespace. The Build* functions make the exact request
// bytes (unit-tested); the others send them and name the link in errors:
//   DeleteLink(nl, "tvx9") -> "netlink RTM_DELLINK tvx9: No such device" (ENODEV)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/netlink/socket.h"

namespace tundra::netlink {

// Names a link in a request: by ifindex (best when known, since names can change) or by name.
// A parameter type: it does not own the name, which must outlive the call.
class LinkId {
 public:
  LinkId(int index) : index_(index) {}              // NOLINT: implicit by design
  LinkId(std::string_view name) : name_(name) {}    // NOLINT
  LinkId(const char* name) : name_(name) {}         // NOLINT
  LinkId(const std::string& name) : name_(name) {}  // NOLINT
  int index() const { return index_; }              // 0 when named
  std::string_view name() const { return name_; }
  std::string ToString() const;  // "tun0" or "ifindex 7"

 private:
  int index_ = 0;
  std::string_view name_;
};

struct LinkInfo {
  int index = 0;
  std::string name;
  unsigned flags = 0;  // IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ...
  int mtu = 0;
  std::string kind;       // IFLA_INFO_KIND: "veth", "tun", ... (empty when the kernel has none)
  uint8_t operstate = 0;  // IF_OPER_UP, IF_OPER_DOWN, ... (linux/if.h)
};

// Interface names are 1..15 bytes without '/' or whitespace (the kernel's dev_valid_name).
Status ValidateLinkName(std::string_view name);

MessageBuilder BuildGetLink(LinkId link);
MessageBuilder BuildListLinks();
MessageBuilder BuildSetLinkUp(LinkId link, bool up);
MessageBuilder BuildSetLinkMtu(LinkId link, uint32_t mtu);
MessageBuilder BuildRenameLink(int index, std::string_view new_name);
MessageBuilder BuildDeleteLink(LinkId link);
MessageBuilder BuildMoveToNetns(LinkId link, int netns_fd);
// veth pair `name` <-> `peer`; the peer starts in the namespace `peer_netns_fd` if >= 0.
MessageBuilder BuildNewVeth(std::string_view name, std::string_view peer, int peer_netns_fd);

// An RTM_NEWLINK/RTM_DELLINK payload. Malformed attributes are an error.
Result<LinkInfo> ParseLink(ByteSpan payload);

Result<LinkInfo> GetLink(NetlinkSocket& nl, LinkId link);
Result<int> LinkIndex(NetlinkSocket& nl, std::string_view name);
Result<std::vector<LinkInfo>> ListLinks(NetlinkSocket& nl);
Status SetLinkUp(NetlinkSocket& nl, LinkId link, bool up);
Status SetLinkMtu(NetlinkSocket& nl, LinkId link, int mtu);
Status RenameLink(NetlinkSocket& nl, LinkId link, std::string_view new_name);
Status DeleteLink(NetlinkSocket& nl, LinkId link);
// Moves `link` into the network namespace `netns_fd` (an open /proc/PID/ns/net or
// /run/netns/NAME; borrowed). It disappears from this namespace.
Status MoveLinkToNetns(NetlinkSocket& nl, LinkId link, int netns_fd);
// One request: both ends exist afterwards, or neither does.
Status CreateVethPair(NetlinkSocket& nl, std::string_view name, std::string_view peer,
                      int peer_netns_fd = -1);

}  // namespace tundra::netlink
