#include "tundra/tun/manage.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tundra/base/mock_kernel.h"

namespace tundra::tun {
namespace {

using ::testing::_;
using ::testing::InSequence;
using ::testing::Invoke;
using ::testing::NiceMock;
using ::testing::Return;

class ManageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tundra-manage-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    Device("tun0", "0x1801", "1000", "-1", "7", "1420", "down");    // tun persist no_pi
    Device("tap1", "0x4102", "-1", "100", "8", "1500", "unknown");  // tap mq vnet_hdr, pi
    Device("eth0", "", "", "", "2", "1500", "up");                  // not a TUN/TAP device
    Device("tun9", "0x1001", "-1", "-1", "9", "1500", "down");      // not persistent
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void Device(const std::string& name, const std::string& flags, const std::string& owner,
              const std::string& group, const std::string& ifindex, const std::string& mtu,
              const std::string& operstate) {
    const std::string dir = root_ + "/" + name;
    std::filesystem::create_directories(dir);
    auto put = [&](const char* attr, const std::string& v) {
      if (!v.empty()) std::ofstream(dir + "/" + attr) << v << "\n";
    };
    put("tun_flags", flags);
    put("owner", owner);
    put("group", group);
    put("ifindex", ifindex);
    put("mtu", mtu);
    put("operstate", operstate);
  }

  std::string root_;
};

TEST_F(ManageTest, ListsOnlyTunTapDevicesSortedWithTheirFlags) {
  auto list = ListTunDevices(root_);
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "tap1");
  EXPECT_EQ((*list)[1].name, "tun0");
  EXPECT_EQ((*list)[2].name, "tun9");
  const TunDeviceInfo& tap = (*list)[0];
  EXPECT_EQ(tap.mode, TunMode::kTap);
  EXPECT_TRUE(tap.multi_queue);
  EXPECT_TRUE(tap.vnet_hdr);
  EXPECT_FALSE(tap.no_pi);
  EXPECT_FALSE(tap.persist);
  EXPECT_FALSE(tap.owner.has_value());
  EXPECT_EQ(tap.group, gid_t{100});
  EXPECT_EQ(FormatTunSummary(tap), "tap1: tap multi_queue vnet_hdr group 100");
  EXPECT_EQ(FormatTunSummary((*list)[1]), "tun0: tun persist no_pi user 1000");
  EXPECT_EQ(FormatTunSummary((*list)[2]), "tun9: tun no_pi");
}

TEST_F(ManageTest, ShowOneDevice) {
  auto info = GetTunDevice("tun0", root_);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->mode, TunMode::kTun);
  EXPECT_TRUE(info->persist);
  EXPECT_TRUE(info->no_pi);
  EXPECT_EQ(info->owner, uid_t{1000});
  EXPECT_FALSE(info->group.has_value());
  EXPECT_EQ(info->ifindex, 7);
  EXPECT_EQ(info->mtu, 1420);
  EXPECT_EQ(info->operstate, "down");
  EXPECT_EQ(info->tun_flags, 0x1801u);
}

TEST_F(ManageTest, ShowErrorsNameTheDevice) {
  auto missing = GetTunDevice("nope0", root_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "nope0: no such network device");
  auto eth = GetTunDevice("eth0", root_);
  ASSERT_FALSE(eth.ok());
  EXPECT_EQ(eth.error().message(), "eth0 is not a TUN/TAP device");
  EXPECT_FALSE(GetTunDevice("way-too-long-name0", root_).ok());
}

TEST(ResolveTest, UsersAndGroups) {
  EXPECT_EQ(ResolveUser("root").value(), 0u);
  EXPECT_EQ(ResolveUser("4242").value(), 4242u);
  auto unknown = ResolveUser("tundra-no-such-user");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message(), "unknown user 'tundra-no-such-user'");
  EXPECT_EQ(ResolveGroup("root").value(), 0u);
  EXPECT_EQ(ResolveGroup("77").value(), 77u);
  auto bad_group = ResolveGroup("tundra-no-such-group");
  ASSERT_FALSE(bad_group.ok());
  EXPECT_EQ(bad_group.error().message(), "unknown group 'tundra-no-such-group'");
}

constexpr int kFd = 9;

void ExpectAttach(MockKernel& kernel, uint16_t* flags_seen, const char* real_name) {
  EXPECT_CALL(kernel, open(_, _)).WillOnce(Return(kFd));
  EXPECT_CALL(kernel, ioctl(kFd, TUNGETFEATURES, _))
      .WillOnce(Invoke([](int, unsigned long, void* arg) {
        *static_cast<unsigned*>(arg) = 0xffff;
        return 0;
      }));
  EXPECT_CALL(kernel, ioctl(kFd, TUNSETIFF, _))
      .WillOnce(Invoke([flags_seen, real_name](int, unsigned long, void* arg) {
        auto* ifr = static_cast<struct ifreq*>(arg);
        *flags_seen = static_cast<uint16_t>(ifr->ifr_flags);
        std::strncpy(ifr->ifr_name, real_name, IFNAMSIZ - 1);
        return 0;
      }));
  EXPECT_CALL(kernel, ioctl(kFd, TUNGETIFF, _))
      .WillOnce(Invoke([flags_seen](int, unsigned long, void* arg) {
        static_cast<struct ifreq*>(arg)->ifr_flags =
            static_cast<short>((*flags_seen & ~IFF_TUN_EXCL) | IFF_NOFILTER);
        return 0;
      }));
}

TEST_F(ManageTest, AddCreatesExclusivelyAndPersistsLast) {
  NiceMock<MockKernel> kernel;
  uint16_t flags = 0;
  {
    InSequence seq;
    ExpectAttach(kernel, &flags, "tap5");
    EXPECT_CALL(kernel, ioctl(kFd, TUNSETOWNER, reinterpret_cast<void*>(1000)));
    EXPECT_CALL(kernel, fcntl(kFd, F_GETFL, _));
    EXPECT_CALL(kernel, fcntl(kFd, F_SETFL, _));
    EXPECT_CALL(kernel, ioctl(kFd, TUNSETPERSIST, reinterpret_cast<void*>(1)));
    EXPECT_CALL(kernel, close(kFd));
  }
  TunOptions o;
  o.name = "tap%d";
  o.mode = TunMode::kTap;
  o.owner = 1000;
  auto name = AddPersistentDevice(o, kernel);
  ASSERT_TRUE(name.ok()) << name.error().message();
  EXPECT_EQ(*name, "tap5");
  EXPECT_EQ(flags, IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
}

TEST_F(ManageTest, DeleteAttachesWithTheDeviceFlagsClearsPersistAndCloses) {
  NiceMock<MockKernel> kernel;
  uint16_t flags = 0;
  {
    InSequence seq;
    ExpectAttach(kernel, &flags, "tun0");
    EXPECT_CALL(kernel, fcntl(kFd, F_GETFL, _));
    EXPECT_CALL(kernel, fcntl(kFd, F_SETFL, _));
    EXPECT_CALL(kernel, ioctl(kFd, TUNSETPERSIST, reinterpret_cast<void*>(0)));
    EXPECT_CALL(kernel, close(kFd));
  }
  auto st = DeletePersistentDevice("tun0", kernel, root_);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(flags, IFF_TUN | IFF_NO_PI);
}

TEST_F(ManageTest, DeleteRefusesWhatItShouldNotTouch) {
  NiceMock<MockKernel> kernel;
  EXPECT_CALL(kernel, open(_, _)).Times(0);
  auto missing = DeletePersistentDevice("nope0", kernel, root_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "nope0: no such network device");
  auto eth = DeletePersistentDevice("eth0", kernel, root_);
  ASSERT_FALSE(eth.ok());
  EXPECT_EQ(eth.error().message(), "eth0 is not a TUN/TAP device");
  auto running = DeletePersistentDevice("tun9", kernel, root_);
  ASSERT_FALSE(running.ok());
  EXPECT_THAT(running.error().message(), ::testing::StartsWith("tun9 is not persistent"));
}

}  // namespace
}  // namespace tundra::tun
