// The mock-kernel fixture of the LinuxTun unit tests (tun_linux_test, tun_offload_test).
#pragma once

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <cstring>
#include <memory>
#include <string>

#include "tundra/base/mock_kernel.h"
#include "tundra/tun/tun_linux.h"

namespace tundra::tun {

using ::testing::_;
using ::testing::Invoke;
using ::testing::NiceMock;
using ::testing::Return;
using ::testing::StrEq;

constexpr int kFd = 42;
constexpr unsigned kAllFeatures = IFF_TUN | IFF_TAP | IFF_NO_CARRIER | IFF_NO_PI | IFF_ONE_QUEUE |
                                  IFF_VNET_HDR | IFF_MULTI_QUEUE | IFF_NAPI | IFF_NAPI_FRAGS;

// Arranges a successful open + TUNGETFEATURES + TUNSETIFF (+ TUNGETIFF, fcntl) on kFd. The
// kernel "names" the device `real_name` and reports the requested flags plus `extra_flags`.
class TunLinuxTest : public ::testing::Test {
 protected:
  void ExpectOpen() {
    EXPECT_CALL(kernel_, open(StrEq("/dev/net/tun"), O_RDWR | O_CLOEXEC)).WillOnce(Return(kFd));
  }
  void ExpectFeatures(unsigned features = kAllFeatures) {
    EXPECT_CALL(kernel_, ioctl(kFd, TUNGETFEATURES, _))
        .WillOnce(Invoke([features](int, unsigned long, void* arg) {
          *static_cast<unsigned*>(arg) = features;
          return 0;
        }));
  }
  void ExpectSetIff(std::string real_name) {
    EXPECT_CALL(kernel_, ioctl(kFd, TUNSETIFF, _))
        .WillOnce(Invoke([this, real_name](int, unsigned long, void* arg) {
          auto* ifr = static_cast<struct ifreq*>(arg);
          requested_name_ = ifr->ifr_name;
          requested_flags_ = static_cast<uint16_t>(ifr->ifr_flags);
          std::memset(ifr->ifr_name, 0, IFNAMSIZ);
          std::memcpy(ifr->ifr_name, real_name.data(), real_name.size());
          return 0;
        }));
  }
  void ExpectGetIff(uint16_t extra_flags = 0) {
    EXPECT_CALL(kernel_, ioctl(kFd, TUNGETIFF, _))
        .WillOnce(Invoke([this, extra_flags](int, unsigned long, void* arg) {
          auto* ifr = static_cast<struct ifreq*>(arg);
          // Like the kernel: IFF_NOFILTER (== IFF_NO_PI) is set whenever no filter is attached.
          ifr->ifr_flags =
              static_cast<short>((requested_flags_ & ~IFF_TUN_EXCL) | extra_flags | IFF_NOFILTER);
          return 0;
        }));
  }
  void ExpectNonBlock() {
    EXPECT_CALL(kernel_, fcntl(kFd, F_GETFL, _)).WillOnce(Return(O_RDWR));
    EXPECT_CALL(kernel_, fcntl(kFd, F_SETFL, O_RDWR | O_NONBLOCK)).WillOnce(Return(0));
  }
  void ExpectCloseOnce() { EXPECT_CALL(kernel_, close(kFd)).WillOnce(Return(0)); }

  std::unique_ptr<LinuxTun> OpenOk(TunOptions options, std::string real_name) {
    ExpectOpen();
    ExpectFeatures();
    ExpectSetIff(real_name);
    ExpectGetIff();
    ExpectNonBlock();
    auto tun = LinuxTun::Open(options, kernel_);
    EXPECT_TRUE(tun.ok()) << tun.error().message();
    return std::move(tun).value();
  }

  NiceMock<MockKernel> kernel_;
  std::string requested_name_;
  uint16_t requested_flags_ = 0;
};

}  // namespace tundra::tun
