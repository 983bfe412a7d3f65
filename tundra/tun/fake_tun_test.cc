#include "tundra/tun/fake_tun.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <thread>
#include <vector>

namespace tundra::tun {
namespace {

bool Readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

TEST(FakeTunTest, InjectedPacketsAppearOnReadAndDrivePollFd) {
  auto tun = FakeTun::Create("fake0").value();
  EXPECT_EQ(tun->name(), "fake0");
  EXPECT_FALSE(Readable(tun->poll_fd()));
  const std::vector<uint8_t> a = {0x45, 1, 2}, b = {0x60, 3}, c = {0x45, 4, 5, 6};
  ASSERT_TRUE(tun->Inject(a));
  ASSERT_TRUE(tun->Inject(b));
  ASSERT_TRUE(tun->Inject(c));
  EXPECT_TRUE(Readable(tun->poll_fd()));

  std::vector<uint8_t> storage(2 * 32);
  std::vector<MutableByteSpan> bufs = {MutableByteSpan(storage.data(), 32),
                                       MutableByteSpan(storage.data() + 32, 32)};
  std::vector<size_t> sizes(2);
  auto n = tun->Read(bufs, sizes, 16);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(sizes[0], 3u);
  EXPECT_EQ(sizes[1], 2u);
  EXPECT_EQ(storage[16], 0x45);
  EXPECT_EQ(storage[32 + 16], 0x60);
  EXPECT_TRUE(Readable(tun->poll_fd()));  // c is still pending
  n = tun->Read(bufs, sizes, 16);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_FALSE(Readable(tun->poll_fd()));
  n = tun->Read(bufs, sizes, 16);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST(FakeTunTest, OversizedAndOverflowingPacketsAreCountedDrops) {
  FakeTun::Options options;
  options.max_pending = 1;
  auto tun = FakeTun::Create("fake0", options).value();
  std::vector<uint8_t> big(100, 0x45);
  EXPECT_TRUE(tun->Inject(big));
  EXPECT_FALSE(tun->Inject(big));
  EXPECT_EQ(tun->drops().Get(TunDropReason::kQueueFull), 1u);
  std::vector<uint8_t> storage(50);
  std::vector<MutableByteSpan> bufs = {storage};
  std::vector<size_t> sizes(1);
  auto n = tun->Read(bufs, sizes, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(tun->drops().Get(TunDropReason::kTruncated), 1u);
}

TEST(FakeTunTest, WritesAreCollectedAndConnectedPeersReceiveThem) {
  auto a = FakeTun::Create("a").value();
  auto b = FakeTun::Create("b").value();
  FakeTun::Connect(*a, *b);
  std::vector<uint8_t> p(16 + 3, 0);
  p[16] = 0x45;
  p[17] = 7;
  std::vector<MutableByteSpan> bufs = {p};
  auto n = a->Write(bufs, 16);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  auto written = a->TakeWritten();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0], (std::vector<uint8_t>{0x45, 7, 0}));
  EXPECT_TRUE(a->TakeWritten().empty());
  EXPECT_EQ(b->pending(), 1u);
  EXPECT_TRUE(Readable(b->poll_fd()));
}

TEST(FakeTunTest, WaitForWrittenWakesAcrossThreads) {
  auto tun = FakeTun::Create("fake0").value();
  std::thread writer([&] {
    std::vector<uint8_t> p(20, 0x45);
    std::vector<MutableByteSpan> bufs = {p, p};
    (void)tun->Write(bufs, 16);
  });
  EXPECT_TRUE(tun->WaitForWritten(2, std::chrono::seconds(5)));
  writer.join();
  EXPECT_FALSE(tun->WaitForWritten(3, std::chrono::milliseconds(10)));
}

TEST(FakeTunTest, CloseMakesTheQueueFail) {
  auto tun = FakeTun::Create("fake0").value();
  tun->Close();
  EXPECT_TRUE(Readable(tun->poll_fd()));
  std::vector<uint8_t> storage(50);
  std::vector<MutableByteSpan> bufs = {storage};
  std::vector<size_t> sizes(1);
  auto r = tun->Read(bufs, sizes, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "read(fake0): File descriptor in bad state");
  EXPECT_FALSE(tun->Write(bufs, 0).ok());
}

}  // namespace
}  // namespace tundra::tun
