// LinkMonitor: link events (RTNLGRP_LINK) on a non-blocking socket for epoll/poll. It keeps
// the last known state of every link, so it reports what changed, not just that something
// did: "ifindex 7 (tun0) deleted", "ifindex 7 (tun0) mtu changed to 1280 (was 1420)". The
// tunnel daemon exits when its interface is deleted and follows `ip link set mtu`.
//
// If the kernel drops events because the socket's buffer overflowed (ENOBUFS), the monitor
// re-reads every link and reports the differences, so a deletion is never lost.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tundra/netlink/link.h"
#include "tundra/netlink/socket.h"

namespace tundra::netlink {

struct LinkEvent {
  int index = 0;
  std::string name;
  int mtu = 0;               // the current MTU (the last known one for a deletion)
  unsigned flags = 0;        // the current IFF_* flags
  bool created = false;      // a link not seen before
  bool deleted = false;      // gone from this namespace (RTM_DELLINK)...
  bool moved = false;        // ...because it moved to another namespace
  bool mtu_changed = false;  // `mtu` differs from `old_mtu`
  int old_mtu = 0;
  bool flags_changed = false;  // `flags` differ from `old_flags` (up/down, carrier)
  unsigned old_flags = 0;

  std::string ToString() const;  // "ifindex 7 (tun0) mtu changed to 1280 (was 1420)"
};

class LinkMonitor {
 public:
  // Subscribes to RTNLGRP_LINK, then reads the current links (so the first change of each is
  // known as a change). `kernel` must outlive the monitor.
  static Result<LinkMonitor> Open(KernelInterface& kernel = RealKernel());
  // Tests: `events` delivers the multicast messages, `requests` answers the link dumps. Call
  // Sync() before Poll() to learn the starting state.
  LinkMonitor(std::unique_ptr<Transport> events, NetlinkSocket requests);

  // Re-reads every link; returns the differences from the known state as events.
  Result<std::vector<LinkEvent>> Sync();
  // For poll/epoll (non-blocking).
  int fd() const { return events_->fd(); }
  // The events waiting now, in order (empty when none). Reads at most a bounded number of
  // datagrams per call; poll again while the fd stays readable.
  Result<std::vector<LinkEvent>> Poll();

  // The last known state of link `index` (or named `name`), or nullptr.
  const LinkInfo* Find(int index) const;
  const LinkInfo* FindByName(std::string_view name) const;
  // How many times the kernel dropped events and the state was re-read.
  uint64_t overruns() const { return overruns_; }

 private:
  void Apply(uint16_t type, ByteSpan payload, std::vector<LinkEvent>& out);

  std::unique_ptr<Transport> events_;
  NetlinkSocket requests_;
  std::map<int, LinkInfo> links_;  // by ifindex
  std::vector<uint8_t> buffer_;
  uint64_t overruns_ = 0;
};

}  // namespace tundra::netlink
