#include "tundra/proto/timers.h"

#include "tundra/crypto/random.h"
#include "tundra/proto/constants.h"

namespace tundra::proto {
namespace {

class CryptoJitter final : public JitterSource {
 public:
  Duration Next() override {
    const auto max_us =
        std::chrono::duration_cast<std::chrono::microseconds>(kRekeyTimeoutJitterMax).count();
    return std::chrono::microseconds(crypto::RandomBelow(uint32_t(max_us)));
  }
};

bool Due(const std::optional<TimePoint>& t, TimePoint now) { return t.has_value() && *t <= now; }

}  // namespace

JitterSource& RandomJitter() {
  static CryptoJitter jitter;
  return jitter;
}

void PeerTimers::OnDataSent(TimePoint now) {
  if (!new_handshake_) new_handshake_ = now + kKeepaliveTimeout + kRekeyTimeout + jitter_->Next();
}

void PeerTimers::OnDataReceived(TimePoint now) {
  if (!send_keepalive_) {
    send_keepalive_ = now + kKeepaliveTimeout;
  } else {
    need_another_keepalive_ = true;
  }
}

void PeerTimers::OnAnyAuthenticatedPacketSent(TimePoint) { send_keepalive_.reset(); }

void PeerTimers::OnAnyAuthenticatedPacketReceived(TimePoint) { new_handshake_.reset(); }

void PeerTimers::OnAnyAuthenticatedPacketTraversal(TimePoint now) {
  if (persistent_keepalive_ != 0) {
    persistent_keepalive_timer_ = now + std::chrono::seconds(persistent_keepalive_);
  }
}

void PeerTimers::OnHandshakeInitiated(TimePoint now) {
  retransmit_handshake_ = now + kRekeyTimeout + jitter_->Next();
}

void PeerTimers::OnHandshakeComplete(TimePoint) {
  retransmit_handshake_.reset();
  handshake_attempts_ = 0;
}

bool PeerTimers::OnSessionDerived(TimePoint now) {
  zero_key_material_ = now + kZeroKeyMaterialAfter;
  session_expiry_ = now + kRejectAfterTime;
  const bool came_up = !up_;
  up_ = true;
  return came_up;
}

bool PeerTimers::OnSessionsCleared() {
  session_expiry_.reset();
  const bool was_up = up_;
  up_ = false;
  return was_up;
}

TimerActions PeerTimers::Poll(TimePoint now) {
  TimerActions a;
  if (Due(retransmit_handshake_, now)) {
    retransmit_handshake_.reset();
    if (handshake_attempts_ > kMaxTimerHandshakes) {
      // Gave up: no keepalive, drop staged packets, and make sure residue is erased later.
      send_keepalive_.reset();
      a.give_up = true;
      if (!zero_key_material_) zero_key_material_ = now + kZeroKeyMaterialAfter;
    } else {
      ++handshake_attempts_;
      a.clear_endpoint_source = true;
      a.send_initiation = true;
      a.initiation_is_retry = true;
    }
  }
  if (Due(send_keepalive_, now)) {
    send_keepalive_.reset();
    a.send_keepalive = true;
    if (need_another_keepalive_) {
      need_another_keepalive_ = false;
      send_keepalive_ = now + kKeepaliveTimeout;
    }
  }
  if (Due(new_handshake_, now)) {
    new_handshake_.reset();
    a.clear_endpoint_source = true;
    if (!a.send_initiation) a.initiation_is_retry = false;
    a.send_initiation = true;
  }
  if (Due(zero_key_material_, now)) {
    zero_key_material_.reset();
    a.zero_key_material = true;
  }
  if (Due(session_expiry_, now)) {
    session_expiry_.reset();
    a.went_down = up_;
    up_ = false;
  }
  if (Due(persistent_keepalive_timer_, now)) {
    persistent_keepalive_timer_.reset();
    if (persistent_keepalive_ != 0) a.send_keepalive = true;
  }
  return a;
}

std::optional<TimePoint> PeerTimers::NextDeadline() const {
  std::optional<TimePoint> best;
  for (const auto& t : {retransmit_handshake_, send_keepalive_, new_handshake_, zero_key_material_,
                        persistent_keepalive_timer_, session_expiry_}) {
    if (t && (!best || *t < *best)) best = t;
  }
  return best;
}

void PeerTimers::StopAll() {
  retransmit_handshake_.reset();
  send_keepalive_.reset();
  new_handshake_.reset();
  zero_key_material_.reset();
  persistent_keepalive_timer_.reset();
  session_expiry_.reset();
  need_another_keepalive_ = false;
}

}  // namespace tundra::proto
