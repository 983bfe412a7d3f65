// The send path (kernel send.c), in packet order: TUN read -> route -> stage or encrypt ->
// UDP; plus handshake initiations and staged-packet flushes for the control thread.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "tundra/base/ip_header.h"
#include "tundra/base/log.h"
#include "tundra/device/device.h"
#include "tundra/proto/constants.h"
#include "tundra/proto/tai64n.h"
#include "tundra/tun/icmp.h"

namespace tundra::device {
namespace {

// Header room in front of a packet, and room behind it for padding (< 16) and the tag.
constexpr size_t kHeadroom = proto::kDataHeaderSize;
constexpr size_t kTailroom = kSealTailroom;
constexpr size_t kBufSize = kHeadroom + tun::kMaxPacketSize + kTailroom;
// The data message header doubles as the TUN's write headroom: a packet decrypted in place is
// handed to TunDevice::Write at offset kDataHeaderSize.
static_assert(proto::kDataHeaderSize >= tun::kWriteHeadroom);
// How long a route check of a sticky source holds (the kernel re-routes on every change of
// its routing table; we ask again at most this often per peer and source).
constexpr Duration kRouteCheckInterval = std::chrono::seconds(1);
constexpr int64_t kRekeyTimeoutNs =
    std::chrono::duration_cast<Duration>(proto::kRekeyTimeout).count();

}  // namespace

void Device::TunLoop() {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  TUNDRA_CHECK(ep >= 0);
  UniqueFd epoll_fd(ep);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = tun_->poll_fd();
  TUNDRA_CHECK(::epoll_ctl(ep, EPOLL_CTL_ADD, tun_->poll_fd(), &ev) == 0);
  ev.data.fd = stop_fd_.get();
  TUNDRA_CHECK(::epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd_.get(), &ev) == 0);

  const size_t batch = tun_->BatchSize();
  // Uninitialized (8 MiB for 128 buffers): pages become resident only as reads fill them, so an
  // idle daemon does not carry them, and one that only sees small packets carries a few.
  std::unique_ptr<uint8_t[]> storage(new uint8_t[batch * kBufSize]);  // NOLINT: default-init
  std::vector<MutableByteSpan> bufs(batch);
  for (size_t i = 0; i < batch; ++i)
    bufs[i] = MutableByteSpan(storage.get() + i * kBufSize, kBufSize);
  std::vector<size_t> sizes(batch);
  std::vector<Peer*> owner(batch);
  std::vector<MutableByteSpan> group_bufs;
  std::vector<size_t> group_lens;
  std::vector<PeerPtr> peers;  // the peers of one batch (reused: no allocation per batch)
  group_bufs.reserve(batch);
  group_lens.reserve(batch);
  // TAP mode: frames are read behind the L2 message header's room (framed in place).
  const size_t read_offset = switch_ ? kL2Headroom : kHeadroom;
  L2Batch l2;

  while (!stopping_.load(std::memory_order_relaxed)) {
    epoll_event events[2];
    int n = ::epoll_wait(ep, events, 2, -1);
    if (n < 0 && errno != EINTR) {
      TUNDRA_LOG(kError, "{}: epoll_wait (tun): {}", options_.name, std::strerror(errno));
      return;
    }
    if (stopping_.load()) break;
    for (;;) {
      auto r = tun_->Read(bufs, sizes, read_offset);
      if (!r.ok()) {
        // The queue itself failed (the interface was deleted): nothing more will come.
        TUNDRA_LOG(kVerbose, "{}: TUN read: {}", options_.name, r.error().message());
        if (options_.on_tun_failure) options_.on_tun_failure(r.error());
        return;
      }
      const size_t count = *r;
      if (count == 0) break;
      if (switch_) {
        TapBatch(bufs, sizes, count, l2);
        if (count < batch) break;
        continue;
      }

      // Route every packet under the configuration lock, keeping the peers alive after it.
      peers.clear();
      {
        std::shared_lock config(config_mu_);
        for (size_t i = 0; i < count; ++i) {
          const ByteSpan packet(bufs[i].data() + kHeadroom, sizes[i]);
          bool v6 = false;
          const uint8_t* dst = ip::Destination(packet, v6);
          Peer* peer = nullptr;
          if (dst != nullptr) peer = v6 ? allowed_ips_.LookupV6(dst) : allowed_ips_.LookupV4(dst);
          if (peer != nullptr && IsRoutingLoopLocked(packet, *peer)) {
            drops_.Add(proto::DropReason::kRoutingLoop);
            TUNDRA_LOG_RATELIMITED(
                kVerbose, "{}: routing loop: the route to peer {}'s endpoint leads into the tunnel",
                options_.name, peer->id());
            owner[i] = nullptr;
            continue;
          }
          owner[i] = peer;
          if (peer == nullptr) {
            drops_.Add(dst == nullptr ? proto::DropReason::kInvalidPacket
                                      : proto::DropReason::kNoRoute);
            if (dst != nullptr) SendUnreachable(packet);
            continue;
          }
          bool seen = false;
          for (const auto& p : peers) seen |= p.get() == peer;
          if (!seen) peers.push_back(peer->shared_from_this());
        }
      }
      const int64_t now_ns = clock_.Now().time_since_epoch().count();
      for (const PeerPtr& peer : peers) {
        group_bufs.clear();
        group_lens.clear();
        uint64_t shaped = 0;
        for (size_t i = 0; i < count; ++i) {
          if (owner[i] != peer.get()) continue;
          if (!peer->shape_out.Take(sizes[i], now_ns)) {
            ++shaped;
            continue;
          }
          group_bufs.push_back(bufs[i]);
          group_lens.push_back(sizes[i]);
        }
        if (shaped != 0) CountPeerDrop(*peer, proto::DropReason::kShapedOut, shaped);
        if (!group_bufs.empty()) SendPackets(peer, group_bufs, group_lens);
      }
      if (count < batch) break;
    }
  }
}

bool Device::IsRoutingLoopLocked(ByteSpan packet, Peer& peer) {
  uint16_t src_port = 0, dst_port = 0;
  if (!ip::UdpPorts(packet, src_port, dst_port) || src_port != listen_port_) return false;
  bool v6 = false;
  const uint8_t* dst = ip::Destination(packet, v6);
  std::lock_guard lock(peer.mu);
  if (!peer.endpoint || peer.endpoint->is_tcp() || peer.endpoint->port() != dst_port) return false;
  const ByteSpan addr = peer.endpoint->AddressBytes();
  return addr.size() == (v6 ? 16u : 4u) && std::memcmp(addr.data(), dst, addr.size()) == 0;
}

void Device::SendPackets(const PeerPtr& peer, std::span<const MutableByteSpan> bufs,
                         std::span<const size_t> lens) {
  const TimePoint now = clock_.Now();
  std::optional<transport::Endpoint> endpoint;
  bool has_staged;
  bool check_route = false;
  {
    std::lock_guard lock(peer->mu);
    if (peer->removed) {
      drops_.Add(proto::DropReason::kPeerRemoved, bufs.size());
      return;
    }
    endpoint = peer->endpoint;
    if (endpoint) check_route = FollowRouteLocked(*peer, *endpoint, now);
    has_staged = !peer->staged.empty();
  }
  if (check_route) QueueRouteCheck(peer);
  if (!endpoint) {
    CountPeerDrop(*peer, proto::DropReason::kNoEndpoint, bufs.size());
    // (TAP mode: frames, not IP packets; there is no ICMP to answer with.)
    for (size_t i = 0; i < bufs.size() && !switch_; ++i) {
      SendUnreachable(ByteSpan(bufs[i].data() + kHeadroom, lens[i]));
    }
    return;
  }
  // Keep order behind packets already waiting for a session.
  if (has_staged) {
    StagePackets(peer, bufs, lens);
    FlushStaged(peer, false);
    return;
  }
  const proto::KeypairPtr keypair = peer->keypairs.current();
  const size_t sent = SealAndSend(peer, keypair, *endpoint, bufs, lens, now);
  if (sent < bufs.size()) {
    // No usable session for the rest: hold them and ask for a handshake.
    StagePackets(peer, bufs.subspan(sent), lens.subspan(sent));
    RequestInitiation(peer);
  } else if (keypair) {
    KeepKeyFreshSending(peer, *keypair, now);
  }
}

size_t Device::SealAndSend(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                           const transport::Endpoint& to, std::span<const MutableByteSpan> bufs,
                           std::span<const size_t> lens, TimePoint now) {
  if (!keypair) return 0;
  std::array<ByteSpan, kIdealBatchSize> out_storage;
  std::vector<ByteSpan> big_out;
  ByteSpan* out = out_storage.data();
  if (bufs.size() > out_storage.size()) {
    big_out.resize(bufs.size());
    out = big_out.data();
  }
  const size_t mtu = TunnelMtu();
  // Compression (docs/compression.md): a peer without it pays this one branch per batch.
  compress::Codec* codec = nullptr;
  if (const uint32_t packed = peer->compression.load(std::memory_order_relaxed); packed != 0) {
    codec = StartCompression(peer, keypair, to, packed, now);
  }
  uint64_t offered = 0, compressed = 0, before = 0, after = 0;
  size_t sent = 0;
  uint64_t bytes = 0;
  bool data_sent = false;
  for (; sent < bufs.size(); ++sent) {
    uint64_t counter;
    if (!keypair->ReserveSendCounter(now, counter)) break;
    size_t len = lens[sent];
    if (codec != nullptr && len != 0) {
      // After the TUN's super-packets were split: one packet at a time, in place.
      const size_t framed = CompressInPlace(*codec, bufs[sent], kHeadroom, len, mtu);
      ++offered;
      compressed += framed != len;
      before += len;
      after += framed;
      len = framed;
    }
    const size_t total =
        proto::SealDataMessage(*keypair, counter, bufs[sent], len, proto::PaddedLength(len, mtu));
    out[sent] = ByteSpan(bufs[sent].data(), total);
    bytes += total;
    data_sent |= len != 0;
  }
  if (sent == 0) return 0;
  if (offered != 0) peer->counters.AddCompressTx(offered, compressed, before, after);
  Status s = SendDatagrams(std::span<const ByteSpan>(out, sent), to);
  if (!s.ok()) {
    CountSendFailure(s.error(), sent, peer.get());
    TUNDRA_LOG_RATELIMITED(kVerbose, "{}: send to peer {}: {}", options_.name, peer->id(),
                           s.error().message());
  } else {
    peer->tx_bytes.fetch_add(bytes, std::memory_order_relaxed);
    peer->counters.AddTxPackets(sent);
  }
  std::lock_guard lock(peer->mu);
  peer->timers.OnAnyAuthenticatedPacketTraversal(now);
  peer->timers.OnAnyAuthenticatedPacketSent(now);
  if (data_sent) peer->timers.OnDataSent(now);
  ScheduleTimersLocked(peer);
  return sent;
}

void Device::StagePackets(const PeerPtr& peer, std::span<const MutableByteSpan> bufs,
                          std::span<const size_t> lens) {
  std::lock_guard lock(peer->mu);
  for (size_t i = 0; i < bufs.size(); ++i) {
    StagedPacket p;
    p.len = lens[i];
    p.buf.resize(kHeadroom + p.len + kTailroom);
    std::memcpy(p.buf.data() + kHeadroom, bufs[i].data() + kHeadroom, p.len);
    peer->staged.push_back(std::move(p));
  }
  TrimStagedLocked(*peer);
}

void Device::TrimStagedLocked(Peer& peer) {
  if (peer.staged.size() <= proto::kMaxStagedPackets) return;
  const size_t excess = peer.staged.size() - proto::kMaxStagedPackets;
  peer.staged.erase(peer.staged.begin(), peer.staged.begin() + ptrdiff_t(excess));  // oldest
  CountPeerDrop(peer, proto::DropReason::kStagedOverflow, excess);
}

void Device::FlushStaged(const PeerPtr& peer, bool keepalive) {
  std::vector<StagedPacket> packets;
  std::optional<transport::Endpoint> endpoint;
  bool check_route = false;
  {
    std::lock_guard lock(peer->mu);
    if (peer->removed) return;
    if (peer->staged.empty() && keepalive) {
      StagedPacket ka;  // an empty data message
      ka.buf.resize(kHeadroom + kTailroom);
      peer->staged.push_back(std::move(ka));
    }
    packets.swap(peer->staged);
    endpoint = peer->endpoint;
    if (endpoint) check_route = FollowRouteLocked(*peer, *endpoint, clock_.Now());
  }
  if (check_route) QueueRouteCheck(peer);
  if (packets.empty()) return;
  if (!endpoint) {
    CountPeerDrop(*peer, proto::DropReason::kNoEndpoint, packets.size());
    return;
  }
  std::vector<MutableByteSpan> bufs;
  std::vector<size_t> lens;
  bufs.reserve(packets.size());
  lens.reserve(packets.size());
  for (StagedPacket& p : packets) {
    bufs.emplace_back(p.buf);
    lens.push_back(p.len);
  }
  const TimePoint now = clock_.Now();
  const proto::KeypairPtr keypair = peer->keypairs.current();
  const size_t sent = SealAndSend(peer, keypair, *endpoint, bufs, lens, now);
  if (sent < packets.size()) {
    {
      // Put the rest back in front of anything staged meanwhile, oldest first.
      std::lock_guard lock(peer->mu);
      peer->staged.insert(peer->staged.begin(),
                          std::make_move_iterator(packets.begin() + ptrdiff_t(sent)),
                          std::make_move_iterator(packets.end()));
      TrimStagedLocked(*peer);
    }
    RequestInitiation(peer);
  } else if (keypair) {
    KeepKeyFreshSending(peer, *keypair, now);
  }
}

Result<size_t> Device::WriteTun(std::span<const MutableByteSpan> packets) {
  std::lock_guard lock(tun_write_mu_);
  return tun_->Write(packets, proto::kDataHeaderSize);
}

void Device::SendUnreachable(ByteSpan packet) {
  std::array<uint8_t, proto::kDataHeaderSize + tun::kMaxIcmpError> buf;
  const size_t len =
      tun::BuildUnreachable(packet, MutableByteSpan(buf).subspan(proto::kDataHeaderSize));
  if (len == 0) return;
  {
    std::lock_guard lock(tun_write_mu_);
    const TimePoint now = clock_.Now();
    const double elapsed =
        icmp_refill_ ? std::chrono::duration<double>(now - *icmp_refill_).count() : 1e9;
    icmp_refill_ = now;
    icmp_tokens_ = std::min(double(tun::kIcmpErrorBurst),
                            icmp_tokens_ + elapsed * double(tun::kIcmpErrorsPerSecond));
    if (icmp_tokens_ < 1) return;
    icmp_tokens_ -= 1;
    const MutableByteSpan one(buf.data(), proto::kDataHeaderSize + len);
    auto written = tun_->Write(std::span<const MutableByteSpan>(&one, 1), proto::kDataHeaderSize);
    if (!written.ok() || *written != 1) return;
  }
  icmp_errors_sent_.fetch_add(1, std::memory_order_relaxed);
}

bool Device::FollowRouteLocked(Peer& peer, transport::Endpoint& to, TimePoint now) {
  if (!options_.route_oif || to.is_tcp() || !to.has_source() || to.source_ifindex() == 0) {
    return false;
  }
  const auto& verdict = peer.route_verdict;
  const bool same = verdict && verdict->endpoint.SameIncludingSource(to);
  bool due = false;
  if ((!same || now - verdict->checked >= kRouteCheckInterval) && !peer.route_candidate) {
    peer.route_candidate = to;
    due = true;
  }
  if (same && verdict->stale) {
    to.ClearSource();
    if (peer.endpoint) peer.endpoint->ClearSource();
  }
  return due;
}

void Device::QueueRouteCheck(const PeerPtr& peer) {
  {
    std::lock_guard lock(work_mu_);
    peer_work_.push_back(peer);
  }
  WakeControl();
}

bool Device::RequestInitiation(const PeerPtr& peer) {
  const int64_t now = clock_.Now().time_since_epoch().count();
  if (now - peer->last_sent_handshake_ns.load(std::memory_order_relaxed) < kRekeyTimeoutNs) {
    return false;
  }
  if (peer->initiation_wanted.exchange(true)) return false;
  {
    std::lock_guard lock(work_mu_);
    peer_work_.push_back(peer);
  }
  WakeControl();
  return true;
}

void Device::KeepKeyFreshSending(const PeerPtr& peer, const proto::Keypair& keypair,
                                 TimePoint now) {
  if (!keypair.sending_valid.load(std::memory_order_relaxed)) return;
  if (keypair.send_counter.load(std::memory_order_relaxed) > proto::kRekeyAfterMessages ||
      (keypair.i_am_initiator && now - keypair.birthdate >= proto::kRekeyAfterTime)) {
    RequestInitiation(peer);
  }
}

void Device::SendInitiation(const PeerPtr& peer, bool is_retry) {
  std::shared_lock config(config_mu_);
  if (!identity_->has_private_key) return;
  const TimePoint now = clock_.Now();
  proto::MessageInitiation msg;
  std::optional<transport::Endpoint> endpoint;
  bool check_route = false;
  {
    std::lock_guard lock(peer->mu);
    if (peer->removed) return;
    if (!is_retry) peer->timers.ResetHandshakeAttempts();
    // Rate limit: at most one initiation per REKEY_TIMEOUT.
    const int64_t now_ns = now.time_since_epoch().count();
    if (now_ns - peer->last_sent_handshake_ns.load() < kRekeyTimeoutNs) return;
    peer->last_sent_handshake_ns.store(now_ns);

    PrepareHandshakeLocked(*peer);
    const uint32_t index = BeginPendingHandshakeLocked(peer);
    proto::DropReason r = peer->handshake.CreateInitiation(*identity_, index,
                                                           proto::Tai64nNow(clock_.WallNow()), msg);
    if (r != proto::DropReason::kNone) {
      ClearPendingHandshakeLocked(*peer);
      TUNDRA_LOG_RATELIMITED(kVerbose, "{}: cannot create initiation for peer {}: {}",
                             options_.name, peer->id(), proto::DropReasonName(r));
      return;
    }
    peer->cookie_jar.AddMacs(proto::AsMutableBytes(msg), now);
    peer->timers.OnAnyAuthenticatedPacketTraversal(now);
    peer->timers.OnAnyAuthenticatedPacketSent(now);
    // Retransmission is armed whether or not the datagram can leave (no endpoint yet): the
    // attempt counts, as in the kernel.
    peer->timers.OnHandshakeInitiated(now);
    ScheduleTimersLocked(peer);
    endpoint = peer->endpoint;
    // auto: the configured address over the transport the fallback logic picks.
    if (peer->mode == transport::TransportMode::kAuto && peer->configured_endpoint) {
      endpoint = peer->configured_endpoint->WithTransport(peer->auto_transport.ForInitiation(now));
    }
    if (endpoint) check_route = FollowRouteLocked(*peer, *endpoint, now);
  }
  if (check_route) QueueRouteCheck(peer);
  if (!endpoint) return;
  // Lock order: the peer lock is released before the bind's.
  TUNDRA_LOG(kDebug, "{}: sending handshake initiation to peer {} ({})", options_.name, peer->id(),
             endpoint->ToString());
  const ByteSpan datagram = proto::AsBytes(msg);
  Status s = SendDatagrams(std::span<const ByteSpan>(&datagram, 1), *endpoint);
  if (s.ok()) {
    peer->tx_bytes.fetch_add(sizeof(msg), std::memory_order_relaxed);
    peer->counters.AddInitiationSent();
  } else {
    CountSendFailure(s.error(), 1, peer.get());
  }
}

Status Device::SendDatagrams(std::span<const ByteSpan> datagrams, const transport::Endpoint& to) {
  std::shared_lock bind(bind_mu_);
  return bind_->Send(datagrams, to);
}

void Device::CountSendFailure(const Error& error, size_t n, Peer* peer) {
  const int code = error.code();
  const bool no_room = code == ENOBUFS || code == EAGAIN || code == EWOULDBLOCK || code == ENOMEM;
  const proto::DropReason reason =
      no_room ? proto::DropReason::kSendBufferFull : proto::DropReason::kSendFailed;
  if (peer != nullptr) {
    CountPeerDrop(*peer, reason, n);
  } else {
    drops_.Add(reason, n);
  }
}

}  // namespace tundra::device
