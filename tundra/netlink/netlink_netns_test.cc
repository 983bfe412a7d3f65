// Real rtnetlink against this process's own network namespace (ctest runs the binary under
// `unshare --net`, so everything here vanishes with it). Addresses: 198.18.0.0/15, fd18::/16.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/monitor.h"
#include "tundra/netlink/route.h"
#include "tundra/testing/test_util.h"

namespace tundra::netlink {
namespace {

routing::IpPrefix P(const char* s) { return *routing::IpPrefix::Parse(s); }

// Refuses to run in its caller's namespace: it would add addresses and routes there. Under
// `unshare --net BINARY` the test runs in a fresh namespace, unlike its parent (ctest).
bool InPrivateNamespace() {
  struct stat self {
  }, parent{};
  const std::string parent_ns = "/proc/" + std::to_string(::getppid()) + "/ns/net";
  if (::stat("/proc/self/ns/net", &self) != 0 || ::stat(parent_ns.c_str(), &parent) != 0) {
    return false;
  }
  return self.st_ino != parent.st_ino;
}

class NetlinkNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TUNDRA_REQUIRE_TUN_ACCESS();
    if (!InPrivateNamespace()) {
      if (::tundra::testing::SkippingForbidden()) FAIL() << "run me under `unshare --net`";
      GTEST_SKIP() << "not in a private network namespace (run via ctest)";
    }
    auto s = NetlinkSocket::Open();
    ASSERT_TRUE(s.ok()) << s.error().message();
    nl_ = std::make_unique<NetlinkSocket>(std::move(*s));
    ASSERT_TRUE(SetLinkUp(*nl_, "lo", true).ok());
  }
  void TearDown() override {
    if (nl_) {
      (void)DeleteLink(*nl_, "tvx0");
    }
  }
  std::unique_ptr<NetlinkSocket> nl_;
};

TEST_F(NetlinkNetnsTest, VethMtuUpAddressesRoutesRules) {
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1").ok());
  auto link = GetLink(*nl_, "tvx0");
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->kind, "veth");
  EXPECT_FALSE(link->flags & IFF_UP);

  ASSERT_TRUE(SetLinkMtu(*nl_, "tvx0", 1400).ok());
  ASSERT_TRUE(SetLinkUp(*nl_, "tvx0", true).ok());
  ASSERT_TRUE(SetLinkUp(*nl_, "tvx1", true).ok());
  link = GetLink(*nl_, "tvx0");
  EXPECT_EQ(link->mtu, 1400);
  EXPECT_TRUE(link->flags & IFF_UP);

  ASSERT_TRUE(AddAddress(*nl_, "tvx0", P("198.18.5.1/24")).ok());
  ASSERT_TRUE(AddAddress(*nl_, "tvx0", P("fd18::5:1/64"), /*nodad=*/true).ok());
  auto addrs = ListAddresses(*nl_, "tvx0");
  ASSERT_TRUE(addrs.ok());
  std::vector<std::string> text;
  for (auto& a : *addrs) text.push_back(a.ToString());
  EXPECT_NE(std::find(text.begin(), text.end(), "198.18.5.1/24"), text.end());
  EXPECT_NE(std::find(text.begin(), text.end(), "fd18::5:1/64"), text.end());

  // The same address again: EEXIST, named.
  Status dup = AddAddress(*nl_, "tvx0", P("198.18.5.1/24"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), EEXIST);
  EXPECT_NE(dup.error().message().find("RTM_NEWADDR 198.18.5.1/24 dev tvx0"), std::string::npos)
      << dup.error().message();

  // A route to 198.19.0.0/24 via the veth, with an MTU, in the main table; then deleted.
  Route r;
  r.dst = P("198.19.0.0/24");
  r.oif = link->index;
  r.mtu = 1300;
  ASSERT_TRUE(AddRoute(*nl_, r).ok());
  auto routes = ListRoutes(*nl_, AF_INET);
  ASSERT_TRUE(routes.ok());
  bool found = false;
  for (auto& rt : *routes) found |= rt.dst.ToString() == "198.19.0.0/24" && rt.mtu == 1300;
  EXPECT_TRUE(found);
  Route v6;
  v6.dst = P("fd19::/64");
  v6.oif = link->index;
  v6.table = 51820;
  ASSERT_TRUE(AddRoute(*nl_, v6).ok());
  auto t6 = ListRoutes(*nl_, AF_INET6, 51820);
  ASSERT_TRUE(t6.ok());
  ASSERT_EQ(t6->size(), 1u);
  EXPECT_EQ((*t6)[0].dst.ToString(), "fd19::/64");
  ASSERT_TRUE(DeleteRoute(*nl_, r).ok());
  ASSERT_TRUE(DeleteRoute(*nl_, v6).ok());
  Status again = DeleteRoute(*nl_, r);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ESRCH);

  // wg-quick's policy rules.
  Rule mark;
  mark.fwmark = 51820;
  mark.invert = true;
  mark.table = 51820;
  Rule suppress;
  suppress.table = 254;
  suppress.suppress_prefixlength = 0;
  ASSERT_TRUE(AddRule(*nl_, mark).ok());
  ASSERT_TRUE(AddRule(*nl_, suppress).ok());
  ASSERT_TRUE(DeleteRule(*nl_, mark).ok());
  ASSERT_TRUE(DeleteRule(*nl_, suppress).ok());

  ASSERT_TRUE(DeleteAddress(*nl_, "tvx0", P("198.18.5.1/24")).ok());
  ASSERT_TRUE(DeleteLink(*nl_, "tvx0").ok());
  EXPECT_FALSE(GetLink(*nl_, "tvx1").ok());  // the peer went with it
}

TEST_F(NetlinkNetnsTest, MissingLinkIsEnodev) {
  Status s = DeleteLink(*nl_, "tvx-missing");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ENODEV);
  EXPECT_NE(s.error().message().find("tvx-missing"), std::string::npos);
  EXPECT_EQ(SetLinkMtu(*nl_, "tvx-missing", 1280).error().code(), ENODEV);
}

TEST_F(NetlinkNetnsTest, RenameDownLink) {
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1").ok());
  ASSERT_TRUE(RenameLink(*nl_, "tvx1", "tvx9").ok());
  EXPECT_TRUE(GetLink(*nl_, "tvx9").ok());
  EXPECT_FALSE(GetLink(*nl_, "tvx1").ok());
}

TEST_F(NetlinkNetnsTest, MonitorSeesMtuChangeAndDeletion) {
  auto mon = LinkMonitor::Open();
  ASSERT_TRUE(mon.ok()) << mon.error().message();
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1").ok());
  ASSERT_TRUE(SetLinkMtu(*nl_, "tvx0", 1280).ok());
  ASSERT_TRUE(DeleteLink(*nl_, "tvx0").ok());
  bool saw_mtu = false, saw_delete = false;
  for (int i = 0; i < 50 && !(saw_mtu && saw_delete); ++i) {
    pollfd p{mon->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    auto events = mon->Poll();
    ASSERT_TRUE(events.ok());
    for (auto& e : *events) {
      if (e.name == "tvx0" && !e.deleted && e.mtu == 1280) saw_mtu = true;
      if (e.name == "tvx0" && e.deleted) saw_delete = true;
    }
  }
  EXPECT_TRUE(saw_mtu);
  EXPECT_TRUE(saw_delete);
}

TEST_F(NetlinkNetnsTest, MoveLinkToAnotherNamespace) {
  // A second namespace, owned by this test through an fd (no name in /run/netns).
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::unshare(CLONE_NEWNET);
    char c = 1;
    (void)::write(pipefd[1], &c, 1);
    ::pause();
    _exit(0);
  }
  char c;
  ASSERT_EQ(::read(pipefd[0], &c, 1), 1);
  const std::string path = "/proc/" + std::to_string(child) + "/ns/net";
  int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ns, 0);
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1", ns).ok());
  EXPECT_TRUE(GetLink(*nl_, "tvx0").ok());
  EXPECT_FALSE(GetLink(*nl_, "tvx1").ok());  // created over there
  ASSERT_TRUE(CreateVethPair(*nl_, "tvy0", "tvy1").ok());
  ASSERT_TRUE(MoveLinkToNetns(*nl_, "tvy1", ns).ok());
  EXPECT_FALSE(GetLink(*nl_, "tvy1").ok());
  (void)DeleteLink(*nl_, "tvy0");
  ::close(ns);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(pipefd[0]);
  ::close(pipefd[1]);
}

}  // namespace
}  // namespace tundra::netlink
