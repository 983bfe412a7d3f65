// The compression hello's delivery (docs/compression.md, "The hello"): a lost hello, or a lost
// answer, does not leave compression off in one direction for the session; a peer that never
// answers gets at most kMaxHellosPerSession hellos; a zstd level change keeps the session.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "pair_fixture.h"
#include "tundra/compress/codec.h"
#include "tundra/device/compression.h"

namespace tundra {
namespace {

using testing::milliseconds;
using testing::PairTest;
using testing::seconds;
using testing::WaitFor;

// A hello is the only 48-byte data message: 16 header + 2 bytes padded to 16 + 16 tag
// (a keepalive is 32, an IP packet at least 20 + 32).
constexpr size_t kHelloMessageSize = 48;

class HelloTest : public PairTest {
 protected:
  struct Counts {
    std::atomic<int> a_hellos{0}, b_hellos{0};
    std::atomic<int> drop_a{0}, drop_b{0};  // how many of each side's next hellos to drop
  };

  void SetUp() override {
    PairTest::SetUp();
    net_.set_filter([c = counts_, a = a_.underlay](const transport::Endpoint& from,
                                                   const transport::Endpoint&, ByteSpan d) {
      if (TypeOf(d) != 4 || d.size() != kHelloMessageSize) return true;
      const bool from_a = from.ToString().starts_with(a);
      (from_a ? c->a_hellos : c->b_hellos)++;
      std::atomic<int>& drop = from_a ? c->drop_a : c->drop_b;
      for (int n = drop.load(); n > 0;) {
        if (drop.compare_exchange_weak(n, n - 1)) return false;
      }
      return true;
    });
  }

  void Start(const std::string& a_setting, const std::string& b_setting) {
    StartBoth(CompressionLine(a_setting), CompressionLine(b_setting));
  }

  bool BothActive() {
    return WaitFor([&] { return Peer(a_).compression_active && Peer(b_).compression_active; },
                   milliseconds(3000));
  }

  std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
};

TEST_F(HelloTest, BothCompressWhenTheInitiatorsHelloIsLost) {
  counts_->drop_a = 1;
  Start("lz4", "lz4");
  ASSERT_TRUE(Ping(a_, b_, 1));  // A's hello, ahead of the ping, is lost
  EXPECT_FALSE(Peer(b_).compression_active);
  EXPECT_FALSE(Peer(a_).compression_active);
  // B's first packet carries its hello, which asks for an answer: A's answer carries what B
  // missed. No clock needs to move.
  ASSERT_TRUE(Ping(b_, a_, 2));
  EXPECT_TRUE(BothActive()) << "A active " << Peer(a_).compression_active << ", B active "
                            << Peer(b_).compression_active << ", hellos A "
                            << counts_->a_hellos.load() << " B " << counts_->b_hellos.load();
  EXPECT_GE(counts_->a_hellos.load(), 2);
}

TEST_F(HelloTest, ALostHelloIsResentWhenOnlyOneSideSends) {
  counts_->drop_a = 1;
  Start("lz4", "lz4");
  ASSERT_TRUE(Ping(a_, b_, 1));
  // B has nothing to send; A has no ack for its hello, so its next packet after
  // kHelloResendInterval carries it again, and B's answer follows.
  ASSERT_TRUE(Ping(a_, b_, 2));
  EXPECT_EQ(counts_->a_hellos.load(), 1);  // not before the interval
  Advance(device::kHelloResendInterval + milliseconds(1));
  ASSERT_TRUE(Ping(a_, b_, 3));
  EXPECT_TRUE(BothActive());
  // The lost one, the resend, and A's answer to B's answer (which asked: B had no ack yet).
  EXPECT_TRUE(WaitFor([&] { return counts_->a_hellos.load() == 3; }));
  EXPECT_EQ(counts_->b_hellos.load(), 1);
}

TEST_F(HelloTest, BothCompressWhenTheAnswerIsLost) {
  counts_->drop_b = 1;
  Start("lz4", "lz4");
  ASSERT_TRUE(Ping(a_, b_, 1));
  // B has A's hello; A has nothing from B yet (its answer was lost).
  ASSERT_TRUE(WaitFor([&] { return Peer(b_).compression_active; }));
  EXPECT_FALSE(Peer(a_).compression_active);
  // A has not heard that B has its hello: with its next packet after kHelloResendInterval it
  // sends it again, and B answers.
  Advance(device::kHelloResendInterval + milliseconds(1));
  ASSERT_TRUE(Ping(a_, b_, 2));
  EXPECT_TRUE(BothActive());
}

TEST_F(HelloTest, APeerThatNeverAnswersGetsABoundedNumberOfHellos) {
  Start("lz4", "");  // B has no Compression: it drops A's hellos and never answers
  for (uint16_t i = 1; i <= 2 * device::kMaxHellosPerSession; ++i) {
    ASSERT_TRUE(Ping(a_, b_, i));
    Advance(device::kHelloResendInterval + milliseconds(1));
  }
  EXPECT_EQ(counts_->a_hellos.load(), int(device::kMaxHellosPerSession));
  EXPECT_EQ(counts_->b_hellos.load(), 0);
  EXPECT_FALSE(Peer(a_).compression_active);
}

TEST_F(HelloTest, AnsweredHellosStopOnceBothHaveThem) {
  Start("lz4", "lz4");
  ASSERT_TRUE(Ping(a_, b_, 1));
  ASSERT_TRUE(BothActive());
  // Let the exchange settle (no hello for 300 ms), then more traffic over several resend
  // intervals sends no hello.
  int a = -1, b = -1;
  for (int i = 0; i < 20 && (a != counts_->a_hellos.load() || b != counts_->b_hellos.load()); ++i) {
    a = counts_->a_hellos.load();
    b = counts_->b_hellos.load();
    std::this_thread::sleep_for(milliseconds(300));
  }
  // Usually 3 (A's, B's answer asking for one, A's answer); a data packet that races the
  // answer can add one or two, never more than the budget.
  EXPECT_LE(a, int(device::kMaxHellosPerSession));
  EXPECT_LE(b, int(device::kMaxHellosPerSession));
  for (uint16_t i = 2; i <= 5; ++i) {
    Advance(device::kHelloResendInterval + milliseconds(1));
    ASSERT_TRUE(Ping(a_, b_, i));
    ASSERT_TRUE(Ping(b_, a_, uint16_t(100 + i)));
  }
  EXPECT_EQ(counts_->a_hellos.load(), a);
  EXPECT_EQ(counts_->b_hellos.load(), b);
}

TEST_F(HelloTest, AZstdLevelChangeKeepsTheSession) {
  Start("zstd", "zstd");
  ASSERT_TRUE(Ping(a_, b_, 1));
  ASSERT_TRUE(BothActive());
  const uint64_t handshakes = Peer(a_).counters.handshakes;
  Apply(a_, {"public_key=" + ToHex(b_.pub), "tundra_compression=zstd:9"});
  EXPECT_EQ(Peer(a_).compression, (compress::Setting{compress::Algorithm::kZstd, 9}));
  EXPECT_TRUE(Peer(a_).compression_active);
  ASSERT_TRUE(Ping(a_, b_, 2));
  EXPECT_EQ(Peer(a_).counters.handshakes, handshakes);
  // An algorithm change does start a new session (the hello said the old one).
  Apply(a_, {"public_key=" + ToHex(b_.pub), "tundra_compression=lz4"});
  EXPECT_FALSE(Peer(a_).compression_active);
}

}  // namespace
}  // namespace tundra
