#include "tundra/proto/keypair.h"

#include <gtest/gtest.h>

#include "tundra/base/fake_clock.h"
#include "tundra/crypto/random.h"
#include "tundra/proto/constants.h"

namespace tundra::proto {
namespace {

KeypairPtr Make(bool initiator, uint32_t index, TimePoint now) {
  SessionKeys keys;
  crypto::RandomBytes(keys.send.span());
  crypto::RandomBytes(keys.recv.span());
  keys.i_am_initiator = initiator;
  keys.local_index = index;
  keys.remote_index = index + 1000;
  return std::make_shared<Keypair>(keys, now);
}

bool Contains(const Keypairs::Evicted& e, const KeypairPtr& k) {
  return std::find(e.begin(), e.end(), k) != e.end();
}

TEST(KeypairsTest, InitiatorRotation) {
  FakeClock clock;
  Keypairs kp;
  auto k1 = Make(true, 1, clock.Now());
  auto k2 = Make(true, 2, clock.Now());
  auto k3 = Make(true, 3, clock.Now());
  kp.Add(k1);
  EXPECT_EQ(kp.current(), k1);
  kp.Add(k2);
  EXPECT_EQ(kp.current(), k2);
  EXPECT_EQ(kp.previous(), k1);
  auto ev = kp.Add(k3);
  EXPECT_EQ(kp.current(), k3);
  EXPECT_EQ(kp.previous(), k2);
  EXPECT_TRUE(Contains(ev, k1));
}

TEST(KeypairsTest, ResponderWaitsForFirstDataThenPromotes) {
  FakeClock clock;
  Keypairs kp;
  auto k1 = Make(true, 1, clock.Now());
  kp.Add(k1);
  auto r = Make(false, 2, clock.Now());
  kp.Add(r);
  EXPECT_EQ(kp.current(), k1);
  EXPECT_EQ(kp.next(), r);
  Keypairs::Evicted ev;
  EXPECT_FALSE(kp.ReceivedWith(k1, ev));
  EXPECT_TRUE(kp.ReceivedWith(r, ev));
  EXPECT_EQ(kp.current(), r);
  EXPECT_EQ(kp.previous(), k1);
  EXPECT_EQ(kp.next(), nullptr);
  EXPECT_FALSE(kp.ReceivedWith(r, ev));
}

TEST(KeypairsTest, InitiatorWithPendingNextDropsUnusedCurrent) {
  FakeClock clock;
  Keypairs kp;
  auto cur = Make(true, 1, clock.Now());
  auto next = Make(false, 2, clock.Now());
  auto fresh = Make(true, 3, clock.Now());
  kp.Add(cur);
  kp.Add(next);
  auto ev = kp.Add(fresh);
  EXPECT_EQ(kp.current(), fresh);
  EXPECT_EQ(kp.previous(), next);
  EXPECT_EQ(kp.next(), nullptr);
  EXPECT_TRUE(Contains(ev, cur));
}

TEST(KeypairsTest, ClearInvalidatesAll) {
  FakeClock clock;
  Keypairs kp;
  auto k = Make(true, 1, clock.Now());
  kp.Add(k);
  auto ev = kp.Clear();
  EXPECT_TRUE(Contains(ev, k));
  EXPECT_EQ(kp.current(), nullptr);
  uint64_t c;
  EXPECT_FALSE(k->ReserveSendCounter(clock.Now(), c));
  EXPECT_FALSE(k->CanReceive(clock.Now()));
}

TEST(KeypairTest, ExpiryAndCounterLimit) {
  FakeClock clock;
  auto k = Make(true, 1, clock.Now());
  uint64_t c = 99;
  ASSERT_TRUE(k->ReserveSendCounter(clock.Now(), c));
  EXPECT_EQ(c, 0u);
  ASSERT_TRUE(k->ReserveSendCounter(clock.Now(), c));
  EXPECT_EQ(c, 1u);
  clock.Advance(kRejectAfterTime - std::chrono::milliseconds(1));
  EXPECT_TRUE(k->CanReceive(clock.Now()));
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_FALSE(k->ReserveSendCounter(clock.Now(), c));
  EXPECT_FALSE(k->CanReceive(clock.Now()));

  auto k2 = Make(true, 2, clock.Now());
  k2->send_counter = kRejectAfterMessages - 1;
  ASSERT_TRUE(k2->ReserveSendCounter(clock.Now(), c));
  EXPECT_EQ(c, kRejectAfterMessages - 1);
  EXPECT_FALSE(k2->ReserveSendCounter(clock.Now(), c));
  EXPECT_FALSE(k2->sending_valid.load());
}

TEST(KeypairTest, ReplayCheckedAfterDecrypt) {
  FakeClock clock;
  auto k = Make(true, 1, clock.Now());
  EXPECT_TRUE(k->ValidateCounter(5));
  EXPECT_FALSE(k->ValidateCounter(5));
  EXPECT_TRUE(k->ValidateCounter(4));
  EXPECT_FALSE(k->ValidateCounter(kRejectAfterMessages));
}

TEST(DataMessageTest, PaddingRules) {
  EXPECT_EQ(PaddedLength(0, 1420), 0u);
  EXPECT_EQ(PaddedLength(1, 1420), 16u);
  EXPECT_EQ(PaddedLength(84, 1420), 96u);
  EXPECT_EQ(PaddedLength(96, 1420), 96u);
  EXPECT_EQ(PaddedLength(1415, 1420), 1420u);  // never beyond the MTU
  EXPECT_EQ(PaddedLength(1420, 1420), 1420u);
  EXPECT_EQ(PaddedLength(1500, 1420), 1500u);  // already too long: left alone
}

TEST(DataMessageTest, SealOpenTamper) {
  FakeClock clock;
  SessionKeys a;
  crypto::RandomBytes(a.send.span());
  crypto::RandomBytes(a.recv.span());
  a.i_am_initiator = true;
  a.remote_index = 0x01020304;
  SessionKeys b = a;
  b.send = a.recv;
  b.recv = a.send;
  Keypair ka(a, clock.Now()), kb(b, clock.Now());

  std::vector<uint8_t> buf(kDataHeaderSize + 112 + kAeadTagLen);
  for (size_t i = 0; i < 100; ++i) buf[kDataHeaderSize + i] = uint8_t(i);
  const size_t n = SealDataMessage(ka, 42, buf, 100, PaddedLength(100, 1420));
  ASSERT_EQ(n, kDataHeaderSize + 112 + kAeadTagLen);
  EXPECT_EQ(LoadLe32(buf.data()), 4u);
  EXPECT_EQ(DataReceiverIndex(buf.data()), 0x01020304u);
  EXPECT_EQ(DataCounter(buf.data()), 42u);
  std::vector<uint8_t> copy = buf;
  ASSERT_TRUE(OpenDataMessage(kb, copy));
  for (size_t i = 0; i < 100; ++i) ASSERT_EQ(copy[kDataHeaderSize + i], uint8_t(i));
  for (size_t i = 100; i < 112; ++i) ASSERT_EQ(copy[kDataHeaderSize + i], 0);
  copy = buf;
  copy[8] ^= 1;  // the counter is the nonce: a changed counter fails
  EXPECT_FALSE(OpenDataMessage(kb, copy));
  copy = buf;
  copy[40] ^= 1;
  EXPECT_FALSE(OpenDataMessage(kb, copy));
  EXPECT_FALSE(OpenDataMessage(ka, buf));  // wrong direction's key
}

}  // namespace
}  // namespace tundra::proto
