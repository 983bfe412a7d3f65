#include "tundra/l2/drop_reason.h"

namespace tundra::l2 {

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "none";
    case DropReason::kFrameTooShort:
      return "frame_too_short";
    case DropReason::kFrameTooLong:
      return "frame_too_long";
    case DropReason::kBadLength:
      return "frame_bad_length";
    case DropReason::kIpOnTap:
      return "ip_on_tap";
    case DropReason::kFrameOnTun:
      return "frame_on_tun";
    case DropReason::kInvalidSource:
      return "invalid_source_mac";
    case DropReason::kSourceNotAllowed:
      return "source_mac_not_allowed";
    case DropReason::kToIngress:
      return "to_ingress";
    case DropReason::kNotForwarding:
      return "not_forwarding";
    case DropReason::kAlreadyRelayed:
      return "already_relayed";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

}  // namespace tundra::l2
