#include "tundra/netlink/monitor.h"

#include <linux/rtnetlink.h>

#include "tundra/netlink/link.h"

namespace tundra::netlink {

Result<LinkMonitor> LinkMonitor::Open() {
  TUNDRA_ASSIGN_OR_RETURN(auto t, OpenKernelTransport(RTMGRP_LINK, /*nonblocking=*/true));
  return LinkMonitor(std::move(t));
}

Result<std::vector<LinkEvent>> LinkMonitor::Poll() {
  std::vector<LinkEvent> events;
  std::vector<uint8_t> buf(64 * 1024);
  for (;;) {
    TUNDRA_ASSIGN_OR_RETURN(size_t n, transport_->Receive(buf));
    if (n == 0) return events;
    TUNDRA_ASSIGN_OR_RETURN(auto messages, ParseMessages(ByteSpan(buf.data(), n)));
    for (const Message& m : messages) {
      if (m.type != RTM_NEWLINK && m.type != RTM_DELLINK) continue;
      auto link = ParseLink(m.payload);
      if (!link.ok()) continue;
      events.push_back({m.type == RTM_DELLINK, link->index, link->name, link->mtu, link->flags});
    }
  }
}

}  // namespace tundra::netlink
