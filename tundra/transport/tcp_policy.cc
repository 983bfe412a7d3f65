#include "tundra/transport/tcp_policy.h"

namespace tundra::transport {

const char* TransportModeName(TransportMode m) {
  switch (m) {
    case TransportMode::kUdp:
      return "udp";
    case TransportMode::kTcp:
      return "tcp";
    case TransportMode::kAuto:
      return "auto";
  }
  return "udp";
}

bool ParseTransportMode(std::string_view text, TransportMode& out) {
  if (text == "udp") {
    out = TransportMode::kUdp;
  } else if (text == "tcp") {
    out = TransportMode::kTcp;
  } else if (text == "auto") {
    out = TransportMode::kAuto;
  } else {
    return false;
  }
  return true;
}

}  // namespace tundra::transport
