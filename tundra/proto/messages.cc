#include "tundra/proto/messages.h"

namespace tundra::proto {

DropReason Classify(ByteSpan datagram, MessageType& type) {
  if (datagram.size() < 4) return DropReason::kTooShort;
  const uint32_t word = LoadLe32(datagram.data());
  switch (word) {
    case uint32_t(MessageType::kInitiation):
      if (datagram.size() != kInitiationSize) return DropReason::kBadSize;
      break;
    case uint32_t(MessageType::kResponse):
      if (datagram.size() != kResponseSize) return DropReason::kBadSize;
      break;
    case uint32_t(MessageType::kCookieReply):
      if (datagram.size() != kCookieReplySize) return DropReason::kBadSize;
      break;
    case uint32_t(MessageType::kData):
      if (datagram.size() < kDataMinSize) return DropReason::kBadSize;
      break;
    default:
      return DropReason::kUnknownType;
  }
  type = static_cast<MessageType>(word);
  return DropReason::kNone;
}

}  // namespace tundra::proto
