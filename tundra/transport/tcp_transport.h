// TcpTransport: WireGuard messages over TCP connections (docs/tcp-transport.md), the stream
// half of MuxBind. One poll fd (an epoll set of the listeners, the connections and a tick
// timer) for the device's receive thread, which runs everything but the sends:
//   - listeners (IPv4 and IPv6) accept connections; each is unauthenticated until the device
//     calls MarkAuthenticated for a message that arrived on it. At most
//     kTcpMaxUnauthenticated of those at once (more are refused and counted), each closed
//     after kTcpUnauthenticatedTimeout without one.
//   - sends to {tcp, address, connection 0} go over this side's outbound connection to that
//     address: dialed on first use, dialed again with ReconnectBackoff when it drops, for as
//     long as something was sent to it in the last kTcpDialLinger.
//   - frames are decoded in place (FrameDecoder); a bad frame drops its connection and counts
//     the reason; other connections go on.
//   - sends copy each frame into the connection's bounded send queue (kTcpSendQueueBytes; a
//     frame that does not fit is dropped and counted: the tunnel's own TCP sees loss, not an
//     ever-growing delay) and write what the socket takes; the rest leaves on EPOLLOUT.
// Thread-safety: Receive() from one thread; Send/MarkAuthenticated from any thread.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "tundra/base/clock.h"
#include "tundra/base/unique_fd.h"
#include "tundra/transport/bind.h"
#include "tundra/transport/tcp_frame.h"
#include "tundra/transport/tcp_policy.h"

namespace tundra::transport {

inline constexpr size_t kTcpMaxConnections = 256;        // all connections, both directions
inline constexpr size_t kTcpMaxUnauthenticated = 32;     // accepted, no valid message yet
inline constexpr size_t kTcpMaxDialTargets = 256;        // addresses with an outbound connection
inline constexpr size_t kTcpSendQueueBytes = 512 << 10;  // per connection, frames included
inline constexpr size_t kTcpAcceptsPerRound = 16;
inline constexpr Duration kTcpUnauthenticatedTimeout = std::chrono::seconds(15);
inline constexpr Duration kTcpIdleTimeout = std::chrono::seconds(600);  // nothing either way
inline constexpr Duration kTcpConnectTimeout = std::chrono::seconds(10);
inline constexpr Duration kTcpDialLinger = std::chrono::seconds(180);
inline constexpr Duration kTcpTick = std::chrono::milliseconds(100);
// Socket options: keepalive probes after 15 s idle, every 5 s, 3 unanswered = dead; unacked
// data older than kTcpUserTimeoutMs drops the connection; at most kTcpNotSentLowat bytes
// unsent in the kernel (the rest waits in our bounded queue).
inline constexpr int kTcpKeepIdleSec = 15;
inline constexpr int kTcpKeepIntvlSec = 5;
inline constexpr int kTcpKeepCnt = 3;
inline constexpr int kTcpUserTimeoutMs = 30000;
inline constexpr int kTcpNotSentLowat = 128 << 10;

enum class TcpCounter : uint8_t {
  kAccepted,                // connections accepted
  kDialed,                  // outbound connections established
  kConnectFailed,           // outbound attempts that failed or timed out
  kClosedByPeer,            // EOF, reset or socket error
  kDropOversize,            // connection dropped: frame length > kMaxFrameMessage
  kDropUndersize,           // connection dropped: frame length < kMinFrameMessage
  kDropBadType,             // connection dropped: not a WireGuard message type
  kDropBadSize,             // connection dropped: wrong size for its type
  kDropSendQueueFull,       // frame dropped: the connection's send queue is full
  kDropNoConnection,        // frame dropped: no live connection to send it on
  kDropTooLarge,            // frame dropped: message larger than a frame may be
  kRefusedUnauthenticated,  // accepted and closed: kTcpMaxUnauthenticated reached
  kRefusedLimit,            // accepted (or dial) refused: kTcpMaxConnections reached
  kClosedUnauthenticated,   // closed: no valid message within kTcpUnauthenticatedTimeout
  kClosedIdle,              // closed: kTcpIdleTimeout without traffic
  kCount
};
const char* TcpCounterName(TcpCounter c);

struct TcpOptions {
  const Clock* clock = nullptr;  // default Clock::Real()
  size_t max_unauthenticated = kTcpMaxUnauthenticated;
  Duration unauthenticated_timeout = kTcpUnauthenticatedTimeout;
};

class TcpTransport {
 public:
  explicit TcpTransport(TcpOptions options = {});
  ~TcpTransport();
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  int poll_fd() const { return epoll_fd_.get(); }
  // Listens on `port` (IPv4, and IPv6 when the host has it); replaces any listener.
  Status Listen(uint16_t port);
  void StopListening();
  uint16_t listen_port() const { return listen_port_.load(); }
  Status SetMark(uint32_t mark);
  // Closes every connection and listener, forgets every dial target.
  void CloseAll();

  Result<size_t> Receive(std::span<RecvPacket> out);
  Status Send(std::span<const ByteSpan> messages, const Endpoint& to);
  void MarkAuthenticated(const Endpoint& from);
  void SetOnConnected(std::function<void(const Endpoint&)> callback);

  uint64_t counter(TcpCounter c) const { return counters_[size_t(c)].load(); }
  void AppendCounters(std::vector<std::pair<std::string, uint64_t>>& out) const;
  size_t connection_count() const;

 private:
  struct Conn;
  struct Dialer;
  using ConnPtr = std::shared_ptr<Conn>;

  void Count(TcpCounter c, uint64_t n = 1) { counters_[size_t(c)].fetch_add(n); }
  void EnsureTicking();
  void Accept(int listener);
  void Tick(TimePoint now);
  // Loop thread. Reads what the connection has, decodes into out[n..]; returns the new n.
  size_t ReadConn(const ConnPtr& c, std::span<RecvPacket> out, size_t n);
  size_t Deliver(const ConnPtr& c, std::span<RecvPacket> out, size_t n);
  void FinishConnect(const ConnPtr& c);
  void CloseConn(const ConnPtr& c, std::optional<TcpCounter> why);
  // Caller holds mu_.
  Dialer* FindDialerLocked(const Endpoint& to);
  void StartConnectLocked(Dialer& d, TimePoint now);
  // Caller holds c.send_mu. Writes queued bytes; arms/disarms EPOLLOUT.
  Status FlushLocked(Conn& c);
  void SetEvents(Conn& c, bool want_out);

  TcpOptions options_;
  const Clock& clock_;
  UniqueFd epoll_fd_;
  UniqueFd timer_fd_;
  std::atomic<bool> ticking_{false};
  std::array<UniqueFd, 2> listeners_;  // IPv4, IPv6; loop thread + Listen (under bind_mu_)
  std::atomic<uint16_t> listen_port_{0};
  std::atomic<uint32_t> mark_{0};

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, ConnPtr> conns_;        // guarded by mu_
  std::vector<std::unique_ptr<Dialer>> dialers_;       // guarded by mu_
  uint64_t next_id_ = 16;                              // guarded by mu_ (0..15: special)
  std::function<void(const Endpoint&)> on_connected_;  // guarded by mu_

  // Loop thread only.
  std::vector<ConnPtr> delivered_;  // handed out frames last Receive: compact first
  std::vector<ConnPtr> pending_;    // complete frames left over when `out` was full
  std::vector<ConnPtr> graveyard_;  // closed last Receive: buffers die at the next one

  std::array<std::atomic<uint64_t>, size_t(TcpCounter::kCount)> counters_{};
};

}  // namespace tundra::transport
