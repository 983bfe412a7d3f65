// LinkMonitor: link events (RTNLGRP_LINK) on a non-blocking socket for epoll — an interface
// deleted, or its MTU or flags changed (`ip link set mtu`). The daemon follows these.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tundra/netlink/socket.h"

namespace tundra::netlink {

struct LinkEvent {
  bool deleted = false;  // RTM_DELLINK; otherwise RTM_NEWLINK (created or changed)
  int index = 0;
  std::string name;
  int mtu = 0;
  unsigned flags = 0;
};

class LinkMonitor {
 public:
  static Result<LinkMonitor> Open();
  explicit LinkMonitor(std::unique_ptr<Transport> transport) : transport_(std::move(transport)) {}

  int fd() const { return transport_->fd(); }
  // Every event waiting now (empty when none).
  Result<std::vector<LinkEvent>> Poll();

 private:
  std::unique_ptr<Transport> transport_;
};

}  // namespace tundra::netlink
