#include "tundra/transport/tcp_frame.h"

#include <cstring>

namespace tundra::transport {

const char* FrameErrorName(FrameError e) {
  switch (e) {
    case FrameError::kNone:
      return "none";
    case FrameError::kOversize:
      return "oversize";
    case FrameError::kUndersize:
      return "undersize";
    case FrameError::kBadType:
      return "bad_type";
    case FrameError::kBadSize:
      return "bad_size";
  }
  return "unknown";
}

void EncodeFrameHeader(size_t length, uint8_t out[kFrameHeaderSize]) {
  const uint32_t v = uint32_t(length);
  out[0] = uint8_t(v >> 24);
  out[1] = uint8_t(v >> 16);
  out[2] = uint8_t(v >> 8);
  out[3] = uint8_t(v);
}

FrameError CheckFrameLength(uint32_t length) {
  if (length > kMaxFrameMessage) return FrameError::kOversize;
  if (length < kMinFrameMessage) return FrameError::kUndersize;
  return FrameError::kNone;
}

FrameError CheckFrameMessage(ByteSpan message) {
  if (message.size() > UINT32_MAX) return FrameError::kOversize;
  FrameError e = CheckFrameLength(uint32_t(message.size()));
  if (e != FrameError::kNone) return e;
  proto::MessageType type;
  switch (proto::Classify(message, type)) {
    case proto::DropReason::kNone:
      return FrameError::kNone;
    case proto::DropReason::kBadSize:
      return FrameError::kBadSize;
    default:
      return FrameError::kBadType;
  }
}

FrameDecoder::Status FrameDecoder::Next(MutableByteSpan& message) {
  if (error_ != FrameError::kNone) return Status::kError;
  const size_t have = end_ - pos_;
  if (have < kFrameHeaderSize) return Status::kNeedMore;
  const uint8_t* h = buf_.data() + pos_;
  const uint32_t length =
      (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | uint32_t(h[3]);
  error_ = CheckFrameLength(length);
  if (error_ != FrameError::kNone) return Status::kError;
  // The type word is checked as soon as it arrives: garbage fails before a whole "frame" of it.
  if (have >= kFrameHeaderSize + 4) {
    const uint32_t word = LoadLe32(h + kFrameHeaderSize);
    if (word < 1 || word > 4) {
      error_ = FrameError::kBadType;
      return Status::kError;
    }
  }
  if (have < kFrameHeaderSize + length) return Status::kNeedMore;
  MutableByteSpan m(buf_.data() + pos_ + kFrameHeaderSize, length);
  error_ = CheckFrameMessage(m);
  if (error_ != FrameError::kNone) return Status::kError;
  pos_ += kFrameHeaderSize + length;
  message = m;
  return Status::kFrame;
}

void FrameDecoder::Compact() {
  if (pos_ == 0) return;
  const size_t have = end_ - pos_;
  if (have != 0) std::memmove(buf_.data(), buf_.data() + pos_, have);
  pos_ = 0;
  end_ = have;
}

}  // namespace tundra::transport
