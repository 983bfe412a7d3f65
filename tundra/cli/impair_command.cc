// tundra impair [--tcp] --listen ADDR:PORT --to ADDR:PORT [impairments]: a UDP (or, with --tcp,
// a stream: impair_tcp.cc) relay for network simulation. The first datagram's source becomes the
// client; its datagrams go to --to through the `up` Impairment, the target's replies come back
// through `down`. The I/O shell here is thin: epoll on the two sockets, a signalfd and one timerfd
// (CLOCK_BOOTTIME, absolute) armed at the earliest release of the two Schedulers; the decisions are
// tundra/impair's.
#include <fmt/core.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tundra/base/clock.h"
#include "tundra/base/syscall.h"
#include "tundra/base/timer_fd.h"
#include "tundra/base/unique_fd.h"
#include "tundra/cli/args.h"
#include "tundra/cli/commands.h"
#include "tundra/cli/impair_options.h"
#include "tundra/cli/impair_tcp.h"
#include "tundra/cli/signals.h"
#include "tundra/crypto/random.h"
#include "tundra/impair/impairment.h"
#include "tundra/impair/link.h"
#include "tundra/transport/endpoint.h"

namespace tundra::cli {
namespace {

using transport::Endpoint;

constexpr size_t kReadBurst = 64;  // datagrams read per wakeup per socket
constexpr int kMaxEvents = 8;
constexpr uint64_t kDownSeedOffset = 1;  // down's PRNG is seeded with seed + 1
constexpr int kSocketBuffer = 8 << 20;   // bytes; a burst waits here, not in a kernel drop

// Drops the relay itself makes (the model's are in impair::Counters).
struct RelayCounters {
  uint64_t other_client = 0;  // from a source other than the remembered client
  uint64_t no_client = 0;     // from the target before any client datagram
  uint64_t send_error = 0;    // sendto() failed (EAGAIN, ENOBUFS, ...)
};

Result<UniqueFd> UdpSocket(const Endpoint& addr, bool bind_it) {
  UniqueFd fd(::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("socket(SOCK_DGRAM)");
  // Large buffers, beyond rmem_max/wmem_max when privileged (best effort): a datagram lost in
  // the kernel before the model sees it would shift every later seeded decision.
  for (auto [force, plain] : {std::pair{SO_RCVBUFFORCE, SO_RCVBUF}, {SO_SNDBUFFORCE, SO_SNDBUF}}) {
    if (::setsockopt(fd.get(), SOL_SOCKET, force, &kSocketBuffer, sizeof(kSocketBuffer)) < 0) {
      (void)::setsockopt(fd.get(), SOL_SOCKET, plain, &kSocketBuffer, sizeof(kSocketBuffer));
    }
  }
  if (bind_it && ::bind(fd.get(), addr.sockaddr_ptr(), addr.socklen()) < 0) {
    return ErrnoError(fmt::format("bind({})", addr.ToString()));
  }
  return fd;
}

class Relay {
 public:
  Relay(const Clock& clock, const ImpairOptions& o, uint64_t seed, Endpoint target, bool json)
      : clock_(clock),
        up_(o.up, seed, {}),
        down_(o.down, seed + kDownSeedOffset, {}),
        target_(target),
        json_(json) {}

  Status Open(const Endpoint& listen) {
    TUNDRA_ASSIGN_OR_RETURN(listen_, UdpSocket(listen, true));
    TUNDRA_ASSIGN_OR_RETURN(upstream_, UdpSocket(target_, false));
    if (::connect(upstream_.get(), target_.sockaddr_ptr(), target_.socklen()) < 0) {
      return ErrnoError(fmt::format("connect({})", target_.ToString()));
    }
    TUNDRA_ASSIGN_OR_RETURN(signals_, BlockedSignalFd({SIGINT, SIGTERM, SIGUSR1}));
    TUNDRA_ASSIGN_OR_RETURN(timer_, CreateBootTimerFd());
    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) return ErrnoError("epoll_create1");
    for (int fd : {listen_.get(), upstream_.get(), signals_.get(), timer_.get()}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return ErrnoError("epoll_ctl");
    }
    return {};
  }

  // Runs until SIGINT/SIGTERM; prints the counters on SIGUSR1.
  Status Run() {
    std::array<epoll_event, kMaxEvents> events;
    for (;;) {
      const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[size_t(i)].data.fd;
        if (fd == signals_.get()) {
          if (ReadSignals(signals_.get(), "tundra impair", [&] { PrintCounters(); })) return {};
        } else if (fd == listen_.get()) {
          ReadClient();
        } else if (fd == upstream_.get()) {
          ReadTarget();
        } else if (fd == timer_.get()) {
          DrainTimerFd(timer_.get());
        }
      }
      Release(clock_.Now());
      TUNDRA_RETURN_IF_ERROR(ArmTimer());
    }
  }

  std::string Format() const {
    if (json_) {
      return fmt::format(
          "{{\"up\":{},\"down\":{},\"relay\":{{\"other_client\":{},\"no_client\":{},"
          "\"send_error\":{},\"held_up\":{},\"held_down\":{}}}}}\n",
          impair::CountersJson(up_.model().counters()),
          impair::CountersJson(down_.model().counters()), relay_.other_client, relay_.no_client,
          relay_.send_error, up_.held(), down_.held());
    }
    return impair::FormatCounters(up_.model().counters(), "up ") +
           impair::FormatCounters(down_.model().counters(), "down ") +
           fmt::format(
               "relay dropped_other_client {}\nrelay dropped_no_client {}\nrelay send_error "
               "{}\nrelay held_up {}\nrelay held_down {}\n",
               relay_.other_client, relay_.no_client, relay_.send_error, up_.held(), down_.held());
  }

 private:
  void ReadClient() {
    for (size_t i = 0; i < kReadBurst; ++i) {
      sockaddr_storage from{};
      socklen_t len = sizeof(from);
      const ssize_t n = ::recvfrom(listen_.get(), buf_.data(), buf_.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;  // EAGAIN (or an error the next wakeup reports again)
      const Endpoint source = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&from), len);
      if (!client_.valid()) {
        client_ = source;
        fmt::print(stderr, "tundra impair: client {}\n", client_.ToString());
      } else if (source != client_) {
        ++relay_.other_client;
        continue;
      }
      up_.Admit(clock_.Now(), std::span<uint8_t>(buf_.data(), size_t(n)));
    }
  }

  void ReadTarget() {
    for (size_t i = 0; i < kReadBurst; ++i) {
      const ssize_t n = ::recv(upstream_.get(), buf_.data(), buf_.size(), 0);
      if (n < 0) return;  // EAGAIN, or ECONNREFUSED from an ICMP error: nothing to relay
      if (!client_.valid()) {
        ++relay_.no_client;
        continue;
      }
      down_.Admit(clock_.Now(), std::span<uint8_t>(buf_.data(), size_t(n)));
    }
  }

  void Release(TimePoint now) {
    for (impair::Link* link : {&up_, &down_}) {
      due_.clear();
      link->PopDue(now, due_, SIZE_MAX);
      for (impair::Link::Buffer& b : due_) {
        const auto p = b.payload();
        const ssize_t n = link == &up_ ? ::send(upstream_.get(), p.data(), p.size(), 0)
                                       : ::sendto(listen_.get(), p.data(), p.size(), 0,
                                                  client_.sockaddr_ptr(), client_.socklen());
        if (n >= 0) {
          link->OnReleased();
        } else {
          ++relay_.send_error;
        }
        link->Recycle(std::move(b));
      }
    }
  }

  // Arms the timer at the earliest release (absolute CLOCK_BOOTTIME), or disarms it.
  Status ArmTimer() {
    std::optional<TimePoint> next = up_.NextRelease();
    if (auto d = down_.NextRelease(); d && (!next || *d < *next)) next = d;
    return ArmTimerFd(timer_.get(), next);
  }

  void PrintCounters() const {
    fmt::print("{}", Format());
    std::fflush(stdout);
  }

  const Clock& clock_;
  impair::Link up_;
  impair::Link down_;
  std::vector<impair::Link::Buffer> due_;
  Endpoint target_;
  Endpoint client_;
  bool json_;
  RelayCounters relay_;
  UniqueFd listen_, upstream_, signals_, timer_, epoll_;
  std::array<uint8_t, impair::kMaxDatagram> buf_{};
};

uint64_t RandomSeed() {
  uint64_t seed = 0;
  crypto::RandomBytes(MutableByteSpan(reinterpret_cast<uint8_t*>(&seed), sizeof(seed)));
  return seed;
}

}  // namespace

int RunImpair(CommandArgs args) {
  ArgParser p("tundra impair", "",
              "A UDP relay for network simulation. Datagrams to --listen are relayed to --to\n"
              "(the first datagram's source becomes the client) and the replies come back;\n"
              "each direction passes a seeded impairment model: loss, Gilbert-Elliott burst\n"
              "loss, delay, jitter, reorder, duplicate, corrupt, a rate bottleneck with a byte\n"
              "queue, an MTU. Options apply to both directions; --NAME-up applies to client ->\n"
              "target only, --NAME-down to the replies. Runs until SIGINT or SIGTERM, then\n"
              "prints the counters (also on SIGUSR1): received, sent, dropped by reason,\n"
              "duplicated, corrupted, reordered, queue high-water mark.\n"
              "With --tcp it relays TCP connections instead: each one accepted on --listen is\n"
              "connected to --to, and its bytes cross --delay, --jitter and --rate (with\n"
              "--queue as the bottleneck's size; a full queue slows the sender, nothing is\n"
              "dropped). See docs/impair.md.");
  p.Option("listen", "ADDR:PORT", "where clients send (198.18.0.1:9000, [fd18::1]:9000)")
      .Option("to", "ADDR:PORT", "where their datagrams go");
  AddImpairOptions(p);
  p.Flag("tcp", "relay TCP connections (delay, jitter and rate apply to their bytes)");
  p.Flag("json", "counters as one JSON object per print");
  auto parsed = p.Parse(args, 0, 0);
  if (!parsed.ok()) return ReportError(parsed.error(), kExitUsage);
  if (parsed->help_requested()) {
    fmt::print("{}", p.Usage());
    return kExitOk;
  }
  Endpoint ends[2];
  const char* names[2] = {"listen", "to"};
  for (size_t i = 0; i < 2; ++i) {
    auto text = parsed->Get(names[i]);
    if (!text) {
      return ReportError(
          InvalidArgument(fmt::format("impair: --{} ADDR:PORT is required", names[i])), kExitUsage);
    }
    auto ep = Endpoint::Parse(*text);
    if (!ep.ok())
      return ReportError(ep.error().Wrap(fmt::format("impair: --{}", names[i])), kExitUsage);
    ends[i] = *ep;
  }
  auto options = ParseImpairOptions(*parsed);
  if (!options.ok()) return ReportError(options.error(), kExitUsage);
  if (options->up.too_big_reply || options->down.too_big_reply) {
    // The relay sees datagrams the kernel has already reassembled, and has no IP packet of the
    // sender's to quote (docs/impair.md).
    return ReportError(InvalidArgument("impair: --mtu-reply icmp is for `tundra bridge` (between "
                                       "interfaces); the relay drops datagrams over --mtu"),
                       kExitUsage);
  }
  const uint64_t seed = options->seed ? *options->seed : RandomSeed();
  if (parsed->Has("tcp")) {
    if (Status st = CheckTcpImpairments(*options); !st.ok()) {
      return ReportError(st.error(), kExitUsage);
    }
    return RunTcpRelay(*options, seed, ends[0], ends[1], parsed->Has("json"));
  }

  Relay relay(Clock::Real(), *options, seed, ends[1], parsed->Has("json"));
  if (Status st = relay.Open(ends[0]); !st.ok()) return ReportError(st.error().Wrap("impair"));
  fmt::print(stderr,
             "tundra impair: {} -> {}, seed {}; SIGINT or SIGTERM stops, SIGUSR1 prints "
             "counters\n",
             ends[0].ToString(), ends[1].ToString(), seed);
  Status st = relay.Run();
  fmt::print("{}", relay.Format());
  std::fflush(stdout);
  if (!st.ok()) return ReportError(st.error().Wrap("impair"));
  return kExitOk;
}

}  // namespace tundra::cli
