// Peer up/down events (the PeerUp/PeerDown hooks): the device only reports them; what runs is
// the owner's business (cli/hook_runner.h runs the hooks on its own thread).
//
//   up    the first session derived (handshake completed, either side) while the peer was down
//   down  REJECT_AFTER_TIME passed since the last session was derived, or the peer's sessions
//         were dropped (peer removed, private key changed) while it was up
#pragma once

#include <optional>

#include "tundra/crypto/secret.h"
#include "tundra/transport/endpoint.h"

namespace tundra::device {

enum class PeerEventKind { kUp, kDown };

struct PeerEvent {
  PeerEventKind kind = PeerEventKind::kUp;
  crypto::PublicKey public_key{};
  std::optional<transport::Endpoint> endpoint;  // the peer's endpoint at the time, if any
};

inline const char* PeerEventName(PeerEventKind k) {
  return k == PeerEventKind::kUp ? "up" : "down";
}

}  // namespace tundra::device
