// The control thread: handshake messages (kernel receive.c wg_receive_handshake_packet),
// queued initiations and staged-packet flushes, and the per-peer timers (kernel timers.c).
#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "tundra/base/log.h"
#include "tundra/device/device.h"
#include "tundra/proto/constants.h"

namespace tundra::device {
namespace {

// Cookie MACs are keyed on the sender's address and port.
size_t SourceBytes(const transport::Endpoint& from, uint8_t out[18]) {
  ByteSpan addr = from.AddressBytes();
  std::memcpy(out, addr.data(), addr.size());
  StoreBe16(out + addr.size(), from.port());
  return addr.size() + 2;
}

}  // namespace

void Device::ControlLoop() {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  TUNDRA_CHECK(ep >= 0);
  UniqueFd epoll_fd(ep);
  epoll_event ev{};
  ev.events = EPOLLIN;
  for (int fd : {stop_fd_.get(), control_fd_.get()}) {
    ev.data.fd = fd;
    TUNDRA_CHECK(::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
  }
  while (!stopping_.load(std::memory_order_relaxed)) {
    // Sleep until the earliest peer deadline, or a second at most: the rate limiter's garbage
    // collection wants a pass about once a second.
    const TimePoint now = clock_.Now();
    auto plan = [&] {
      const TimePoint gc_at = now + std::chrono::seconds(1);
      const auto next = timers_.Earliest();
      return next && *next < gc_at ? *next : gc_at;
    };
    TimePoint wake_at = plan();
    // Publish the plan, then look again: a deadline scheduled before the store is seen here,
    // one scheduled after it sees the plan and wakes this thread (ScheduleTimersLocked).
    control_wake_at_ns_.store(wake_at.time_since_epoch().count());
    wake_at = std::min(wake_at, plan());
    int timeout_ms = 0;
    if (wake_at > now) {
      timeout_ms = int(std::chrono::ceil<std::chrono::milliseconds>(wake_at - now).count());
    }
    epoll_event events[2];
    int n = ::epoll_wait(ep, events, 2, timeout_ms);
    if (n < 0 && errno != EINTR) {
      TUNDRA_LOG(kError, "{}: epoll_wait (control): {}", options_.name, std::strerror(errno));
      return;
    }
    if (stopping_.load()) break;
    control_wake_at_ns_.store(0);  // awake: no pokes needed
    uint64_t drained;
    while (::read(control_fd_.get(), &drained, sizeof(drained)) > 0) {
    }
    ControlPass();
  }
}

void Device::ControlPass() {
  // 1. Handshake messages, oldest first.
  std::deque<QueuedHandshake> queue;
  {
    std::lock_guard lock(work_mu_);
    queue.swap(handshake_queue_);
  }
  const TimePoint now = clock_.Now();
  size_t remaining = queue.size();
  for (QueuedHandshake& msg : queue) {
    // "Under load" while the backlog is deep, and for a second after (kernel receive.c).
    bool under_load = remaining >= options_.max_queued_handshakes / 8;
    if (under_load) {
      last_under_load_ = now;
    } else if (last_under_load_) {
      under_load = now - *last_under_load_ < proto::kUnderLoadAfterTime;
      if (!under_load) last_under_load_.reset();
    }
    ProcessHandshake(msg, under_load);
    --remaining;
  }

  // 2. Work the data threads asked for.
  std::vector<PeerPtr> work;
  {
    std::lock_guard lock(work_mu_);
    work.swap(peer_work_);
  }
  for (const PeerPtr& peer : work) {
    CheckRoute(peer);
    // The flag stays set until SendInitiation has stored its send time: a data thread's request
    // in between is the same initiation, not a second one (RequestInitiation's result counts).
    if (peer->initiation_wanted.load()) {
      SendInitiation(peer, false);
      peer->initiation_wanted.store(false);
    }
    const bool keepalive = peer->keepalive_wanted.exchange(false);
    if (peer->flush_wanted.exchange(false) || keepalive) FlushStaged(peer, keepalive);
  }

  // 3. TCP connections that came up, auto probes; then the timers.
  RunTransportWork(clock_.Now());
  RunTimers(clock_.Now());
  rate_limiter_.GarbageCollect();
  // 4. TAP mode: forget the MACs not renewed for MACExpiry (only the expired entries cost).
  if (switch_) {
    const TimePoint t = clock_.Now();
    if (t >= next_mac_expiry_) {
      switch_->table().Expire(t);
      next_mac_expiry_ = t + l2::kMacRefreshInterval;
    }
  }
}

void Device::ProcessHandshake(QueuedHandshake& msg, bool under_load) {
  const uint32_t type = LoadLe32(msg.bytes.data());
  if (type == uint32_t(proto::MessageType::kCookieReply)) {
    HandleCookieReply(msg);
    return;
  }
  uint8_t src[18];
  const size_t src_len = SourceBytes(msg.from, src);
  proto::MacState mac;
  {
    std::lock_guard lock(checker_mu_);
    mac = cookie_checker_.Validate(ByteSpan(msg.bytes.data(), msg.size), ByteSpan(src, src_len),
                                   under_load);
  }
  bool needs_cookie = false;
  if (mac == proto::MacState::kInvalidMac1) {
    drops_.Add(proto::DropReason::kInvalidMac1);
    return;
  }
  if (under_load) {
    if (mac == proto::MacState::kValidMac1) {
      needs_cookie = true;
    } else if (!rate_limiter_.Allow(msg.from.AddressBytes())) {
      drops_.Add(proto::DropReason::kRateLimited);
      return;
    }
  }
  if (type == uint32_t(proto::MessageType::kInitiation)) {
    HandleInitiation(msg, needs_cookie);
  } else {
    HandleResponse(msg, needs_cookie);
  }
}

// Under load, a handshake message without a valid mac2 is answered only with a cookie reply
// (to its sender index, at its source address) and otherwise dropped.
void Device::SendCookieReply(const QueuedHandshake& msg, uint32_t sender_index) {
  proto::MessageCookieReply reply;
  uint8_t src[18];
  const size_t src_len = SourceBytes(msg.from, src);
  {
    std::lock_guard lock(checker_mu_);
    cookie_checker_.CreateReply(ByteSpan(msg.bytes.data(), msg.size), sender_index,
                                ByteSpan(src, src_len), reply);
  }
  const ByteSpan datagram = proto::AsBytes(reply);
  Status s = SendDatagrams(std::span<const ByteSpan>(&datagram, 1), msg.from);
  if (!s.ok()) CountSendFailure(s.error(), 1);  // the reply is lost (the message is counted below)
  drops_.Add(proto::DropReason::kCookieSent);
}

void Device::HandleInitiation(QueuedHandshake& msg, bool needs_cookie) {
  const auto m = proto::LoadMessage<proto::MessageInitiation>(ByteSpan(msg.bytes.data(), msg.size));
  if (needs_cookie) {
    SendCookieReply(msg, m.sender_index);
    return;
  }
  const TimePoint now = clock_.Now();
  std::shared_lock config(config_mu_);
  proto::DecryptedInitiation d;
  proto::DropReason r = proto::DecryptInitiation(*identity_, m, d);
  if (r != proto::DropReason::kNone) {
    drops_.Add(r);
    return;
  }
  auto it = peers_.find(d.remote_static);
  if (it == peers_.end()) {
    drops_.Add(proto::DropReason::kUnknownPeer);
    return;
  }
  PeerPtr peer = it->second;
  proto::MessageResponse resp;
  bool bind_connection = false;
  {
    std::lock_guard lock(peer->mu);
    PrepareHandshakeLocked(*peer);
    r = peer->handshake.ConsumeInitiation(d, m, now);
    if (r != proto::DropReason::kNone) {
      drops_.Add(r);
      TUNDRA_LOG_RATELIMITED(kDebug, "{}: invalid handshake initiation from {}: {}", options_.name,
                             msg.from.ToString(), proto::DropReasonName(r));
      return;
    }
    bind_connection = SetEndpointLocked(*peer, msg.from, true);
    peer->rx_bytes.fetch_add(msg.size, std::memory_order_relaxed);
    TUNDRA_LOG(kDebug, "{}: receiving handshake initiation from peer {} ({})", options_.name,
               peer->id(), msg.from.ToString());

    // Answer it (kernel wg_packet_send_handshake_response).
    peer->last_sent_handshake_ns.store(now.time_since_epoch().count());
    const uint32_t index = BeginPendingHandshakeLocked(peer);
    if (peer->handshake.CreateResponse(index, resp) != proto::DropReason::kNone) {
      ClearPendingHandshakeLocked(*peer);
      drops_.Add(proto::DropReason::kLowOrderKey);
      return;
    }
    peer->cookie_jar.AddMacs(proto::AsMutableBytes(resp), now);
    InstallSessionLocked(peer, now);
    peer->timers.OnAnyAuthenticatedPacketTraversal(now);
    peer->timers.OnAnyAuthenticatedPacketSent(now);
    peer->timers.OnAnyAuthenticatedPacketReceived(now);
    ScheduleTimersLocked(peer);
  }
  // Lock order: the peer lock is released before the bind's.
  if (bind_connection) {
    std::shared_lock bind(bind_mu_);
    bind_->MarkAuthenticated(msg.from);
  }
  const ByteSpan datagram = proto::AsBytes(resp);
  Status s = SendDatagrams(std::span<const ByteSpan>(&datagram, 1), msg.from);
  if (s.ok()) {
    peer->tx_bytes.fetch_add(sizeof(resp), std::memory_order_relaxed);
  } else {
    CountSendFailure(s.error(), 1, peer.get());
  }
}

void Device::HandleResponse(QueuedHandshake& msg, bool needs_cookie) {
  const auto m = proto::LoadMessage<proto::MessageResponse>(ByteSpan(msg.bytes.data(), msg.size));
  if (needs_cookie) {
    SendCookieReply(msg, m.sender_index);
    return;
  }
  auto entry = indices_.Lookup(m.receiver_index);
  if (!entry || entry->keypair) {
    drops_.Add(proto::DropReason::kUnexpectedMessage);
    return;
  }
  PeerPtr peer = entry->peer;
  const TimePoint now = clock_.Now();
  bool bind_connection = false;
  {
    std::shared_lock config(config_mu_);
    std::lock_guard lock(peer->mu);
    if (peer->removed || peer->handshake_index != m.receiver_index) {
      drops_.Add(proto::DropReason::kUnexpectedMessage);
      return;
    }
    PrepareHandshakeLocked(*peer);
    proto::DropReason r = peer->handshake.ConsumeResponse(*identity_, m);
    if (r != proto::DropReason::kNone) {
      drops_.Add(r);
      return;
    }
    // Before the session: its up event names the endpoint.
    bind_connection = SetEndpointLocked(*peer, msg.from, true);
    InstallSessionLocked(peer, now);
    peer->rx_bytes.fetch_add(msg.size, std::memory_order_relaxed);
    peer->timers.OnHandshakeComplete(now);
    peer->sent_lastminute_handshake = false;
    peer->last_handshake = clock_.WallNow();
    peer->timers.OnAnyAuthenticatedPacketReceived(now);
    peer->timers.OnAnyAuthenticatedPacketTraversal(now);
    ScheduleTimersLocked(peer);
    TUNDRA_LOG(kDebug, "{}: receiving handshake response from peer {} ({})", options_.name,
               peer->id(), msg.from.ToString());
  }
  if (bind_connection) {
    std::shared_lock bind(bind_mu_);
    bind_->MarkAuthenticated(msg.from);
  }
  // Staged packets now, or a keepalive to confirm the session to the responder.
  FlushStaged(peer, true);
}

void Device::HandleCookieReply(QueuedHandshake& msg) {
  const auto m =
      proto::LoadMessage<proto::MessageCookieReply>(ByteSpan(msg.bytes.data(), msg.size));
  auto entry = indices_.Lookup(m.receiver_index);
  if (!entry) {
    drops_.Add(proto::DropReason::kUnknownIndex);
    return;
  }
  std::lock_guard lock(entry->peer->mu);
  proto::DropReason r = entry->peer->cookie_jar.ConsumeReply(m, clock_.Now());
  if (r != proto::DropReason::kNone) {
    drops_.Add(r);
    return;
  }
  cookie_replies_accepted_.fetch_add(1, std::memory_order_relaxed);
  TUNDRA_LOG(kDebug, "{}: received cookie reply for peer {}", options_.name, entry->peer->id());
}

void Device::CheckRoute(const PeerPtr& peer) {
  std::optional<transport::Endpoint> candidate;
  {
    std::lock_guard lock(peer->mu);
    if (!peer->route_candidate) return;
    candidate.swap(peer->route_candidate);
  }
  uint32_t mark;
  {
    std::shared_lock config(config_mu_);
    mark = fwmark_;
  }
  // No lock held: a netlink round trip.
  auto oif = options_.route_oif(*candidate, mark);
  // A failed lookup (the source is gone, say) keeps the source: the send falls back by itself.
  const bool stale = oif.ok() && *oif != candidate->source_ifindex();
  {
    std::lock_guard lock(peer->mu);
    peer->route_verdict = Peer::RouteVerdict{*candidate, stale, clock_.Now()};
    if (stale && peer->endpoint && peer->endpoint->SameIncludingSource(*candidate)) {
      peer->endpoint->ClearSource();
    }
  }
  if (stale) {
    sticky_sources_rerouted_.fetch_add(1, std::memory_order_relaxed);
    TUNDRA_LOG_RATELIMITED(kDebug,
                           "{}: the route to peer {} ({}) now leaves by interface {}, not {}: "
                           "replies follow it",
                           options_.name, peer->id(), candidate->ToString(), *oif,
                           candidate->source_ifindex());
  }
}

void Device::RunTimers(TimePoint now) {
  // Only the peers whose entry is due: each is polled, acted on and scheduled again.
  while (auto entry = timers_.PopDue(now)) {
    PeerPtr peer = entry->owner.lock();
    if (!peer) continue;
    proto::TimerActions a;
    size_t gave_up = 0;
    {
      std::lock_guard lock(peer->mu);
      if (peer->removed || !TimerQueue<Peer>::Claim(*entry, peer->timer_slot)) continue;
      a = peer->timers.Poll(now);
      ScheduleTimersLocked(peer);
      if (!a.any()) continue;
      if (a.clear_endpoint_source && peer->endpoint) peer->endpoint->ClearSource();
      if (a.went_down) EmitPeerEventLocked(*peer, PeerEventKind::kDown);
      if (a.give_up) {
        gave_up = peer->staged.size();
        peer->staged.clear();
      }
    }
    if (a.give_up) {
      CountPeerDrop(*peer, proto::DropReason::kHandshakeGaveUp, gave_up);
      TUNDRA_LOG(kDebug, "{}: handshake for peer {} did not complete after {} attempts, giving up",
                 options_.name, peer->id(), proto::kMaxTimerHandshakes + 2);
    }
    if (a.send_initiation) SendInitiation(peer, a.initiation_is_retry);
    if (a.send_keepalive) FlushStaged(peer, true);
    if (a.zero_key_material) ZeroKeyMaterial(peer);
  }
}

void Device::RunTransportWork(TimePoint now) {
  std::vector<transport::Endpoint> connected;
  {
    std::lock_guard lock(work_mu_);
    connected.swap(tcp_connected_);
  }
  const bool scan = now >= next_probe_scan_;
  if (connected.empty() && !scan) return;
  if (scan) next_probe_scan_ = now + std::chrono::seconds(1);
  std::vector<PeerPtr> rebind, probe;
  {
    std::shared_lock config(config_mu_);
    for (const PeerPtr& peer : stream_peers_) {
      std::lock_guard lock(peer->mu);
      if (peer->removed) continue;
      for (const transport::Endpoint& e : connected) {
        if (peer->endpoint && *peer->endpoint == e) {
          rebind.push_back(peer);
          break;
        }
      }
      if (scan && peer->mode == transport::TransportMode::kAuto &&
          peer->auto_transport.ProbeDue(now) && peer->keypairs.current()) {
        probe.push_back(peer);
      }
    }
  }
  // A new connection carries nothing until this side sends: a keepalive binds it at the peer
  // (which still has the session), an initiation when the peer restarted and has none.
  for (const PeerPtr& peer : rebind) {
    TUNDRA_LOG(kVerbose, "{}: TCP connection to peer {} up: re-binding it", options_.name,
               peer->id());
    FlushStaged(peer, true);
    SendInitiation(peer, false);
  }
  for (const PeerPtr& peer : probe) SendInitiation(peer, false);  // over UDP: the probe
}

void Device::ZeroKeyMaterial(const PeerPtr& peer) {
  ClearSessions(peer, /*forget_timestamp=*/false);
  TUNDRA_LOG(
      kDebug, "{}: zeroing out all keys for peer {}, none new in {} seconds", options_.name,
      peer->id(),
      std::chrono::duration_cast<std::chrono::seconds>(proto::kZeroKeyMaterialAfter).count());
}

}  // namespace tundra::device
