// LinkWatch: the daemon's interface, followed wherever `ip link set IF netns NS` moves it,
// without holding on to the namespace it is in.
//
// One netlink socket in the daemon's own namespace, subscribed to RTNLGRP_LINK and RTNLGRP_NSID
// with NETLINK_LISTEN_ALL_NSID, hears the link events of its own namespace and of every
// namespace it has an id (nsid) for, each tagged with that id. When the interface moves, the
// namespace it went to has (or is given, RTM_NEWNSID) an id here, so its link events keep
// coming, and no socket or thread of the daemon lives in that namespace. (A socket there pins
// the namespace: deleting it with `ip netns del` then deleted neither it nor the interface, and
// the daemon ran on. Issue #15.) When that namespace dies the interface dies with it, and the
// kernel announces RTM_DELNSID here; the TUN's reads fail with EBADFD as well.
//
// Where the interface is comes from the TUN itself (TUNGETDEVNETNS and TUNGETIFF on a handle of
// the daemon's queue), so a second move (from the new namespace to a third) is followed too.
// Not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/socket.h"
#include "tundra/tun/tun_linux.h"

namespace tundra::cli {

class LinkWatch {
 public:
  // `tun`: a handle on the daemon's TUN queue, only asked where its device is (never read).
  static Result<LinkWatch> Open(std::unique_ptr<tun::LinuxTun> tun);

  // For poll (non-blocking).
  int fd() const { return events_.get(); }

  struct Update {
    std::optional<int> mtu;           // the interface's MTU changed to this
    std::optional<std::string> gone;  // why the interface no longer exists
  };
  // Handles the events waiting now.
  Result<Update> Poll();

  int ifindex() const { return ifindex_; }  // in the namespace the interface is in now
  int mtu() const { return mtu_; }

 private:
  static constexpr int kThisNamespace = -1;  // NETNSA_NSID_NOT_ASSIGNED: not a peer namespace

  LinkWatch(std::unique_ptr<tun::LinuxTun> tun, UniqueFd events, netlink::NetlinkSocket requests);
  // Asks the TUN where its device is now and reads the link there (after a move, an overrun).
  // Sets update.gone when the device no longer exists.
  Status Locate(Update& update);
  // Records where the link was found; reports an MTU it did not know.
  void Found(int nsid, const netlink::LinkInfo& link, Update& update);
  Result<int> NamespaceId(int netns_fd);
  void Handle(int nsid, uint16_t type, ByteSpan payload, Update& update, bool& relocate);

  std::unique_ptr<tun::LinuxTun> tun_;
  UniqueFd events_;
  netlink::NetlinkSocket requests_;
  int nsid_ = kThisNamespace;  // where the interface is, as this namespace names it
  int ifindex_ = 0;
  int mtu_ = 0;
  std::vector<uint8_t> buffer_;
};

}  // namespace tundra::cli
