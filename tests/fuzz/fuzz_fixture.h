// Fixed key material shared by the proto fuzz targets and the seed writer (make_seeds.cc), so
// the seed corpus holds messages the targets can take all the way through the handshake.
// Test-only: these keys are public and must never configure a real device.
// The targets assert their invariants with TUNDRA_CHECK (base/check.h): a failure aborts, which
// libFuzzer reports as a crash and the replay test as a failure.
#pragma once

#include <array>
#include <cstdint>

#include "tundra/base/bytes.h"
#include "tundra/base/check.h"
#include "tundra/base/clock.h"
#include "tundra/base/fake_clock.h"
#include "tundra/proto/cookie.h"
#include "tundra/proto/handshake.h"
#include "tundra/proto/messages.h"
#include "tundra/proto/tai64n.h"

namespace tundra::fuzz {

// A key whose bytes are `seed`, seed+1, ... (any 32 bytes are a valid X25519 private key).
inline crypto::Secret<32> PatternKey(uint8_t seed) {
  std::array<uint8_t, 32> raw;
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = uint8_t(seed + i);
  return crypto::Secret<32>(raw);
}

inline constexpr uint32_t kInitiatorIndex = 0x11111111;
inline constexpr uint32_t kResponderIndex = 0x22222222;
inline const TimePoint kFuzzNow{std::chrono::hours(1)};

// Both sides of one handshake between two fixed identities, frozen after each message, so a
// fuzz input can be consumed by the state that expects it.
struct HandshakeWorld {
  proto::StaticIdentity initiator = proto::StaticIdentity::FromPrivateKey(PatternKey(1));
  proto::StaticIdentity responder = proto::StaticIdentity::FromPrivateKey(PatternKey(101));
  proto::Handshake initiator_sent;        // kCreatedInitiation: expects a response
  proto::Handshake responder_configured;  // kZeroed, knows the initiator: expects an initiation
  proto::CookieJar initiator_jar;         // sent the initiation's mac1: expects a cookie reply
  proto::MessageInitiation initiation{};
  proto::MessageResponse response{};

  HandshakeWorld() {
    TUNDRA_CHECK(initiator_sent.Configure(initiator, responder.public_key));
    TUNDRA_CHECK(responder_configured.Configure(responder, initiator.public_key));
    initiator_jar.SetRemotePublicKey(responder.public_key);
    const crypto::PrivateKey ie = PatternKey(201), re = PatternKey(211);
    proto::Timestamp ts{};
    ts[7] = 1;  // a TAI64N later than zero
    TUNDRA_CHECK(initiator_sent.CreateInitiation(initiator, kInitiatorIndex, ts, initiation, &ie) ==
                 proto::DropReason::kNone);
    initiator_jar.AddMacs(proto::AsMutableBytes(initiation), kFuzzNow);
    proto::DecryptedInitiation d;
    TUNDRA_CHECK(proto::DecryptInitiation(responder, initiation, d) == proto::DropReason::kNone);
    proto::Handshake r = responder_configured;
    TUNDRA_CHECK(r.ConsumeInitiation(d, initiation, kFuzzNow) == proto::DropReason::kNone);
    TUNDRA_CHECK(r.CreateResponse(kResponderIndex, response, &re) == proto::DropReason::kNone);
    proto::CookieJar responder_jar;
    responder_jar.SetRemotePublicKey(initiator.public_key);
    responder_jar.AddMacs(proto::AsMutableBytes(response), kFuzzNow);
  }
};

}  // namespace tundra::fuzz
