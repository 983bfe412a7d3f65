#include "tundra/device/device.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "tundra/base/log.h"
#include "tundra/crypto/random.h"
#include "tundra/crypto/secure_memory.h"
#include "tundra/crypto/x25519.h"

namespace tundra::device {
namespace {

// Connection events queued for the control thread at most (more are dropped: each peer's
// timers recover it anyway).
constexpr size_t kMaxTcpConnectedQueue = 1024;

UniqueFd MakeEventFd() {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  TUNDRA_CHECK(fd >= 0);
  return UniqueFd(fd);
}

}  // namespace

Device::Device(std::unique_ptr<tun::TunDevice> tun, std::unique_ptr<transport::Bind> bind,
               DeviceOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : Clock::Real()),
      jitter_(options_.jitter != nullptr ? *options_.jitter : proto::RandomJitter()),
      tun_(std::move(tun)),
      bind_(std::move(bind)),
      mtu_(options_.mtu),
      cookie_checker_(clock_),
      rate_limiter_(clock_),
      stop_fd_(MakeEventFd()),
      control_fd_(MakeEventFd()),
      udp_wake_fd_(MakeEventFd()) {
  if (options_.tap) {
    // TAP mode: one switch for the device's life; the table's hash seeded at random so that a
    // peer choosing source MACs cannot aim at one chain (docs/l2.md, "MAC table").
    l2::SwitchOptions so;
    so.max_frame = l2::MaxFrameSizeFor(size_t(std::max(options_.mtu, 0)));
    so.table = options_.mac_table;
    crypto::RandomBytes(MutableByteSpan(reinterpret_cast<uint8_t*>(&so.table.hash_seed),
                                        sizeof(so.table.hash_seed)));
    switch_ = std::make_unique<l2::Switch>(so);
    l2_peers_ = std::make_shared<const L2Peers>();
  }
  // Outbound TCP connections that come up re-bind their peers (docs/tcp-transport.md). Called
  // by the bind inside Receive, on the udp thread.
  bind_->SetOnConnected([this](const transport::Endpoint& to) {
    {
      std::lock_guard lock(work_mu_);
      if (tcp_connected_.size() >= kMaxTcpConnectedQueue) return;
      tcp_connected_.push_back(to);
    }
    WakeControl();
  });
}

Device::~Device() { Close(); }

Status Device::Start() {
  TUNDRA_CHECK(!started_);
  {
    std::lock_guard transaction(apply_mu_);
    std::unique_lock config(config_mu_);
    std::unique_lock bind(bind_mu_);
    TUNDRA_ASSIGN_OR_RETURN(listen_port_, bind_->Open(configured_port_));
    if (fwmark_ != 0) TUNDRA_RETURN_IF_ERROR(bind_->SetMark(fwmark_));
  }
  started_ = true;
  tun_thread_ = std::thread([this] { TunLoop(); });
  udp_thread_ = std::thread([this] { UdpLoop(); });
  control_thread_ = std::thread([this] { ControlLoop(); });
  TUNDRA_LOG(kVerbose, "{}: device started, listening on port {}", options_.name, listen_port_);
  return OkStatus();
}

void Device::Close() {
  if (stopping_.exchange(true)) return;
  uint64_t one = 1;
  ssize_t r = ::write(stop_fd_.get(), &one, sizeof(one));
  (void)r;
  if (tun_thread_.joinable()) tun_thread_.join();
  if (udp_thread_.joinable()) udp_thread_.join();
  if (control_thread_.joinable()) control_thread_.join();
  std::vector<PeerPtr> peers;
  {
    std::lock_guard transaction(apply_mu_);
    std::unique_lock config(config_mu_);
    for (auto& [key, peer] : peers_) peers.push_back(peer);
    for (auto& peer : peers) RemovePeerLocked(peer, proto::DropReason::kPeerRemoved);
  }
  std::unique_lock bind(bind_mu_);
  bind_->Close();
  TUNDRA_LOG(kVerbose, "{}: device closed", options_.name);
}

// ---------------------------------------------------------------- configuration

Status Device::Apply(const DeviceUpdate& update) {
  std::lock_guard transaction(apply_mu_);
  std::vector<PeerPtr> keepalive;
  Status result = OkStatus();
  {
    std::unique_lock config(config_mu_);
    // Lets the data path in between batches: `units` counts peers and allowed IPs applied
    // since the lock was taken. Nothing else changes the configuration meanwhile (apply_mu_).
    size_t units = 0;
    auto breathe = [&](size_t more) {
      units += more;
      if (units < kApplyBatch) return;
      // TAP mode: the peers added so far get their floods (and frames to their MACs) while
      // the rest of the transaction waits; O(peers), once per batch.
      if (switch_) PublishL2PeersLocked();
      config.unlock();
      units = 0;
      config.lock();
    };
    auto apply = [&]() -> Status {
      if (update.private_key) TUNDRA_RETURN_IF_ERROR(SetPrivateKeyLocked(*update.private_key));
      if (update.listen_port) TUNDRA_RETURN_IF_ERROR(SetListenPortLocked(*update.listen_port));
      if (update.fwmark && *update.fwmark != fwmark_) {
        if (started_) {
          std::shared_lock bind(bind_mu_);
          Status s = bind_->SetMark(*update.fwmark);
          if (!s.ok()) {
            return Error(EADDRINUSE, fmt::format("fwmark {:#x}", *update.fwmark),
                         s.error().message());
          }
        }
        fwmark_ = *update.fwmark;
      }
      if (update.transport) default_transport_ = *update.transport;
      if (update.tcp_port) tcp_port_ = *update.tcp_port;
      if (update.switch_mode || update.forward) {
        if (!switch_) {
          return MakeError(EINVAL,
                           "tundra_switch/tundra_forward (SwitchMode, Forward): only on a TAP-mode "
                           "interface (Mode = tap)");
        }
        if (update.switch_mode) switch_->set_mode(*update.switch_mode);
        if (update.forward) switch_->set_forward(*update.forward);
      }
      if (update.transport) {
        for (auto& [key, peer] : peers_) {
          std::lock_guard lock(peer->mu);
          ApplyTransportLocked(*peer);
        }
      }
      if (update.replace_peers) {
        while (!peers_.empty()) {
          PeerPtr peer = peers_.begin()->second;
          const size_t routes = allowed_ips_.CountForPeer(peer.get());
          RemovePeerLocked(peer, proto::DropReason::kPeerRemoved);
          breathe(1 + routes);
        }
      }
      for (const PeerUpdate& p : update.peers) {
        auto it = peers_.find(p.public_key);
        bool had_keepalive = false;
        if (it != peers_.end()) {
          std::lock_guard lock(it->second->mu);  // the timers belong to the peer's lock
          had_keepalive = it->second->timers.persistent_keepalive() != 0;
        }
        const size_t routes = it != peers_.end() && (p.remove || p.replace_allowed_ips)
                                  ? allowed_ips_.CountForPeer(it->second.get())
                                  : 0;
        TUNDRA_RETURN_IF_ERROR(ApplyPeerLocked(p));
        // Turning persistent keepalive on sends one at once (wireguard-go).
        if (p.persistent_keepalive && *p.persistent_keepalive != 0 && !had_keepalive && !p.remove) {
          auto now_it = peers_.find(p.public_key);
          if (now_it != peers_.end()) keepalive.push_back(now_it->second);
        }
        breathe(1 + routes + p.allowed_ips.size());
      }
      return OkStatus();
    };
    result = apply();
    bool transports = update.transport || update.tcp_port || update.replace_peers;
    for (const PeerUpdate& p : update.peers) transports |= p.transport || p.remove;
    if (transports) {
      Status s = RefreshTransportsLocked();
      if (result.ok()) result = std::move(s);
    }
  }
  if (switch_) {
    // The removed peers' MACs (a sweep of the table: outside config_mu_, the table has its own
    // locks), then the peers the data path floods to.
    ForgetRemovedMacs();
    std::shared_lock config(config_mu_);
    PublishL2PeersLocked();
  }
  for (const PeerPtr& peer : keepalive) {
    peer->keepalive_wanted.store(true);
    {
      std::lock_guard lock(work_mu_);
      peer_work_.push_back(peer);
    }
  }
  if (!keepalive.empty()) WakeControl();
  return result;
}

Status Device::SetPrivateKeyLocked(const crypto::PrivateKey& key) {
  proto::StaticIdentity next;
  if (!key.IsZero()) next = proto::StaticIdentity::FromPrivateKey(key);
  if (next.has_private_key == identity_->has_private_key &&
      (!next.has_private_key || next.public_key == identity_->public_key)) {
    return OkStatus();
  }
  // A peer with our own public key cannot exist (wireguard-go removes it).
  if (next.has_private_key) {
    auto it = peers_.find(next.public_key);
    if (it != peers_.end()) RemovePeerLocked(it->second, proto::DropReason::kPeerRemoved);
  }
  *identity_ = next;
  {
    std::lock_guard lock(checker_mu_);
    cookie_checker_.SetLocalPublicKey(identity_->public_key);
  }
  // O(peers) under the exclusive lock, but no X25519 here: each peer's static-static DH is
  // computed again on its next handshake (PrepareHandshakeLocked).
  for (auto& [k, peer] : peers_) {
    std::lock_guard lock(peer->mu);
    peer->handshake_prepared = false;
    ClearPendingHandshakeLocked(*peer);
    peer->handshake.Clear();
    // Current and next sessions may no longer send: the next packet starts a handshake, at
    // once (the kernel's wg_noise_expire_current_peer_keypairs lifts the REKEY_TIMEOUT limit).
    for (const auto& kp : {peer->keypairs.current(), peer->keypairs.next()}) {
      if (kp) kp->sending_valid.store(false);
    }
    peer->last_sent_handshake_ns.store(Peer::kNeverSent);
  }
  return OkStatus();
}

Status Device::SetListenPortLocked(uint16_t port) {
  configured_port_ = port;
  if (!started_) return OkStatus();
  if (port == listen_port_ && port != 0) return OkStatus();
  {
    std::unique_lock bind(bind_mu_);
    const uint16_t old = listen_port_;
    auto opened = bind_->Open(port);
    if (!opened.ok()) {
      Error e = std::move(opened).error();
      TUNDRA_LOG(kError, "{}: cannot bind port {}: {}", options_.name, port, e.message());
      auto back = bind_->Open(old);  // keep serving on the previous port
      if (back.ok()) listen_port_ = *back;
      if (fwmark_ != 0) (void)bind_->SetMark(fwmark_);
      bind_generation_.fetch_add(1);
      WakeUdp();
      return Error(EADDRINUSE, fmt::format("listen_port {}", port), e.message());
    }
    listen_port_ = *opened;
    if (fwmark_ != 0) (void)bind_->SetMark(fwmark_);
    bind_generation_.fetch_add(1);
  }
  WakeUdp();  // the udp thread re-reads the receiver fds
  // Sticky sources learnt on the old sockets may not hold on the new ones.
  for (auto& [k, peer] : peers_) {
    std::lock_guard lock(peer->mu);
    if (peer->endpoint) peer->endpoint->ClearSource();
  }
  return OkStatus();
}

Status Device::ApplyPeerLocked(const PeerUpdate& u) {
  if (identity_->has_private_key && u.public_key == identity_->public_key) {
    return OkStatus();  // our own key: silently ignored (wireguard-go)
  }
  PeerPtr peer;
  auto it = peers_.find(u.public_key);
  // TAP mode: allowed IPs would route and filter nothing (docs/l2.md); refused rather than kept
  // as a filter that is not there, as the config parser refuses AllowedIPs with Mode = tap.
  if (switch_ && !u.allowed_ips.empty() && !u.remove) {
    return MakeError(EINVAL,
                     "allowed_ip: no effect on a TAP-mode interface (AllowedMACs, "
                     "tundra_allowed_mac, restricts sources)");
  }
  // AllowedMACs (TAP mode): the peer's new list is built and checked before anything changes.
  std::shared_ptr<const l2::AllowedMacs> macs;
  if (u.replace_allowed_macs || !u.allowed_macs.empty()) {
    if (!switch_) {
      return MakeError(
          EINVAL, "tundra_allowed_mac (AllowedMACs): only on a TAP-mode interface (Mode = tap)");
    }
    l2::AllowedMacs next;
    if (!u.replace_allowed_macs && it != peers_.end() && it->second->allowed_macs) {
      next = *it->second->allowed_macs;
    }
    for (const l2::MacPrefix& prefix : u.allowed_macs) {
      Status s = next.Add(prefix);
      if (!s.ok()) return Error(EINVAL, "tundra_allowed_mac", s.error().message());
    }
    macs = std::make_shared<const l2::AllowedMacs>(std::move(next));
  }
  if (it != peers_.end()) {
    peer = it->second;
  } else {
    if (u.update_only || u.remove) return OkStatus();
    if (peers_.size() >= proto::kMaxPeers) {
      return MakeError(ENOSPC, fmt::format("too many peers (limit {})", proto::kMaxPeers));
    }
    peer = crypto::MakeSecureShared<Peer>(u.public_key, next_peer_id_++, jitter_);  // keys inside
    {
      std::lock_guard lock(peer->mu);
      peer->cookie_jar.SetRemotePublicKey(u.public_key);  // two hashes; the DH waits for use
    }
    peers_.emplace(u.public_key, peer);
    TUNDRA_LOG(kDebug, "{}: peer {} created", options_.name, peer->id());
  }
  if (u.remove) {
    RemovePeerLocked(peer, proto::DropReason::kPeerRemoved);
    return OkStatus();
  }
  {
    std::lock_guard lock(peer->mu);
    if (u.preshared_key) peer->handshake.SetPresharedKey(*u.preshared_key);
    if (u.endpoint) peer->configured_endpoint = *u.endpoint;
    if (u.transport) peer->configured_mode = *u.transport;
    if (u.endpoint || u.transport) ApplyTransportLocked(*peer);
    if (u.persistent_keepalive) peer->timers.set_persistent_keepalive(*u.persistent_keepalive);
    if (u.speed || u.burst) ApplyShaping(*peer, u);
  }
  if (u.compression) ApplyCompressionLocked(peer, *u.compression);
  if (macs) peer->allowed_macs = std::move(macs);
  if (u.endpoint) SetConfiguredEndpointLocked(*peer, *u.endpoint);
  if (u.replace_allowed_ips) allowed_ips_.RemoveByPeer(peer.get());
  for (const AllowedIpChange& c : u.allowed_ips) {
    if (c.remove) {
      allowed_ips_.Remove(c.prefix, peer.get());
    } else {
      allowed_ips_.Insert(c.prefix, peer.get());
    }
  }
  return OkStatus();
}

std::string Device::EndpointKey(const transport::Endpoint& e) {
  const ByteSpan addr = e.AddressBytes();
  std::string key(reinterpret_cast<const char*>(addr.data()), addr.size());
  key.push_back(char(e.port() >> 8));
  key.push_back(char(e.port() & 0xff));
  return key;
}

void Device::SetConfiguredEndpointLocked(Peer& peer, const std::optional<transport::Endpoint>& e) {
  if (!peer.configured_endpoint_key.empty()) {
    auto [first, last] = by_configured_endpoint_.equal_range(peer.configured_endpoint_key);
    for (auto it = first; it != last; ++it) {
      if (it->second == &peer) {
        by_configured_endpoint_.erase(it);
        break;
      }
    }
    peer.configured_endpoint_key.clear();
  }
  if (e && e->valid()) {
    peer.configured_endpoint_key = EndpointKey(*e);
    by_configured_endpoint_.emplace(peer.configured_endpoint_key, &peer);
  }
}

void Device::PrepareHandshakeLocked(Peer& peer) {
  if (peer.handshake_prepared) return;
  peer.handshake.Configure(*identity_, peer.public_key());
  peer.handshake_prepared = true;
}

void Device::RemovePeerLocked(PeerPtr peer, proto::DropReason why) {
  allowed_ips_.RemoveByPeer(peer.get());
  SetConfiguredEndpointLocked(*peer, std::nullopt);
  if (switch_) l2_removed_.push_back(peer->id());
  peers_.erase(peer->public_key());
  {
    std::lock_guard lock(peer->mu);
    peer->removed = true;
    peer->timers.StopAll();
    if (!peer->staged.empty()) drops_.Add(why, peer->staged.size());
    peer->staged.clear();
  }
  ClearSessions(peer, /*forget_timestamp=*/true);
  TUNDRA_LOG(kDebug, "{}: peer {} destroyed", options_.name, peer->id());
}

// ---------------------------------------------------------------- transports

void Device::ApplyTransportLocked(Peer& peer) {
  const transport::TransportMode mode = peer.configured_mode.value_or(default_transport_);
  if (mode != peer.mode) peer.auto_transport.Reset();
  peer.mode = mode;
  if (!peer.configured_endpoint) return;
  const transport::Transport t = mode == transport::TransportMode::kTcp
                                     ? transport::Transport::kTcp
                                     : transport::Transport::kUdp;
  // A configured endpoint is this side's to dial: connection 0.
  (void)SetEndpointLocked(peer, peer.configured_endpoint->WithTransport(t), false);
}

Status Device::RefreshTransportsLocked() {
  stream_peers_.clear();
  for (auto& [key, peer] : peers_) {
    std::lock_guard lock(peer->mu);
    if (peer->mode != transport::TransportMode::kUdp) stream_peers_.push_back(peer);
  }
  const bool listen = default_transport_ != transport::TransportMode::kUdp || tcp_port_;
  const std::optional<uint16_t> want =
      listen ? std::optional<uint16_t>(tcp_port_.value_or(0)) : std::nullopt;
  std::unique_lock bind(bind_mu_);
  Status s = bind_->SetTcpListener(want);
  if (!s.ok()) {
    TUNDRA_LOG(kError, "{}: TCP listener: {}", options_.name, s.error().message());
    return Error(EADDRINUSE, "tundra_tcp_port", s.error().message());
  }
  return OkStatus();
}

bool Device::SetEndpointLocked(Peer& peer, const transport::Endpoint& e, bool authenticated) {
  const bool changed = !peer.endpoint || *peer.endpoint != e;
  if (!peer.endpoint || peer.endpoint->transport() != e.transport()) {
    peer.transport_since = clock_.WallNow();
    if (peer.endpoint) {
      TUNDRA_LOG(kVerbose, "{}: peer {} now over {}", options_.name, peer.id(),
                 e.is_tcp() ? "TCP" : "UDP");
    }
  }
  peer.endpoint = e;
  if (authenticated && peer.mode == transport::TransportMode::kAuto) {
    peer.auto_transport.OnAuthenticated(e.transport());
  }
  return authenticated && changed && e.is_tcp() && e.connection() != 0;
}

// ---------------------------------------------------------------- sessions and indices

uint32_t Device::BeginPendingHandshakeLocked(const PeerPtr& peer) {
  ClearPendingHandshakeLocked(*peer);
  peer->handshake_index = indices_.Insert(IndexEntry{peer, nullptr});
  return peer->handshake_index;
}

void Device::ClearPendingHandshakeLocked(Peer& peer) {
  if (peer.handshake_index != 0) indices_.Remove(peer.handshake_index);
  peer.handshake_index = 0;
}

proto::KeypairPtr Device::InstallSessionLocked(const PeerPtr& peer, TimePoint now) {
  proto::SessionKeys keys;
  TUNDRA_CHECK(peer->handshake.BeginSession(keys));
  auto keypair = crypto::MakeSecureShared<proto::Keypair>(keys, now);
  TUNDRA_CHECK(indices_.Replace(keys.local_index, IndexEntry{peer, keypair}));
  if (peer->handshake_index == keys.local_index) peer->handshake_index = 0;
  FreeIndices(peer->keypairs.Add(keypair));
  peer->counters.AddHandshake();
  if (peer->timers.OnSessionDerived(now)) EmitPeerEventLocked(*peer, PeerEventKind::kUp);
  return keypair;
}

void Device::ClearSessions(const PeerPtr& peer, bool forget_timestamp) {
  {
    std::lock_guard lock(peer->mu);
    ClearPendingHandshakeLocked(*peer);
    if (peer->timers.OnSessionsCleared()) EmitPeerEventLocked(*peer, PeerEventKind::kDown);
    if (forget_timestamp) {
      peer->handshake.ClearAll();
    } else {
      peer->handshake.Clear();
    }
  }
  FreeIndices(peer->keypairs.Clear());
}

void Device::EmitPeerEventLocked(const Peer& peer, PeerEventKind kind) {
  TUNDRA_LOG(kInfo, "{}: peer {} is {}", options_.name, peer.id(), PeerEventName(kind));
  if (options_.on_peer_event)
    options_.on_peer_event(PeerEvent{kind, peer.public_key(), peer.endpoint});
}

void Device::FreeIndices(const proto::Keypairs::Evicted& evicted) {
  for (const auto& k : evicted) {
    if (k) indices_.Remove(k->local_index);
  }
}

void Device::ApplyShaping(Peer& peer, const PeerUpdate& u) {
  if (u.speed) peer.shaping.speed = *u.speed;
  if (u.burst) peer.shaping.burst = *u.burst;
  constexpr uint64_t kBytesPerSecPerKbit = 1000 / 8;
  const Shaping& s = peer.shaping;
  peer.shape_in.Configure(s.speed.in_kbit * kBytesPerSecPerKbit, s.burst);
  peer.shape_out.Configure(s.speed.out_kbit * kBytesPerSecPerKbit, s.burst);
}

void Device::ApplyCompressionLocked(const PeerPtr& peer, const compress::Setting& setting) {
  const uint32_t packed = PackSetting(setting);
  const uint32_t old = peer->compression.exchange(packed, std::memory_order_relaxed);
  // The hellos of the sessions so far said the old algorithm: start new ones. A zstd level is
  // this end's business only (any level decompresses), so a level change keeps the sessions.
  if (compress::HelloBit(UnpackSetting(old).algorithm) == compress::HelloBit(setting.algorithm)) {
    return;
  }
  if (peer->keypairs.current() || peer->keypairs.next()) ClearSessions(peer, false);
}

DeviceStatus Device::GetStatus() const {
  DeviceStatus s;
  // apply_mu_ first: no writer can then be waiting on config_mu_, so holding it shared across
  // all peers never holds up the data path (writer preference would queue its readers).
  std::lock_guard transaction(apply_mu_);
  // TAP mode: the MACs learned behind each peer, counted from one listing of the table (which
  // allocates; before config_mu_ is taken).
  std::unordered_map<uint64_t, size_t> macs_by_peer;
  if (switch_) {
    s.tap = true;
    s.switch_mode = switch_->mode();
    s.forward = switch_->forward();
    s.mac_capacity = switch_->table().options().capacity;
    s.mac_expiry = switch_->table().options().expiry;
    s.mac_stats = switch_->table().stats();
    for (const l2::MacTable::Entry& e : switch_->table().Entries(clock_.Now())) {
      if (!e.port.is_tap()) ++macs_by_peer[e.port.peer()];
    }
  }
  std::shared_lock config(config_mu_);
  if (identity_->has_private_key) {
    s.private_key = identity_->private_key;
    s.public_key = identity_->public_key;
  }
  s.listen_port = started_ ? listen_port_ : configured_port_;
  s.fwmark = fwmark_;
  s.transport = default_transport_;
  {
    std::shared_lock bind(bind_mu_);
    s.tcp_listen_port = bind_->tcp_listen_port();
  }
  s.peers.reserve(peers_.size());
  for (const auto& [k, peer] : peers_) {
    PeerStatus p;
    p.public_key = peer->public_key();
    {
      std::lock_guard lock(peer->mu);
      p.preshared_key = peer->handshake.preshared_key();
      p.endpoint = peer->endpoint;
      p.last_handshake = peer->last_handshake;
      p.persistent_keepalive = peer->timers.persistent_keepalive();
      p.transport_mode = peer->mode;
      if (peer->endpoint) p.transport_in_use = peer->endpoint->transport();
      p.transport_since = peer->transport_since;
    }
    p.rx_bytes = peer->rx_bytes.load();
    p.tx_bytes = peer->tx_bytes.load();
    p.counters = peer->counters.Read();
    p.shaping = peer->shaping;
    p.compression = UnpackSetting(peer->compression.load(std::memory_order_relaxed));
    if (p.compression.enabled()) {
      const proto::KeypairPtr current = peer->keypairs.current();
      p.compression_active = current && (current->remote_decompresses.load() &
                                         compress::HelloBit(p.compression.algorithm)) != 0;
    }
    p.allowed_ips = allowed_ips_.EntriesForPeer(peer.get());
    if (peer->allowed_macs) p.allowed_macs = peer->allowed_macs->prefixes();
    if (auto m = macs_by_peer.find(peer->id()); m != macs_by_peer.end()) p.mac_entries = m->second;
    p.l2_drops = peer->l2_drops.Read();
    s.peers.push_back(std::move(p));
  }
  return s;
}

void Device::WakeControl() {
  uint64_t one = 1;
  ssize_t r = ::write(control_fd_.get(), &one, sizeof(one));
  (void)r;
}

void Device::PokeTimers() { WakeControl(); }

void Device::SetMtu(int mtu) {
  mtu_.store(mtu, std::memory_order_relaxed);
  if (switch_) switch_->set_max_frame(l2::MaxFrameSizeFor(size_t(std::max(mtu, 0))));
}

size_t Device::TunnelMtu() const {
  const size_t mtu = size_t(std::max(mtu_.load(std::memory_order_relaxed), 0));
  return switch_ ? mtu + l2::kTapOverhead : mtu;
}

void Device::WakeUdp() {
  uint64_t one = 1;
  ssize_t r = ::write(udp_wake_fd_.get(), &one, sizeof(one));
  (void)r;
}

void Device::ScheduleTimersLocked(const PeerPtr& peer) {
  const auto next = peer->timers.NextDeadline();
  if (!timers_.Schedule(peer, peer->timer_slot, next)) return;
  // Pairs with ControlLoop: it publishes its wake-up time, then looks at timers_ once more.
  if (next->time_since_epoch().count() < control_wake_at_ns_.load()) {
    WakeControl();
  }
}

std::vector<std::pair<std::string, uint64_t>> Device::Counters() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  const DropCounters::Snapshot drops = drops_.Read();
  for (size_t i = 1; i < drops.size(); ++i) {
    const auto reason = static_cast<proto::DropReason>(i);
    out.emplace_back(fmt::format("drop_{}", proto::DropReasonName(reason)), drops[i]);
  }
  for (size_t i = 0; i < size_t(tun::TunDropReason::kCount); ++i) {
    const auto reason = static_cast<tun::TunDropReason>(i);
    out.emplace_back(fmt::format("tun_drop_{}", tun::TunDropReasonName(reason)),
                     tun_->drops().Get(reason));
  }
  const L2DropCounters::Snapshot l2 = l2_drops_.Read();
  for (size_t i = 1; i < l2.size(); ++i) {
    if (!switch_ && l2[i] == 0) continue;  // TUN mode: only what happened (frame_on_tun)
    out.emplace_back(fmt::format("drop_{}", l2::DropReasonName(l2::DropReason(i))), l2[i]);
  }
  if (switch_) {
    const l2::MacTableStats m = switch_->table().stats();
    out.emplace_back("mac_entries", m.size);
    out.emplace_back("mac_learned", m.learned);
    out.emplace_back("mac_moved", m.moved);
    out.emplace_back("mac_evicted", m.evicted);
    out.emplace_back("mac_evicted_chain", m.evicted_chain);
    out.emplace_back("mac_expired", m.expired);
    out.emplace_back("mac_removed", m.removed);
    out.emplace_back("mac_learn_deferred", m.deferred);
  }
  out.emplace_back("icmp_unreachable_sent", icmp_errors_sent());
  out.emplace_back("unknown_index_initiations", unknown_index_initiations());
  out.emplace_back("sticky_sources_rerouted", sticky_sources_rerouted());
  const tun::TunOffloadCounters::Snapshot off = tun_->offloads();
  out.emplace_back("tun_super_packets_read", off.super_packets_read);
  out.emplace_back("tun_segments_split", off.segments_split);
  out.emplace_back("tun_super_packets_written", off.super_packets_written);
  out.emplace_back("tun_packets_coalesced", off.packets_coalesced);
  std::shared_lock bind(bind_mu_);
  bind_->AppendCounters(out);
  return out;
}

}  // namespace tundra::device
