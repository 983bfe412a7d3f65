// Opt-in compression on the data path (docs/compression.md): the per-peer setting packed for
// lock-free reads, the calling thread's codecs, and the receive path's output buffers.
//
// Threading: a compress::Codec is not thread-safe, so each thread that seals or opens packets
// (the tun, udp and control threads) has its own, one per setting, created on first use
// (ThreadCodec). The data path takes no lock for compression; a peer without it pays one
// branch per batch sent and one per packet received (the first plaintext byte, which the
// IP check reads anyway).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/compress/codec.h"
#include "tundra/proto/drop_reason.h"
#include "tundra/tun/tun_device.h"

namespace tundra::device {

// Peer::compression's form: 0 = none, else the algorithm and the level << 8.
inline uint32_t PackSetting(const compress::Setting& s) {
  return s.enabled() ? uint32_t(s.algorithm) | (uint32_t(s.level) << 8) : 0;
}
inline compress::Setting UnpackSetting(uint32_t packed) {
  return compress::Setting{compress::Algorithm(packed & 0xff), int(packed >> 8)};
}

// The calling thread's codec for `setting` (enabled), kept for the thread's life; null when
// it cannot be created (out of memory): packets are then sent as they are.
compress::Codec* ThreadCodec(const compress::Setting& setting);

// The hello's delivery (docs/compression.md, "The hello"): resent at most this often until the
// other end's hello says it has ours, and at most this many times per session in all.
inline constexpr std::chrono::seconds kHelloResendInterval{1};
inline constexpr uint32_t kMaxHellosPerSession = 6;
// The decompression bound: the largest packet a peer may send (a TUN packet's limit), whatever
// this end's MTU.
inline constexpr size_t kMaxDecompressed = tun::kMaxPacketSize;
// The receive path's buffers for decompressed packets are carved from chunks of this size.
inline constexpr size_t kInflateChunkSize = 256 * 1024;

// Compresses the packet at buf[header, header + len) in place when the framed result is
// smaller on the wire (after WireGuard's padding to 16, up to `mtu`); returns the length to
// seal (len when it goes as it is).
size_t CompressInPlace(compress::Codec& codec, MutableByteSpan buf, size_t header, size_t len,
                       size_t mtu);

// The drop a failed decompression counts as.
proto::DropReason DropReasonFor(compress::DecodeError e);

// Where the udp thread decompresses a batch's packets: `header` bytes of room (the TUN's
// write headroom) then the bound. A packet takes only what it used of the bound (Commit), so a
// batch of small packets shares one chunk; chunks are reused batch after batch.
class InflateBuffers {
 public:
  void Reset() {
    used_ = 0;
    offset_ = 0;
  }
  // A buffer of header + bound bytes, valid until the next Reset.
  MutableByteSpan Next(size_t header, size_t bound);
  // The last Next's buffer keeps its first `used` bytes; the rest is free for the next one.
  void Commit(size_t used);
  // Next and Commit of all of it: a buffer of header + size bytes of its own until Reset.
  MutableByteSpan Take(size_t header, size_t size) {
    MutableByteSpan b = Next(header, size);
    Commit(b.size());
    return b;
  }

 private:
  std::vector<std::vector<uint8_t>> chunks_;
  size_t used_ = 0;    // the chunk in use
  size_t offset_ = 0;  // its first free byte
};

}  // namespace tundra::device
