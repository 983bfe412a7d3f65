// Peer: everything the device keeps about one remote peer (kernel peer.h `struct wg_peer`).
//
// Locking: `mu` guards the handshake, cookie jar, timers, endpoint, staged packets and the
// small bookkeeping fields below it. `keypairs` has its own lock; byte counters are atomic.
// Lock order: Device::config_mu_, then Device::bind_mu_, then Peer::mu; never the reverse, and
// nothing is sent while Peer::mu is held.
// Peers are shared_ptr: the index table and in-flight batches may outlive a removal.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tundra/base/clock.h"
#include "tundra/base/token_bucket.h"
#include "tundra/device/counters.h"
#include "tundra/device/timer_queue.h"
#include "tundra/device/update.h"
#include "tundra/proto/cookie.h"
#include "tundra/proto/handshake.h"
#include "tundra/proto/keypair.h"
#include "tundra/proto/timers.h"
#include "tundra/transport/endpoint.h"
#include "tundra/transport/tcp_policy.h"

namespace tundra::device {

// A plaintext packet held while no session exists, already laid out for in-place sealing:
// buf = [16 bytes header room][len bytes packet][room for padding and the tag].
struct StagedPacket {
  std::vector<uint8_t> buf;
  size_t len = 0;
};

class Peer : public std::enable_shared_from_this<Peer> {
 private:
  const crypto::PublicKey public_key_;
  const uint64_t id_;

 public:
  Peer(const crypto::PublicKey& public_key, uint64_t id, proto::JitterSource& jitter)
      : public_key_(public_key), id_(id), timers(jitter) {}

  const crypto::PublicKey& public_key() const { return public_key_; }
  // A small number for logs ("peer 3"), never reused within a device.
  uint64_t id() const { return id_; }

  std::mutex mu;
  proto::Handshake handshake;                   // guarded by mu
  proto::CookieJar cookie_jar;                  // guarded by mu
  proto::PeerTimers timers;                     // guarded by mu
  std::optional<transport::Endpoint> endpoint;  // guarded by mu
  std::vector<StagedPacket> staged;             // guarded by mu: plaintext awaiting a session
  // handshake.Configure ran with the device's current identity (DH(local static, remote
  // static) computed): done on first use, not per peer at configuration time
  // (Device::PrepareHandshakeLocked), so that configuring 100k peers costs no X25519.
  bool handshake_prepared = false;  // guarded by mu
  // Index of the pending handshake: in the device's index table exactly while it is non-zero
  // (Device::ClearPendingHandshakeLocked and InstallSessionLocked keep this).
  uint32_t handshake_index = 0;            // guarded by mu
  bool sent_lastminute_handshake = false;  // guarded by mu
  WallTime last_handshake{};               // guarded by mu
  bool removed = false;                    // guarded by mu
  TimerSlot timer_slot;                    // guarded by mu: this peer's TimerQueue entry
  // The endpoint as configured (address bytes + port; empty: none), the key of this peer in
  // Device::by_configured_endpoint_. Guarded by Device::config_mu_, not mu.
  std::string configured_endpoint_key;
  // The last route check of a sticky source (Device::FollowRouteLocked, CheckRoute): for this
  // endpoint and source, at `checked`, the route left by another interface (`stale`).
  struct RouteVerdict {
    transport::Endpoint endpoint;
    bool stale = false;
    TimePoint checked{};
  };
  std::optional<RouteVerdict> route_verdict;           // guarded by mu
  std::optional<transport::Endpoint> route_candidate;  // guarded by mu: a check is queued
  // Transport (docs/tcp-transport.md), guarded by mu: the mode configured for this peer
  // (unset: the interface's), the mode in effect, the endpoint as configured (before the mode
  // turned it into UDP or TCP), the auto-fallback state and when the endpoint's transport
  // last changed.
  std::optional<transport::TransportMode> configured_mode;
  transport::TransportMode mode = transport::TransportMode::kUdp;
  std::optional<transport::Endpoint> configured_endpoint;
  transport::AutoTransport auto_transport;
  WallTime transport_since{};

  // Shaping (docs/shaping.md): the setting (guarded by Device::config_mu_) and one bucket per
  // direction, taken lock-free by the data threads: inner packets from the peer (after
  // decryption and the allowed-IPs check) and to it (before staging or sealing).
  Shaping shaping;
  TokenBucket shape_in;
  TokenBucket shape_out;

  // Compression (docs/compression.md): the setting, written under Device::config_mu_ and read
  // lock-free by the data threads (PackSetting, compression.h; 0 = none: one branch).
  std::atomic<uint32_t> compression{0};

  // TAP mode (docs/l2.md): the source MACs this peer may send from (null or empty: any),
  // immutable once published. Guarded by Device::config_mu_ (the receive path reads it with
  // config_mu_ held shared, as it reads the allowed IPs; Apply replaces it exclusively).
  std::shared_ptr<const l2::AllowedMacs> allowed_macs;
  // The frames from this peer that TAP mode dropped, by reason (each also counts as dropped).
  L2DropCounters l2_drops;

  proto::Keypairs keypairs;
  std::atomic<uint64_t> rx_bytes{0};
  std::atomic<uint64_t> tx_bytes{0};
  PeerCounters counters;

  // Boot-clock ns of the last handshake message sent (initiation or response; kernel
  // `last_sent_handshake`): the REKEY_TIMEOUT rate limit of initiations. Written under mu,
  // read lock-free by data threads to skip requests the limit would refuse anyway.
  static constexpr int64_t kNeverSent = INT64_MIN / 2;  // far enough in the past
  std::atomic<int64_t> last_sent_handshake_ns{kNeverSent};

  // Work the control thread owes this peer (set by data threads, cleared by the worker;
  // initiation_wanted only once SendInitiation has returned).
  std::atomic<bool> initiation_wanted{false};
  std::atomic<bool> flush_wanted{false};
  std::atomic<bool> keepalive_wanted{false};
};

using PeerPtr = std::shared_ptr<Peer>;

}  // namespace tundra::device
