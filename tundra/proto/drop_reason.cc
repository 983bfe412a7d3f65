#include "tundra/proto/drop_reason.h"

namespace tundra::proto {

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "none";
    case DropReason::kTooShort:
      return "too_short";
    case DropReason::kUnknownType:
      return "unknown_type";
    case DropReason::kBadSize:
      return "bad_size";
    case DropReason::kInvalidMac1:
      return "invalid_mac1";
    case DropReason::kCookieSent:
      return "cookie_sent";
    case DropReason::kRateLimited:
      return "rate_limited";
    case DropReason::kHandshakeQueueFull:
      return "handshake_queue_full";
    case DropReason::kHandshakeDecrypt:
      return "handshake_decrypt";
    case DropReason::kUnknownPeer:
      return "unknown_peer";
    case DropReason::kStaleTimestamp:
      return "stale_timestamp";
    case DropReason::kFlood:
      return "flood";
    case DropReason::kLowOrderKey:
      return "low_order_key";
    case DropReason::kUnexpectedMessage:
      return "unexpected_message";
    case DropReason::kNoPrivateKey:
      return "no_private_key";
    case DropReason::kUnknownIndex:
      return "unknown_index";
    case DropReason::kKeyExpired:
      return "key_expired";
    case DropReason::kCounterLimit:
      return "counter_limit";
    case DropReason::kInvalidAeadTag:
      return "invalid_aead_tag";
    case DropReason::kReplayed:
      return "replayed";
    case DropReason::kInvalidPacket:
      return "invalid_packet";
    case DropReason::kSourceNotAllowed:
      return "source_not_allowed";
    case DropReason::kTunWrite:
      return "tun_write";
    case DropReason::kNoRoute:
      return "no_route";
    case DropReason::kNoEndpoint:
      return "no_endpoint";
    case DropReason::kStagedOverflow:
      return "staged_overflow";
    case DropReason::kHandshakeGaveUp:
      return "handshake_gave_up";
    case DropReason::kRoutingLoop:
      return "routing_loop";
    case DropReason::kSendFailed:
      return "send_failed";
    case DropReason::kSendBufferFull:
      return "send_buffer_full";
    case DropReason::kReceiveBufferFull:
      return "receive_buffer_full";
    case DropReason::kTruncated:
      return "truncated";
    case DropReason::kShapedIn:
      return "shaped_in";
    case DropReason::kDecompressTruncated:
      return "decompress_truncated";
    case DropReason::kDecompressUnknown:
      return "decompress_unknown";
    case DropReason::kDecompressNotEnabled:
      return "decompress_not_enabled";
    case DropReason::kDecompressBomb:
      return "decompress_bomb";
    case DropReason::kDecompressCorrupt:
      return "decompress_corrupt";
    case DropReason::kDecompressNoCodec:
      return "decompress_no_codec";
    case DropReason::kPeerRemoved:
      return "peer_removed";
    case DropReason::kShapedOut:
      return "shaped_out";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

}  // namespace tundra::proto
