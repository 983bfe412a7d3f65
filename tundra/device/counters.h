// Device-wide counters of dropped packets, one per proto::DropReason, and each peer's own
// counters. Lock-free; incremented on the data path, read by `tundra stats` / `tundra show`
// (the UAPI tundra_stats=1 and tundra_peers=1 replies) and tests.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "tundra/l2/drop_reason.h"
#include "tundra/proto/drop_reason.h"

namespace tundra::device {

class DropCounters {
 public:
  void Add(proto::DropReason reason, uint64_t n = 1) {
    counts_[static_cast<size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Get(proto::DropReason reason) const {
    return counts_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  uint64_t Total() const {
    uint64_t t = 0;
    for (size_t i = 1; i < proto::kDropReasonCount; ++i)
      t += counts_[i].load(std::memory_order_relaxed);
    return t;
  }
  using Snapshot = std::array<uint64_t, proto::kDropReasonCount>;
  Snapshot Read() const {
    Snapshot s{};
    for (size_t i = 0; i < s.size(); ++i) s[i] = counts_[i].load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, proto::kDropReasonCount> counts_{};
};

// TAP mode's drops (docs/l2.md, "Counters"), one per l2::DropReason: the device's, and each
// peer's for the frames that came from it. Lock-free, as DropCounters.
class L2DropCounters {
 public:
  void Add(l2::DropReason reason, uint64_t n = 1) {
    counts_[static_cast<size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Get(l2::DropReason reason) const {
    return counts_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  using Snapshot = std::array<uint64_t, l2::kDropReasonCount>;
  Snapshot Read() const {
    Snapshot s{};
    for (size_t i = 0; i < s.size(); ++i) s[i] = counts_[i].load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, l2::kDropReasonCount> counts_{};
};

// One peer's counters, as read (PeerStatus). A dropped packet is counted here as well as
// under its reason in the device's DropCounters when the drop is the peer's: its session
// refused it (expired, replayed, bad tag), it came from outside its allowed IPs, or it was
// for the peer and could not leave (no endpoint, staging overflow, handshake gave up, send
// failure). Bytes are in the get=1 reply (rx_bytes/tx_bytes), not here.
struct PeerCounterValues {
  uint64_t rx_packets = 0;        // authenticated data messages (keepalives included)
  uint64_t tx_packets = 0;        // data messages sent (keepalives included)
  uint64_t handshakes = 0;        // sessions established, as initiator or responder
  uint64_t initiations_sent = 0;  // handshake initiations that left (retries included)
  uint64_t dropped = 0;           // packets dropped for this peer, any reason
  uint64_t shaped_in = 0;         // of them: over the inbound Speed (shaped_in)
  uint64_t shaped_out = 0;        // of them: over the outbound Speed (shaped_out)
  // Compression (docs/compression.md). Sent: every packet offered to the codec (the session's
  // hellos agreed), its bytes before and after (equal when it went as it was), and how many
  // went compressed. Received: every compressed packet decompressed, its bytes before
  // (framed) and after (the IP packet).
  uint64_t compress_tx_packets = 0;     // offered to the codec
  uint64_t compress_tx_compressed = 0;  // of them: sent compressed
  uint64_t compress_tx_before = 0;      // bytes
  uint64_t compress_tx_after = 0;       // bytes
  uint64_t compress_rx_packets = 0;     // decompressed
  uint64_t compress_rx_before = 0;      // bytes
  uint64_t compress_rx_after = 0;       // bytes
};

class PeerCounters {
 public:
  void AddRxPackets(uint64_t n) { rx_packets_.fetch_add(n, std::memory_order_relaxed); }
  void AddTxPackets(uint64_t n) { tx_packets_.fetch_add(n, std::memory_order_relaxed); }
  void AddHandshake() { handshakes_.fetch_add(1, std::memory_order_relaxed); }
  void AddInitiationSent() { initiations_sent_.fetch_add(1, std::memory_order_relaxed); }
  void AddDropped(uint64_t n) { dropped_.fetch_add(n, std::memory_order_relaxed); }
  void AddShapedIn(uint64_t n) { shaped_in_.fetch_add(n, std::memory_order_relaxed); }
  void AddShapedOut(uint64_t n) { shaped_out_.fetch_add(n, std::memory_order_relaxed); }
  // One batch's compression on the send path, one packet's on the receive path.
  void AddCompressTx(uint64_t packets, uint64_t compressed, uint64_t before, uint64_t after) {
    compress_tx_packets_.fetch_add(packets, std::memory_order_relaxed);
    compress_tx_compressed_.fetch_add(compressed, std::memory_order_relaxed);
    compress_tx_before_.fetch_add(before, std::memory_order_relaxed);
    compress_tx_after_.fetch_add(after, std::memory_order_relaxed);
  }
  void AddCompressRx(uint64_t before, uint64_t after) {
    compress_rx_packets_.fetch_add(1, std::memory_order_relaxed);
    compress_rx_before_.fetch_add(before, std::memory_order_relaxed);
    compress_rx_after_.fetch_add(after, std::memory_order_relaxed);
  }
  PeerCounterValues Read() const {
    PeerCounterValues v;
    v.rx_packets = rx_packets_.load(std::memory_order_relaxed);
    v.tx_packets = tx_packets_.load(std::memory_order_relaxed);
    v.handshakes = handshakes_.load(std::memory_order_relaxed);
    v.initiations_sent = initiations_sent_.load(std::memory_order_relaxed);
    v.dropped = dropped_.load(std::memory_order_relaxed);
    v.shaped_in = shaped_in_.load(std::memory_order_relaxed);
    v.shaped_out = shaped_out_.load(std::memory_order_relaxed);
    v.compress_tx_packets = compress_tx_packets_.load(std::memory_order_relaxed);
    v.compress_tx_compressed = compress_tx_compressed_.load(std::memory_order_relaxed);
    v.compress_tx_before = compress_tx_before_.load(std::memory_order_relaxed);
    v.compress_tx_after = compress_tx_after_.load(std::memory_order_relaxed);
    v.compress_rx_packets = compress_rx_packets_.load(std::memory_order_relaxed);
    v.compress_rx_before = compress_rx_before_.load(std::memory_order_relaxed);
    v.compress_rx_after = compress_rx_after_.load(std::memory_order_relaxed);
    return v;
  }

 private:
  std::atomic<uint64_t> rx_packets_{0};
  std::atomic<uint64_t> tx_packets_{0};
  std::atomic<uint64_t> handshakes_{0};
  std::atomic<uint64_t> initiations_sent_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> shaped_in_{0};
  std::atomic<uint64_t> shaped_out_{0};
  std::atomic<uint64_t> compress_tx_packets_{0};
  std::atomic<uint64_t> compress_tx_compressed_{0};
  std::atomic<uint64_t> compress_tx_before_{0};
  std::atomic<uint64_t> compress_tx_after_{0};
  std::atomic<uint64_t> compress_rx_packets_{0};
  std::atomic<uint64_t> compress_rx_before_{0};
  std::atomic<uint64_t> compress_rx_after_{0};
};

}  // namespace tundra::device
