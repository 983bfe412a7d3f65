#include "tundra/cli/impair_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tundra/tun/icmp.h"

namespace tundra::cli {
namespace {

using std::chrono::milliseconds;

Result<ImpairOptions> Parse(std::vector<std::string> args) {
  ArgParser p("tundra impair", "", "test");
  AddImpairOptions(p);
  auto parsed = p.Parse(args, 0, 0);
  if (!parsed.ok()) return parsed.error();
  return ParseImpairOptions(*parsed);
}

TEST(ImpairOptionsTest, BothDirectionsThenPerDirectionOverrides) {
  auto o = Parse({"--loss",       "20",         "--loss-down",
                  "1.5",          "--delay-up", "0.25",
                  "--jitter",     "3",          "--jitter-reorder-down",
                  "--rate",       "1000",       "--queue",
                  "3000",         "--mtu",      "1280",
                  "--burst-loss", "5,25",       "--burst-loss-up",
                  "1,2,3,4",      "--seed",     "7"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->up.loss, 20);
  EXPECT_EQ(o->down.loss, 1.5);
  EXPECT_EQ(o->up.delay, std::chrono::microseconds(250));
  EXPECT_EQ(o->down.delay, Duration(0));
  EXPECT_EQ(o->up.jitter, milliseconds(3));
  EXPECT_FALSE(o->up.jitter_reorders);
  EXPECT_TRUE(o->down.jitter_reorders);
  EXPECT_EQ(o->down.rate_kbit, 1000u);
  EXPECT_EQ(o->up.queue_bytes, 3000u);
  EXPECT_EQ(o->down.mtu, 1280u);
  EXPECT_EQ(o->down.burst.p, 5);
  EXPECT_EQ(o->down.burst.r, 25);
  EXPECT_EQ(o->down.burst.loss_bad, 100);
  EXPECT_EQ(o->up.burst.p, 1);
  EXPECT_EQ(o->up.burst.loss_good, 4);
  EXPECT_EQ(o->seed, 7u);
  EXPECT_FALSE(Parse({})->seed.has_value());
}

TEST(ImpairOptionsTest, MtuReply) {
  auto o = Parse({"--mtu", "1280"});
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->up.too_big_reply.has_value()) << "--mtu alone only drops";
  o = Parse({"--mtu", "1280", "--mtu-reply", "icmp", "--mtu-reply-down", "drop"});
  ASSERT_TRUE(o.ok()) << o.error().message();
  ASSERT_TRUE(o->up.too_big_reply.has_value());
  EXPECT_EQ(o->up.too_big_reply->per_second, tun::kIcmpErrorsPerSecond);
  EXPECT_EQ(o->up.too_big_reply->burst, tun::kIcmpErrorBurst);
  EXPECT_FALSE(o->down.too_big_reply.has_value());
  EXPECT_TRUE(o->any);
}

TEST(ImpairOptionsTest, ErrorsNameTheOptionAndValue) {
  const struct {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--loss", "120"}, "impair: --loss '120' is not a percentage (0..100)"},
      {{"--loss-up", "x"}, "impair: --loss-up 'x' is not a percentage (0..100)"},
      {{"--delay", "-1"}, "impair: --delay '-1' is not milliseconds (0..3600000)"},
      {{"--jitter", "nan"}, "impair: --jitter 'nan' is not milliseconds (0..3600000)"},
      {{"--rate", "1.5"}, "impair: --rate '1.5' is not a rate in kbit/s (0..100000000)"},
      {{"--queue", "0"}, "impair: --queue '0' is not a queue size in bytes (1..1073741824)"},
      {{"--mtu", "65536"}, "impair: --mtu '65536' is not a datagram size (0..65535)"},
      {{"--burst-loss", "5"},
       "impair: --burst-loss '5' is not P,R[,LOSS_BAD[,LOSS_GOOD]] (percentages, 0..100)"},
      {{"--burst-loss", "5,101"},
       "impair: --burst-loss '5,101' is not P,R[,LOSS_BAD[,LOSS_GOOD]] (percentages, 0..100)"},
      {{"--seed", "-1"}, "impair: --seed '-1' is not an unsigned 64-bit number"},
      {{"--mtu", "1280", "--mtu-reply", "icmpv6"},
       "impair: --mtu-reply 'icmpv6' is not icmp or drop"},
      {{"--mtu-reply", "icmp"},
       "impair: --mtu-reply icmp answers packets over --mtu, and no --mtu is set for it"},
      {{"--mtu-down", "1280", "--mtu-reply-up", "icmp"},
       "impair: --mtu-reply icmp answers packets over --mtu, and no --mtu is set for it"},
  };
  for (const auto& c : cases) {
    auto o = Parse(c.args);
    ASSERT_FALSE(o.ok()) << c.message;
    EXPECT_EQ(o.error().message(), c.message);
  }
}

}  // namespace
}  // namespace tundra::cli
