// Per-peer protocol timers (kernel timers.c), sans-IO: events are reported as they happen and
// Poll(now) says which timers expired and what the peer must do. The five timers:
//
//   retransmit_handshake  REKEY_TIMEOUT + jitter after an initiation is sent; resend it, up to
//                         MAX_TIMER_HANDSHAKES retries (20 initiations in all), then give up:
//                         drop staged packets and arm key zeroing.
//   send_keepalive        KEEPALIVE_TIMEOUT after data arrives with nothing sent back; send an
//                         empty (keepalive) data message.
//   new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after data is sent with no
//                         authenticated reply; start a new handshake.
//   zero_key_material     3 × REJECT_AFTER_TIME after the last session was derived; erase keys.
//   persistent_keepalive  every N seconds after any authenticated packet traversal, if set.
//   session_expiry        REJECT_AFTER_TIME after the last session was derived: the peer is
//                         down (no session can carry data), the PeerDown event.
//
// Up/down (tundra's PeerUp/PeerDown hooks, like tinc's host-up/host-down): a peer is up from
// the first session derived while it was down until REJECT_AFTER_TIME passes without a newer
// one. OnSessionDerived says when the peer came up; Poll's `went_down` when it went down.
//
// Not thread-safe: the peer serializes calls with its lock.
#pragma once

#include <cstdint>
#include <optional>

#include "tundra/base/clock.h"

namespace tundra::proto {

// Source of the REKEY_TIMEOUT jitter; tests substitute a deterministic one.
class JitterSource {
 public:
  virtual ~JitterSource() = default;
  // Uniform in [0, kRekeyTimeoutJitterMax).
  virtual Duration Next() = 0;
};
JitterSource& RandomJitter();

struct TimerActions {
  bool send_initiation = false;  // handshake (re)transmission due
  bool initiation_is_retry = false;
  bool send_keepalive = false;         // send an empty data message (passive or persistent)
  bool zero_key_material = false;      // erase keypairs and handshake
  bool give_up = false;                // handshake attempts exhausted: drop staged packets
  bool clear_endpoint_source = false;  // forget the sticky source address
  bool went_down = false;              // the last session expired: the peer is down
  bool any() const {
    return send_initiation || send_keepalive || zero_key_material || give_up || went_down;
  }
};

class PeerTimers {
 public:
  // `jitter` must outlive this object.
  explicit PeerTimers(JitterSource& jitter = RandomJitter()) : jitter_(&jitter) {}

  // Persistent keepalive interval in seconds (0 = off).
  void set_persistent_keepalive(uint16_t seconds) { persistent_keepalive_ = seconds; }
  uint16_t persistent_keepalive() const { return persistent_keepalive_; }

  // Events (kernel wg_timers_* names).
  void OnDataSent(TimePoint now);
  void OnDataReceived(TimePoint now);
  void OnAnyAuthenticatedPacketSent(TimePoint now);
  void OnAnyAuthenticatedPacketReceived(TimePoint now);
  void OnAnyAuthenticatedPacketTraversal(TimePoint now);
  void OnHandshakeInitiated(TimePoint now);
  void OnHandshakeComplete(TimePoint now);
  // A new session: returns true when the peer was down (it is up from now on).
  bool OnSessionDerived(TimePoint now);
  // The peer's sessions were dropped early (key change): returns true when it was up (it is
  // down from now on, without waiting for the expiry).
  bool OnSessionsCleared();
  // A new (non-retry) handshake cycle starts: reset the attempt counter.
  void ResetHandshakeAttempts() { handshake_attempts_ = 0; }

  // Fires every timer whose deadline is <= now and returns what the peer must do.
  TimerActions Poll(TimePoint now);
  // Earliest armed deadline, if any.
  std::optional<TimePoint> NextDeadline() const;
  // Disarms everything (peer removed / device down).
  void StopAll();

  uint32_t handshake_attempts() const { return handshake_attempts_; }
  bool retransmit_pending() const { return retransmit_handshake_.has_value(); }
  bool send_keepalive_pending() const { return send_keepalive_.has_value(); }
  bool new_handshake_pending() const { return new_handshake_.has_value(); }
  bool zero_key_material_pending() const { return zero_key_material_.has_value(); }
  bool persistent_keepalive_pending() const { return persistent_keepalive_timer_.has_value(); }
  bool up() const { return up_; }

 private:
  JitterSource* jitter_;
  uint16_t persistent_keepalive_ = 0;
  uint32_t handshake_attempts_ = 0;
  bool need_another_keepalive_ = false;
  bool up_ = false;

  std::optional<TimePoint> retransmit_handshake_;
  std::optional<TimePoint> send_keepalive_;
  std::optional<TimePoint> new_handshake_;
  std::optional<TimePoint> zero_key_material_;
  std::optional<TimePoint> persistent_keepalive_timer_;
  std::optional<TimePoint> session_expiry_;
};

}  // namespace tundra::proto
