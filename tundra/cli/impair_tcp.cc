// tundra impair --tcp: the stream form of the relay. Each connection accepted on --listen gets
// its own connection to --to; the bytes of every connection cross one simulated link per
// direction (impair::Link: delay, jitter that keeps order, a rate bottleneck), read in chunks of
// at most kChunkBytes, so delay and rate apply to bytes. Loss, duplication, corruption and
// reordering have no meaning inside a byte stream and are refused by RunImpair.
//
// Nothing is dropped: instead of a tail drop, a connection whose bytes would overflow the
// bottleneck queue (--queue) or its own buffer (kMaxBufferedBytes per direction) is not read
// until they drain — TCP's flow control then slows the sender, as a real bottleneck does. A
// connection's FIN (or RST) is passed on once every byte before it has been delivered.
#include "tundra/cli/impair_tcp.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tundra/base/timer_fd.h"
#include "tundra/base/unique_fd.h"
#include "tundra/cli/signals.h"
#include "tundra/impair/link.h"

namespace tundra::cli {
namespace {

using transport::Endpoint;

constexpr size_t kChunkBytes = 4096;            // bytes read (and scheduled) at once
constexpr size_t kMaxBufferedBytes = 16 << 20;  // per connection and direction
constexpr size_t kMaxConnections = 256;         // beyond: accepted and closed (refused)
constexpr int kListenBacklog = 64;
constexpr int kMaxEvents = 32;
constexpr uint64_t kDownSeedOffset = 1;
// epoll tags: connection id << 2 | side; ids start at 1, so small values are the fixed fds.
enum : uint64_t { kTagListen = 0, kTagSignals = 1, kTagTimer = 2, kSideShift = 2 };
enum Side : uint64_t { kClient = 0, kTarget = 1 };
enum Dir : size_t { kUp = 0, kDown = 1 };  // kUp: client -> target, read on the client side

struct TcpCounters {
  uint64_t accepted = 0;
  uint64_t refused = 0;                 // over kMaxConnections
  uint64_t connect_error = 0;           // the target refused or could not be reached
  uint64_t reset = 0;                   // a side failed (ECONNRESET, EPIPE, ...): both closed
  uint64_t closed = 0;                  // ended normally (both FINs delivered)
  std::array<uint64_t, 2> bytes_in{};   // per direction, read
  std::array<uint64_t, 2> bytes_out{};  // per direction, delivered
  std::array<uint64_t, 2> throttled{};  // times reading paused for a full queue or buffer
};

struct Pending {
  impair::Link::Buffer buffer;
  size_t offset = 0;  // bytes of the payload already written
};

// One direction of one connection: read from `from`, delivered to `to`.
struct Flow {
  size_t buffered = 0;      // bytes read and not yet delivered (held in the link or in `out`)
  std::deque<Pending> out;  // released, waiting for `to` to be writable
  bool eof = false;         // `from` sent FIN
  bool shut = false;        // FIN passed on to `to`
  bool done() const { return shut; }
};

struct Conn {
  uint64_t id = 0;
  std::array<UniqueFd, 2> fd;        // [kClient], [kTarget]
  bool connecting = true;            // the target connection is not established yet
  std::array<Flow, 2> flow;          // [kUp] read on kClient, [kDown] read on kTarget
  std::array<uint32_t, 2> events{};  // epoll interest per side; 0 = not in the epoll set
};

enum class End { kClosed, kReset, kConnectError };

Side ReadSide(Dir d) { return d == kUp ? kClient : kTarget; }
Side WriteSide(Dir d) { return d == kUp ? kTarget : kClient; }

class TcpRelay {
 public:
  TcpRelay(const Clock& clock, const ImpairOptions& o, uint64_t seed, Endpoint target, bool json)
      : clock_(clock),
        links_{impair::Link(o.up, seed, {}), impair::Link(o.down, seed + kDownSeedOffset, {})},
        target_(target),
        json_(json) {}

  Status Open(const Endpoint& listen) {
    listen_ = UniqueFd(::socket(listen.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listen_) return ErrnoError("socket(SOCK_STREAM)");
    const int one = 1;
    (void)::setsockopt(listen_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(listen_.get(), listen.sockaddr_ptr(), listen.socklen()) < 0) {
      return ErrnoError(fmt::format("bind({})", listen.ToString()));
    }
    if (::listen(listen_.get(), kListenBacklog) < 0) {
      return ErrnoError(fmt::format("listen({})", listen.ToString()));
    }
    TUNDRA_ASSIGN_OR_RETURN(signals_, BlockedSignalFd({SIGINT, SIGTERM, SIGUSR1}));
    TUNDRA_ASSIGN_OR_RETURN(timer_, CreateBootTimerFd());
    epoll_ = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) return ErrnoError("epoll_create1");
    for (auto [fd, tag] : {std::pair{listen_.get(), uint64_t(kTagListen)},
                           {signals_.get(), uint64_t(kTagSignals)},
                           {timer_.get(), uint64_t(kTagTimer)}}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = tag;
      if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return ErrnoError("epoll_ctl");
    }
    return {};
  }

  Status Run() {
    std::array<epoll_event, kMaxEvents> events;
    for (;;) {
      const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[size_t(i)].data.u64;
        const uint32_t what = events[size_t(i)].events;
        if (tag == kTagSignals) {
          if (ReadSignals(signals_.get(), "tundra impair", [&] { PrintCounters(); })) return {};
        } else if (tag == kTagListen) {
          Accept();
        } else if (tag == kTagTimer) {
          DrainTimerFd(timer_.get());
        } else {
          OnSocket(tag >> kSideShift, Side(tag & 1), what);
        }
      }
      Release();
      ResumeReading();
      TUNDRA_RETURN_IF_ERROR(ArmTimer());
    }
  }

  std::string Format() const {
    const TcpCounters& c = tcp_;
    if (json_) {
      return fmt::format(
          "{{\"up\":{},\"down\":{},\"tcp\":{{\"accepted\":{},\"active\":{},\"refused\":{},"
          "\"connect_error\":{},\"reset\":{},\"closed\":{},\"bytes_in_up\":{},"
          "\"bytes_out_up\":{},\"bytes_in_down\":{},\"bytes_out_down\":{},\"throttled_up\":{},"
          "\"throttled_down\":{}}}}}\n",
          impair::CountersJson(links_[kUp].model().counters()),
          impair::CountersJson(links_[kDown].model().counters()), c.accepted, conns_.size(),
          c.refused, c.connect_error, c.reset, c.closed, c.bytes_in[kUp], c.bytes_out[kUp],
          c.bytes_in[kDown], c.bytes_out[kDown], c.throttled[kUp], c.throttled[kDown]);
    }
    return impair::FormatCounters(links_[kUp].model().counters(), "up ") +
           impair::FormatCounters(links_[kDown].model().counters(), "down ") +
           fmt::format(
               "tcp accepted {}\ntcp active {}\ntcp refused {}\ntcp connect_error {}\n"
               "tcp reset {}\ntcp closed {}\ntcp up bytes_in {}\ntcp up bytes_out {}\n"
               "tcp down bytes_in {}\ntcp down bytes_out {}\ntcp up throttled {}\n"
               "tcp down throttled {}\n",
               c.accepted, conns_.size(), c.refused, c.connect_error, c.reset, c.closed,
               c.bytes_in[kUp], c.bytes_out[kUp], c.bytes_in[kDown], c.bytes_out[kDown],
               c.throttled[kUp], c.throttled[kDown]);
  }

 private:
  void PrintCounters() const {
    fmt::print("{}", Format());
    std::fflush(stdout);
  }

  void Accept() {
    for (;;) {
      UniqueFd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (!client) return;  // EAGAIN, or a connection that died before accept
      if (conns_.size() >= kMaxConnections) {
        ++tcp_.refused;
        continue;  // closed by the destructor
      }
      UniqueFd target(::socket(target_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!target) {
        ++tcp_.connect_error;
        continue;
      }
      const int one = 1;
      for (int fd : {client.get(), target.get()}) {
        (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      }
      if (::connect(target.get(), target_.sockaddr_ptr(), target_.socklen()) < 0 &&
          errno != EINPROGRESS) {
        ++tcp_.connect_error;
        continue;
      }
      ++tcp_.accepted;
      auto conn = std::make_unique<Conn>();
      conn->id = next_id_++;
      conn->fd[kClient] = std::move(client);
      conn->fd[kTarget] = std::move(target);
      Conn& c = *conn;
      conns_.emplace(c.id, std::move(conn));
      Watch(c, kClient, EPOLLIN);
      Watch(c, kTarget, EPOLLOUT);  // writable = connected (or failed)
    }
  }

  // Sets a side's epoll interest. A side with none leaves the set: epoll reports EPOLLHUP and
  // EPOLLERR even without interest, which would spin while a flow waits for its queue.
  void Watch(Conn& c, Side side, uint32_t events) {
    if (c.events[side] == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = (c.id << kSideShift) | side;
    const int op = events == 0           ? EPOLL_CTL_DEL
                   : c.events[side] == 0 ? EPOLL_CTL_ADD
                                         : EPOLL_CTL_MOD;
    (void)::epoll_ctl(epoll_.get(), op, c.fd[side].get(), &ev);
    c.events[side] = events;
  }

  Conn* Find(uint64_t id) {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
  }

  void Close(Conn& c, End why) {
    ++(why == End::kClosed ? tcp_.closed : why == End::kReset ? tcp_.reset : tcp_.connect_error);
    for (Dir d : {kUp, kDown}) {
      for (Pending& p : c.flow[d].out) links_[d].Recycle(std::move(p.buffer));
    }
    // Copies still held in the links carry this id; they are recycled when released.
    conns_.erase(c.id);
  }

  void OnSocket(uint64_t id, Side side, uint32_t what) {
    Conn* c = Find(id);
    if (c == nullptr) return;
    if (side == kTarget && c->connecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      (void)::getsockopt(c->fd[kTarget].get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (what & (EPOLLERR | EPOLLHUP)) != 0) {
        Close(*c, End::kConnectError);
        return;
      }
      c->connecting = false;
    } else if ((what & EPOLLERR) != 0) {
      Close(*c, End::kReset);  // a reset: nothing more will be read or written
      return;
    }
    if ((what & EPOLLOUT) != 0) {
      if (!Flush(*c, WriteSide(kUp) == side ? kUp : kDown)) return;
    }
    if ((what & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
      if (!Read(*c, side == kClient ? kUp : kDown)) return;
    }
    UpdateInterest(*c);
  }

  // Whether the flow may read another chunk now (else it waits: flow control, not a drop).
  bool MayRead(const Conn& c, Dir d) {
    const Flow& f = c.flow[d];
    if (f.eof) return false;
    if (f.buffered + kChunkBytes > kMaxBufferedBytes) return false;
    impair::Link& link = links_[d];
    const impair::DirectionConfig& cfg = link.model().config();
    return cfg.rate_kbit == 0 ||
           link.model().QueuedBytes(clock_.Now()) + kChunkBytes <= cfg.queue_bytes;
  }

  // Reads what the flow may take now; false when the connection was closed.
  bool Read(Conn& c, Dir d) {
    Flow& f = c.flow[d];
    const int fd = c.fd[ReadSide(d)].get();
    while (MayRead(c, d)) {
      const ssize_t n = ::recv(fd, buf_.data(), buf_.size(), 0);
      if (n > 0) {
        tcp_.bytes_in[d] += size_t(n);
        f.buffered += size_t(n);
        links_[d].Admit(clock_.Now(), std::span<uint8_t>(buf_.data(), size_t(n)), c.id);
        continue;
      }
      if (n == 0) {
        f.eof = true;
        return MaybeShut(c, d);
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
      Close(c, End::kReset);
      return false;
    }
    if (!f.eof) ++tcp_.throttled[d];
    return true;
  }

  // Passes a FIN on once everything before it was delivered; false when the connection ended.
  bool MaybeShut(Conn& c, Dir d) {
    Flow& f = c.flow[d];
    if (!f.eof || f.shut || f.buffered > 0 || c.connecting) return true;
    (void)::shutdown(c.fd[WriteSide(d)].get(), SHUT_WR);
    f.shut = true;
    if (c.flow[kUp].done() && c.flow[kDown].done()) {
      Close(c, End::kClosed);
      return false;
    }
    return true;
  }

  // Writes the flow's released bytes; false when the connection was closed.
  bool Flush(Conn& c, Dir d) {
    if (c.connecting) return true;
    Flow& f = c.flow[d];
    const int fd = c.fd[WriteSide(d)].get();
    while (!f.out.empty()) {
      Pending& p = f.out.front();
      const auto payload = p.buffer.payload().subspan(p.offset);
      const ssize_t n = ::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
        Close(c, End::kReset);
        return false;
      }
      tcp_.bytes_out[d] += size_t(n);
      f.buffered -= size_t(n);
      p.offset += size_t(n);
      if (p.offset == p.buffer.payload().size()) {
        links_[d].OnReleased();
        links_[d].Recycle(std::move(p.buffer));
        f.out.pop_front();
      }
    }
    return MaybeShut(c, d);
  }

  void UpdateInterest(Conn& c) {
    for (Side side : {kClient, kTarget}) {
      const Dir read_dir = side == kClient ? kUp : kDown;
      const Dir write_dir = side == kClient ? kDown : kUp;
      uint32_t ev = 0;
      if (side == kTarget && c.connecting) {
        ev = EPOLLOUT;
      } else {
        if (MayRead(c, read_dir)) ev |= EPOLLIN;
        if (!c.flow[write_dir].out.empty()) ev |= EPOLLOUT;
      }
      Watch(c, side, ev);
    }
  }

  void Release() {
    const TimePoint now = clock_.Now();
    for (Dir d : {kUp, kDown}) {
      due_.clear();
      links_[d].PopDue(now, due_, SIZE_MAX);
      for (impair::Link::Buffer& b : due_) {
        Conn* c = Find(b.tag);
        if (c == nullptr) {  // the connection ended (reset) while its bytes were held
          links_[d].Recycle(std::move(b));
          continue;
        }
        c->flow[d].out.push_back(Pending{std::move(b), 0});
        touched_.push_back(c->id);
      }
    }
    for (uint64_t id : touched_) {
      Conn* c = Find(id);
      if (c != nullptr && Flush(*c, kUp)) (void)Flush(*c, kDown);
    }
    touched_.clear();
  }

  // Connections paused by flow control read again once their bytes drained.
  void ResumeReading() {
    std::vector<uint64_t> ids;
    ids.reserve(conns_.size());
    for (const auto& [id, conn] : conns_) ids.push_back(id);
    for (uint64_t id : ids) {
      if (Conn* c = Find(id)) UpdateInterest(*c);
    }
  }

  // The earliest release; while a flow waits for the bottleneck queue, also when a chunk's
  // transmission time has passed (the queue has drained by one chunk).
  Status ArmTimer() {
    std::optional<TimePoint> next;
    for (Dir d : {kUp, kDown}) {
      if (auto t = links_[d].NextRelease(); t && (!next || *t < *next)) next = t;
    }
    const TimePoint now = clock_.Now();
    for (const auto& [id, conn] : conns_) {
      for (Dir d : {kUp, kDown}) {
        const Flow& f = conn->flow[d];
        if (links_[d].model().config().rate_kbit == 0 || f.eof) continue;
        if (conn->connecting && ReadSide(d) == kTarget) continue;
        if ((conn->events[ReadSide(d)] & EPOLLIN) != 0) continue;
        if (f.buffered + kChunkBytes > kMaxBufferedBytes) continue;  // waits for a release
        const TimePoint t = now + links_[d].model().TransmitTime(kChunkBytes);
        if (!next || t < *next) next = t;
      }
    }
    return ArmTimerFd(timer_.get(), next);
  }

  const Clock& clock_;
  std::array<impair::Link, 2> links_;
  Endpoint target_;
  bool json_;
  TcpCounters tcp_;
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t next_id_ = 1;
  UniqueFd listen_, signals_, timer_, epoll_;
  std::vector<impair::Link::Buffer> due_;
  std::vector<uint64_t> touched_;
  std::array<uint8_t, kChunkBytes> buf_{};
};

}  // namespace

Status CheckTcpImpairments(const ImpairOptions& o) {
  for (const impair::DirectionConfig* c : {&o.up, &o.down}) {
    const char* bad = c->loss > 0          ? "--loss"
                      : c->burst.enabled() ? "--burst-loss"
                      : c->duplicate > 0   ? "--duplicate"
                      : c->corrupt > 0     ? "--corrupt"
                      : c->reorder > 0     ? "--reorder"
                      : c->jitter_reorders ? "--jitter-reorder"
                      : c->mtu > 0         ? "--mtu"
                                           : nullptr;
    if (bad != nullptr) {
      return InvalidArgument(fmt::format(
          "impair: {} has no meaning for a TCP stream (--tcp takes --delay, --jitter, --rate "
          "and --queue)",
          bad));
    }
  }
  return {};
}

int RunTcpRelay(const ImpairOptions& options, uint64_t seed, const Endpoint& listen,
                const Endpoint& target, bool json) {
  TcpRelay relay(Clock::Real(), options, seed, target, json);
  if (Status st = relay.Open(listen); !st.ok()) return ReportError(st.error().Wrap("impair"));
  fmt::print(stderr,
             "tundra impair: tcp {} -> {}, seed {}; SIGINT or SIGTERM stops, SIGUSR1 prints "
             "counters\n",
             listen.ToString(), target.ToString(), seed);
  Status st = relay.Run();
  fmt::print("{}", relay.Format());
  std::fflush(stdout);
  if (!st.ok()) return ReportError(st.error().Wrap("impair"));
  return kExitOk;
}

}  // namespace tundra::cli
