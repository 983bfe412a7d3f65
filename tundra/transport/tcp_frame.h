// The TCP transport's framing (docs/tcp-transport.md): each WireGuard message travels as
//
//   length (4 bytes, big-endian) || message (length bytes)
//
// and a frame is accepted only when the message is one WireGuard could have sent: length within
// [kMinFrameMessage, kMaxFrameMessage], the type word 1..4 (reserved bytes zero) and the size
// that type has (proto::Classify). Anything else means the stream is not ours or is out of
// step: the decoder reports why and the connection is dropped (no resynchronisation).
//
// FrameDecoder owns one fixed receive buffer (no allocation after construction). Bytes are read
// into WritableTail(), Commit()ed, and Next() hands out complete messages as spans into the
// buffer, writable (decryption is in place); they stay valid until Compact(), which moves an
// unfinished frame to the front and is called before the next read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/proto/constants.h"
#include "tundra/proto/messages.h"

namespace tundra::transport {

inline constexpr size_t kFrameHeaderSize = 4;
// The smallest WireGuard message: a keepalive (data header + tag).
inline constexpr size_t kMinFrameMessage = proto::kDataMinSize;
// The largest: a data message carrying the largest TUN packet (65535) with padding and tag.
inline constexpr size_t kMaxFrameMessage =
    proto::kDataOverhead + 65535 + (proto::kPaddingMultiple - 1);
inline constexpr size_t kMaxFrameSize = kFrameHeaderSize + kMaxFrameMessage;
// Receive buffer: two largest frames, so a read never waits for a compaction to fit one.
inline constexpr size_t kFrameDecoderBuffer = 2 * kMaxFrameSize;

enum class FrameError : uint8_t {
  kNone = 0,
  kOversize,   // declared length > kMaxFrameMessage
  kUndersize,  // declared length < kMinFrameMessage
  kBadType,    // type word not 1..4 with zero reserved bytes
  kBadSize,    // length not the size of its type
};
const char* FrameErrorName(FrameError e);

// Writes the 4-byte header for a message of `length` bytes (caller checked the bounds).
void EncodeFrameHeader(size_t length, uint8_t out[kFrameHeaderSize]);
// Checks a declared length (from a header) on its own.
FrameError CheckFrameLength(uint32_t length);
// Checks a whole message (length and type).
FrameError CheckFrameMessage(ByteSpan message);

class FrameDecoder {
 public:
  enum class Status : uint8_t { kNeedMore, kFrame, kError };

  FrameDecoder() : buf_(kFrameDecoderBuffer) {}

  // Room for the next read (never empty after Compact()).
  MutableByteSpan WritableTail() { return MutableByteSpan(buf_.data() + end_, buf_.size() - end_); }
  void Commit(size_t n) { end_ += n; }
  // The next complete message, or kNeedMore, or kError with error() set (sticky).
  Status Next(MutableByteSpan& message);
  // Moves unconsumed bytes to the front: spans from Next() are invalid afterwards.
  void Compact();

  FrameError error() const { return error_; }
  size_t buffered() const { return end_ - pos_; }  // bytes received, not yet handed out

 private:
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;  // start of the first frame not yet handed out
  size_t end_ = 0;  // end of received bytes
  FrameError error_ = FrameError::kNone;
};

}  // namespace tundra::transport
