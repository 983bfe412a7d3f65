#include "tundra/transport/udp_bind_linux.h"

#include <fmt/core.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cstring>

#include "tundra/base/log.h"
#include "tundra/base/syscall.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace tundra::transport {
namespace {

constexpr size_t kMaxDatagram = 65535;
constexpr size_t kMaxGsoSegments = 64;  // conservative: 128 needs Linux 6.9
constexpr size_t kMaxGsoBytes = 65000;  // one UDP super-datagram, with header room to spare
constexpr size_t kControlSize = 128;

// Socket options, decided one by one:
//  - required (Open fails with the call's name): IPV6_V6ONLY, or the IPv6 socket would claim the
//    IPv4 port the IPv4 socket binds; IP_PKTINFO / IPV6_RECVPKTINFO, without which no reply
//    leaves from the address the peer reached (the sticky source). Both exist on every kernel
//    tundra runs on: a failure means something is wrong, not missing.
//  - optional (logged and counted in options_unavailable(); the socket works without them, only
//    slower): the buffer sizes (SO_*BUFFORCE needs CAP_NET_ADMIN, the plain SO_*BUF is capped
//    by net.core.[rw]mem_max; counted only when both fail), UDP_GRO (Linux 5.0+; without it
//    every datagram is its own read) and SO_RXQ_OVFL (the kernel's count of datagrams it
//    dropped for a full receive buffer, so that they are counted drops here too).
Status SetRequired(int fd, int level, int opt, int value, std::string_view what) {
  if (::setsockopt(fd, level, opt, &value, sizeof(value)) != 0) {
    return ErrnoError(fmt::format("setsockopt({})", what));
  }
  return OkStatus();
}

bool SetOptional(int fd, int level, int opt, int value, std::string_view what) {
  if (::setsockopt(fd, level, opt, &value, sizeof(value)) == 0) return true;
  TUNDRA_LOG(kInfo, "setsockopt({}): {}; going on without it", what, std::strerror(errno));
  return false;
}

bool SetBuffer(int fd, int force_opt, int opt, int size, std::string_view what) {
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0) return true;
  return SetOptional(fd, SOL_SOCKET, opt, size, what);
}

// Errors of a send from a sticky source that no longer works: the address was removed
// (IPv4 says ENETUNREACH, or EINVAL), is not local (EADDRNOTAVAIL), or its interface is gone
// (ENODEV). The send is retried without it, and the kernel picks the source by route.
bool StaleSource(int code) {
  return code == EINVAL || code == ENETUNREACH || code == EADDRNOTAVAIL || code == ENODEV;
}

}  // namespace

struct UdpBind::Receiver {
  UniqueFd fd;
  int family = AF_INET;
  bool gro = false;
  // Batch buffers, uninitialized: the kernel writes only what arrives, so pages become
  // resident as traffic needs them (an idle daemon keeps none of these 4 MiB per socket).
  std::unique_ptr<uint8_t[]> storage;
  size_t buffer_size = 0;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<sockaddr_storage> names;
  std::vector<std::array<uint8_t, kControlSize>> controls;
  // Packets received but not yet handed out (a GRO burst can exceed the caller's batch).
  std::vector<RecvPacket> pending;
  size_t pending_pos = 0;
  uint32_t overflow_seen = 0;  // the socket's last SO_RXQ_OVFL value (it counts from 0)
};

UdpBind::UdpBind(UdpBindOptions options) : options_(options) {}

UdpBind::~UdpBind() { Close(); }

void UdpBind::Close() {
  receivers_.clear();
  fd4_ = fd6_ = -1;
  port_ = 0;
}

int UdpBind::receiver_fd(size_t i) const {
  return i < receivers_.size() ? receivers_[i]->fd.get() : -1;
}

bool UdpBind::gro_enabled(size_t i) const { return i < receivers_.size() && receivers_[i]->gro; }

Result<uint16_t> UdpBind::Open(uint16_t requested) {
  Close();
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<std::unique_ptr<Receiver>> socks;
    options_unavailable_.store(0, std::memory_order_relaxed);
    uint16_t port = requested;
    bool retry = false;
    for (int family : {AF_INET, AF_INET6}) {
      const char* name = family == AF_INET ? "udp4" : "udp6";
      int raw = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (raw < 0) {
        if (family == AF_INET6 && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) break;
        return ErrnoError(fmt::format("socket({})", name));
      }
      auto r = std::make_unique<Receiver>();
      r->fd.reset(raw);
      r->family = family;
      if (family == AF_INET6) {
        TUNDRA_RETURN_IF_ERROR(SetRequired(raw, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY udp6"));
        TUNDRA_RETURN_IF_ERROR(
            SetRequired(raw, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO udp6"));
      } else {
        TUNDRA_RETURN_IF_ERROR(SetRequired(raw, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO udp4"));
      }
      const std::string rcvbuf = fmt::format("SO_RCVBUF={} {}", options_.socket_buffer, name);
      const std::string sndbuf = fmt::format("SO_SNDBUF={} {}", options_.socket_buffer, name);
      const bool rcv = SetBuffer(raw, SO_RCVBUFFORCE, SO_RCVBUF, options_.socket_buffer, rcvbuf);
      const bool snd = SetBuffer(raw, SO_SNDBUFFORCE, SO_SNDBUF, options_.socket_buffer, sndbuf);
      if (!rcv || !snd) options_unavailable_.fetch_add(1, std::memory_order_relaxed);
      if (!SetOptional(raw, SOL_SOCKET, SO_RXQ_OVFL, 1, fmt::format("SO_RXQ_OVFL {}", name))) {
        options_unavailable_.fetch_add(1, std::memory_order_relaxed);
      }
      if (options_.udp_gro) {
        r->gro = SetOptional(raw, SOL_UDP, UDP_GRO, 1, fmt::format("UDP_GRO {}", name));
        if (!r->gro) options_unavailable_.fetch_add(1, std::memory_order_relaxed);
      }

      sockaddr_storage ss;
      socklen_t len = WildcardAddress(family, port, ss);
      if (::bind(raw, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        const int err = errno;
        if (family == AF_INET6 && err == EADDRNOTAVAIL) break;  // no IPv6 configured
        if (family == AF_INET6 && err == EADDRINUSE && requested == 0) {
          retry = true;  // the random v4 port is taken for v6: pick another
          break;
        }
        return ErrnoError(fmt::format("bind({} :{})", name, port), err);
      }
      if (port == 0) {
        len = sizeof(ss);
        if (::getsockname(raw, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
          return ErrnoError(fmt::format("getsockname({})", name));
        }
        port = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
      }
      socks.push_back(std::move(r));
    }
    if (retry) continue;
    // Buffers: a full datagram each, or a whole GRO burst when GRO is on.
    for (auto& r : socks) {
      const size_t n = options_.batch;
      r->buffer_size = kMaxDatagram;
      r->storage.reset(new uint8_t[n * r->buffer_size]);  // NOLINT: default-initialized
      r->msgs.assign(n, mmsghdr{});
      r->iovs.assign(n, iovec{});
      r->names.assign(n, sockaddr_storage{});
      r->controls.assign(n, {});
      r->pending.reserve(n * kMaxGsoSegments);
    }
    receivers_ = std::move(socks);
    fd4_ = receivers_.size() > 0 ? receivers_[0]->fd.get() : -1;
    fd6_ = receivers_.size() > 1 ? receivers_[1]->fd.get() : -1;
    int probe = 0;
    socklen_t probe_len = sizeof(probe);
    gso_.store(options_.udp_gso &&
               ::getsockopt(fd4_, SOL_UDP, UDP_SEGMENT, &probe, &probe_len) == 0);
    port_ = port;
    return port;
  }
  return MakeError(EADDRINUSE, "bind(udp6): no random port free for both IPv4 and IPv6");
}

Status UdpBind::SetMark(uint32_t mark) {
  for (auto& r : receivers_) {
    if (::setsockopt(r->fd.get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
      return ErrnoError(fmt::format("setsockopt(SO_MARK={:#x})", mark));
    }
  }
  return OkStatus();
}

Result<size_t> UdpBind::Receive(size_t index, std::span<RecvPacket> out) {
  if (index >= receivers_.size()) return InvalidArgument("no such receiver");
  Receiver& r = *receivers_[index];
  if (r.pending_pos == r.pending.size()) {
    r.pending.clear();
    r.pending_pos = 0;
    const size_t n = r.msgs.size();
    for (size_t i = 0; i < n; ++i) {
      r.iovs[i] = {r.storage.get() + i * r.buffer_size, r.buffer_size};
      msghdr& h = r.msgs[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &r.names[i];
      h.msg_namelen = sizeof(sockaddr_storage);
      h.msg_iov = &r.iovs[i];
      h.msg_iovlen = 1;
      h.msg_control = r.controls[i].data();
      h.msg_controllen = kControlSize;
    }
    int got =
        RetryOnEintr(::recvmmsg, r.fd.get(), r.msgs.data(), unsigned(n), MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      return ErrnoError(fmt::format("recvmmsg(udp{})", r.family == AF_INET ? 4 : 6));
    }
    for (int i = 0; i < got; ++i) {
      msghdr& h = r.msgs[i].msg_hdr;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          uint32_t dropped = 0;
          std::memcpy(&dropped, CMSG_DATA(c), sizeof(dropped));
          // Wraps at 2^32 like the kernel's counter.
          overflows_.fetch_add(uint32_t(dropped - r.overflow_seen), std::memory_order_relaxed);
          r.overflow_seen = dropped;
        }
      }
      if (h.msg_flags & MSG_TRUNC) {
        truncated_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      Endpoint from =
          Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&r.names[i]), h.msg_namelen);
      size_t segment = 0;
      for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          in_pktinfo info;
          std::memcpy(&info, CMSG_DATA(c), sizeof(info));
          if (from.family() == AF_INET) from.SetSourceV4(info.ipi_spec_dst, info.ipi_ifindex);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
          in6_pktinfo info;
          std::memcpy(&info, CMSG_DATA(c), sizeof(info));
          if (from.family() == AF_INET6) from.SetSourceV6(info.ipi6_addr, int(info.ipi6_ifindex));
        } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
          int gso = 0;
          std::memcpy(&gso, CMSG_DATA(c), sizeof(gso));
          segment = size_t(gso);
        }
      }
      uint8_t* base = r.storage.get() + size_t(i) * r.buffer_size;
      const size_t len = r.msgs[i].msg_len;
      if (segment == 0 || segment >= len) {
        r.pending.push_back({MutableByteSpan(base, len), from});
      } else {
        for (size_t off = 0; off < len; off += segment) {
          r.pending.push_back({MutableByteSpan(base + off, std::min(segment, len - off)), from});
        }
      }
    }
  }
  size_t n = 0;
  while (n < out.size() && r.pending_pos < r.pending.size()) out[n++] = r.pending[r.pending_pos++];
  return n;
}

Status UdpBind::SendRun(int fd, const Endpoint& to, bool with_source, std::span<const ByteSpan> run,
                        size_t segment) {
  iovec iov[kMaxGsoSegments];
  for (size_t i = 0; i < run.size(); ++i) {
    iov[i] = {const_cast<uint8_t*>(run[i].data()), run[i].size()};
  }
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
  std::memset(control, 0, sizeof(control));
  msghdr h{};
  h.msg_name = const_cast<sockaddr*>(to.sockaddr_ptr());
  h.msg_namelen = to.socklen();
  h.msg_iov = iov;
  h.msg_iovlen = run.size();
  h.msg_control = control;
  size_t clen = 0;
  cmsghdr* c = reinterpret_cast<cmsghdr*>(control);
  h.msg_controllen = sizeof(control);
  if (with_source && to.has_source()) {
    if (to.family() == AF_INET) {
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo info{};
      info.ipi_spec_dst = to.source_v4();
      info.ipi_ifindex = to.source_ifindex();
      std::memcpy(CMSG_DATA(c), &info, sizeof(info));
      clen += CMSG_SPACE(sizeof(in_pktinfo));
    } else {
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo info{};
      info.ipi6_addr = to.source_v6();
      info.ipi6_ifindex = unsigned(to.source_ifindex());
      std::memcpy(CMSG_DATA(c), &info, sizeof(info));
      clen += CMSG_SPACE(sizeof(in6_pktinfo));
    }
    c = reinterpret_cast<cmsghdr*>(control + clen);
  }
  if (segment != 0) {
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const uint16_t s = uint16_t(segment);
    std::memcpy(CMSG_DATA(c), &s, sizeof(s));
    clen += CMSG_SPACE(sizeof(uint16_t));
  }
  h.msg_controllen = clen;
  if (clen == 0) h.msg_control = nullptr;
  if (RetryOnEintr(::sendmsg, fd, &h, 0) < 0) {
    return ErrnoError(fmt::format("sendmsg(to {})", to.ToString()));
  }
  return OkStatus();
}

Status UdpBind::Send(std::span<const ByteSpan> datagrams, const Endpoint& to) {
  const int fd = to.family() == AF_INET6 ? fd6_ : fd4_;
  if (fd < 0)
    return Error(EAFNOSUPPORT, fmt::format("send to {}", to.ToString()),
                 "no socket for that address family");
  size_t i = 0;
  while (i < datagrams.size()) {
    // A run: equal-size datagrams, the last possibly shorter, within the GSO limits.
    size_t n = 1;
    size_t bytes = datagrams[i].size();
    const size_t segment = datagrams[i].size();
    if (gso_.load(std::memory_order_relaxed) &&
        segment <= gso_segment_limit_.load(std::memory_order_relaxed)) {
      while (i + n < datagrams.size() && n < kMaxGsoSegments &&
             datagrams[i + n].size() <= segment &&
             bytes + datagrams[i + n].size() <= kMaxGsoBytes) {
        bytes += datagrams[i + n].size();
        ++n;
        if (datagrams[i + n - 1].size() < segment) break;  // a short one ends the run
      }
    }
    auto run = datagrams.subspan(i, n);
    Status s = SendRun(fd, to, true, run, n > 1 ? segment : 0);
    if (!s.ok() && to.has_source() && StaleSource(s.error().code())) {
      s = SendRun(fd, to, false, run, n > 1 ? segment : 0);  // the sticky source is gone
    }
    if (!s.ok() && n > 1 && s.error().code() == EMSGSIZE) {
      // Datagrams larger than the path MTU cannot be segmented by the kernel (each would need IP
      // fragmentation): send runs of this size one by one from now on, which fragments them.
      size_t limit = gso_segment_limit_.load(std::memory_order_relaxed);
      while (segment - 1 < limit && !gso_segment_limit_.compare_exchange_weak(
                                        limit, segment - 1, std::memory_order_relaxed)) {
      }
      TUNDRA_LOG(kVerbose, "UDP GSO: {}-byte datagrams exceed the path MTU, sent one by one",
                 segment);
      continue;
    }
    if (!s.ok() && n > 1 && (s.error().code() == EIO || s.error().code() == EINVAL)) {
      // The kernel refused segmentation offload here: stop using it, send one by one.
      gso_.store(false, std::memory_order_relaxed);
      TUNDRA_LOG(kVerbose, "UDP GSO disabled: {}", s.error().message());
      continue;
    }
    if (!s.ok()) return s;
    i += n;
  }
  return OkStatus();
}

}  // namespace tundra::transport
