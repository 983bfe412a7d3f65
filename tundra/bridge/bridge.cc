#include "tundra/bridge/bridge.h"

#include <fmt/core.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tundra/base/syscall.h"
#include "tundra/base/timer_fd.h"
#include "tundra/tun/icmp.h"
#include "tundra/tun/pi_header.h"

namespace tundra::bridge {
namespace {

enum : uint32_t { kSideA = 0, kSideB = 1, kStop = 2, kTimer = 3 };

Status AddToEpoll(int epoll_fd, int fd, uint32_t tag, const std::string& what) {
  struct epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u32 = tag;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    return ErrnoError("epoll_ctl(ADD) " + what);
  }
  return OkStatus();
}

std::string FormatDirection(const std::string& from, const std::string& to,
                            const DirectionCounters& c) {
  return fmt::format("{} -> {}: {} frames, {} bytes, {} forwarded, {} dropped\n", from, to,
                     c.frames.load(), c.bytes.load(), c.forwarded.load(), c.dropped.load());
}

}  // namespace

Result<std::unique_ptr<Bridge>> Bridge::Create(tun::TunDevice& a, tun::TunDevice& b, int stop_fd,
                                               Options options) {
  if (options.batch_size == 0 || options.max_frame == 0) {
    return InvalidArgument("bridge: batch size and frame size must be positive");
  }
  if (a.poll_fd() == b.poll_fd()) {
    return InvalidArgument(fmt::format("bridge: {} and {} are the same queue", a.name(), b.name()));
  }
  UniqueFd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) return ErrnoError("epoll_create1(bridge)");
  TUNDRA_RETURN_IF_ERROR(AddToEpoll(epoll_fd.get(), a.poll_fd(), kSideA, a.name()));
  TUNDRA_RETURN_IF_ERROR(AddToEpoll(epoll_fd.get(), b.poll_fd(), kSideB, b.name()));
  TUNDRA_RETURN_IF_ERROR(AddToEpoll(epoll_fd.get(), stop_fd, kStop, "stop fd"));
  UniqueFd timer_fd;
  if (options.impair) {
    if (options.clock == nullptr)
      return InvalidArgument("bridge: an impaired bridge needs a clock");
    // CLOCK_BOOTTIME is the clock behind Clock::Real(); a fake clock's times are only compared.
    TUNDRA_ASSIGN_OR_RETURN(timer_fd, CreateBootTimerFd());
    TUNDRA_RETURN_IF_ERROR(AddToEpoll(epoll_fd.get(), timer_fd.get(), kTimer, "timer"));
  }
  auto bridge = std::unique_ptr<Bridge>(new Bridge(a, b, stop_fd, options, std::move(epoll_fd)));
  if (options.impair) {
    const impair::Link::Options link_options{.max_held = impair::kDefaultMaxHeld,
                                             .headroom = tun::kWriteHeadroom};
    impair::DirectionConfig a_to_b = options.impair->a_to_b, b_to_a = options.impair->b_to_a;
    if (options.ethernet) a_to_b.link_header = b_to_a.link_header = tun::kEthernetHeaderSize;
    bridge->link_ab_.emplace(a_to_b, options.impair->seed, link_options);
    bridge->link_ba_.emplace(b_to_a, options.impair->seed + 1, link_options);
    bridge->reply_.resize(tun::kWriteHeadroom + tun::kEthernetHeaderSize + tun::kMaxIcmpError);
    bridge->timer_fd_ = std::move(timer_fd);
  }
  return bridge;
}

Bridge::Bridge(tun::TunDevice& a, tun::TunDevice& b, int stop_fd, Options options,
               UniqueFd epoll_fd)
    : a_(a),
      b_(b),
      stop_fd_(stop_fd),
      options_(options),
      epoll_fd_(std::move(epoll_fd)),
      out_(options.batch_size),
      sizes_(options.batch_size) {
  const size_t stride = tun::kWriteHeadroom + options_.max_frame;
  storage_.resize(stride * options_.batch_size);
  for (size_t i = 0; i < options_.batch_size; ++i) {
    bufs_.emplace_back(storage_.data() + i * stride, stride);
  }
}

Status Bridge::Forward(tun::TunDevice& from, tun::TunDevice& to, DirectionCounters& counters,
                       impair::Link* link) {
  TUNDRA_ASSIGN_OR_RETURN(const size_t n, from.Read(bufs_, sizes_, tun::kWriteHeadroom));
  if (n == 0) return OkStatus();
  uint64_t bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    out_[i] = bufs_[i].first(tun::kWriteHeadroom + sizes_[i]);
    bytes += sizes_[i];
  }
  counters.frames.fetch_add(n, std::memory_order_relaxed);
  counters.bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (link != nullptr) {
    const TimePoint now = options_.clock->Now();
    const bool replies = link->model().config().too_big_reply.has_value();
    for (size_t i = 0; i < n; ++i) {
      const MutableByteSpan frame = bufs_[i].subspan(tun::kWriteHeadroom, sizes_[i]);
      impair::Decision d;
      link->Admit(now, frame, 0, &d);
      if (replies && d.drop == impair::DropReason::kTooBig) {
        TUNDRA_RETURN_IF_ERROR(AnswerTooBig(from, *link, frame, now));
      }
    }
    return OkStatus();
  }
  TUNDRA_ASSIGN_OR_RETURN(const size_t written,
                          to.Write(std::span(out_).first(n), tun::kWriteHeadroom));
  counters.forwarded.fetch_add(written, std::memory_order_relaxed);
  counters.dropped.fetch_add(n - written, std::memory_order_relaxed);
  return OkStatus();
}

Status Bridge::AnswerTooBig(tun::TunDevice& from, impair::Link& link, ByteSpan frame,
                            TimePoint now) {
  impair::Impairment& model = link.model();
  ByteSpan packet = frame;
  size_t l2 = 0;
  if (options_.ethernet) {
    // Only an IP packet in a frame to a unicast MAC (the reply's source MAC) is answered.
    const uint16_t type = tun::EtherTypeOfFrame(frame);
    if ((type != tun::kEtherTypeIpv4 && type != tun::kEtherTypeIpv6) || (frame[0] & 0x01) != 0) {
      model.CountTooBigUnanswerable();
      return OkStatus();
    }
    l2 = tun::kEthernetHeaderSize;
    packet = frame.subspan(l2);
  }
  uint8_t* out = reply_.data() + tun::kWriteHeadroom;
  const size_t len =
      tun::BuildTooBig(packet, model.config().mtu, MutableByteSpan(out + l2, tun::kMaxIcmpError));
  if (len == 0) {
    model.CountTooBigUnanswerable();
    return OkStatus();
  }
  if (!model.AllowTooBigReply(now)) return OkStatus();
  if (l2 != 0) {
    constexpr size_t kMac = 6;
    std::memcpy(out, frame.data() + kMac, kMac);              // to the sender
    std::memcpy(out + kMac, frame.data(), kMac);              // from the MAC it sent to
    std::memcpy(out + 2 * kMac, frame.data() + 2 * kMac, 2);  // the same EtherType
  }
  const MutableByteSpan one(reply_.data(), tun::kWriteHeadroom + l2 + len);
  // A reply the kernel refuses is counted in the side's drops(), as any write.
  TUNDRA_ASSIGN_OR_RETURN(
      const size_t written,
      from.Write(std::span<const MutableByteSpan>(&one, 1), tun::kWriteHeadroom));
  (void)written;
  return OkStatus();
}

Status Bridge::ReleaseDue(impair::Link& link, tun::TunDevice& to, DirectionCounters& counters) {
  const TimePoint now = options_.clock->Now();
  for (;;) {
    due_.clear();
    const size_t n = link.PopDue(now, due_, options_.batch_size);
    if (n == 0) return OkStatus();
    for (size_t i = 0; i < n; ++i) out_[i] = due_[i].whole();
    auto written = to.Write(std::span(out_).first(n), tun::kWriteHeadroom);
    for (auto& b : due_) link.Recycle(std::move(b));
    if (!written.ok()) return written.error();
    for (size_t i = 0; i < *written; ++i) link.OnReleased();
    counters.forwarded.fetch_add(*written, std::memory_order_relaxed);
    counters.dropped.fetch_add(n - *written, std::memory_order_relaxed);
  }
}

Status Bridge::ArmTimer() {
  std::optional<TimePoint> next = link_ab_->NextRelease();
  if (auto t = link_ba_->NextRelease(); t && (!next || *t < *next)) next = t;
  return ArmTimerFd(timer_fd_.get(), next);
}

const impair::Counters* Bridge::a_to_b_impairment() const {
  return link_ab_ ? &link_ab_->model().counters() : nullptr;
}
const impair::Counters* Bridge::b_to_a_impairment() const {
  return link_ba_ ? &link_ba_->model().counters() : nullptr;
}

Result<bool> Bridge::RunOnce(int timeout_ms) {
  struct epoll_event events[4];
  const int n = ::epoll_wait(epoll_fd_.get(), events, 4, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return true;
    return ErrnoError("epoll_wait(bridge)");
  }
  bool stop = false;
  for (int i = 0; i < n; ++i) {
    switch (events[i].data.u32) {
      case kSideA:
        TUNDRA_RETURN_IF_ERROR(Forward(a_, b_, a_to_b_, link_ab_ ? &*link_ab_ : nullptr));
        break;
      case kSideB:
        TUNDRA_RETURN_IF_ERROR(Forward(b_, a_, b_to_a_, link_ba_ ? &*link_ba_ : nullptr));
        break;
      case kTimer:
        DrainTimerFd(timer_fd_.get());
        break;
      default:
        stop = true;
        break;
    }
  }
  if (link_ab_) {
    TUNDRA_RETURN_IF_ERROR(ReleaseDue(*link_ab_, b_, a_to_b_));
    TUNDRA_RETURN_IF_ERROR(ReleaseDue(*link_ba_, a_, b_to_a_));
    TUNDRA_RETURN_IF_ERROR(ArmTimer());
  }
  return !stop;
}

Status Bridge::Run() {
  for (;;) {
    TUNDRA_ASSIGN_OR_RETURN(const bool more, RunOnce(-1));
    if (!more) return OkStatus();
  }
}

std::string Bridge::FormatCounters() const {
  std::string out = FormatDirection(a_.name(), b_.name(), a_to_b_);
  out += FormatDirection(b_.name(), a_.name(), b_to_a_);
  if (link_ab_) {
    out += impair::FormatCounters(link_ab_->model().counters(),
                                  fmt::format("impair {}->{} ", a_.name(), b_.name()));
    out += impair::FormatCounters(link_ba_->model().counters(),
                                  fmt::format("impair {}->{} ", b_.name(), a_.name()));
  }
  out += fmt::format("{} drops: {}\n", a_.name(), a_.drops().ToString());
  out += fmt::format("{} drops: {}\n", b_.name(), b_.drops().ToString());
  for (const tun::TunDevice* side : {&a_, &b_}) {
    const tun::TunOffloadCounters::Snapshot o = side->offloads();
    if (o.super_packets_read == 0 && o.super_packets_written == 0) continue;
    out +=
        fmt::format("{} offloads: {} super-packets read as {} packets, {} packets written as {}\n",
                    side->name(), o.super_packets_read, o.segments_split, o.packets_coalesced,
                    o.super_packets_written);
  }
  return out;
}

}  // namespace tundra::bridge
