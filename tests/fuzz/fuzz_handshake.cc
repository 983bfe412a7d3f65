// Fuzz target: handshake message parsing and consumption (tundra/proto). The input is one
// datagram. Classify must agree with the sizes; each handshake message is taken by the state
// that expects it (fuzz_fixture.h), so the seed messages get through every step, and:
// - mac1: CookieChecker::Validate agrees with the mac1 CookieJar::AddMacs computes;
// - an initiation that authenticates is consumed once (the replay rule refuses it again), its
//   response completes a session whose indices are the message's;
// - a response that authenticates completes the initiator's session; one that does not leaves
//   the handshake as it was;
// - a cookie reply is accepted at most once and only then yields a cookie.
#include <cstring>
#include <vector>

#include "tests/fuzz/fuzz_fixture.h"

namespace tundra::fuzz {
namespace {

using proto::DropReason;
using proto::MessageType;

const HandshakeWorld& World() {
  static const HandshakeWorld* world = new HandshakeWorld();
  return *world;
}

// The mac1 `jar` (keyed for the receiver) would write over `msg`, and what `checker` says of it.
template <typename Msg>
void CheckMac1(ByteSpan msg, const crypto::PublicKey& receiver) {
  static FakeClock clock;
  proto::CookieChecker checker(clock);
  checker.SetLocalPublicKey(receiver);
  proto::CookieJar jar;
  jar.SetRemotePublicKey(receiver);
  std::vector<uint8_t> remac(msg.begin(), msg.end());
  jar.AddMacs(remac, kFuzzNow);
  const size_t off = proto::Mac1Offset<Msg>();
  TUNDRA_CHECK(std::memcmp(remac.data(), msg.data(), off) == 0);  // only the MACs change
  const bool mac1_ok = std::memcmp(remac.data() + off, msg.data() + off, proto::kMacLen) == 0;
  const uint8_t source[6] = {198, 18, 0, 1, 0x12, 0x34};
  const proto::MacState plain = checker.Validate(msg, source, false);
  TUNDRA_CHECK((plain != proto::MacState::kInvalidMac1) == mac1_ok);
  TUNDRA_CHECK(plain != proto::MacState::kValidMac1AndMac2);  // not checked
  // This checker's secret is fresh and random: no mac2 can match a cookie nobody was given.
  const proto::MacState loaded = checker.Validate(msg, source, true);
  TUNDRA_CHECK((loaded != proto::MacState::kInvalidMac1) == mac1_ok);
  TUNDRA_CHECK(loaded != proto::MacState::kValidMac1AndMac2);
}

void FuzzInitiation(ByteSpan data) {
  const HandshakeWorld& w = World();
  const auto msg = proto::LoadMessage<proto::MessageInitiation>(data);
  TUNDRA_CHECK(std::memcmp(proto::AsBytes(msg).data(), data.data(), data.size()) == 0);
  CheckMac1<proto::MessageInitiation>(data, w.responder.public_key);

  proto::DecryptedInitiation d;
  if (proto::DecryptInitiation(w.responder, msg, d) != DropReason::kNone) return;
  TUNDRA_CHECK(d.sender_index == msg.sender_index);
  TUNDRA_CHECK(std::memcmp(d.remote_ephemeral.data(), msg.unencrypted_ephemeral, 32) == 0);
  if (d.remote_static != w.initiator.public_key) return;  // a peer we do not know

  proto::Handshake h = w.responder_configured;
  const DropReason consumed = h.ConsumeInitiation(d, msg, kFuzzNow);
  if (consumed != DropReason::kNone) {
    TUNDRA_CHECK(h.state() == proto::HandshakeState::kZeroed);
    return;
  }
  TUNDRA_CHECK(h.state() == proto::HandshakeState::kConsumedInitiation);
  TUNDRA_CHECK(h.remote_index() == msg.sender_index);
  // The same initiation again, even much later, is a replay.
  proto::DecryptedInitiation again;
  TUNDRA_CHECK(proto::DecryptInitiation(w.responder, msg, again) == DropReason::kNone);
  TUNDRA_CHECK(h.ConsumeInitiation(again, msg, kFuzzNow + std::chrono::seconds(10)) !=
               DropReason::kNone);
  proto::MessageResponse response;
  TUNDRA_CHECK(h.CreateResponse(kResponderIndex, response) == DropReason::kNone);
  TUNDRA_CHECK(response.receiver_index == msg.sender_index);
  proto::SessionKeys keys;
  TUNDRA_CHECK(h.BeginSession(keys));
  TUNDRA_CHECK(!keys.i_am_initiator);
  TUNDRA_CHECK(keys.local_index == kResponderIndex && keys.remote_index == msg.sender_index);
  TUNDRA_CHECK(h.state() == proto::HandshakeState::kZeroed);
}

void FuzzResponse(ByteSpan data) {
  const HandshakeWorld& w = World();
  const auto msg = proto::LoadMessage<proto::MessageResponse>(data);
  TUNDRA_CHECK(std::memcmp(proto::AsBytes(msg).data(), data.data(), data.size()) == 0);
  CheckMac1<proto::MessageResponse>(data, w.initiator.public_key);

  proto::Handshake h = w.initiator_sent;
  if (h.ConsumeResponse(w.initiator, msg) != DropReason::kNone) {
    TUNDRA_CHECK(h.state() == proto::HandshakeState::kCreatedInitiation);
    TUNDRA_CHECK(h.local_index() == kInitiatorIndex);
    return;
  }
  TUNDRA_CHECK(h.state() == proto::HandshakeState::kConsumedResponse);
  TUNDRA_CHECK(h.remote_index() == msg.sender_index);
  TUNDRA_CHECK(h.ConsumeResponse(w.initiator, msg) != DropReason::kNone);  // once
  proto::SessionKeys keys;
  TUNDRA_CHECK(h.BeginSession(keys));
  TUNDRA_CHECK(keys.i_am_initiator);
  TUNDRA_CHECK(keys.local_index == kInitiatorIndex && keys.remote_index == msg.sender_index);
  TUNDRA_CHECK(!keys.send.Equals(keys.recv));
}

void FuzzCookieReply(ByteSpan data) {
  const HandshakeWorld& w = World();
  const auto msg = proto::LoadMessage<proto::MessageCookieReply>(data);
  TUNDRA_CHECK(std::memcmp(proto::AsBytes(msg).data(), data.data(), data.size()) == 0);
  proto::CookieJar jar = w.initiator_jar;
  TUNDRA_CHECK(!jar.has_cookie(kFuzzNow));
  if (jar.ConsumeReply(msg, kFuzzNow) != DropReason::kNone) {
    TUNDRA_CHECK(!jar.has_cookie(kFuzzNow));
    return;
  }
  TUNDRA_CHECK(jar.has_cookie(kFuzzNow));
  TUNDRA_CHECK(jar.ConsumeReply(msg, kFuzzNow) != DropReason::kNone);  // once per mac1
  TUNDRA_CHECK(!jar.has_cookie(kFuzzNow + std::chrono::seconds(121)));
  // With the cookie, the next initiation's mac2 is no longer zero.
  proto::MessageInitiation next = w.initiation;
  jar.AddMacs(proto::AsMutableBytes(next), kFuzzNow);
  const uint8_t zero[proto::kMacLen] = {};
  TUNDRA_CHECK(std::memcmp(next.mac2, zero, sizeof(zero)) != 0);
}

}  // namespace
}  // namespace tundra::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tundra;
  const ByteSpan in(data, size);
  proto::MessageType type{};
  const proto::DropReason r = proto::Classify(in, type);
  if (r != proto::DropReason::kNone) return 0;
  TUNDRA_CHECK(size >= 4 && LoadLe32(data) == static_cast<uint32_t>(type));
  switch (type) {
    case proto::MessageType::kInitiation:
      TUNDRA_CHECK(size == proto::kInitiationSize);
      fuzz::FuzzInitiation(in);
      break;
    case proto::MessageType::kResponse:
      TUNDRA_CHECK(size == proto::kResponseSize);
      fuzz::FuzzResponse(in);
      break;
    case proto::MessageType::kCookieReply:
      TUNDRA_CHECK(size == proto::kCookieReplySize);
      fuzz::FuzzCookieReply(in);
      break;
    case proto::MessageType::kData:
      TUNDRA_CHECK(size >= proto::kDataMinSize);
      break;
    default:
      TUNDRA_CHECK(false);  // Classify accepted a type it does not define
  }
  return 0;
}
