// Device: one WireGuard interface (kernel device.c + wireguard-go device.go).
//
// Owns the TUN queue, the UDP bind, the peers, the allowed-IPs trie, the index table and the
// cookie checker, and runs three threads:
//   tun thread      TUN -> route -> (stage | encrypt) -> UDP            send.cc
//   udp thread      UDP -> classify -> decrypt -> replay/source check -> TUN; handshake
//                   messages are queued for the control thread           receive.cc
//   control thread  handshake messages, initiations, staged flushes, the per-peer timers
//                                                                        control.cc
// In TAP mode (DeviceOptions::tap, docs/l2.md) the TUN is a TAP and an l2::Switch decides
// where each frame goes (l2_path.cc): the tun thread sends what it reads to one peer or
// floods it, without the configuration lock (peers come from an immutable snapshot, L2Peers,
// that Apply publishes); the udp thread writes frames from peers to the TAP and, when the
// switch relays them (Forward = yes), seals them for the other peers after each round of
// batches, once it has released config_mu_ and bind_mu_; the control thread expires the MAC
// table about once a second. The table has its own locks (l2/mac_table.h).
// Configuration (UAPI) runs on the caller's thread: one transaction at a time under apply_mu_,
// which the data path never takes, and config_mu_ exclusive only per batch of kApplyBatch peers,
// so a 100k-peer `wg setconf` never stalls traffic for longer than one batch.
//
// Start() then Close() (idempotent; also the destructor). Close order, the reverse of Start:
// stop flag + wake all threads, join tun/udp/control threads, close the bind. The TUN device
// and the bind are owned and destroyed with the Device.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tundra/base/check.h"
#include "tundra/base/clock.h"
#include "tundra/base/result.h"
#include "tundra/base/rw_mutex.h"
#include "tundra/base/unique_fd.h"
#include "tundra/crypto/secure_memory.h"
#include "tundra/device/compression.h"
#include "tundra/device/counters.h"
#include "tundra/device/l2_path.h"
#include "tundra/device/peer.h"
#include "tundra/device/peer_event.h"
#include "tundra/device/update.h"
#include "tundra/l2/mac_table.h"
#include "tundra/l2/switch.h"
#include "tundra/proto/constants.h"
#include "tundra/proto/cookie.h"
#include "tundra/proto/index_table.h"
#include "tundra/proto/ratelimiter.h"
#include "tundra/routing/allowed_ips.h"
#include "tundra/transport/bind.h"
#include "tundra/tun/tun_device.h"

namespace tundra::device {

// Peers (plus allowed IPs, one unit each) applied under one exclusive hold of the configuration
// lock before it is released for the data path: a batch takes well under a millisecond.
inline constexpr size_t kApplyBatch = 256;

struct DeviceOptions {
  std::string name = "tundra";            // for logs
  int mtu = int(proto::kDefaultMtu);      // TUN MTU: padding limit and largest packet accepted
  const Clock* clock = nullptr;           // default Clock::Real(); must outlive the Device
  proto::JitterSource* jitter = nullptr;  // default proto::RandomJitter()
  size_t max_queued_handshakes = proto::kMaxQueuedHandshakes;  // "under load" at 1/8 of this
  // Called (from the tun thread) when the TUN device fails for good, e.g. EBADFD after the
  // interface was deleted. The tun thread then stops; the owner should Close() the device.
  std::function<void(const Error&)> on_tun_failure;
  // The interface the kernel would send a datagram to `to` through, from `to`'s sticky source
  // and with `mark` (RTM_GETROUTE; the daemon gives one). When that is not the interface the
  // source was learnt on, a better route has appeared: replies are sent without the sticky
  // source so that they follow it, with the source it gives (the kernel's send4/send6). Asked
  // on the control thread, at most once per kRouteCheckInterval per peer and source. Unset:
  // sticky sources are kept while they work.
  std::function<Result<int>(const transport::Endpoint& to, uint32_t mark)> route_oif;
  // Called (from the control thread or a configuring thread, possibly with the peer's lock
  // held) when a peer goes up or down (peer_event.h). It must only queue the event: not
  // block, not call into the Device.
  std::function<void(const PeerEvent&)> on_peer_event;
  // TAP mode (docs/l2.md), fixed for the device's life: `tun` is a TAP (no PI, no vnet header)
  // and the data messages carry L2 messages (0x20/0x21) switched by an l2::Switch. `mtu` is
  // then the TAP's MTU; the tunnel MTU (padding limit) is mtu + l2::kTapOverhead.
  bool tap = false;
  // TAP mode: MACTableSize, MACExpiry (the device seeds the hash); must be valid
  // (l2::ValidateMacTableOptions, as the config parser checks it).
  l2::MacTableOptions mac_table;
};

class Device {
 public:
  Device(std::unique_ptr<tun::TunDevice> tun, std::unique_ptr<transport::Bind> bind,
         DeviceOptions options = {});
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Binds the UDP port (random unless configured) and starts the threads.
  Status Start();
  void Close();

  // Applies a configuration change in order; stops at and returns the first failure
  // (errno-carrying: EADDRINUSE for a port in use, EINVAL for bad values). Readers of the
  // configuration on the data path see it change batch by batch (as the kernel's RCU readers
  // see a `wg setconf` peer by peer); GetStatus sees only whole transactions.
  Status Apply(const DeviceUpdate& update);
  DeviceStatus GetStatus() const;
  DropCounters::Snapshot GetDropCounters() const { return drops_.Read(); }
  const DropCounters& drops() const { return drops_; }
  // The TUN layer's own counters: drops by reason, and what its offloads did.
  const tun::TunDropCounters& tun_drops() const { return tun_->drops(); }
  tun::TunOffloadCounters::Snapshot tun_offloads() const { return tun_->offloads(); }
  // Cookie replies accepted from peers (this device was asked to prove its address).
  uint64_t cookie_replies_accepted() const { return cookie_replies_accepted_.load(); }
  // ICMP destination-unreachable errors written back into the TUN (no route, no endpoint).
  uint64_t icmp_errors_sent() const { return icmp_errors_sent_.load(); }
  // Handshakes initiated because a data message under an unknown index came from the
  // configured endpoint of a peer with no session (a restarted side answering a survivor).
  uint64_t unknown_index_initiations() const { return unknown_index_initiations_.load(); }
  // Sticky sources given up because the route to the peer now leaves by another interface.
  uint64_t sticky_sources_rerouted() const { return sticky_sources_rerouted_.load(); }
  // All of the above by name, for `tundra stats`: drop_REASON, tun_drop_REASON,
  // icmp_unreachable_sent, unknown_index_initiations, sticky_sources_rerouted, tun_OFFLOAD_COUNTER.
  // In TAP mode also drop_L2REASON (l2::DropReason) and mac_* (the MAC table's stats); in TUN
  // mode an L2 reason is listed once it is non-zero (frame_on_tun: a peer runs TAP mode).
  std::vector<std::pair<std::string, uint64_t>> Counters() const;
  // TAP mode's drops by reason (docs/l2.md); all zero but frame_on_tun in TUN mode.
  L2DropCounters::Snapshot GetL2DropCounters() const { return l2_drops_.Read(); }
  bool tap() const { return options_.tap; }

  // Follows `ip link set mtu` (in TAP mode the TAP's MTU: also the largest frame taken).
  void SetMtu(int mtu);
  int mtu() const { return mtu_.load(std::memory_order_relaxed); }
  const std::string& name() const { return options_.name; }

  // Wakes the control thread to re-run the timers now (tests that move a FakeClock).
  void PokeTimers();

 private:
  struct IndexEntry {
    PeerPtr peer;
    proto::KeypairPtr keypair;  // null: the index names the peer's pending handshake
  };

  struct QueuedHandshake {
    std::array<uint8_t, proto::kInitiationSize> bytes;
    size_t size;
    transport::Endpoint from;
  };

  // --- configuration (device.cc) ---
  Status SetPrivateKeyLocked(const crypto::PrivateKey& key);
  Status SetListenPortLocked(uint16_t port);
  Status ApplyPeerLocked(const PeerUpdate& update);
  // --- transports (device.cc; docs/tcp-transport.md) ---
  // Caller holds config_mu_ exclusive and peer.mu: the mode in effect, and the configured
  // endpoint turned into a UDP or TCP one.
  void ApplyTransportLocked(Peer& peer);
  // Caller holds config_mu_ exclusive: the TCP listener as the settings want it, and the
  // lists of auto and TCP peers the control thread walks.
  Status RefreshTransportsLocked();
  // Caller holds peer.mu. The endpoint an authenticated packet (or the configuration) gives;
  // keeps transport_since and the auto state. True when the bind must be told that this TCP
  // connection is now a peer's (call MarkAuthenticated after releasing peer.mu).
  bool SetEndpointLocked(Peer& peer, const transport::Endpoint& e, bool authenticated);
  // Control thread: outbound TCP connections that came up (re-bind their peers), probes due.
  void RunTransportWork(TimePoint now);

  // Caller holds config_mu_ (shared is enough) and peer.mu: runs handshake.Configure with the
  // current identity if it has not yet (the static-static DH, computed on first use).
  void PrepareHandshakeLocked(Peer& peer);
  // Takes its own reference: `peer` may be the map's, which the removal erases.
  void RemovePeerLocked(PeerPtr peer, proto::DropReason why);
  // Address bytes and port: the key of by_configured_endpoint_ (the sticky source ignored).
  static std::string EndpointKey(const transport::Endpoint& e);
  // Keeps by_configured_endpoint_ in step with the peer's configured endpoint (nullopt: none).
  void SetConfiguredEndpointLocked(Peer& peer, const std::optional<transport::Endpoint>& e);

  // --- sessions and the index table (device.cc) ---
  // The rule they keep: a peer's handshake_index is in indices_ exactly while its handshake is
  // pending, and every keypair leaves indices_ when a Keypairs change evicts it.
  //
  // Caller holds peer.mu. Registers a fresh index for a handshake that begins now (replacing
  // any pending one) and returns it.
  uint32_t BeginPendingHandshakeLocked(const PeerPtr& peer);
  // Caller holds peer.mu. Forgets the pending handshake, if any: its index leaves the table.
  void ClearPendingHandshakeLocked(Peer& peer);
  // Caller holds peer.mu; the handshake is complete (response created or consumed). Derives the
  // session keys, gives the handshake's index to the new keypair (so it is no longer pending),
  // rotates it into the peer's keypairs (evicted ones leave the table) and notes the new
  // session in the timers (kernel wg_noise_handshake_begin_session).
  proto::KeypairPtr InstallSessionLocked(const PeerPtr& peer, TimePoint now);
  // Drops all of a peer's sessions: handshake state and keypairs, and their indices.
  void ClearSessions(const PeerPtr& peer, bool forget_timestamp);
  void FreeIndices(const proto::Keypairs::Evicted& evicted);

  // --- send path (send.cc) ---
  void TunLoop();
  // Encrypts and sends (or stages) the packets of one peer: packet i is plaintext at
  // bufs[i][kDataHeaderSize, +lens[i]), with room behind it for padding and the tag.
  void SendPackets(const PeerPtr& peer, std::span<const MutableByteSpan> bufs,
                   std::span<const size_t> lens);
  // The largest plaintext sealed (the padding cap): the MTU, plus l2::kTapOverhead in TAP mode.
  size_t TunnelMtu() const;
  // Seals packets in place with `keypair` and sends them to `to`, stopping at the first the
  // keypair may no longer carry; counts bytes and runs the send timers. Returns how many went.
  size_t SealAndSend(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                     const transport::Endpoint& to, std::span<const MutableByteSpan> bufs,
                     std::span<const size_t> lens, TimePoint now);
  // Caller holds config_mu_ shared. True for a packet read from the TUN that is one of our own
  // datagrams to `peer`'s endpoint (from the listen port): the route to the endpoint leads
  // back into the tunnel, and sealing it again would circle it at full speed (the kernel's
  // "routing loop" check on its output route).
  bool IsRoutingLoopLocked(ByteSpan packet, Peer& peer);
  // Caller holds peer.mu; `to` is the peer's endpoint about to be sent to. Drops its sticky
  // source (in `to` and the peer) when the last route check found a better route; returns
  // true when a (new) check is due: the caller then calls QueueRouteCheck after unlocking.
  bool FollowRouteLocked(Peer& peer, transport::Endpoint& to, TimePoint now);
  void QueueRouteCheck(const PeerPtr& peer);
  void StagePackets(const PeerPtr& peer, std::span<const MutableByteSpan> bufs,
                    std::span<const size_t> lens);
  // Caller holds config_mu_ shared. A data message under an index we do not know came from
  // `from`: when that is the configured endpoint of exactly one peer and that peer has no
  // session, we probably restarted and lost it, and the peer will go on sending under the old
  // keys for KEEPALIVE + REKEY_TIMEOUT: initiate now (rate-limited by REKEY_TIMEOUT per peer).
  void InitiateForUnknownIndexLocked(const transport::Endpoint& from);
  // Drops the oldest staged packets beyond kMaxStagedPackets. Caller holds peer.mu.
  void TrimStagedLocked(Peer& peer);
  // Sends everything staged (or one keepalive if `keepalive` and nothing is staged).
  void FlushStaged(const PeerPtr& peer, bool keepalive);
  // Queues an initiation for the control thread unless REKEY_TIMEOUT forbids it or one is
  // already queued; true when queued.
  bool RequestInitiation(const PeerPtr& peer);
  void SendInitiation(const PeerPtr& peer, bool is_retry);
  void KeepKeyFreshSending(const PeerPtr& peer, const proto::Keypair& keypair, TimePoint now);
  // Answers `packet` (read from the TUN, undeliverable) with an ICMP destination unreachable
  // written back into the TUN, at most tun::kIcmpErrorsPerSecond (burst
  // tun::kIcmpErrorBurst, tundra/tun/icmp.h).
  void SendUnreachable(ByteSpan packet);
  // Every TUN write goes through here: the udp and tun threads both write.
  Result<size_t> WriteTun(std::span<const MutableByteSpan> packets);
  Status SendDatagrams(std::span<const ByteSpan> datagrams, const transport::Endpoint& to);
  // Counts `n` datagrams a failed send lost: send_buffer_full when the socket or the device
  // queue had no room, send_failed otherwise; also as the peer's when they were its.
  void CountSendFailure(const Error& error, size_t n, Peer* peer = nullptr);
  // Sets the peer's Speed/Burst from `u` (config_mu_ held exclusively).
  static void ApplyShaping(Peer& peer, const PeerUpdate& u);
  // --- compression (compression.cc; docs/compression.md) ---
  // Before a batch is sealed for a peer with compression (`packed`, Peer::compression): sends
  // our hello under `keypair` when it is due (MaybeSendHello), and returns the thread's codec
  // when the other end's hello in this session agreed (else null: send as they are).
  compress::Codec* StartCompression(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                                    const transport::Endpoint& to, uint32_t packed, TimePoint now);
  // Sends our hello (docs/compression.md, "The hello") when the other end asked for an answer,
  // or when it has not said it has ours and a resend is due; within kMaxHellosPerSession.
  void MaybeSendHello(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                      const transport::Endpoint& to, const compress::Setting& setting,
                      TimePoint now);
  // An authenticated plaintext that is not an IP packet: a hello (recorded on the keypair),
  // a compressed packet (decompressed into `inflate`; true and `out` = headroom + packet),
  // or anything else (counted as dropped). False: nothing for the TUN.
  bool ReceiveNotIp(const PeerPtr& peer, const proto::KeypairPtr& keypair, ByteSpan plain,
                    InflateBuffers& inflate, MutableByteSpan& out);
  // Sets the peer's Compression (config_mu_ held exclusively); a change of the algorithm on a
  // running peer clears its sessions, as the hellos are per session (a zstd level change does
  // not: the hello does not carry the level).
  void ApplyCompressionLocked(const PeerPtr& peer, const compress::Setting& setting);

  // --- TAP mode (l2_path.cc; docs/l2.md) ---
  // The tun thread's frames: frame i at bufs[i][kL2Headroom, +sizes[i]); switched and sent.
  void TapBatch(std::span<const MutableByteSpan> bufs, std::span<const size_t> sizes, size_t count,
                L2Batch& batch);
  // Caller holds config_mu_ shared (the peer's allowed MACs). An authenticated non-empty
  // plaintext in TAP mode (msg: the whole datagram, opened): a frame from a peer is switched;
  // returns what to write to the TAP (kDataHeaderSize of headroom, then the frame) or an empty
  // span, and adds what goes on to other peers to `batch` (copied: sent by SendL2Batch).
  MutableByteSpan ConsumeL2(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                            MutableByteSpan msg, bool is_data, TimePoint now,
                            InflateBuffers& inflate, L2Batch& batch);
  // Sends the batch's frames to their peers (no device lock held; takes the L2Peers snapshot)
  // and clears it.
  void SendL2Batch(L2Batch& batch);
  void SendL2To(const PeerPtr& peer, L2Batch& batch, int64_t now_ns);
  std::shared_ptr<const L2Peers> L2PeersSnapshot() const;
  // Caller holds apply_mu_ and config_mu_ (shared is enough): publishes peers_ as L2Peers.
  void PublishL2PeersLocked();
  // Caller holds apply_mu_, not config_mu_: forgets the MACs of the peers removed since.
  void ForgetRemovedMacs();
  // Counts a frame TAP mode dropped: the device's, and the peer's (l2_drops and dropped)
  // when it came from one.
  void CountL2Drop(Peer* peer, l2::DropReason reason, uint64_t n = 1) {
    l2_drops_.Add(reason, n);
    if (peer != nullptr) {
      peer->l2_drops.Add(reason, n);
      peer->counters.AddDropped(n);
    }
  }

  // Counts `n` packets dropped for `reason` that were the peer's (PeerCounterValues::dropped,
  // and shaped_in/shaped_out for the shaping reasons).
  void CountPeerDrop(Peer& peer, proto::DropReason reason, uint64_t n = 1) {
    drops_.Add(reason, n);
    peer.counters.AddDropped(n);
    if (reason == proto::DropReason::kShapedIn) peer.counters.AddShapedIn(n);
    if (reason == proto::DropReason::kShapedOut) peer.counters.AddShapedOut(n);
  }

  // --- receive path (receive.cc) ---
  void UdpLoop();
  // Caller holds config_mu_ and bind_mu_ shared. `to_tun` is scratch space (no allocation per
  // batch once it has grown).
  // `inflate` holds the batch's decompressed packets.
  // `l2` collects the frames to relay to other peers (TAP mode), sent after the locks.
  void ReceiveBatch(std::span<transport::RecvPacket> packets, std::vector<MutableByteSpan>& to_tun,
                    InflateBuffers& inflate, L2Batch& l2);
  // Returns what to hand to the TUN (kDataHeaderSize of headroom, then the inner packet: in
  // the datagram's buffer, or in `inflate` when it came compressed), or an empty span
  // (consumed/dropped).
  MutableByteSpan ConsumeData(transport::RecvPacket& packet, TimePoint now, InflateBuffers& inflate,
                              L2Batch& l2);
  void EnqueueHandshake(const transport::RecvPacket& packet);
  // Adds what the bind lost since `seen` (a full socket buffer, truncation) to the drops.
  void CountReceiveLosses(transport::Bind::ReceiveLosses& seen);

  // --- control thread (control.cc) ---
  void ControlLoop();
  void ControlPass();
  void ProcessHandshake(QueuedHandshake& msg, bool under_load);
  void HandleInitiation(QueuedHandshake& msg, bool needs_cookie);
  void HandleResponse(QueuedHandshake& msg, bool needs_cookie);
  void HandleCookieReply(QueuedHandshake& msg);
  void SendCookieReply(const QueuedHandshake& msg, uint32_t sender_index);
  // Asks options_.route_oif about the peer's pending route-check candidate (control thread).
  void CheckRoute(const PeerPtr& peer);
  void RunTimers(TimePoint now);
  void ZeroKeyMaterial(const PeerPtr& peer);
  // Caller holds peer.mu. Reports an up/down event to options_.on_peer_event.
  void EmitPeerEventLocked(const Peer& peer, PeerEventKind kind);
  void WakeControl();
  void WakeUdp();
  // Caller holds peer.mu, after any timer event: puts the peer's next deadline into timers_
  // when it is earlier than its entry there, and wakes the control thread when that is earlier
  // than its planned wake-up.
  void ScheduleTimersLocked(const PeerPtr& peer);

  DeviceOptions options_;
  const Clock& clock_;
  proto::JitterSource& jitter_;
  std::unique_ptr<tun::TunDevice> tun_;
  std::unique_ptr<transport::Bind> bind_;
  std::atomic<int> mtu_;

  struct KeyHash {
    size_t operator()(const crypto::PublicKey& k) const {
      return std::hash<std::string_view>()(
          std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
    }
  };

  // Configuration transactions (Apply, GetStatus), one at a time; taken before config_mu_, never
  // by the data path (wireguard-go's ipcMutex).
  mutable std::mutex apply_mu_;
  // Configuration: identity, peers, allowed IPs, port, mark. Changed only under apply_mu_ too.
  mutable RwMutex config_mu_;
  // The private key, in MADV_DONTDUMP memory (crypto/secure_memory.h), wiped when freed.
  const std::shared_ptr<proto::StaticIdentity> identity_ =
      crypto::MakeSecureShared<proto::StaticIdentity>();           // *identity_ by config_mu_
  std::unordered_map<crypto::PublicKey, PeerPtr, KeyHash> peers_;  // config_mu_
  routing::AllowedIps<Peer*> allowed_ips_;                         // guarded by config_mu_
  uint16_t listen_port_ = 0;                                       // guarded by config_mu_
  uint16_t configured_port_ = 0;                                   // guarded by config_mu_
  uint32_t fwmark_ = 0;                                            // guarded by config_mu_
  uint64_t next_peer_id_ = 1;                                      // guarded by config_mu_
  // Peers by their configured endpoint (EndpointKey), for InitiateForUnknownIndexLocked.
  std::unordered_multimap<std::string, Peer*> by_configured_endpoint_;           // config_mu_
  transport::TransportMode default_transport_ = transport::TransportMode::kUdp;  // config_mu_
  std::optional<uint16_t> tcp_port_;   // guarded by config_mu_
  std::vector<PeerPtr> stream_peers_;  // mode tcp or auto; config_mu_

  // Held shared by senders and the udp thread, exclusive while the bind is reopened (listen
  // port change). Lock order: config_mu_ -> bind_mu_ -> Peer::mu (see docs/locking.md).
  mutable RwMutex bind_mu_;

  proto::IndexTable<IndexEntry> indices_;
  std::mutex checker_mu_;
  proto::CookieChecker cookie_checker_;  // guarded by checker_mu_
  proto::RateLimiter rate_limiter_;
  DropCounters drops_;
  std::atomic<uint64_t> cookie_replies_accepted_{0};

  std::mutex tun_write_mu_;               // TunDevice::Write is single-threaded
  double icmp_tokens_ = 0;                // guarded by tun_write_mu_
  std::optional<TimePoint> icmp_refill_;  // guarded by tun_write_mu_
  std::atomic<uint64_t> icmp_errors_sent_{0};
  std::atomic<uint64_t> unknown_index_initiations_{0};
  std::atomic<uint64_t> sticky_sources_rerouted_{0};

  // TAP mode (docs/l2.md). The switch (null in TUN mode) is thread-safe by itself.
  std::unique_ptr<l2::Switch> switch_;
  L2DropCounters l2_drops_;
  mutable std::mutex l2_peers_mu_;
  std::shared_ptr<const L2Peers> l2_peers_;  // guarded by l2_peers_mu_; never null in TAP mode
  // Peers removed (their ids) whose MACs Apply forgets once config_mu_ is released
  // (RemovePort walks the whole table). Guarded by apply_mu_.
  std::vector<uint64_t> l2_removed_;
  TimePoint next_mac_expiry_{};  // control thread only

  // Control-thread work queue.
  std::mutex work_mu_;
  std::deque<QueuedHandshake> handshake_queue_;  // guarded by work_mu_
  std::vector<PeerPtr> peer_work_;               // guarded by work_mu_
  // Outbound TCP connections established (bounded: kMaxTcpConnectedQueue).
  std::vector<transport::Endpoint> tcp_connected_;  // guarded by work_mu_
  TimePoint next_probe_scan_{};                     // control thread only
  TimerQueue<Peer> timers_;                         // every peer's next deadline
  std::optional<TimePoint> last_under_load_;        // control thread only
  std::atomic<int64_t> control_wake_at_ns_{0};

  UniqueFd stop_fd_;      // eventfd: set once on Close
  UniqueFd control_fd_;   // eventfd: control-thread work
  UniqueFd udp_wake_fd_;  // eventfd: the bind was reopened
  std::atomic<uint64_t> bind_generation_{0};
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  std::thread tun_thread_;
  std::thread udp_thread_;
  std::thread control_thread_;
};

}  // namespace tundra::device
