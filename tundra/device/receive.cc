// The receive path (kernel receive.c), in packet order: UDP -> classify -> data: index ->
// decrypt -> replay -> roaming/keypair confirmation/timers -> inner packet checks -> TUN;
// handshake messages are copied to the control thread's queue.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "tundra/base/ip_header.h"
#include "tundra/base/log.h"
#include "tundra/device/device.h"
#include "tundra/proto/constants.h"

namespace tundra::device {
namespace {

// Length of a well-formed IPv4/IPv6 packet within `len` bytes of plaintext, else 0, plus its
// source address.
size_t InnerPacketLength(const uint8_t* p, size_t len, const uint8_t*& src, bool& v6) {
  src = ip::Source(ByteSpan(p, len), v6);
  if (src == nullptr) return 0;
  const size_t total = v6 ? ip::Ipv6TotalLength(p) : ip::Ipv4TotalLength(p);
  if (total < (v6 ? ip::kIpv6HeaderSize : ip::kIpv4HeaderSize) || total > len) return 0;
  return total;
}

}  // namespace

void Device::UdpLoop() {
  // Received packets go to the TUN in one write per batch: as many as the TUN takes at once,
  // or as the bind offers (a GRO burst hands out more packets than it has recvmmsg slots).
  std::vector<transport::RecvPacket> packets(std::max(tun_->BatchSize(), bind_->BatchSize()));
  std::vector<MutableByteSpan> to_tun;
  to_tun.reserve(packets.size());
  InflateBuffers inflate;
  L2Batch l2;  // TAP mode: frames relayed to other peers, sent after each round
  transport::Bind::ReceiveLosses losses_seen = bind_->receive_losses();
  uint64_t generation = ~uint64_t{0};
  UniqueFd epoll_fd;

  while (!stopping_.load(std::memory_order_relaxed)) {
    if (generation != bind_generation_.load()) {
      // (Re)build the poll set for the current sockets.
      std::shared_lock bind(bind_mu_);
      generation = bind_generation_.load();
      epoll_fd.reset(::epoll_create1(EPOLL_CLOEXEC));
      TUNDRA_CHECK(epoll_fd.valid());
      epoll_event ev{};
      ev.events = EPOLLIN;
      for (int fd : {stop_fd_.get(), udp_wake_fd_.get()}) {
        ev.data.fd = fd;
        TUNDRA_CHECK(::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, fd, &ev) == 0);
      }
      for (size_t i = 0; i < bind_->receiver_count(); ++i) {
        ev.data.fd = bind_->receiver_fd(i);
        if (ev.data.fd >= 0) ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, ev.data.fd, &ev);
      }
    }
    epoll_event events[4];
    int n = ::epoll_wait(epoll_fd.get(), events, 4, -1);
    if (n < 0 && errno != EINTR) {
      TUNDRA_LOG(kError, "{}: epoll_wait (udp): {}", options_.name, std::strerror(errno));
      return;
    }
    if (stopping_.load()) break;
    uint64_t drained;
    while (::read(udp_wake_fd_.get(), &drained, sizeof(drained)) > 0) {
    }

    // One round of batches at a time under the locks, released in between: a configuration
    // writer waits for one round at most, never for a whole inbound stream (RwMutex prefers
    // writers, so the readers behind it are not held up either). Lock order: configuration
    // before bind; the packets live in the bind's buffers until their batch is done.
    // TAP mode: what the round relays to other peers is sealed and sent after it, with both
    // locks released (sending takes bind_mu_ itself, and a listen-port change may be waiting).
    bool more = true;
    while (more && !stopping_.load(std::memory_order_relaxed)) {
      more = false;
      {
        std::shared_lock config(config_mu_);
        std::shared_lock bind(bind_mu_);
        if (generation != bind_generation_.load()) break;
        for (size_t r = 0; r < bind_->receiver_count(); ++r) {
          auto got = bind_->Receive(r, packets);
          if (!got.ok()) {
            TUNDRA_LOG_RATELIMITED(kVerbose, "{}: UDP receive: {}", options_.name,
                                   got.error().message());
            continue;
          }
          if (*got == 0) continue;
          more |= *got == packets.size();
          ReceiveBatch(std::span<transport::RecvPacket>(packets.data(), *got), to_tun, inflate, l2);
        }
        CountReceiveLosses(losses_seen);
      }
      if (!l2.items.empty()) SendL2Batch(l2);
    }
  }
}

void Device::CountReceiveLosses(transport::Bind::ReceiveLosses& seen) {
  const transport::Bind::ReceiveLosses now = bind_->receive_losses();
  if (now.buffer_full > seen.buffer_full) {
    drops_.Add(proto::DropReason::kReceiveBufferFull, now.buffer_full - seen.buffer_full);
  }
  if (now.truncated > seen.truncated) {
    drops_.Add(proto::DropReason::kTruncated, now.truncated - seen.truncated);
  }
  seen = now;
}

void Device::ReceiveBatch(std::span<transport::RecvPacket> packets,
                          std::vector<MutableByteSpan>& to_tun, InflateBuffers& inflate,
                          L2Batch& l2) {
  const TimePoint now = clock_.Now();
  to_tun.clear();
  inflate.Reset();
  for (transport::RecvPacket& packet : packets) {
    proto::MessageType type;
    proto::DropReason r = proto::Classify(packet.data, type);
    if (r != proto::DropReason::kNone) {
      drops_.Add(r);
      continue;
    }
    if (type != proto::MessageType::kData) {
      EnqueueHandshake(packet);
      continue;
    }
    const MutableByteSpan inner = ConsumeData(packet, now, inflate, l2);
    if (!inner.empty()) to_tun.push_back(inner);
  }
  if (to_tun.empty()) return;
  auto written = WriteTun(to_tun);
  if (!written.ok()) {
    drops_.Add(proto::DropReason::kTunWrite, to_tun.size());
    TUNDRA_LOG_RATELIMITED(kVerbose, "{}: TUN write: {}", options_.name, written.error().message());
  } else if (*written < to_tun.size()) {
    drops_.Add(proto::DropReason::kTunWrite, to_tun.size() - *written);
  }
}

MutableByteSpan Device::ConsumeData(transport::RecvPacket& packet, TimePoint now,
                                    InflateBuffers& inflate, L2Batch& l2) {
  // Caller holds config_mu_ shared (for the allowed-IPs source check).
  MutableByteSpan msg = packet.data;
  auto entry = indices_.Lookup(proto::DataReceiverIndex(msg.data()));
  if (!entry || !entry->keypair) {
    drops_.Add(proto::DropReason::kUnknownIndex);
    InitiateForUnknownIndexLocked(packet.from);
    return {};
  }
  const proto::KeypairPtr& keypair = entry->keypair;
  const PeerPtr& peer = entry->peer;
  if (!keypair->CanReceive(now)) {
    CountPeerDrop(*peer, proto::DropReason::kKeyExpired);
    return {};
  }
  const uint64_t counter = proto::DataCounter(msg.data());
  if (counter >= proto::kRejectAfterMessages) {
    CountPeerDrop(*peer, proto::DropReason::kCounterLimit);
    return {};
  }
  if (!proto::OpenDataMessage(*keypair, msg)) {
    CountPeerDrop(*peer, proto::DropReason::kInvalidAeadTag);
    return {};
  }
  // Only now, authenticated, may the counter move the window.
  if (!keypair->ValidateCounter(counter)) {
    CountPeerDrop(*peer, proto::DropReason::kReplayed);
    return {};
  }
  size_t plain_len = msg.size() - proto::kDataOverhead;
  const uint8_t* plain = msg.data() + proto::kDataHeaderSize;
  // A compression hello is no data (for the timers, as a keepalive is not).
  const bool is_data = plain_len != 0 && plain[0] != compress::kMarkerHello;

  proto::Keypairs::Evicted evicted;
  bool confirmed = false;
  bool want_initiation = false;
  bool bind_connection = false;
  {
    std::lock_guard lock(peer->mu);
    if (peer->removed) {
      drops_.Add(proto::DropReason::kPeerRemoved);
      return {};
    }
    // Roaming: the endpoint follows the latest authenticated packet (with its sticky source,
    // or the TCP connection it came on).
    bind_connection = SetEndpointLocked(*peer, packet.from, true);
    if (peer->keypairs.ReceivedWith(keypair, evicted)) {
      confirmed = true;
      peer->timers.OnHandshakeComplete(now);
      peer->sent_lastminute_handshake = false;
      peer->last_handshake = clock_.WallNow();
    }
    // Last-minute rekey: the initiator renews a session about to expire while receiving.
    if (!peer->sent_lastminute_handshake) {
      proto::KeypairPtr current = peer->keypairs.current();
      if (current && current->sending_valid.load(std::memory_order_relaxed) &&
          current->i_am_initiator &&
          now - current->birthdate >=
              proto::kRejectAfterTime - proto::kKeepaliveTimeout - proto::kRekeyTimeout) {
        peer->sent_lastminute_handshake = true;
        want_initiation = true;
      }
    }
    peer->timers.OnAnyAuthenticatedPacketReceived(now);
    peer->timers.OnAnyAuthenticatedPacketTraversal(now);
    if (is_data) peer->timers.OnDataReceived(now);
    ScheduleTimersLocked(peer);
  }
  if (bind_connection) bind_->MarkAuthenticated(packet.from);  // bind_mu_ held shared
  if (confirmed) {
    FreeIndices(evicted);
    peer->flush_wanted.store(true);
    std::lock_guard lock(work_mu_);
    peer_work_.push_back(peer);
    WakeControl();
  }
  if (want_initiation) RequestInitiation(peer);

  peer->counters.AddRxPackets(1);
  if (plain_len == 0) {  // keepalive
    peer->rx_bytes.fetch_add(msg.size(), std::memory_order_relaxed);
    return {};
  }
  // TAP mode: frames, switched (l2_path.cc); no allowed-IPs source check (AllowedMACs).
  if (switch_) return ConsumeL2(peer, keypair, msg, is_data, now, inflate, l2);
  // Not an IP packet: compression's (docs/compression.md), a frame from a TAP-mode peer, or
  // invalid. An IP packet's first nibble is 4 or 6; anything else is rare (only peers with
  // Compression or in TAP mode send it).
  MutableByteSpan out(msg.data(), msg.size());
  if (const uint8_t version = plain[0] >> 4; version != 4 && version != 6) [[unlikely]] {
    if (l2::ClassifyPlaintext(ByteSpan(plain, plain_len)) == l2::PlaintextKind::kFrame) {
      CountL2Drop(peer.get(), l2::DropReason::kFrameOnTun);
      return {};
    }
    if (!ReceiveNotIp(peer, keypair, ByteSpan(plain, plain_len), inflate, out)) {
      if (!is_data) peer->rx_bytes.fetch_add(msg.size(), std::memory_order_relaxed);  // a hello
      return {};
    }
    plain = out.data() + proto::kDataHeaderSize;
    plain_len = out.size() - proto::kDataHeaderSize;
    if (l2::ClassifyPlaintext(ByteSpan(plain, plain_len)) == l2::PlaintextKind::kFrame) {
      CountL2Drop(peer.get(), l2::DropReason::kFrameOnTun);  // compressed, from a TAP-mode peer
      return {};
    }
  }
  const uint8_t* src = nullptr;
  bool v6 = false;
  const size_t inner = InnerPacketLength(plain, plain_len, src, v6);
  if (inner == 0) {
    CountPeerDrop(*peer, proto::DropReason::kInvalidPacket);
    return {};
  }
  Peer* routed = v6 ? allowed_ips_.LookupV6(src) : allowed_ips_.LookupV4(src);
  if (routed != peer.get()) {
    CountPeerDrop(*peer, proto::DropReason::kSourceNotAllowed);
    TUNDRA_LOG_RATELIMITED(kDebug, "{}: packet from peer {} has a source outside its allowed IPs",
                           options_.name, peer->id());
    return {};
  }
  peer->rx_bytes.fetch_add(msg.size(), std::memory_order_relaxed);
  if (!peer->shape_in.Take(inner, now.time_since_epoch().count())) {
    CountPeerDrop(*peer, proto::DropReason::kShapedIn);
    return {};
  }
  return out.first(proto::kDataHeaderSize + inner);
}

void Device::InitiateForUnknownIndexLocked(const transport::Endpoint& from) {
  // Cheap for a flood: one hash lookup; anything else is refused before any work. A spoofed
  // source gains at most what a packet into the tunnel would: one initiation (and its
  // retransmissions) to an endpoint the administrator configured, once per REKEY_TIMEOUT.
  if (by_configured_endpoint_.empty()) return;
  auto [first, last] = by_configured_endpoint_.equal_range(EndpointKey(from));
  if (first == last || std::next(first) != last) return;  // none, or ambiguous
  Peer* peer = first->second;
  if (peer->keypairs.current() != nullptr) return;  // a session exists: a stale packet, no more
  if (RequestInitiation(peer->shared_from_this())) {
    unknown_index_initiations_.fetch_add(1, std::memory_order_relaxed);
    TUNDRA_LOG_RATELIMITED(kDebug,
                           "{}: data under an unknown index from peer {}'s endpoint {} and no "
                           "session: initiating a handshake",
                           options_.name, peer->id(), from.ToString());
  }
}

void Device::EnqueueHandshake(const transport::RecvPacket& packet) {
  bool was_empty;
  {
    std::lock_guard lock(work_mu_);
    if (handshake_queue_.size() >= options_.max_queued_handshakes) {
      drops_.Add(proto::DropReason::kHandshakeQueueFull);
      return;
    }
    was_empty = handshake_queue_.empty();
    QueuedHandshake& q = handshake_queue_.emplace_back();
    std::memcpy(q.bytes.data(), packet.data.data(), packet.data.size());
    q.size = packet.data.size();
    q.from = packet.from;
  }
  // One wake-up per batch of work, not one eventfd write per message of a flood: the control
  // thread takes the whole queue at once, so a non-empty queue already has a wake-up coming.
  if (was_empty) WakeControl();
}

}  // namespace tundra::device
