#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/base/clock.h"
#include "tundra/base/error.h"
#include "tundra/base/fake_clock.h"
#include "tundra/base/log.h"
#include "tundra/base/mock_kernel.h"
#include "tundra/base/result.h"
#include "tundra/base/scope_exit.h"
#include "tundra/base/token_bucket.h"
#include "tundra/base/unique_fd.h"

namespace tundra {
namespace {

using ::testing::Return;

TEST(ErrorTest, ErrnoErrorNamesCallAndCause) {
  Error e = ErrnoError("ioctl(TUNSETIFF) tun%d", EPERM);
  EXPECT_EQ(e.code(), EPERM);
  EXPECT_EQ(e.message(), "ioctl(TUNSETIFF) tun%d: Operation not permitted");
  EXPECT_EQ(e.Wrap("dev add").message(),
            "dev add: ioctl(TUNSETIFF) tun%d: Operation not permitted");
}

TEST(ErrorTest, InvalidArgumentCarriesMessage) {
  Error e = InvalidArgument("name too long");
  EXPECT_EQ(e.code(), EINVAL);
  EXPECT_EQ(e.message(), "name too long");
  EXPECT_EQ(e.Wrap("dev add x").message(), "dev add x: name too long");
}

Result<int> Half(int v) {
  if (v % 2) return InvalidArgument("odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  TUNDRA_ASSIGN_OR_RETURN(int h, Half(v));
  TUNDRA_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int v) {
  TUNDRA_RETURN_IF_ERROR(Half(v));
  return OkStatus();
}

TEST(ResultTest, ValueAndErrorPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_FALSE(CheckEven(5).ok());
  EXPECT_EQ(Quarter(3).value_or(-1), -1);
}

TEST(ResultTest, MoveOnlyValues) {
  Result<UniqueFd> r = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(r.ok());
  UniqueFd fd = std::move(r).value();
  EXPECT_TRUE(fd.valid());
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  EXPECT_DEATH({ (void)Half(1).value(); }, "bad Result access: odd");
}

TEST(UniqueFdTest, ClosesOnceThroughKernel) {
  MockKernel kernel;
  EXPECT_CALL(kernel, close(42)).WillOnce(Return(0));
  {
    UniqueFd a(42, &kernel);
    UniqueFd b = std::move(a);
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), 42);
  }
}

TEST(UniqueFdTest, ReleaseDoesNotClose) {
  MockKernel kernel;
  EXPECT_CALL(kernel, close(::testing::_)).Times(0);
  UniqueFd a(7, &kernel);
  EXPECT_EQ(a.release(), 7);
}

TEST(UniqueFdTest, ResetClosesRealFd) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  UniqueFd fd(raw);
  fd.reset();
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(ScopeExitTest, RunsUnlessCancelled) {
  int runs = 0;
  {
    auto g = ScopeExit([&] { ++runs; });
  }
  EXPECT_EQ(runs, 1);
  {
    auto g = ScopeExit([&] { ++runs; });
    g.Cancel();
  }
  EXPECT_EQ(runs, 1);
}

TEST(BytesTest, EndianHelpers) {
  uint8_t b[8];
  StoreLe32(b, 0x11223344);
  EXPECT_EQ(b[0], 0x44);
  EXPECT_EQ(LoadLe32(b), 0x11223344u);
  StoreBe64(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(LoadBe64(b), 0x0102030405060708ull);
  StoreLe64(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 8);
  EXPECT_EQ(LoadLe64(b), 0x0102030405060708ull);
}

TEST(BytesTest, Hex) {
  uint8_t out[3];
  EXPECT_TRUE(ParseHex("0aFf10", out));
  EXPECT_EQ(ToHex(out), "0aff10");
  EXPECT_FALSE(ParseHex("0aF", out));
  EXPECT_FALSE(ParseHex("0aFg10", out));
}

TEST(ClockTest, FakeClockAdvancesBoth) {
  FakeClock clock;
  TimePoint t0 = clock.Now();
  WallTime w0 = clock.WallNow();
  clock.Advance(std::chrono::milliseconds(1500));
  EXPECT_EQ(clock.Now() - t0, std::chrono::milliseconds(1500));
  EXPECT_EQ(clock.WallNow().sec, w0.sec + 1);
  EXPECT_EQ(clock.WallNow().nsec, 500'000'000);
}

TEST(ClockTest, BootClockIsMonotonic) {
  TimePoint a = Clock::Real().Now();
  TimePoint b = Clock::Real().Now();
  EXPECT_LE(a, b);
}

TEST(LogTest, ParseLevels) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("silent"), LogLevel::kSilent);
  EXPECT_FALSE(ParseLogLevel("loud").has_value());
}

// A sink that keeps what it was given (the syslog path is the same call with another sink).
class RecordingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view line) override {
    lines.emplace_back(level, std::string(line));
  }
  std::vector<std::pair<LogLevel, std::string>> lines;
};

class LogSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_level_ = GetLogLevel();
    old_sink_ = SetLogSink(&sink_);
  }
  void TearDown() override {
    SetLogSink(old_sink_);
    SetLogLevel(old_level_);
  }
  RecordingSink sink_;
  LogLevel old_level_{};
  LogSink* old_sink_ = nullptr;
};

TEST_F(LogSinkTest, LevelFiltersAndSkipsArguments) {
  SetLogLevel(LogLevel::kWarn);
  int evaluated = 0;
  auto count = [&] { return ++evaluated; };
  TUNDRA_LOG(kError, "e {}", count());
  TUNDRA_LOG(kWarn, "w {}", count());
  TUNDRA_LOG(kInfo, "i {}", count());   // filtered: not formatted, not evaluated
  TUNDRA_LOG(kDebug, "d {}", count());  // filtered
  ASSERT_EQ(sink_.lines.size(), 2u);
  EXPECT_EQ(sink_.lines[0], std::make_pair(LogLevel::kError, std::string("e 1")));
  EXPECT_EQ(sink_.lines[1], std::make_pair(LogLevel::kWarn, std::string("w 2")));
  EXPECT_EQ(evaluated, 2);
  SetLogLevel(LogLevel::kSilent);
  TUNDRA_LOG(kError, "e");
  EXPECT_EQ(sink_.lines.size(), 2u);
  SetLogLevel(LogLevel::kDebug);
  TUNDRA_LOG(kDebug, "d");
  EXPECT_EQ(sink_.lines.size(), 3u);
}

TEST_F(LogSinkTest, RateLimitedLinesStopAtTheBurst) {
  SetLogLevel(LogLevel::kDebug);
  for (int i = 0; i < 100; ++i) TUNDRA_LOG_RATELIMITED(kDebug, "drop {}", i);
  EXPECT_EQ(sink_.lines.size(), 10u);  // one call site, within a second
}

TEST(LogTest, ParseWarnAndInfo) {
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
}

TEST(ClockTest, ScaledClockRunsFaster) {
  ScaledClock clock(50);
  const TimePoint a = clock.Now();
  const TimePoint real_a = Clock::Real().Now();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const Duration scaled = clock.Now() - a;
  const Duration real = Clock::Real().Now() - real_a;
  EXPECT_GE(scaled, real * 45);  // 50x, with room for the reads' own time
  EXPECT_LE(scaled, real * 55);
}

TEST(TokenBucketTest, UnlimitedPassesEverything) {
  TokenBucket b;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.Take(65535, 0));
  b.Configure(0, 0);
  EXPECT_TRUE(b.Take(65535, 0));
}

TEST(TokenBucketTest, AFullBucketPassesTheBurstBackToBackThenRefuses) {
  TokenBucket b;
  b.Configure(1'000'000, 10'000);  // 1 MB/s, 10 kB
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.Take(1000, 0)) << i;
  EXPECT_FALSE(b.Take(1000, 0));
  EXPECT_FALSE(b.Take(1000, 999'000));   // 999 bytes' worth of time refilled: not enough
  EXPECT_TRUE(b.Take(1000, 1'000'000));  // 1 ms later: 1000 bytes again
  EXPECT_FALSE(b.Take(1000, 1'000'000));
}

TEST(TokenBucketTest, SustainedOverloadPassesTheRatePlusTheBurst) {
  TokenBucket b;
  const uint64_t rate = 1'250'000, burst = 62'500;  // 10 Mbit/s, 50 ms (an explicit burst)
  b.Configure(rate, burst);
  uint64_t passed = 0;
  // 1400-byte packets offered at twice the rate for 10 s.
  const int64_t gap_ns = int64_t(1400 * 1'000'000'000ull / (2 * rate));
  int64_t now = 0;
  for (; now < 10'000'000'000; now += gap_ns) passed += b.Take(1400, now) ? 1400 : 0;
  const double expected = double(rate) * 10 + double(burst);
  EXPECT_NEAR(double(passed), expected, 1400.0);
}

TEST(TokenBucketTest, DefaultBurstAndPacketsLargerThanTheBurst) {
  EXPECT_EQ(DefaultBurstBytes(1000), kDefaultBurstMinBytes);
  EXPECT_EQ(DefaultBurstBytes(125'000'000), 125'000'000u / kDefaultBurstDivisor);
  TokenBucket b;
  b.Configure(100'000, 1000);     // burst smaller than a packet
  EXPECT_TRUE(b.Take(1500, 0));   // full bucket: passes
  EXPECT_FALSE(b.Take(1500, 0));  // now in debt for 15 ms
  EXPECT_FALSE(b.Take(1500, 14'000'000));
  EXPECT_TRUE(b.Take(1500, 15'000'000));
}

TEST(TokenBucketTest, ConcurrentTakersPassExactlyTheBurst) {
  TokenBucket b;
  b.Configure(1000, 100'000);  // a slow rate: at a fixed instant only the burst passes
  std::atomic<uint64_t> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) passed += b.Take(100, 5) ? 100 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed.load(), 100'000u);
}

}  // namespace
}  // namespace tundra
