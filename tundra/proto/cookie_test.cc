#include "tundra/proto/cookie.h"

#include <gtest/gtest.h>

#include "tundra/base/fake_clock.h"
#include "tundra/crypto/random.h"
#include "tundra/crypto/x25519.h"
#include "tundra/proto/constants.h"

namespace tundra::proto {
namespace {

// wireguard-go cookie_test.go procedure: mac1 verifies; mac2 fails before a cookie; a cookie
// reply round-trips; then mac2 verifies; a flipped bit fails both; another source fails mac2.
TEST(CookieTest, Mac1Mac2AndReplyRoundTrip) {
  FakeClock clock;
  crypto::PublicKey responder = crypto::PublicFromPrivate(crypto::GeneratePrivateKey());
  CookieChecker checker(clock);
  checker.SetLocalPublicKey(responder);
  CookieJar jar;
  jar.SetRemotePublicKey(responder);

  std::array<uint8_t, kInitiationSize> msg;
  crypto::RandomBytes(msg);
  const uint8_t src[] = {198, 18, 13, 37, 0x05, 0x61};
  const uint8_t other_ip[] = {198, 18, 13, 38, 0x05, 0x61};
  const uint8_t other_port[] = {198, 18, 13, 37, 0x05, 0x62};

  EXPECT_EQ(checker.Validate(msg, src, false), MacState::kInvalidMac1);
  jar.AddMacs(msg, clock.Now());
  EXPECT_EQ(checker.Validate(msg, src, false), MacState::kValidMac1);
  EXPECT_EQ(checker.Validate(msg, src, true), MacState::kValidMac1);  // no cookie yet

  MessageCookieReply reply;
  checker.CreateReply(msg, 1377, src, reply);
  EXPECT_EQ(reply.receiver_index, 1377u);
  EXPECT_EQ(jar.ConsumeReply(reply, clock.Now()), DropReason::kNone);
  // Only once per mac1 sent.
  EXPECT_EQ(jar.ConsumeReply(reply, clock.Now()), DropReason::kUnexpectedMessage);

  jar.AddMacs(msg, clock.Now());
  EXPECT_EQ(checker.Validate(msg, src, true), MacState::kValidMac1AndMac2);
  EXPECT_EQ(checker.Validate(msg, other_ip, true), MacState::kValidMac1);
  EXPECT_EQ(checker.Validate(msg, other_port, true), MacState::kValidMac1);

  msg[5] ^= 0x20;
  EXPECT_EQ(checker.Validate(msg, src, true), MacState::kInvalidMac1);
}

TEST(CookieTest, ReplyMustAnswerTheLastMac1) {
  FakeClock clock;
  crypto::PublicKey responder = crypto::PublicFromPrivate(crypto::GeneratePrivateKey());
  CookieChecker checker(clock);
  checker.SetLocalPublicKey(responder);
  CookieJar jar;
  jar.SetRemotePublicKey(responder);
  const uint8_t src[] = {198, 18, 0, 1, 1, 2};

  std::array<uint8_t, kResponseSize> first, second;
  crypto::RandomBytes(first);
  crypto::RandomBytes(second);
  MessageCookieReply reply;
  // A reply before anything was sent is unexpected.
  jar.AddMacs(first, clock.Now());
  checker.CreateReply(first, 7, src, reply);
  jar.AddMacs(second, clock.Now());  // a newer message: the reply to `first` no longer fits
  EXPECT_EQ(jar.ConsumeReply(reply, clock.Now()), DropReason::kHandshakeDecrypt);
  CookieJar fresh;
  fresh.SetRemotePublicKey(responder);
  EXPECT_EQ(fresh.ConsumeReply(reply, clock.Now()), DropReason::kUnexpectedMessage);
}

TEST(CookieTest, CookieExpiresForInitiatorAndSecretRotates) {
  FakeClock clock;
  crypto::PublicKey responder = crypto::PublicFromPrivate(crypto::GeneratePrivateKey());
  CookieChecker checker(clock);
  checker.SetLocalPublicKey(responder);
  CookieJar jar;
  jar.SetRemotePublicKey(responder);
  const uint8_t src[] = {198, 18, 0, 1, 1, 2};
  std::array<uint8_t, kInitiationSize> msg;
  crypto::RandomBytes(msg);
  jar.AddMacs(msg, clock.Now());
  MessageCookieReply reply;
  checker.CreateReply(msg, 1, src, reply);
  ASSERT_EQ(jar.ConsumeReply(reply, clock.Now()), DropReason::kNone);

  // The initiator uses the cookie for at most 120 - 5 s.
  clock.Advance(kCookieSecretMaxAge - kCookieSecretLatency - std::chrono::seconds(1));
  EXPECT_TRUE(jar.has_cookie(clock.Now()));
  jar.AddMacs(msg, clock.Now());
  EXPECT_EQ(checker.Validate(msg, src, true), MacState::kValidMac1AndMac2);
  clock.Advance(std::chrono::seconds(2));
  EXPECT_FALSE(jar.has_cookie(clock.Now()));
  jar.AddMacs(msg, clock.Now());
  EXPECT_TRUE(std::all_of(msg.end() - kMacLen, msg.end(), [](uint8_t b) { return b == 0; }));

  // After the responder's secret rotates (120 s), an old cookie no longer validates.
  jar.AddMacs(msg, clock.Now());
  checker.CreateReply(msg, 1, src, reply);
  ASSERT_EQ(jar.ConsumeReply(reply, clock.Now()), DropReason::kNone);
  jar.AddMacs(msg, clock.Now());
  EXPECT_EQ(checker.Validate(msg, src, true), MacState::kValidMac1AndMac2);
  clock.Advance(kCookieSecretMaxAge);
  EXPECT_EQ(checker.Validate(msg, src, true), MacState::kValidMac1);
}

TEST(CookieTest, WrongSizeIsInvalid) {
  FakeClock clock;
  CookieChecker checker(clock);
  checker.SetLocalPublicKey(crypto::PublicFromPrivate(crypto::GeneratePrivateKey()));
  std::array<uint8_t, 100> msg{};
  const uint8_t src[] = {1};
  EXPECT_EQ(checker.Validate(msg, src, true), MacState::kInvalidMac1);
}

}  // namespace
}  // namespace tundra::proto
