// Real rtnetlink against this process's own network namespace: ctest runs the whole binary
// under `unshare --net`, so every link, address, route and rule here vanishes with it.
// Addresses: 198.18.0.0/15, fd18::/16 and fd19::/16 only.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "tundra/base/unique_fd.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/monitor.h"
#include "tundra/netlink/route.h"
#include "tundra/testing/test_util.h"

namespace tundra::netlink {
namespace {

routing::IpPrefix P(const char* s) { return *routing::IpPrefix::Parse(s); }

// Refuses to run in its caller's namespace: it would add links, addresses and routes there.
// Under `unshare --net BINARY` the test runs in a fresh namespace, unlike its parent (ctest).
bool InPrivateNamespace() {
  struct stat self {};
  struct stat parent {};
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
      GTEST_SKIP() << "not in a private network namespace (run it through ctest)";
    }
    auto s = NetlinkSocket::Open();
    ASSERT_TRUE(s.ok()) << s.error().message();
    nl_ = std::make_unique<NetlinkSocket>(std::move(*s));
    ASSERT_TRUE(SetLinkUp(*nl_, "lo", true).ok());
  }
  void TearDown() override {
    if (nl_) {
      for (const char* name : {"tvx0", "tvy0"}) (void)DeleteLink(*nl_, name);
    }
  }

  std::vector<std::string> AddressesOf(const char* link) {
    std::vector<std::string> out;
    auto list = ListAddresses(*nl_, link);
    EXPECT_TRUE(list.ok()) << list.error().message();
    if (list.ok()) {
      for (const auto& a : *list) out.push_back(a.prefix.ToString());
    }
    return out;
  }

  static bool Has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }

  std::unique_ptr<NetlinkSocket> nl_;
};

TEST_F(NetlinkNetnsTest, VethMtuUpAndAddresses) {
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1").ok());
  auto link = GetLink(*nl_, "tvx0");
  ASSERT_TRUE(link.ok()) << link.error().message();
  EXPECT_EQ(link->kind, "veth");
  EXPECT_FALSE(link->flags & IFF_UP);
  Status again = CreateVethPair(*nl_, "tvx0", "tvx2");
  EXPECT_EQ(again.error().code(), EEXIST) << again.error().message();

  ASSERT_TRUE(SetLinkMtu(*nl_, "tvx0", 1400).ok());
  ASSERT_TRUE(SetLinkUp(*nl_, link->index, true).ok());  // by index
  ASSERT_TRUE(SetLinkUp(*nl_, "tvx1", true).ok());
  link = GetLink(*nl_, link->index);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->name, "tvx0");
  EXPECT_EQ(link->mtu, 1400);
  EXPECT_TRUE(link->flags & IFF_UP);
  auto links = ListLinks(*nl_);
  ASSERT_TRUE(links.ok());
  EXPECT_EQ(links->size(), 3u);  // lo, tvx0, tvx1

  ASSERT_TRUE(AddAddress(*nl_, "tvx0", P("198.18.5.1/24")).ok());
  AddressOptions nodad;
  nodad.nodad = true;
  ASSERT_TRUE(AddAddress(*nl_, "tvx0", P("fd18::5:1/64"), nodad).ok());
  auto addrs = AddressesOf("tvx0");
  EXPECT_TRUE(Has(addrs, "198.18.5.1/24"));
  EXPECT_TRUE(Has(addrs, "fd18::5:1/64"));
  EXPECT_FALSE(Has(AddressesOf("tvx1"), "198.18.5.1/24"));

  // The same address again: EEXIST, with the request and the object named.
  Status dup = AddAddress(*nl_, "tvx0", P("198.18.5.1/24"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), EEXIST);
  EXPECT_EQ(
      dup.error().message().rfind("netlink RTM_NEWADDR 198.18.5.1/24 dev tvx0: File exists", 0), 0u)
      << dup.error().message();
  dup = AddAddress(*nl_, "tvx0", P("fd18::5:1/64"), nodad);
  EXPECT_EQ(dup.error().code(), EEXIST) << dup.error().message();

  ASSERT_TRUE(DeleteAddress(*nl_, "tvx0", P("198.18.5.1/24")).ok());
  ASSERT_TRUE(DeleteAddress(*nl_, "tvx0", P("fd18::5:1/64")).ok());
  addrs = AddressesOf("tvx0");
  EXPECT_FALSE(Has(addrs, "198.18.5.1/24"));
  EXPECT_FALSE(Has(addrs, "fd18::5:1/64"));
  Status missing = DeleteAddress(*nl_, "tvx0", P("198.18.5.1/24"));
  EXPECT_EQ(missing.error().code(), EADDRNOTAVAIL) << missing.error().message();

  ASSERT_TRUE(DeleteLink(*nl_, "tvx0").ok());
  EXPECT_EQ(GetLink(*nl_, "tvx1").error().code(), ENODEV);  // the peer went with it
}

TEST_F(NetlinkNetnsTest, RoutesAndRules) {
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1").ok());
  ASSERT_TRUE(SetLinkUp(*nl_, "tvx0", true).ok());
  ASSERT_TRUE(SetLinkUp(*nl_, "tvx1", true).ok());
  ASSERT_TRUE(AddAddress(*nl_, "tvx0", P("198.18.5.1/24")).ok());
  const int index = *LinkIndex(*nl_, "tvx0");

  // 198.19.0.0/24 via the veth with an MTU, in the main table.
  Route r;
  r.dst = P("198.19.0.0/24");
  r.dev = "tvx0";
  r.mtu = 1300;
  ASSERT_TRUE(AddRoute(*nl_, r).ok());
  auto routes = ListRoutes(*nl_, AF_INET);
  ASSERT_TRUE(routes.ok()) << routes.error().message();
  auto it = std::find_if(routes->begin(), routes->end(),
                         [](const Route& x) { return x.dst.ToString() == "198.19.0.0/24"; });
  ASSERT_NE(it, routes->end());
  EXPECT_EQ(it->oif, index);
  EXPECT_EQ(it->mtu, 1300u);
  Status dup = AddRoute(*nl_, r);
  EXPECT_EQ(dup.error().code(), EEXIST);
  EXPECT_EQ(dup.error().message().rfind(
                "netlink RTM_NEWROUTE 198.19.0.0/24 dev tvx0 mtu 1300: File exists", 0),
            0u)
      << dup.error().message();

  // Through a gateway on the veth's subnet, with a metric.
  Route via;
  via.dst = P("198.19.1.0/24");
  via.gateway = *routing::IpAddress::Parse("198.18.5.2");
  via.oif = index;
  via.metric = 10;
  ASSERT_TRUE(AddRoute(*nl_, via).ok());
  routes = ListRoutes(*nl_, AF_INET);
  it = std::find_if(routes->begin(), routes->end(),
                    [](const Route& x) { return x.dst.ToString() == "198.19.1.0/24"; });
  ASSERT_NE(it, routes->end());
  EXPECT_EQ(it->gateway->ToString(), "198.18.5.2");
  EXPECT_EQ(it->metric, 10u);

  // A gateway that is not reachable: the kernel explains why in its extended ack.
  Route bad = via;
  bad.dst = P("198.19.2.0/24");
  bad.gateway = *routing::IpAddress::Parse("198.18.99.1");
  Status s = AddRoute(*nl_, bad);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ENETUNREACH);
  EXPECT_NE(s.error().message().find("Network is unreachable (Nexthop has invalid gateway)"),
            std::string::npos)
      << s.error().message();

  // IPv6 in the tunnel's own table.
  Route v6;
  v6.dst = P("fd19::/64");
  v6.oif = index;
  v6.table = 51820;
  ASSERT_TRUE(AddRoute(*nl_, v6).ok());
  auto t6 = ListRoutes(*nl_, AF_INET6, 51820);
  ASSERT_TRUE(t6.ok());
  ASSERT_EQ(t6->size(), 1u);
  EXPECT_EQ((*t6)[0].dst.ToString(), "fd19::/64");
  EXPECT_EQ((*t6)[0].table, 51820u);

  ASSERT_TRUE(DeleteRoute(*nl_, r).ok());
  ASSERT_TRUE(DeleteRoute(*nl_, via).ok());
  ASSERT_TRUE(DeleteRoute(*nl_, v6).ok());
  EXPECT_EQ(DeleteRoute(*nl_, r).error().code(), ESRCH);
  routes = ListRoutes(*nl_, AF_INET);
  for (const Route& x : *routes) EXPECT_NE(x.dst.ToString(), "198.19.0.0/24");
  EXPECT_TRUE(ListRoutes(*nl_, AF_INET6, 51820)->empty());

  // wg-quick's policy rules, both families.
  for (int family : {AF_INET, AF_INET6}) {
    Rule mark;
    mark.family = family;
    mark.fwmark = 51820;
    mark.invert = true;
    mark.table = 51820;
    Rule suppress;
    suppress.family = family;
    suppress.table = kMainTable;
    suppress.suppress_prefixlength = 0;
    ASSERT_TRUE(AddRule(*nl_, mark).ok());
    ASSERT_TRUE(AddRule(*nl_, suppress).ok());
    auto rules = ListRules(*nl_, family);
    ASSERT_TRUE(rules.ok()) << rules.error().message();
    auto found_mark = std::find_if(rules->begin(), rules->end(), [](const Rule& x) {
      return x.fwmark == 51820u && x.invert && x.table == 51820;
    });
    EXPECT_NE(found_mark, rules->end());
    auto found_suppress = std::find_if(rules->begin(), rules->end(), [](const Rule& x) {
      return x.suppress_prefixlength == 0u && x.table == kMainTable;
    });
    EXPECT_NE(found_suppress, rules->end());
    const size_t with = rules->size();
    ASSERT_TRUE(DeleteRule(*nl_, mark).ok());
    ASSERT_TRUE(DeleteRule(*nl_, suppress).ok());
    EXPECT_EQ(ListRules(*nl_, family)->size(), with - 2);
    Status gone = DeleteRule(*nl_, mark);
    EXPECT_EQ(gone.error().code(), ENOENT) << gone.error().message();
  }
}

TEST_F(NetlinkNetnsTest, MissingLinkIsEnodev) {
  Status s = DeleteLink(*nl_, "tvx-missing");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ENODEV);
  EXPECT_EQ(s.error().message().rfind("netlink RTM_DELLINK tvx-missing: No such device", 0), 0u)
      << s.error().message();
  EXPECT_EQ(SetLinkMtu(*nl_, "tvx-missing", 1280).error().code(), ENODEV);
  EXPECT_EQ(SetLinkUp(*nl_, 99999, true).error().code(), ENODEV);
  EXPECT_EQ(GetLink(*nl_, "tvx-missing").error().code(), ENODEV);
}

TEST_F(NetlinkNetnsTest, Rename) {
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1").ok());
  ASSERT_TRUE(RenameLink(*nl_, "tvx1", "tvx9").ok());
  EXPECT_TRUE(GetLink(*nl_, "tvx9").ok());
  EXPECT_EQ(GetLink(*nl_, "tvx1").error().code(), ENODEV);
}

TEST_F(NetlinkNetnsTest, MonitorSeesMtuChangeAndDeletion) {
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1").ok());
  auto mon = LinkMonitor::Open();
  ASSERT_TRUE(mon.ok()) << mon.error().message();
  const int index = *LinkIndex(*nl_, "tvx0");
  ASSERT_NE(mon->Find(index), nullptr);  // known from the start
  ASSERT_TRUE(SetLinkMtu(*nl_, "tvx0", 1280).ok());
  ASSERT_TRUE(DeleteLink(*nl_, "tvx0").ok());
  bool saw_mtu = false, saw_delete = false;
  for (int i = 0; i < 50 && !(saw_mtu && saw_delete); ++i) {
    pollfd p{mon->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    auto events = mon->Poll();
    ASSERT_TRUE(events.ok()) << events.error().message();
    for (auto& e : *events) {
      if (e.index != index) continue;
      if (e.mtu_changed && e.mtu == 1280) {
        EXPECT_EQ(e.old_mtu, 1500);
        EXPECT_EQ(e.ToString(),
                  "ifindex " + std::to_string(index) + " (tvx0) mtu changed to 1280 (was 1500)");
        saw_mtu = true;
      }
      if (e.deleted) {
        EXPECT_FALSE(e.moved);
        saw_delete = true;
      }
    }
  }
  EXPECT_TRUE(saw_mtu);
  EXPECT_TRUE(saw_delete);
}

// A second namespace owned by a child process; its fd is what netlink takes.
class OtherNamespace {
 public:
  OtherNamespace() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    UniqueFd r(fds[0]), w(fds[1]);
    child_ = ::fork();
    if (child_ == 0) {
      char c = ::unshare(CLONE_NEWNET) == 0 ? 1 : 0;
      (void)!::write(w.get(), &c, 1);
      ::pause();
      _exit(0);
    }
    w.reset();
    char c = 0;
    if (child_ < 0 || ::read(r.get(), &c, 1) != 1 || c != 1) return;
    const std::string path = "/proc/" + std::to_string(child_) + "/ns/net";
    fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  }
  ~OtherNamespace() {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
  }
  int fd() const { return fd_.get(); }

 private:
  pid_t child_ = -1;
  UniqueFd fd_;
};

TEST_F(NetlinkNetnsTest, VethPeerInAnotherNamespaceAndMoves) {
  OtherNamespace other;
  ASSERT_GE(other.fd(), 0);
  ASSERT_TRUE(CreateVethPair(*nl_, "tvx0", "tvx1", other.fd()).ok());
  EXPECT_TRUE(GetLink(*nl_, "tvx0").ok());
  EXPECT_EQ(GetLink(*nl_, "tvx1").error().code(), ENODEV);  // created over there

  ASSERT_TRUE(CreateVethPair(*nl_, "tvy0", "tvy1").ok());
  auto mon = LinkMonitor::Open();
  ASSERT_TRUE(mon.ok());
  const int index = *LinkIndex(*nl_, "tvy1");
  ASSERT_TRUE(MoveLinkToNetns(*nl_, "tvy1", other.fd()).ok());
  EXPECT_EQ(GetLink(*nl_, "tvy1").error().code(), ENODEV);
  bool saw_move = false;
  for (int i = 0; i < 50 && !saw_move; ++i) {
    pollfd p{mon->fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    auto events = mon->Poll();
    ASSERT_TRUE(events.ok());
    for (auto& e : *events) saw_move |= e.index == index && e.deleted && e.moved;
  }
  EXPECT_TRUE(saw_move);
}

}  // namespace
}  // namespace tundra::netlink
