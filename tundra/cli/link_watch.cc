#include "tundra/cli/link_watch.h"

#include <fmt/core.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstring>

#include "tundra/base/log.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/message.h"

namespace tundra::cli {
namespace {

constexpr int kMaxDatagramsPerPoll = 64;

// socket(NETLINK_ROUTE) hearing link and nsid events of this namespace and its peers.
Result<UniqueFd> OpenEventSocket() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (!fd) return ErrnoError("socket(NETLINK_ROUTE) link events");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0) {
    return ErrnoError("bind(netlink RTMGRP_LINK)");
  }
  const int group = RTNLGRP_NSID;
  if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) != 0) {
    return ErrnoError("setsockopt(NETLINK_ADD_MEMBERSHIP RTNLGRP_NSID)");
  }
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &one, sizeof(one)) != 0) {
    return ErrnoError("setsockopt(NETLINK_LISTEN_ALL_NSID)");
  }
  return fd;
}

bool SameNamespace(int netns_fd) {
  struct stat theirs {};
  struct stat ours {};
  return ::fstat(netns_fd, &theirs) == 0 && ::stat("/proc/self/ns/net", &ours) == 0 &&
         theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

// The TUN's device is gone (deleted, or with its namespace): its ioctls fail with EBADFD.
bool DeviceGone(const Error& e) { return e.code() == EBADFD || e.code() == ENODEV; }

netlink::MessageBuilder NsidMessage(uint16_t type, int netns_fd) {
  netlink::MessageBuilder m(type, 0);
  rtgenmsg g{};
  g.rtgen_family = AF_UNSPEC;
  m.Family(g);
  m.U32(NETNSA_FD, uint32_t(netns_fd));
  return m;
}

}  // namespace

LinkWatch::LinkWatch(std::unique_ptr<tun::LinuxTun> tun, UniqueFd events,
                     netlink::NetlinkSocket requests)
    : tun_(std::move(tun)),
      events_(std::move(events)),
      requests_(std::move(requests)),
      buffer_(netlink::kReceiveBufferSize) {}

Result<LinkWatch> LinkWatch::Open(std::unique_ptr<tun::LinuxTun> tun) {
  // Subscribe first, then locate the link: nothing can happen in between unseen.
  TUNDRA_ASSIGN_OR_RETURN(UniqueFd events, OpenEventSocket());
  TUNDRA_ASSIGN_OR_RETURN(netlink::NetlinkSocket requests, netlink::NetlinkSocket::Open());
  LinkWatch watch(std::move(tun), std::move(events), std::move(requests));
  Update update;
  TUNDRA_RETURN_IF_ERROR(watch.Locate(update));
  if (update.gone) return MakeError(ENODEV, *update.gone);
  return watch;
}

// This namespace's id for the namespace `netns_fd` refers to, assigned if it has none yet.
Result<int> LinkWatch::NamespaceId(int netns_fd) {
  if (SameNamespace(netns_fd)) return kThisNamespace;
  for (int attempt = 0; attempt < 2; ++attempt) {
    TUNDRA_ASSIGN_OR_RETURN(auto replies, requests_.Query(NsidMessage(RTM_GETNSID, netns_fd),
                                                          "the interface's namespace"));
    for (const netlink::Reply& r : replies) {
      if (r.type != RTM_NEWNSID) continue;
      auto parsed = netlink::ParsePayload<rtgenmsg>(r.payload);
      if (!parsed.ok()) return parsed.error().Wrap("netlink RTM_GETNSID");
      const netlink::RtAttr* id = netlink::FindAttr(parsed->second, NETNSA_NSID);
      if (id != nullptr && id->AsU32() && int32_t(*id->AsU32()) >= 0) {
        return int32_t(*id->AsU32());
      }
    }
    // No id yet (the interface moved on from the namespace it was first moved to): ask for one.
    netlink::MessageBuilder assign = NsidMessage(RTM_NEWNSID, netns_fd);
    assign.S32(NETNSA_NSID, NETNSA_NSID_NOT_ASSIGNED);
    Status s = requests_.Request(assign, "the interface's namespace");
    if (!s.ok() && s.error().code() != EEXIST) return s.error();
  }
  return MakeError(ENOENT, "the interface's namespace has no id here");
}

Status LinkWatch::Locate(Update& update) {
  // The TUN says where its device is; the link is read there. A move in between makes the read
  // miss (ENODEV): ask the TUN again.
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto netns = tun_->DeviceNetns();
    auto name = netns.ok() ? tun_->CurrentName() : Result<std::string>(netns.error());
    if (!name.ok()) {
      if (!DeviceGone(name.error())) return name.error();
      update.gone = "the interface was deleted";
      return OkStatus();
    }
    TUNDRA_ASSIGN_OR_RETURN(int nsid, NamespaceId(netns->get()));
    netlink::MessageBuilder get = netlink::BuildGetLink(*name);
    if (nsid != kThisNamespace) get.S32(IFLA_TARGET_NETNSID, nsid);
    auto replies = requests_.Query(get, *name);
    if (!replies.ok() && DeviceGone(replies.error())) continue;
    if (!replies.ok()) return replies.error();
    for (const netlink::Reply& r : *replies) {
      if (r.type != RTM_NEWLINK) continue;
      TUNDRA_ASSIGN_OR_RETURN(netlink::LinkInfo link, netlink::ParseLink(r.payload));
      Found(nsid, link, update);
      return OkStatus();
    }
    return MakeError(EBADMSG,
                     fmt::format("netlink RTM_GETLINK {}: acknowledged without it", *name));
  }
  update.gone = "the interface was deleted";
  return OkStatus();
}

void LinkWatch::Found(int nsid, const netlink::LinkInfo& link, Update& update) {
  if (ifindex_ != 0 && (nsid != nsid_ || link.index != ifindex_)) {
    if (nsid != kThisNamespace) {
      TUNDRA_LOG(kInfo, "the interface moved to another network namespace (ifindex {} there)",
                 link.index);
    } else {
      TUNDRA_LOG(kInfo, "the interface moved back into the daemon's namespace (ifindex {})",
                 link.index);
    }
  }
  nsid_ = nsid;
  ifindex_ = link.index;
  if (link.mtu != 0 && link.mtu != mtu_) {
    if (mtu_ != 0) update.mtu = link.mtu;
    mtu_ = link.mtu;
  }
}

void LinkWatch::Handle(int nsid, uint16_t type, ByteSpan payload, Update& update, bool& relocate) {
  if (type == RTM_DELNSID) {
    // This namespace's own announcement that a namespace it had an id for was destroyed.
    auto parsed = netlink::ParsePayload<rtgenmsg>(payload);
    if (nsid != kThisNamespace || !parsed.ok() || nsid_ == kThisNamespace) return;
    const netlink::RtAttr* id = netlink::FindAttr(parsed->second, NETNSA_NSID);
    if (id != nullptr && id->AsU32() && int32_t(*id->AsU32()) == nsid_) {
      update.gone = "the network namespace of the interface was deleted";
    }
    return;
  }
  if ((type != RTM_NEWLINK && type != RTM_DELLINK) || nsid != nsid_) return;
  auto parsed = netlink::ParsePayload<ifinfomsg>(payload);
  // AF_BRIDGE messages describe bridge ports, not links.
  if (!parsed.ok() || parsed->first.ifi_family != AF_UNSPEC) return;
  if (parsed->first.ifi_index != ifindex_) return;
  if (type == RTM_DELLINK) {
    const bool moved = netlink::FindAttr(parsed->second, IFLA_NEW_NETNSID) != nullptr ||
                       netlink::FindAttr(parsed->second, IFLA_NEW_IFINDEX) != nullptr;
    if (moved) {
      relocate = true;  // the TUN knows where to
    } else {
      update.gone = "the interface was deleted";
    }
    return;
  }
  auto link = netlink::ParseLink(payload);
  if (!link.ok()) {
    TUNDRA_LOG(kWarn, "link events: ignoring a link message: {}", link.error().message());
    return;
  }
  if (link->mtu != 0 && link->mtu != mtu_) {
    mtu_ = link->mtu;
    update.mtu = link->mtu;
  }
}

Result<LinkWatch::Update> LinkWatch::Poll() {
  Update update;
  bool relocate = false;
  for (int i = 0; i < kMaxDatagramsPerPoll && !update.gone; ++i) {
    iovec iov{buffer_.data(), buffer_.size()};
    sockaddr_nl from{};
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(int))];
    msghdr h{};
    h.msg_name = &from;
    h.msg_namelen = sizeof(from);
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = control;
    h.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(events_.get(), &h, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno != ENOBUFS) return ErrnoError("recvmsg(netlink link events)");
      // The kernel dropped events: what we know may be stale. Ask the TUN again.
      TUNDRA_LOG(kWarn, "link events lost (the socket's buffer overflowed): locating the link");
      relocate = true;
      continue;
    }
    if ((h.msg_flags & MSG_TRUNC) != 0) {
      relocate = true;
      continue;
    }
    if (from.nl_pid != 0) continue;  // only the kernel's
    int nsid = kThisNamespace;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_NETLINK && c->cmsg_type == NETLINK_LISTEN_ALL_NSID) {
        std::memcpy(&nsid, CMSG_DATA(c), sizeof(nsid));
      }
    }
    auto messages = netlink::ParseMessages(ByteSpan(buffer_.data(), size_t(n)));
    if (!messages.ok()) return messages.error().Wrap("netlink link events");
    for (const netlink::Message& m : *messages) Handle(nsid, m.type, m.payload, update, relocate);
  }
  if (relocate && !update.gone) TUNDRA_RETURN_IF_ERROR(Locate(update));
  return update;
}

}  // namespace tundra::cli
