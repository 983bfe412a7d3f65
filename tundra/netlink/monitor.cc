#include "tundra/netlink/monitor.h"

#include <fmt/core.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "tundra/base/log.h"

namespace tundra::netlink {
namespace {

constexpr int kMaxDatagramsPerPoll = 64;

LinkEvent EventFor(const LinkInfo& now) {
  LinkEvent e;
  e.index = now.index;
  e.name = now.name;
  e.mtu = now.mtu;
  e.flags = now.flags;
  return e;
}

// Fills the change fields of `e` from the previous state; false when nothing we report
// changed.
bool Compare(const LinkInfo& before, LinkEvent& e) {
  e.old_mtu = before.mtu;
  e.old_flags = before.flags;
  e.mtu_changed = e.mtu != before.mtu;
  e.flags_changed = e.flags != before.flags;
  return e.mtu_changed || e.flags_changed || e.name != before.name;
}

}  // namespace

std::string LinkEvent::ToString() const {
  std::string s = fmt::format("ifindex {} ({})", index, name);
  if (deleted) return s + (moved ? " moved to another namespace" : " deleted");
  if (created) return s + fmt::format(" created, mtu {}", mtu);
  if (mtu_changed) s += fmt::format(" mtu changed to {} (was {})", mtu, old_mtu);
  if (flags_changed) s += fmt::format(" flags {:#x} (were {:#x})", flags, old_flags);
  if (!mtu_changed && !flags_changed) s += " changed";
  return s;
}

Result<LinkMonitor> LinkMonitor::Open(KernelInterface& kernel) {
  TransportOptions options;
  options.groups = RTMGRP_LINK;
  options.nonblocking = true;
  // Subscribe first, then read the links: nothing can happen in between unseen.
  TUNDRA_ASSIGN_OR_RETURN(auto events, OpenKernelTransport(options, kernel));
  TUNDRA_ASSIGN_OR_RETURN(auto requests, NetlinkSocket::Open(kernel));
  LinkMonitor monitor(std::move(events), std::move(requests));
  auto initial = monitor.Sync();
  if (!initial.ok()) return std::move(initial).error().Wrap("link monitor");
  return monitor;
}

LinkMonitor::LinkMonitor(std::unique_ptr<Transport> events, NetlinkSocket requests)
    : events_(std::move(events)), requests_(std::move(requests)), buffer_(kReceiveBufferSize) {}

const LinkInfo* LinkMonitor::Find(int index) const {
  auto it = links_.find(index);
  return it == links_.end() ? nullptr : &it->second;
}

const LinkInfo* LinkMonitor::FindByName(std::string_view name) const {
  for (const auto& [index, link] : links_) {
    if (link.name == name) return &link;
  }
  return nullptr;
}

Result<std::vector<LinkEvent>> LinkMonitor::Sync() {
  TUNDRA_ASSIGN_OR_RETURN(auto links, ListLinks(requests_));
  std::map<int, LinkInfo> now;
  std::vector<LinkEvent> out;
  for (LinkInfo& link : links) {
    LinkEvent e = EventFor(link);
    if (const LinkInfo* before = Find(link.index)) {
      if (Compare(*before, e)) out.push_back(std::move(e));
    } else {
      e.created = true;
      out.push_back(std::move(e));
    }
    const int index = link.index;
    now.emplace(index, std::move(link));
  }
  for (const auto& [index, before] : links_) {
    if (now.count(index) != 0) continue;
    LinkEvent e = EventFor(before);
    e.deleted = true;
    out.push_back(std::move(e));
  }
  links_ = std::move(now);
  return out;
}

void LinkMonitor::Apply(uint16_t type, ByteSpan payload, std::vector<LinkEvent>& out) {
  auto header = ParsePayload<ifinfomsg>(payload);
  // AF_BRIDGE messages describe bridge ports (a port removed is an RTM_DELLINK too), not links.
  if (!header.ok() || header->first.ifi_family != AF_UNSPEC) return;
  auto link = ParseLink(payload);
  if (!link.ok()) {
    TUNDRA_LOG(kWarn, "link monitor: ignoring a link message: {}", link.error().message());
    return;
  }
  auto known = links_.find(link->index);
  if (type == RTM_DELLINK) {
    LinkEvent e = EventFor(*link);
    e.deleted = true;
    e.moved = FindAttr(header->second, IFLA_NEW_NETNSID) != nullptr ||
              FindAttr(header->second, IFLA_NEW_IFINDEX) != nullptr;
    if (e.mtu == 0 && known != links_.end()) e.mtu = known->second.mtu;
    if (known != links_.end()) links_.erase(known);
    out.push_back(std::move(e));
    return;
  }
  if (link->mtu == 0 && known != links_.end()) link->mtu = known->second.mtu;  // not sent
  LinkEvent e = EventFor(*link);
  if (known == links_.end()) {
    e.created = true;
    out.push_back(std::move(e));
    links_.emplace(link->index, std::move(*link));
    return;
  }
  if (Compare(known->second, e)) out.push_back(std::move(e));
  known->second = std::move(*link);
}

Result<std::vector<LinkEvent>> LinkMonitor::Poll() {
  std::vector<LinkEvent> out;
  for (int i = 0; i < kMaxDatagramsPerPoll; ++i) {
    auto received = events_->Receive(buffer_);
    if (!received.ok()) {
      if (received.error().code() != ENOBUFS) return received.error().Wrap("link monitor");
      // The kernel dropped events: what we know may be stale. Read everything again.
      ++overruns_;
      TUNDRA_LOG(kWarn, "link monitor: events lost (overrun {}), re-reading the links", overruns_);
      TUNDRA_ASSIGN_OR_RETURN(auto diff, Sync());
      for (LinkEvent& e : diff) out.push_back(std::move(e));
      continue;
    }
    if (!received->has_value()) break;
    auto messages = ParseMessages(ByteSpan(buffer_.data(), **received));
    if (!messages.ok()) return messages.error().Wrap("link monitor");
    for (const Message& m : *messages) {
      if (m.type == RTM_NEWLINK || m.type == RTM_DELLINK) Apply(m.type, m.payload, out);
    }
  }
  return out;
}

}  // namespace tundra::netlink
