#include "tundra/transport/endpoint.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace tundra::transport {
namespace {

TEST(EndpointTest, ParseAndPrint) {
  auto v4 = Endpoint::Parse("198.18.0.1:51820");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->port(), 51820);
  EXPECT_EQ(v4->ToString(), "198.18.0.1:51820");
  EXPECT_EQ(v4->AddressBytes().size(), 4u);
  auto v6 = Endpoint::Parse("[fd18::1]:9");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->ToString(), "[fd18::1]:9");
  EXPECT_EQ(v6->AddressBytes().size(), 16u);
  EXPECT_EQ(Endpoint::Parse("[::1]:0")->ToString(), "[::1]:0");
}

TEST(EndpointTest, V4MappedBecomesV4) {
  auto e = Endpoint::Parse("[::ffff:198.18.0.7]:1234");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->family(), AF_INET);
  EXPECT_EQ(e->ToString(), "198.18.0.7:1234");
}

TEST(EndpointTest, Errors) {
  struct {
    const char* text;
    const char* why;
  } cases[] = {
      {"198.18.0.1", "missing ':port'"},    {"198.18.0.1:", "port must be"},
      {"198.18.0.1:65536", "port must be"}, {"198.18.0.1:x", "port must be"},
      {"fd18::1:80", "need [brackets]"},    {"[fd18::1:80", "missing ']'"},
      {"[fd18::1]", "missing ':port'"},     {"[fd18::zz]:80", "bad IPv6"},
      {"198.18.0.300:80", "bad IPv4"},      {"host.example:80", "bad IPv4"},
  };
  for (const auto& c : cases) {
    auto r = Endpoint::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message().find(c.why), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find(c.text), std::string::npos) << r.error().message();
  }
}

TEST(EndpointTest, EqualityIgnoresSource) {
  auto a = *Endpoint::Parse("198.18.0.1:1");
  auto b = a;
  in_addr src;
  inet_pton(AF_INET, "198.18.0.2", &src);
  b.SetSourceV4(src, 3);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.SameIncludingSource(b));
  b.ClearSource();
  EXPECT_TRUE(a.SameIncludingSource(b));
  EXPECT_NE(a, *Endpoint::Parse("198.18.0.1:2"));
  EXPECT_NE(a, *Endpoint::Parse("[fd18::1]:1"));
}

}  // namespace
}  // namespace tundra::transport
