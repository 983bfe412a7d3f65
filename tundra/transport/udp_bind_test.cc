#include <arpa/inet.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/udp.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "tundra/base/unique_fd.h"
#include "tundra/transport/fake_bind.h"
#include "tundra/transport/udp_bind_linux.h"

namespace tundra::transport {
namespace {

// Loopback only: 127.0.0.1 and ::1.
std::vector<std::vector<uint8_t>> ReceiveAll(UdpBind& bind, size_t receiver, size_t want,
                                             std::vector<Endpoint>* from = nullptr) {
  std::vector<std::vector<uint8_t>> got;
  std::vector<RecvPacket> pkts(16);
  for (int spins = 0; got.size() < want && spins < 200; ++spins) {
    pollfd p{bind.receiver_fd(receiver), POLLIN, 0};
    ::poll(&p, 1, 20);
    for (;;) {
      auto n = bind.Receive(receiver, pkts);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      for (size_t i = 0; i < *n; ++i) {
        got.emplace_back(pkts[i].data.begin(), pkts[i].data.end());
        if (from) from->push_back(pkts[i].from);
      }
    }
  }
  return got;
}

std::vector<uint8_t> Payload(size_t len, uint8_t seed) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

TEST(UdpBindTest, OpensBothFamiliesOnOnePort) {
  UdpBind bind;
  auto port = bind.Open(0);
  ASSERT_TRUE(port.ok()) << port.error().message();
  EXPECT_NE(*port, 0);
  EXPECT_EQ(bind.receiver_count(), 2u);
  // Reopening moves to another port.
  auto again = bind.Open(0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(bind.receiver_count(), 2u);
}

TEST(UdpBindTest, OpenSetsTheOptionsTheBindDependsOn) {
  UdpBind bind;
  ASSERT_TRUE(bind.Open(0).ok());
  ASSERT_EQ(bind.receiver_count(), 2u);
  auto get = [](int fd, int level, int opt) {
    int v = -1;
    socklen_t len = sizeof(v);
    EXPECT_EQ(::getsockopt(fd, level, opt, &v, &len), 0) << std::strerror(errno);
    return v;
  };
  EXPECT_EQ(get(bind.receiver_fd(0), IPPROTO_IP, IP_PKTINFO), 1);
  EXPECT_EQ(get(bind.receiver_fd(1), IPPROTO_IPV6, IPV6_V6ONLY), 1);
  EXPECT_EQ(get(bind.receiver_fd(1), IPPROTO_IPV6, IPV6_RECVPKTINFO), 1);
  // The optional ones: what was refused is counted, and GRO is reported off exactly then.
  const uint64_t gro_off = uint64_t(!bind.gro_enabled(0)) + uint64_t(!bind.gro_enabled(1));
  EXPECT_GE(bind.options_unavailable(), gro_off);
  RecordProperty("options_unavailable", int(bind.options_unavailable()));
}

// Two binds on loopback: `a` sends to `b` at To(host), host "127.0.0.1" or "[::1]".
class UdpBindPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a.Open(0).ok());
    auto pb = b.Open(0);
    ASSERT_TRUE(pb.ok());
    b_port = *pb;
  }
  Endpoint To(const char* host) const {
    auto to = Endpoint::Parse(fmt::format("{}:{}", host, b_port));
    EXPECT_TRUE(to.ok());
    return to.ok() ? *to : Endpoint{};
  }
  static constexpr const char* kHosts[] = {"127.0.0.1", "[::1]"};
  UdpBind a, b;
  uint16_t b_port = 0;
};

TEST_F(UdpBindPairTest, BatchesBothWaysV4AndV6WithStickySource) {
  for (const char* host : kHosts) {
    const bool v6 = host[0] == '[';
    Endpoint to = To(host);
    std::vector<std::vector<uint8_t>> sent;
    std::vector<ByteSpan> spans;
    for (int i = 0; i < 40; ++i) sent.push_back(Payload(100 + i, uint8_t(i)));
    for (auto& s : sent) spans.emplace_back(s);
    ASSERT_TRUE(a.Send(spans, to).ok());
    std::vector<Endpoint> from;
    auto got = ReceiveAll(b, v6 ? 1 : 0, sent.size(), &from);
    ASSERT_EQ(got, sent) << host;
    EXPECT_EQ(from[0].port(), a.port());
    ASSERT_TRUE(from[0].has_source()) << host;
    // Reply from the sticky source back to a.
    std::vector<uint8_t> reply = Payload(33, 9);
    ByteSpan r(reply);
    ASSERT_TRUE(b.Send(std::span<const ByteSpan>(&r, 1), from[0]).ok());
    auto back = ReceiveAll(a, v6 ? 1 : 0, 1);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0], reply);
  }
}

// A receive buffer that overflows: the kernel drops datagrams for us, and SO_RXQ_OVFL makes
// them counted losses of the bind (reported with the next datagram received), exactly
// sent - received.
TEST(UdpBindTest, ReceiveBufferOverflowsAreCounted) {
  UdpBindOptions options;
  options.socket_buffer = 4096;  // a few datagrams at most
  options.udp_gro = false;
  UdpBind b(options);
  auto port = b.Open(0);
  ASSERT_TRUE(port.ok()) << port.error().message();
  EXPECT_EQ(b.receive_losses().buffer_full, 0u);
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(s.valid());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(*port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::vector<uint8_t> payload = Payload(1000, 1);
  auto send_one = [&] {
    ASSERT_EQ(::sendto(s.get(), payload.data(), payload.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to), sizeof(to)),
              ssize_t(payload.size()));
  };
  // Loopback delivers within sendto: everything that fits is queued when it returns.
  auto drain = [&] {
    std::vector<RecvPacket> pkts(16);
    size_t n = 0;
    for (;;) {
      auto got = b.Receive(0, pkts);
      EXPECT_TRUE(got.ok());
      if (!got.ok() || *got == 0) return n;
      n += *got;
    }
  };
  constexpr size_t kSent = 200;
  for (size_t i = 0; i < kSent; ++i) send_one();
  size_t received = drain();
  ASSERT_LT(received, kSent);  // the buffer did overflow
  send_one();                  // carries the drop count
  received += drain();
  ASSERT_GT(received, 0u);
  EXPECT_EQ(b.receive_losses().buffer_full, kSent + 1 - received);
  EXPECT_EQ(b.buffer_overflows(), kSent + 1 - received);
}

// A sticky source that is no longer ours (the address was removed): IPv4 reports ENETUNREACH
// (not only EINVAL), IPv6 EADDRNOTAVAIL or EINVAL. The send falls back to a source the kernel
// picks instead of failing. (The stale sources are never on the wire: sendmsg refuses them.)
TEST_F(UdpBindPairTest, SendFallsBackFromAVanishedStickySource) {
  for (const char* host : kHosts) {
    const bool v6 = host[0] == '[';
    Endpoint to = To(host);
    if (v6) {
      in6_addr gone{};
      ASSERT_EQ(::inet_pton(AF_INET6, "fd18::99", &gone), 1);
      to.SetSourceV6(gone, 0);
    } else {
      in_addr gone{};
      ASSERT_EQ(::inet_pton(AF_INET, "198.18.99.99", &gone), 1);
      to.SetSourceV4(gone, 0);
    }
    std::vector<uint8_t> payload = Payload(50, 3);
    ByteSpan p(payload);
    Status s = a.Send(std::span<const ByteSpan>(&p, 1), to);
    ASSERT_TRUE(s.ok()) << host << ": " << s.error().message();
    auto got = ReceiveAll(b, v6 ? 1 : 0, 1);
    ASSERT_EQ(got.size(), 1u) << host;
    EXPECT_EQ(got[0], payload);
  }
}

TEST(UdpBindTest, GsoRunArrivesAsSeparateDatagrams) {
  UdpBind a, b;
  ASSERT_TRUE(a.Open(0).ok());
  auto pb = b.Open(0);
  ASSERT_TRUE(pb.ok());
  auto to = *Endpoint::Parse(fmt::format("127.0.0.1:{}", *pb));
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 100; ++i) sent.push_back(Payload(1200, uint8_t(i)));
  sent.push_back(Payload(300, 200));  // a short tail
  std::vector<ByteSpan> spans(sent.begin(), sent.end());
  ASSERT_TRUE(a.Send(spans, to).ok());
  auto got = ReceiveAll(b, 0, sent.size());
  EXPECT_EQ(got, sent);  // same content and order, whether or not GSO/GRO were used
  RecordProperty("gso", a.gso_enabled() ? "on" : "off");
  RecordProperty("gro", b.gro_enabled(0) ? "on" : "off");
}

TEST(UdpBindTest, PortInUseIsEaddrinuseNamingThePort) {
  UdpBind a, b;
  auto pa = a.Open(0);
  ASSERT_TRUE(pa.ok());
  auto pb = b.Open(*pa);
  ASSERT_FALSE(pb.ok());
  EXPECT_EQ(pb.error().code(), EADDRINUSE);
  EXPECT_NE(pb.error().message().find(fmt::format(":{}", *pa)), std::string::npos)
      << pb.error().message();
}

TEST(UdpBindTest, SetMarkNeedsCapNetAdmin) {
  UdpBind a;
  ASSERT_TRUE(a.Open(0).ok());
  Status s = a.SetMark(0x1234);
  if (geteuid() == 0) {
    ASSERT_TRUE(s.ok()) << s.error().message();
    uint32_t mark = 0;
    socklen_t len = sizeof(mark);
    ASSERT_EQ(::getsockopt(a.receiver_fd(0), SOL_SOCKET, SO_MARK, &mark, &len), 0);
    EXPECT_EQ(mark, 0x1234u);
  } else {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), EPERM);
  }
}

TEST(UdpBindTest, NoSocketForFamilyIsAnError) {
  UdpBind a;
  auto to = *Endpoint::Parse("127.0.0.1:9");
  std::vector<uint8_t> d(4);
  ByteSpan s(d);
  EXPECT_FALSE(a.Send(std::span<const ByteSpan>(&s, 1), to).ok());  // not opened
}

TEST(FakeBindTest, DeliveryFilterAndInjection) {
  FakeNetwork net;
  FakeBind a(net, "198.18.0.1"), b(net, "198.18.0.2");
  ASSERT_TRUE(a.Open(51820).ok());
  ASSERT_TRUE(b.Open(51821).ok());
  EXPECT_EQ(b.Open(51821).value(), 51821);  // reopening its own port is fine
  FakeBind c(net, "198.18.0.2");
  EXPECT_EQ(c.Open(51821).error().code(), EADDRINUSE);

  std::vector<uint8_t> d = {1, 2, 3};
  ByteSpan s(d);
  ASSERT_TRUE(a.Send(std::span<const ByteSpan>(&s, 1), b.local()).ok());
  pollfd p{b.receiver_fd(0), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 1000), 1);
  std::vector<RecvPacket> out(4);
  auto n = b.Receive(0, out);
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(std::vector<uint8_t>(out[0].data.begin(), out[0].data.end()), d);
  EXPECT_EQ(out[0].from, a.local());

  net.set_filter([](const Endpoint&, const Endpoint&, ByteSpan data) { return data.size() != 3; });
  ASSERT_TRUE(a.Send(std::span<const ByteSpan>(&s, 1), b.local()).ok());
  EXPECT_EQ(*b.Receive(0, out), 0u);
  EXPECT_EQ(net.dropped(), 1u);
  EXPECT_TRUE(net.Inject(*Endpoint::Parse("198.18.9.9:7"), b.local(), s));
  ASSERT_EQ(*b.Receive(0, out), 1u);
  EXPECT_EQ(out[0].from.ToString(), "198.18.9.9:7");
  ASSERT_TRUE(a.SetMark(5).ok());
  EXPECT_EQ(a.mark(), 5u);
}

}  // namespace
}  // namespace tundra::transport
