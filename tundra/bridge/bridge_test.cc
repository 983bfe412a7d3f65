#include "tundra/bridge/bridge.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>
#include <vector>

#include "tundra/base/fake_clock.h"
#include "tundra/tun/fake_tun.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::bridge {
namespace {

using std::chrono::milliseconds;
using tun::FakeTun;

std::vector<uint8_t> Frame(uint8_t tag, size_t size) {
  std::vector<uint8_t> f(size, tag);
  f[12] = 0x08;  // EtherType IPv4, for realism only
  f[13] = 0x00;
  return f;
}

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = FakeTun::Create("tapa").value();
    b_ = FakeTun::Create("tapb").value();
    stop_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_TRUE(stop_.valid());
  }
  void Stop() {
    const uint64_t one = 1;
    ASSERT_EQ(::write(stop_.get(), &one, sizeof(one)), ssize_t(sizeof(one)));
  }
  // Runs rounds until nothing is pending on either side.
  void Drain(Bridge& bridge) {
    for (int i = 0; i < 100 && (a_->pending() > 0 || b_->pending() > 0); ++i) {
      auto more = bridge.RunOnce(1000);
      ASSERT_TRUE(more.ok()) << more.error().message();
      ASSERT_TRUE(*more);
    }
  }

  std::unique_ptr<FakeTun> a_, b_;
  UniqueFd stop_;
};

TEST_F(BridgeTest, FramesCrossInBothDirectionsWithCounters) {
  auto bridge = Bridge::Create(*a_, *b_, stop_.get()).value();
  const auto f1 = Frame(1, 60), f2 = Frame(2, 1514), f3 = Frame(3, 98);
  ASSERT_TRUE(a_->Inject(f1));
  ASSERT_TRUE(a_->Inject(f2));
  ASSERT_TRUE(b_->Inject(f3));
  Drain(*bridge);

  auto at_b = b_->TakeWritten();
  ASSERT_EQ(at_b.size(), 2u);
  EXPECT_EQ(at_b[0], f1);
  EXPECT_EQ(at_b[1], f2);
  auto at_a = a_->TakeWritten();
  ASSERT_EQ(at_a.size(), 1u);
  EXPECT_EQ(at_a[0], f3);

  EXPECT_EQ(bridge->a_to_b().frames.load(), 2u);
  EXPECT_EQ(bridge->a_to_b().bytes.load(), 60u + 1514u);
  EXPECT_EQ(bridge->a_to_b().forwarded.load(), 2u);
  EXPECT_EQ(bridge->a_to_b().dropped.load(), 0u);
  EXPECT_EQ(bridge->b_to_a().frames.load(), 1u);
  EXPECT_EQ(bridge->b_to_a().bytes.load(), 98u);
  EXPECT_EQ(bridge->FormatCounters(),
            "tapa -> tapb: 2 frames, 1574 bytes, 2 forwarded, 0 dropped\n"
            "tapb -> tapa: 1 frames, 98 bytes, 1 forwarded, 0 dropped\n"
            "tapa drops: none\n"
            "tapb drops: none\n");
}

TEST_F(BridgeTest, LargeBurstsAreSplitIntoBatchesInOrder) {
  Bridge::Options options;
  options.batch_size = 8;
  auto bridge = Bridge::Create(*a_, *b_, stop_.get(), options).value();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(a_->Inject(Frame(uint8_t(i), 64 + i)));
  Drain(*bridge);
  auto out = b_->TakeWritten();
  ASSERT_EQ(out.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(out[i], Frame(uint8_t(i), 64 + i)) << i;
  EXPECT_EQ(bridge->a_to_b().frames.load(), 50u);
}

TEST_F(BridgeTest, OversizedFramesAreCountedByTheInputDevice) {
  Bridge::Options options;
  options.max_frame = 100;
  auto bridge = Bridge::Create(*a_, *b_, stop_.get(), options).value();
  ASSERT_TRUE(a_->Inject(Frame(1, 101)));
  ASSERT_TRUE(a_->Inject(Frame(2, 100)));
  Drain(*bridge);
  EXPECT_EQ(b_->TakeWritten().size(), 1u);
  EXPECT_EQ(a_->drops().Get(tun::TunDropReason::kTruncated), 1u);
  EXPECT_NE(bridge->FormatCounters().find("tapa drops: truncated=1"), std::string::npos);
}

// A device whose Write accepts only frames not starting with 0xff (like a kernel rejecting some).
class PickyTun : public tun::TunDevice {
 public:
  explicit PickyTun(FakeTun& inner) : inner_(inner) {}
  Result<size_t> Read(std::span<const MutableByteSpan> bufs, std::span<size_t> sizes,
                      size_t offset) override {
    return inner_.Read(bufs, sizes, offset);
  }
  Result<size_t> Write(std::span<const MutableByteSpan> bufs, size_t offset) override {
    size_t ok = 0;
    for (const MutableByteSpan& b : bufs) {
      if (b[offset] == 0xff) {
        drops_.Add(tun::TunDropReason::kWriteRejected);
        continue;
      }
      ++ok;
    }
    return ok;
  }
  size_t BatchSize() const override { return 8; }
  int poll_fd() const override { return inner_.poll_fd(); }
  const std::string& name() const override { return inner_.name(); }
  const tun::TunDropCounters& drops() const override { return drops_; }

 private:
  FakeTun& inner_;
  tun::TunDropCounters drops_;
};

TEST_F(BridgeTest, FramesTheOutputRejectsAreCountedAsDropped) {
  PickyTun picky(*b_);
  auto bridge = Bridge::Create(*a_, picky, stop_.get()).value();
  ASSERT_TRUE(a_->Inject(Frame(0xff, 60)));
  ASSERT_TRUE(a_->Inject(Frame(1, 60)));
  Drain(*bridge);
  EXPECT_EQ(bridge->a_to_b().frames.load(), 2u);
  EXPECT_EQ(bridge->a_to_b().forwarded.load(), 1u);
  EXPECT_EQ(bridge->a_to_b().dropped.load(), 1u);
  EXPECT_NE(bridge->FormatCounters().find("tapb drops: write_rejected=1"), std::string::npos);
}

TEST_F(BridgeTest, RunStopsWhenTheStopFdFires) {
  auto bridge = Bridge::Create(*a_, *b_, stop_.get()).value();
  Status result = MakeError(EINVAL, "not run");
  std::thread runner([&] { result = bridge->Run(); });
  ASSERT_TRUE(a_->Inject(Frame(7, 60)));
  ASSERT_TRUE(b_->WaitForWritten(1, std::chrono::seconds(5)));
  Stop();
  runner.join();
  EXPECT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(bridge->a_to_b().forwarded.load(), 1u);
}

TEST_F(BridgeTest, RunFailsWhenADeviceGoesAway) {
  auto bridge = Bridge::Create(*a_, *b_, stop_.get()).value();
  b_->Close();
  Status result = bridge->Run();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message(), "read(tapb): File descriptor in bad state");
}

TEST_F(BridgeTest, RejectsTheSameQueueTwice) {
  auto same = Bridge::Create(*a_, *a_, stop_.get());
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().message(), "bridge: tapa and tapa are the same queue");
}

// An impaired bridge holds each frame for its direction's delay (on a fake clock), drops what
// the model drops, and keeps the seeded decisions of the model.
TEST_F(BridgeTest, ImpairedDirectionsDelayAndDropAsTheModelDecides) {
  FakeClock clock;
  Bridge::Options options;
  options.clock = &clock;
  options.impair.emplace();
  options.impair->a_to_b.delay = milliseconds(50);
  options.impair->b_to_a.loss = 100;
  auto bridge = Bridge::Create(*a_, *b_, stop_.get(), options).value();
  const auto f1 = Frame(1, 60), f2 = Frame(2, 1514), f3 = Frame(3, 98);
  ASSERT_TRUE(a_->Inject(f1));
  ASSERT_TRUE(a_->Inject(f2));
  ASSERT_TRUE(b_->Inject(f3));
  Drain(*bridge);
  EXPECT_TRUE(b_->TakeWritten().empty()) << "released before its delay";
  clock.Advance(milliseconds(49));
  ASSERT_TRUE(bridge->RunOnce(0).ok());
  EXPECT_TRUE(b_->TakeWritten().empty()) << "released before its delay";
  clock.Advance(milliseconds(1));
  ASSERT_TRUE(bridge->RunOnce(0).ok());
  auto at_b = b_->TakeWritten();
  ASSERT_EQ(at_b.size(), 2u);
  EXPECT_EQ(at_b[0], f1);
  EXPECT_EQ(at_b[1], f2);
  EXPECT_TRUE(a_->TakeWritten().empty());

  EXPECT_EQ(bridge->a_to_b().frames.load(), 2u);
  EXPECT_EQ(bridge->a_to_b().forwarded.load(), 2u);
  EXPECT_EQ(bridge->b_to_a().frames.load(), 1u);
  EXPECT_EQ(bridge->b_to_a().forwarded.load(), 0u);
  ASSERT_NE(bridge->a_to_b_impairment(), nullptr);
  EXPECT_EQ(bridge->a_to_b_impairment()->sent, 2u);
  EXPECT_EQ(bridge->b_to_a_impairment()->dropped[size_t(impair::DropReason::kLoss)], 1u);
  const std::string text = bridge->FormatCounters();
  EXPECT_NE(text.find("impair tapa->tapb sent 2"), std::string::npos) << text;
  EXPECT_NE(text.find("impair tapb->tapa dropped_loss 1"), std::string::npos) << text;
}

// The timerfd wakes the loop at the release time: with the real clock, RunOnce(-1)-style waits
// return once the delay has passed, with no frame arriving to wake them.
TEST_F(BridgeTest, ImpairedReleaseWakesTheLoopOnItsOwn) {
  Bridge::Options options;
  options.impair.emplace();
  options.impair->a_to_b.delay = milliseconds(30);
  auto bridge = Bridge::Create(*a_, *b_, stop_.get(), options).value();
  ASSERT_TRUE(a_->Inject(Frame(1, 60)));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50 && bridge->a_to_b().forwarded.load() == 0; ++i) {
    ASSERT_TRUE(bridge->RunOnce(1000).ok());
  }
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(bridge->a_to_b().forwarded.load(), 1u);
  EXPECT_GE(waited, milliseconds(30));
  EXPECT_LT(waited, milliseconds(900)) << "woken by the 1 s epoll timeout, not the timer";
}

// An IPv4 UDP packet of `size` bytes from 198.19.0.1 to 198.19.0.2, DF set or not.
std::vector<uint8_t> Ipv4(size_t size, bool df) {
  std::vector<uint8_t> p(size, 0x5a);
  p[0] = 0x45;
  p[1] = 0;
  StoreBe16(&p[2], uint16_t(size));
  StoreBe16(&p[4], 7);
  StoreBe16(&p[6], df ? 0x4000 : 0);
  p[8] = 64;
  p[9] = 17;
  StoreBe16(&p[10], 0);
  const uint8_t src[4] = {198, 19, 0, 1}, dst[4] = {198, 19, 0, 2};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst, 4);
  StoreBe16(&p[10], tun::Checksum(ByteSpan(p.data(), 20)));
  return p;
}

Bridge::Options TooBigOptions(const FakeClock& clock, uint64_t burst) {
  Bridge::Options options;
  options.clock = &clock;
  options.impair.emplace();
  options.impair->a_to_b.mtu = 1280;
  options.impair->a_to_b.too_big_reply = impair::TooBigReply{.per_second = 1000, .burst = burst};
  return options;
}

// TUN sides: a packet over the MTU is dropped and answered into the side it came from with a
// frag-needed carrying the MTU; one without DF, and one that fits, are not answered.
TEST_F(BridgeTest, TooBigIsAnsweredIntoTheInputSide) {
  FakeClock clock;
  auto bridge = Bridge::Create(*a_, *b_, stop_.get(), TooBigOptions(clock, 10)).value();
  const auto big = Ipv4(1400, true), no_df = Ipv4(1400, false), fits = Ipv4(1280, true);
  ASSERT_TRUE(a_->Inject(big));
  ASSERT_TRUE(a_->Inject(no_df));
  ASSERT_TRUE(a_->Inject(fits));
  Drain(*bridge);
  auto at_b = b_->TakeWritten();
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0], fits);
  auto at_a = a_->TakeWritten();
  ASSERT_EQ(at_a.size(), 1u) << "one reply, to the DF packet only";
  const auto& e = at_a[0];
  ASSERT_EQ(e.size(), 576u);
  EXPECT_EQ(e[20], 3);
  EXPECT_EQ(e[21], 4);
  EXPECT_EQ(LoadBe16(&e[26]), 1280);
  EXPECT_EQ(std::memcmp(&e[16], &big[12], 4), 0) << "to the sender";
  EXPECT_EQ(std::memcmp(&e[28], big.data(), 548), 0);
  const impair::Counters& c = *bridge->a_to_b_impairment();
  EXPECT_EQ(c.dropped[size_t(impair::DropReason::kTooBig)], 2u);
  EXPECT_EQ(c.too_big_replied, 1u);
  EXPECT_EQ(c.too_big_unanswerable, 1u);
  EXPECT_EQ(c.too_big_rate_limited, 0u);
  const std::string text = bridge->FormatCounters();
  EXPECT_NE(text.find("impair tapa->tapb too_big_replies_sent 1\n"), std::string::npos) << text;
}

// TAP sides: the MTU does not count the Ethernet header, and the reply is a frame back to the
// sender's MAC from the MAC it sent to; replies beyond the burst are rate-limited.
TEST_F(BridgeTest, TooBigOnTapSidesIsAnEthernetFrameAndRateLimited) {
  FakeClock clock;
  Bridge::Options options = TooBigOptions(clock, 2);
  options.ethernet = true;
  auto bridge = Bridge::Create(*a_, *b_, stop_.get(), options).value();
  auto frame = [](const std::vector<uint8_t>& ip) {
    // (Not insert after an initializer list: g++ 12's -Warray-bounds misreads it under TSan.)
    static constexpr std::array<uint8_t, 14> kHeader = {2, 0, 0, 0, 0,    0xbb, 2,
                                                        0, 0, 0, 0, 0xaa, 0x08, 0x00};
    std::vector<uint8_t> f(kHeader.size() + ip.size());
    std::copy(kHeader.begin(), kHeader.end(), f.begin());
    std::copy(ip.begin(), ip.end(), f.begin() + kHeader.size());
    return f;
  };
  const auto fits = frame(Ipv4(1280, true)), big = frame(Ipv4(1281, true));
  ASSERT_TRUE(a_->Inject(fits));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(a_->Inject(big));
  Drain(*bridge);
  auto at_b = b_->TakeWritten();
  ASSERT_EQ(at_b.size(), 1u) << "1294 bytes of frame fit an MTU of 1280";
  auto at_a = a_->TakeWritten();
  ASSERT_EQ(at_a.size(), 2u) << "a burst of 2, then rate-limited";
  const auto& r = at_a[0];
  ASSERT_EQ(r.size(), 14u + 576);
  EXPECT_EQ(std::vector<uint8_t>(r.begin(), r.begin() + 14),
            (std::vector<uint8_t>{2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 0xbb, 0x08, 0x00}));
  EXPECT_EQ(r[14 + 20], 3);
  EXPECT_EQ(r[14 + 21], 4);
  EXPECT_EQ(tun::Checksum(ByteSpan(r).subspan(14 + 20)), 0);
  EXPECT_EQ(std::memcmp(&r[14 + 28], big.data() + 14, 548), 0) << "quotes the IP packet";
  EXPECT_EQ(bridge->a_to_b_impairment()->too_big_replied, 2u);
  EXPECT_EQ(bridge->a_to_b_impairment()->too_big_rate_limited, 2u);
  // A millisecond later the bucket has one reply again.
  clock.Advance(milliseconds(1));
  ASSERT_TRUE(a_->Inject(big));
  Drain(*bridge);
  EXPECT_EQ(a_->TakeWritten().size(), 1u);
  // A frame to a group MAC is not answered (the reply would come from it).
  auto broadcast = big;
  std::fill(broadcast.begin(), broadcast.begin() + 6, 0xff);
  clock.Advance(milliseconds(10));
  ASSERT_TRUE(a_->Inject(broadcast));
  Drain(*bridge);
  EXPECT_TRUE(a_->TakeWritten().empty());
  EXPECT_EQ(bridge->a_to_b_impairment()->too_big_unanswerable, 1u);
}

TEST_F(BridgeTest, WithoutImpairmentThereAreNoImpairmentCounters) {
  auto bridge = Bridge::Create(*a_, *b_, stop_.get()).value();
  EXPECT_EQ(bridge->a_to_b_impairment(), nullptr);
  EXPECT_EQ(bridge->b_to_a_impairment(), nullptr);
}

}  // namespace
}  // namespace tundra::bridge
