// TunDevice: one queue of a TUN/TAP device, batched and non-blocking (wireguard-go tun.Device).
//
// Implementations: LinuxTun (tun_linux.h, /dev/net/tun) and FakeTun (fake_tun.h, in memory).
//
// Buffers: the caller owns every buffer. Read() places packet i at bufs[i].data() + offset and
// stores its length in sizes[i]; the `offset` bytes before it are left for the caller (e.g. the
// 16-byte WireGuard data header). Write() sends bufs[i][offset, end) and may overwrite the
// `offset` bytes before the packet with a PI or virtio-net header, so callers pass
// offset >= kWriteHeadroom.
//
// Threading: one thread may Read while another Writes (the daemon's TUN reader and its
// decrypt-and-deliver path). Neither Read nor Write may be entered by two threads at once on the
// same object; use one queue (LinuxTun::OpenQueue) per reader thread. The drop counters are
// atomic and may be read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "tundra/base/batch.h"
#include "tundra/base/bytes.h"
#include "tundra/base/result.h"

namespace tundra::tun {

// Headroom Write() may use in front of each packet: 4 (PI) + 10 (virtio_net_hdr), rounded up.
inline constexpr size_t kWriteHeadroom = 16;
// The largest packet a TUN/TAP queue can hand over without GSO (IPv4 total length is 16 bits).
inline constexpr size_t kMaxPacketSize = 65535;

// Why a packet was dropped inside the device layer (counted, never an error).
enum class TunDropReason : uint8_t {
  kTruncated,        // read: larger than the buffer (TUN_PKT_STRIP, or IP length > bytes read)
  kBadPi,            // read: shorter than the 4-byte PI header
  kBadVnetHdr,       // read: short virtio_net_hdr, or checksum offsets outside the packet
  kUnsupportedGso,   // read: a GSO type that is not split (ECN, UFO, or any on a TAP)
  kBadPacket,        // write: empty, or no IP version / EtherType to put in the PI header
  kWriteRejected,    // write: the kernel refused it (EINVAL malformed, EIO link down, ...)
  kWriteWouldBlock,  // write: EAGAIN/ENOBUFS/ENOMEM (the kernel could not queue it now)
  kQueueFull,        // FakeTun: injected while its queue was full
  kCount
};

std::string_view TunDropReasonName(TunDropReason reason);

class TunDropCounters {
 public:
  void Add(TunDropReason reason, uint64_t n = 1) {
    counts_[static_cast<size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Get(TunDropReason reason) const {
    return counts_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  uint64_t Total() const;
  // "truncated=1 write_rejected=3" (non-zero reasons only; "none" when all are zero).
  std::string ToString() const;

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(TunDropReason::kCount)> counts_{};
};

// What the offload paths did (LinuxTun with EnableOffloads): read-side splitting of the
// kernel's TSO/USO super-packets and write-side coalescing (GRO). Atomic: read from any thread.
class TunOffloadCounters {
 public:
  struct Snapshot {
    uint64_t super_packets_read = 0;     // super-packets the kernel handed over
    uint64_t segments_split = 0;         // packets they were split into
    uint64_t super_packets_written = 0;  // coalesced groups written
    uint64_t packets_coalesced = 0;      // packets that went out inside those groups
  };
  void AddRead(uint64_t segments) {
    read_.fetch_add(1, std::memory_order_relaxed);
    split_.fetch_add(segments, std::memory_order_relaxed);
  }
  void AddWritten(uint64_t packets) {
    written_.fetch_add(1, std::memory_order_relaxed);
    coalesced_.fetch_add(packets, std::memory_order_relaxed);
  }
  Snapshot Get() const {
    return {read_.load(std::memory_order_relaxed), split_.load(std::memory_order_relaxed),
            written_.load(std::memory_order_relaxed), coalesced_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<uint64_t> read_{0}, split_{0}, written_{0}, coalesced_{0};
};

class TunDevice {
 public:
  virtual ~TunDevice() = default;

  // Non-blocking. Reads up to min(bufs.size(), sizes.size()) packets; packet i is placed at
  // bufs[i].data() + offset with its length in sizes[i]. Returns the count; 0 means nothing is
  // available now (never an error). Packets that cannot be delivered are counted in drops().
  // An error means the queue itself failed (e.g. EBADFD: the interface was deleted).
  virtual Result<size_t> Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                              size_t offset) = 0;

  // Writes packets bufs[i][offset, end). The `offset` bytes before each packet are scratch the
  // implementation may overwrite (callers pass offset >= kWriteHeadroom). Returns how many were
  // accepted; a packet the kernel rejects is counted in drops() and skipped. An error (with
  // nothing written) means the queue itself failed.
  virtual Result<size_t> Write(std::span<const MutableByteSpan> bufs, size_t offset) = 0;

  // How many packets callers should offer per Read/Write call.
  virtual size_t BatchSize() const = 0;
  // Readable (epoll/poll) when Read() has packets; EPOLLERR once the device is gone.
  virtual int poll_fd() const = 0;
  virtual const std::string& name() const = 0;
  virtual const TunDropCounters& drops() const = 0;
  // All zero for devices without offloads.
  virtual TunOffloadCounters::Snapshot offloads() const { return {}; }
};

}  // namespace tundra::tun
