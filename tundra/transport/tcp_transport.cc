#include "tundra/transport/tcp_transport.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstring>

#include "tundra/base/check.h"
#include "tundra/base/log.h"
#include "tundra/base/syscall.h"

namespace tundra::transport {
namespace {

// epoll data of the fds that are not connections (connection ids start at 16).
constexpr uint64_t kListener4 = 1, kListener6 = 2, kTimer = 3;
constexpr int kEventsPerRound = 64;

void SetIntOption(int fd, int level, int opt, int value) {
  (void)::setsockopt(fd, level, opt, &value, sizeof(value));
}

// Options every data connection gets (best effort: the connection works without them).
void TuneConnection(int fd, uint32_t mark) {
  SetIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  SetIntOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  SetIntOption(fd, IPPROTO_TCP, TCP_KEEPIDLE, kTcpKeepIdleSec);
  SetIntOption(fd, IPPROTO_TCP, TCP_KEEPINTVL, kTcpKeepIntvlSec);
  SetIntOption(fd, IPPROTO_TCP, TCP_KEEPCNT, kTcpKeepCnt);
  SetIntOption(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, kTcpUserTimeoutMs);
  SetIntOption(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, kTcpNotSentLowat);
  if (mark != 0) SetIntOption(fd, SOL_SOCKET, SO_MARK, int(mark));
}

TcpCounter CounterFor(FrameError e) {
  switch (e) {
    case FrameError::kOversize:
      return TcpCounter::kDropOversize;
    case FrameError::kUndersize:
      return TcpCounter::kDropUndersize;
    case FrameError::kBadSize:
      return TcpCounter::kDropBadSize;
    default:
      return TcpCounter::kDropBadType;
  }
}

}  // namespace

const char* TcpCounterName(TcpCounter c) {
  switch (c) {
    case TcpCounter::kAccepted:
      return "tcp_accepted";
    case TcpCounter::kDialed:
      return "tcp_dialed";
    case TcpCounter::kConnectFailed:
      return "tcp_connect_failed";
    case TcpCounter::kClosedByPeer:
      return "tcp_closed_by_peer";
    case TcpCounter::kDropOversize:
      return "tcp_drop_frame_oversize";
    case TcpCounter::kDropUndersize:
      return "tcp_drop_frame_undersize";
    case TcpCounter::kDropBadType:
      return "tcp_drop_frame_bad_type";
    case TcpCounter::kDropBadSize:
      return "tcp_drop_frame_bad_size";
    case TcpCounter::kDropSendQueueFull:
      return "tcp_drop_send_queue_full";
    case TcpCounter::kDropNoConnection:
      return "tcp_drop_no_connection";
    case TcpCounter::kDropTooLarge:
      return "tcp_drop_too_large";
    case TcpCounter::kRefusedUnauthenticated:
      return "tcp_refused_unauthenticated";
    case TcpCounter::kRefusedLimit:
      return "tcp_refused_limit";
    case TcpCounter::kClosedUnauthenticated:
      return "tcp_closed_unauthenticated";
    case TcpCounter::kClosedIdle:
      return "tcp_closed_idle";
    case TcpCounter::kCount:
      break;
  }
  return "tcp_unknown";
}

struct TcpTransport::Conn {
  uint64_t id = 0;
  bool outbound = false;
  Endpoint from;  // what RecvPacket.from says: {tcp, address, 0} dialed, {tcp, address, id} else
  TimePoint created{};
  std::atomic<bool> authenticated{false};
  std::atomic<bool> connecting{false};
  std::atomic<int64_t> last_activity_ns{0};
  FrameDecoder rx;  // loop thread only
  bool in_pending = false;

  std::mutex send_mu;
  UniqueFd fd;                // guarded by send_mu (closed under it: no write after reuse)
  bool closed = false;        // guarded by send_mu
  std::vector<uint8_t> ring;  // guarded by send_mu; allocated on first send
  size_t head = 0;            // guarded by send_mu
  size_t used = 0;            // guarded by send_mu
  bool out_armed = false;     // guarded by send_mu
  int raw_fd = -1;            // the fd's number, for epoll (valid while !closed)
};

struct TcpTransport::Dialer {
  Endpoint to;  // {tcp, address, 0}
  ConnPtr conn;
  ReconnectBackoff backoff;
  std::optional<TimePoint> retry_at;
  TimePoint last_wanted{};
};

TcpTransport::TcpTransport(TcpOptions options)
    : options_(options), clock_(options.clock != nullptr ? *options.clock : Clock::Real()) {
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  TUNDRA_CHECK(epoll_fd_.valid());
  timer_fd_.reset(::timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK));
  TUNDRA_CHECK(timer_fd_.valid());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTimer;
  TUNDRA_CHECK(::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, timer_fd_.get(), &ev) == 0);
}

TcpTransport::~TcpTransport() { CloseAll(); }

void TcpTransport::EnsureTicking() {
  if (ticking_.exchange(true)) return;
  itimerspec spec{};
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(kTcpTick).count();
  spec.it_interval.tv_sec = ns / 1000000000;
  spec.it_interval.tv_nsec = ns % 1000000000;
  spec.it_value = spec.it_interval;
  ::timerfd_settime(timer_fd_.get(), 0, &spec, nullptr);
}

Status TcpTransport::Listen(uint16_t port) {
  StopListening();
  std::array<UniqueFd, 2> socks;
  for (int family : {AF_INET, AF_INET6}) {
    const char* name = family == AF_INET ? "tcp4" : "tcp6";
    int raw = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (raw < 0) {
      if (family == AF_INET6 && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) break;
      return ErrnoError(fmt::format("socket({})", name));
    }
    UniqueFd fd(raw);
    SetIntOption(raw, SOL_SOCKET, SO_REUSEADDR, 1);  // a restarted daemon binds at once
    if (family == AF_INET6) SetIntOption(raw, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (mark_.load() != 0) SetIntOption(raw, SOL_SOCKET, SO_MARK, int(mark_.load()));
    sockaddr_storage ss;
    socklen_t len = WildcardAddress(family, port, ss);
    if (::bind(raw, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      if (family == AF_INET6 && errno == EADDRNOTAVAIL) break;
      return ErrnoError(fmt::format("bind({} :{})", name, port));
    }
    if (port == 0) {  // the IPv6 listener takes the port the IPv4 one got
      len = sizeof(ss);
      if (::getsockname(raw, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
        port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      }
    }
    if (::listen(raw, int(kTcpMaxUnauthenticated)) != 0) {
      return ErrnoError(fmt::format("listen({} :{})", name, port));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = family == AF_INET ? kListener4 : kListener6;
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, raw, &ev) != 0) {
      return ErrnoError("epoll_ctl(tcp listener)");
    }
    socks[family == AF_INET ? 0 : 1] = std::move(fd);
  }
  listeners_ = std::move(socks);
  listen_port_.store(port);
  EnsureTicking();
  TUNDRA_LOG(kVerbose, "TCP transport listening on port {}", port);
  return OkStatus();
}

void TcpTransport::StopListening() {
  for (UniqueFd& l : listeners_) l.reset();
  listen_port_.store(0);
}

Status TcpTransport::SetMark(uint32_t mark) {
  mark_.store(mark);
  for (const UniqueFd& l : listeners_) {
    if (l.valid() && ::setsockopt(l.get(), SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
      return ErrnoError(fmt::format("setsockopt(SO_MARK={:#x}) tcp listener", mark));
    }
  }
  std::lock_guard lock(mu_);
  for (auto& [id, c] : conns_) {
    std::lock_guard send(c->send_mu);
    if (!c->closed) SetIntOption(c->fd.get(), SOL_SOCKET, SO_MARK, int(mark));
  }
  return OkStatus();
}

void TcpTransport::CloseAll() {
  StopListening();
  std::vector<ConnPtr> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : conns_) all.push_back(c);
    conns_.clear();
    dialers_.clear();
  }
  for (const ConnPtr& c : all) {
    std::lock_guard send(c->send_mu);
    c->closed = true;
    c->fd.reset();
  }
  // Spans handed out by the last Receive stay valid: those connections sit in delivered_.
}

void TcpTransport::SetOnConnected(std::function<void(const Endpoint&)> callback) {
  std::lock_guard lock(mu_);
  on_connected_ = std::move(callback);
}

size_t TcpTransport::connection_count() const {
  std::lock_guard lock(mu_);
  return conns_.size();
}

void TcpTransport::AppendCounters(std::vector<std::pair<std::string, uint64_t>>& out) const {
  for (size_t i = 0; i < size_t(TcpCounter::kCount); ++i) {
    out.emplace_back(TcpCounterName(TcpCounter(i)), counters_[i].load());
  }
}

void TcpTransport::MarkAuthenticated(const Endpoint& from) {
  if (!from.is_tcp() || from.connection() == 0) return;
  std::lock_guard lock(mu_);
  auto it = conns_.find(from.connection());
  if (it != conns_.end()) it->second->authenticated.store(true);
}

void TcpTransport::SetEvents(Conn& c, bool want_out) {
  epoll_event ev{};
  ev.events = EPOLLIN | (want_out ? uint32_t(EPOLLOUT) : 0u);
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
  c.out_armed = want_out;
}

// ------------------------------------------------------------------------------- receiving

Result<size_t> TcpTransport::Receive(std::span<RecvPacket> out) {
  graveyard_.clear();
  for (const ConnPtr& c : delivered_) c->rx.Compact();
  delivered_.clear();
  size_t n = 0;
  // Frames left over from a full batch first, in order.
  while (!pending_.empty() && n < out.size()) {
    ConnPtr c = pending_.front();
    pending_.erase(pending_.begin());
    c->in_pending = false;
    n = Deliver(c, out, n);
  }
  if (n == out.size()) return n;

  epoll_event events[kEventsPerRound];
  const int got = ::epoll_wait(epoll_fd_.get(), events, kEventsPerRound, 0);
  if (got < 0 && errno != EINTR) return ErrnoError("epoll_wait(tcp)");
  for (int i = 0; i < got; ++i) {
    const uint64_t key = events[i].data.u64;
    if (key == kTimer) {
      uint64_t ticks;
      while (::read(timer_fd_.get(), &ticks, sizeof(ticks)) > 0) {
      }
      Tick(clock_.Now());
      continue;
    }
    if (key == kListener4 || key == kListener6) {
      Accept(key == kListener4 ? 0 : 1);
      continue;
    }
    ConnPtr c;
    {
      std::lock_guard lock(mu_);
      auto it = conns_.find(key);
      if (it != conns_.end()) c = it->second;
    }
    if (!c) continue;
    const uint32_t ev = events[i].events;
    if (c->connecting.load()) {
      if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) FinishConnect(c);
      continue;
    }
    if (ev & EPOLLOUT) {
      std::lock_guard send(c->send_mu);
      if (!c->closed) (void)FlushLocked(*c);
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      // With `out` full the connection waits: level-triggered, it is reported again.
      if (n < out.size()) n = ReadConn(c, out, n);
    }
  }
  return n;
}

size_t TcpTransport::Deliver(const ConnPtr& c, std::span<RecvPacket> out, size_t n) {
  bool handed = false;
  while (n < out.size()) {
    MutableByteSpan msg;
    const FrameDecoder::Status s = c->rx.Next(msg);
    if (s == FrameDecoder::Status::kNeedMore) break;
    if (s == FrameDecoder::Status::kError) {
      Count(CounterFor(c->rx.error()));
      TUNDRA_LOG_RATELIMITED(kVerbose, "TCP connection from {}: {} frame, dropped",
                             c->from.ToString(), FrameErrorName(c->rx.error()));
      CloseConn(c, std::nullopt);
      break;
    }
    out[n++] = RecvPacket{msg, c->from};
    handed = true;
  }
  if (handed) delivered_.push_back(c);
  if (n == out.size() && c->rx.buffered() >= kFrameHeaderSize && !c->in_pending) {
    c->in_pending = true;
    pending_.push_back(c);
  }
  return n;
}

size_t TcpTransport::ReadConn(const ConnPtr& c, std::span<RecvPacket> out, size_t n) {
  int fd;
  {
    std::lock_guard send(c->send_mu);
    if (c->closed) return n;
    fd = c->fd.get();
  }
  // Only the loop thread closes a connection's fd, so it stays valid here.
  MutableByteSpan tail = c->rx.WritableTail();
  if (tail.empty()) return Deliver(c, out, n);  // full of frames not yet handed out
  const ssize_t r = RetryOnEintr(::recv, fd, tail.data(), tail.size(), MSG_DONTWAIT);
  if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    n = Deliver(c, out, n);  // what arrived before the end still counts
    CloseConn(c, TcpCounter::kClosedByPeer);
    return n;
  }
  if (r < 0) return n;
  c->rx.Commit(size_t(r));
  c->last_activity_ns.store(clock_.Now().time_since_epoch().count());
  const size_t before = n;
  n = Deliver(c, out, n);
  if (n > before && c->outbound) {
    std::lock_guard lock(mu_);  // a frame arrived: the address works, delays start over
    for (auto& d : dialers_) {
      if (d->conn == c) d->backoff.Reset();
    }
  }
  return n;
}

void TcpTransport::Accept(int index) {
  const int lfd = listeners_[size_t(index)].get();
  if (lfd < 0) return;
  for (size_t i = 0; i < kTcpAcceptsPerRound; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    const int raw =
        ::accept4(lfd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (raw < 0) return;
    UniqueFd fd(raw);
    std::lock_guard lock(mu_);
    size_t unauthenticated = 0;
    for (auto& [id, c] : conns_) unauthenticated += !c->outbound && !c->authenticated.load();
    if (conns_.size() >= kTcpMaxConnections) {
      Count(TcpCounter::kRefusedLimit);
      continue;
    }
    if (unauthenticated >= options_.max_unauthenticated) {
      Count(TcpCounter::kRefusedUnauthenticated);
      continue;
    }
    auto c = std::make_shared<Conn>();
    c->id = next_id_++;
    c->from = Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len)
                  .WithTransport(Transport::kTcp, c->id);
    c->created = clock_.Now();
    c->last_activity_ns.store(c->created.time_since_epoch().count());
    TuneConnection(raw, mark_.load());
    c->raw_fd = raw;
    c->fd = std::move(fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, raw, &ev) != 0) continue;
    conns_.emplace(c->id, c);
    Count(TcpCounter::kAccepted);
    TUNDRA_LOG(kDebug, "TCP connection {} accepted from {}", c->id, c->from.ToString());
  }
}

void TcpTransport::FinishConnect(const ConnPtr& c) {
  int err = 0;
  socklen_t len = sizeof(err);
  {
    std::lock_guard send(c->send_mu);
    if (c->closed) return;
    if (::getsockopt(c->fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  }
  if (err != 0) {
    TUNDRA_LOG_RATELIMITED(kVerbose, "TCP connect to {}: {}", c->from.ToString(),
                           std::strerror(err));
    CloseConn(c, TcpCounter::kConnectFailed);
    return;
  }
  c->connecting.store(false);
  c->last_activity_ns.store(clock_.Now().time_since_epoch().count());
  Count(TcpCounter::kDialed);
  TUNDRA_LOG(kVerbose, "TCP connection {} to {} established", c->id, c->from.ToString());
  {
    std::lock_guard send(c->send_mu);
    SetEvents(*c, false);
    (void)FlushLocked(*c);
  }
  std::function<void(const Endpoint&)> cb;
  {
    std::lock_guard lock(mu_);
    cb = on_connected_;
  }
  if (cb) cb(c->from);
}

void TcpTransport::CloseConn(const ConnPtr& c, std::optional<TcpCounter> why) {
  {
    std::lock_guard send(c->send_mu);
    if (c->closed) return;
    c->closed = true;
    c->fd.reset();
  }
  if (why) Count(*why);
  const TimePoint now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    conns_.erase(c->id);
    for (auto& d : dialers_) {
      if (d->conn != c) continue;
      d->conn.reset();
      d->retry_at = now + d->backoff.Next();
    }
  }
  TUNDRA_LOG(kDebug, "TCP connection {} ({}) closed", c->id, c->from.ToString());
  graveyard_.push_back(c);
}

void TcpTransport::Tick(TimePoint now) {
  std::vector<ConnPtr> expired;
  std::vector<std::pair<ConnPtr, TcpCounter>> to_close;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : conns_) {
      const TimePoint last{Duration(c->last_activity_ns.load())};
      if (c->connecting.load()) {
        if (now - c->created >= kTcpConnectTimeout) {
          to_close.emplace_back(c, TcpCounter::kConnectFailed);
        }
      } else if (!c->outbound && !c->authenticated.load()) {
        if (now - c->created >= options_.unauthenticated_timeout) {
          to_close.emplace_back(c, TcpCounter::kClosedUnauthenticated);
        }
      } else if (now - last >= kTcpIdleTimeout) {
        to_close.emplace_back(c, TcpCounter::kClosedIdle);
      }
    }
  }
  for (auto& [c, why] : to_close) CloseConn(c, why);
  std::lock_guard lock(mu_);
  for (auto it = dialers_.begin(); it != dialers_.end();) {
    Dialer& d = **it;
    if (!d.conn && now - d.last_wanted >= kTcpDialLinger) {
      it = dialers_.erase(it);  // nothing sent to it for a while: no more reconnecting
      continue;
    }
    if (!d.conn && d.retry_at && *d.retry_at <= now) StartConnectLocked(d, now);
    ++it;
  }
}

// ------------------------------------------------------------------------------- sending

TcpTransport::Dialer* TcpTransport::FindDialerLocked(const Endpoint& to) {
  for (auto& d : dialers_) {
    if (d->to == to) return d.get();
  }
  if (dialers_.size() >= kTcpMaxDialTargets) return nullptr;
  auto d = std::make_unique<Dialer>();
  d->to = to;
  dialers_.push_back(std::move(d));
  EnsureTicking();
  return dialers_.back().get();
}

void TcpTransport::StartConnectLocked(Dialer& d, TimePoint now) {
  d.retry_at.reset();
  if (conns_.size() >= kTcpMaxConnections) {
    Count(TcpCounter::kRefusedLimit);
    d.retry_at = now + d.backoff.Next();
    return;
  }
  const int raw = ::socket(d.to.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (raw < 0) {
    Count(TcpCounter::kConnectFailed);
    d.retry_at = now + d.backoff.Next();
    return;
  }
  UniqueFd fd(raw);
  TuneConnection(raw, mark_.load());
  if (::connect(raw, d.to.sockaddr_ptr(), d.to.socklen()) != 0 && errno != EINPROGRESS) {
    TUNDRA_LOG_RATELIMITED(kVerbose, "TCP connect to {}: {}", d.to.ToString(),
                           std::strerror(errno));
    Count(TcpCounter::kConnectFailed);
    d.retry_at = now + d.backoff.Next();
    return;
  }
  auto c = std::make_shared<Conn>();
  c->id = next_id_++;
  c->outbound = true;
  c->from = d.to;
  c->created = now;
  c->connecting.store(true);
  c->last_activity_ns.store(now.time_since_epoch().count());
  c->raw_fd = raw;
  c->fd = std::move(fd);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u64 = c->id;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, raw, &ev) != 0) {
    Count(TcpCounter::kConnectFailed);
    d.retry_at = now + d.backoff.Next();
    return;
  }
  conns_.emplace(c->id, c);
  d.conn = c;
  TUNDRA_LOG(kDebug, "TCP connection {} to {}: connecting", c->id, d.to.ToString());
}

Status TcpTransport::Send(std::span<const ByteSpan> messages, const Endpoint& to) {
  ConnPtr c;
  const TimePoint now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    if (to.connection() != 0) {
      auto it = conns_.find(to.connection());
      if (it != conns_.end()) c = it->second;
    } else if (Dialer* d = FindDialerLocked(to.WithTransport(Transport::kTcp))) {
      d->last_wanted = now;
      if (!d->conn && (!d->retry_at || *d->retry_at <= now)) StartConnectLocked(*d, now);
      c = d->conn;
    }
  }
  auto no_connection = [&] {
    Count(TcpCounter::kDropNoConnection, messages.size());
    return MakeError(ENOTCONN, fmt::format("send to tcp {}: no connection", to.ToString()));
  };
  if (!c) return no_connection();
  std::lock_guard send(c->send_mu);
  if (c->closed) return no_connection();
  if (c->ring.empty()) c->ring.resize(kTcpSendQueueBytes);
  const size_t cap = c->ring.size();
  auto put = [&](const uint8_t* p, size_t len) {
    size_t tail = (c->head + c->used) % cap;
    const size_t first = std::min(len, cap - tail);
    std::memcpy(c->ring.data() + tail, p, first);
    std::memcpy(c->ring.data(), p + first, len - first);
    c->used += len;
  };
  for (ByteSpan m : messages) {
    if (m.size() > kMaxFrameMessage) {
      Count(TcpCounter::kDropTooLarge);
      continue;
    }
    if (cap - c->used < kFrameHeaderSize + m.size()) {
      Count(TcpCounter::kDropSendQueueFull);
      continue;
    }
    uint8_t header[kFrameHeaderSize];
    EncodeFrameHeader(m.size(), header);
    put(header, sizeof(header));
    put(m.data(), m.size());
  }
  if (c->connecting.load()) return OkStatus();  // leaves once connected
  return FlushLocked(*c);
}

Status TcpTransport::FlushLocked(Conn& c) {
  const size_t cap = c.ring.size();
  while (c.used != 0) {
    iovec iov[2];
    const size_t first = std::min(c.used, cap - c.head);
    iov[0] = {c.ring.data() + c.head, first};
    iov[1] = {c.ring.data(), c.used - first};
    msghdr h{};
    h.msg_iov = iov;
    h.msg_iovlen = iov[1].iov_len != 0 ? 2 : 1;
    const ssize_t w = RetryOnEintr(::sendmsg, c.fd.get(), &h, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c.out_armed) SetEvents(c, true);
        return OkStatus();
      }
      // The receive side sees the error too (EPOLLERR/EPOLLHUP) and closes the connection.
      return ErrnoError(fmt::format("send(tcp {})", c.from.ToString()));
    }
    c.head = (c.head + size_t(w)) % cap;
    c.used -= size_t(w);
    c.last_activity_ns.store(clock_.Now().time_since_epoch().count());
  }
  c.head = 0;
  if (c.out_armed) SetEvents(c, false);
  return OkStatus();
}

}  // namespace tundra::transport
