#include "tundra/cli/up/resolve.h"

#include <gtest/gtest.h>
#include <netdb.h>

#include <deque>

namespace tundra::cli::up {
namespace {

using std::chrono::milliseconds;

// A lookup that answers from a script of EAI_ codes (0 = resolved to 198.18.0.2:51820) and
// records the waits between tries.
struct Script {
  std::deque<int> answers;
  std::vector<milliseconds> waits;
  int tries = 0;
  ResolveSeams Seams() {
    return {[this](const config::EndpointSpec&, transport::Endpoint& out) {
              ++tries;
              const int rc = answers.empty() ? EAI_AGAIN : answers.front();
              if (!answers.empty()) answers.pop_front();
              if (rc == 0) out = *transport::Endpoint::Parse("198.18.0.2:51820");
              return rc;
            },
            [this](milliseconds d) { waits.push_back(d); }};
  }
};

config::EndpointSpec Host() { return {"peer.example", 51820, std::nullopt, 7}; }

TEST(ResolveRetriesTest, FromTheEnvironment) {
  EXPECT_EQ(*ResolveRetries(nullptr), kDefaultResolveRetries);
  EXPECT_EQ(*ResolveRetries("infinity"), kResolveUnlimited);
  EXPECT_EQ(*ResolveRetries("0"), 0);
  EXPECT_EQ(*ResolveRetries("42"), 42);
  for (const char* bad : {"", "-1", "many", "3x", "99999999999"}) {
    auto r = ResolveRetries(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find("WG_ENDPOINT_RESOLUTION_RETRIES"), std::string::npos);
  }
}

TEST(ResolveRetriesTest, TransientFailuresAreRetriedWithGrowingWaits) {
  Script s;
  s.answers = {EAI_AGAIN, EAI_AGAIN, EAI_AGAIN, 0};
  auto ep = ResolveEndpointRetrying(Host(), kDefaultResolveRetries, s.Seams());
  ASSERT_TRUE(ep.ok()) << ep.error().message();
  EXPECT_EQ(ep->ToString(), "198.18.0.2:51820");
  EXPECT_EQ(s.tries, 4);
  EXPECT_EQ(s.waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(1200),
                                                milliseconds(1440)}));
}

TEST(ResolveRetriesTest, RetriesRunOutAndTheErrorNamesLineAndHost) {
  Script s;
  auto ep = ResolveEndpointRetrying(Host(), 3, s.Seams());
  ASSERT_FALSE(ep.ok());
  EXPECT_EQ(s.tries, 4);  // the first try and 3 retries
  EXPECT_NE(ep.error().message().find("line 7: Endpoint 'peer.example'"), std::string::npos);
  Script none;
  EXPECT_FALSE(ResolveEndpointRetrying(Host(), 0, none.Seams()).ok());
  EXPECT_EQ(none.tries, 1);
}

TEST(ResolveRetriesTest, WaitsStopGrowingAt20Seconds) {
  Script s;
  EXPECT_FALSE(ResolveEndpointRetrying(Host(), 30, s.Seams()).ok());
  ASSERT_EQ(s.waits.size(), 30u);
  EXPECT_EQ(s.waits.back(), kResolveMaxWait);
  for (size_t i = 1; i < s.waits.size(); ++i) EXPECT_GE(s.waits[i], s.waits[i - 1]);
}

TEST(ResolveRetriesTest, UnlimitedKeepsTrying) {
  Script s;
  s.answers.assign(100, EAI_AGAIN);
  s.answers.push_back(0);
  EXPECT_TRUE(ResolveEndpointRetrying(Host(), kResolveUnlimited, s.Seams()).ok());
  EXPECT_EQ(s.tries, 101);
}

TEST(ResolveRetriesTest, PermanentAnswersAreNotRetried) {
  for (int rc : {EAI_NONAME, EAI_FAIL, EAI_NODATA}) {
    Script s;
    s.answers = {rc};
    EXPECT_FALSE(ResolveEndpointRetrying(Host(), kResolveUnlimited, s.Seams()).ok());
    EXPECT_EQ(s.tries, 1) << rc;
  }
}

TEST(ResolveRetriesTest, NumericEndpointsAreNotLookedUp) {
  Script s;
  config::EndpointSpec spec = Host();
  spec.numeric = *transport::Endpoint::Parse("198.18.0.9:1");
  EXPECT_EQ(ResolveEndpointRetrying(spec, 0, s.Seams())->ToString(), "198.18.0.9:1");
  EXPECT_EQ(s.tries, 0);
}

}  // namespace
}  // namespace tundra::cli::up
