// TcpTransport and MuxBind over loopback (127.0.0.1): real sockets, no namespaces.
#include "tundra/transport/tcp_transport.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "tundra/base/unique_fd.h"
#include "tundra/transport/fake_bind.h"
#include "tundra/transport/mux_bind.h"

namespace tundra::transport {
namespace {

std::vector<uint8_t> DataMessage(size_t size, uint8_t seed) {
  std::vector<uint8_t> m(size);
  for (size_t i = 0; i < size; ++i) m[i] = uint8_t(seed + i);
  m[0] = 4;
  m[1] = m[2] = m[3] = 0;
  return m;
}

struct Got {
  std::vector<uint8_t> data;
  Endpoint from;
};

// Runs `t`'s loop for up to `ms` or until `want` messages arrived.
std::vector<Got> Pump(TcpTransport& t, size_t want, int ms = 3000) {
  std::vector<Got> got;
  std::vector<RecvPacket> pkts(32);
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (got.size() < want && std::chrono::steady_clock::now() < end) {
    pollfd p{t.poll_fd(), POLLIN, 0};
    ::poll(&p, 1, 20);
    for (;;) {
      auto n = t.Receive(pkts);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      for (size_t i = 0; i < *n; ++i) {
        got.push_back(
            {std::vector<uint8_t>(pkts[i].data.begin(), pkts[i].data.end()), pkts[i].from});
      }
    }
  }
  return got;
}

// Pumps until `cond` holds (or the time is up).
template <typename F>
bool PumpUntil(std::vector<TcpTransport*> ts, F cond, int ms = 5000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  std::vector<RecvPacket> pkts(32);
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    for (TcpTransport* t : ts) {
      pollfd p{t->poll_fd(), POLLIN, 0};
      ::poll(&p, 1, 10);
      while (true) {
        auto n = t->Receive(pkts);
        if (!n.ok() || *n == 0) break;
      }
    }
  }
  return true;
}

Endpoint Loopback(uint16_t port) { return *Endpoint::Parse(fmt::format("127.0.0.1:{}", port)); }

UniqueFd RawConnect(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

void WriteFrame(int fd, const std::vector<uint8_t>& m) {
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(m.size(), h);
  ASSERT_EQ(::send(fd, h, sizeof(h), MSG_NOSIGNAL), ssize_t(sizeof(h)));
  ASSERT_EQ(::send(fd, m.data(), m.size(), MSG_NOSIGNAL), ssize_t(m.size()));
}

bool PeerClosed(int fd, int ms = 3000) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

TEST(TcpEndpointTest, TransportAndConnectionArePartOfEquality) {
  const Endpoint udp = Loopback(51820);
  const Endpoint dial = udp.WithTransport(Transport::kTcp);
  const Endpoint conn = udp.WithTransport(Transport::kTcp, 17);
  EXPECT_FALSE(udp.is_tcp());
  EXPECT_TRUE(dial.is_tcp());
  EXPECT_EQ(dial.connection(), 0u);
  EXPECT_EQ(conn.connection(), 17u);
  EXPECT_NE(udp, dial);
  EXPECT_NE(dial, conn);
  EXPECT_EQ(conn, Loopback(51820).WithTransport(Transport::kTcp, 17));
  EXPECT_EQ(dial.WithTransport(Transport::kUdp), udp);  // the connection goes with TCP
  EXPECT_EQ(conn.ToString(), "127.0.0.1:51820");        // as the UAPI prints it
}

TEST(TcpTransportTest, DialListenAndReplyOnTheConnection) {
  TcpTransport server, client;
  ASSERT_TRUE(server.Listen(0).ok());
  const uint16_t port = server.listen_port();
  ASSERT_NE(port, 0);
  std::vector<Endpoint> connected;
  client.SetOnConnected([&](const Endpoint& e) { connected.push_back(e); });

  const Endpoint to = Loopback(port).WithTransport(Transport::kTcp);
  auto m1 = DataMessage(100, 1), m2 = DataMessage(1452, 2);
  const ByteSpan out[] = {m1, m2};
  ASSERT_TRUE(client.Send(out, to).ok());  // queued while connecting
  // The client's loop completes the connect and flushes; the server's reads.
  std::vector<Got> got;
  ASSERT_TRUE(
      PumpUntil({&client, &server}, [&] { return client.counter(TcpCounter::kDialed) == 1; }));
  got = Pump(server, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].data, m1);
  EXPECT_EQ(got[1].data, m2);
  EXPECT_TRUE(got[0].from.is_tcp());
  EXPECT_NE(got[0].from.connection(), 0u);
  ASSERT_EQ(connected.size(), 1u);
  EXPECT_EQ(connected[0], to);

  auto r = DataMessage(64, 9);
  const ByteSpan back[] = {r};
  ASSERT_TRUE(server.Send(back, got[0].from).ok());
  auto reply = Pump(client, 1);
  ASSERT_EQ(reply.size(), 1u);
  EXPECT_EQ(reply[0].data, r);
  EXPECT_EQ(reply[0].from, to);  // the dialed side names the address, not the connection
  EXPECT_EQ(server.counter(TcpCounter::kAccepted), 1u);
}

TEST(TcpTransportTest, OversizeFrameDropsOnlyThatConnection) {
  TcpTransport server, client;
  ASSERT_TRUE(server.Listen(0).ok());
  const Endpoint to = Loopback(server.listen_port()).WithTransport(Transport::kTcp);
  UniqueFd bad = RawConnect(server.listen_port());
  ASSERT_TRUE(PumpUntil({&server}, [&] { return server.connection_count() == 1; }));
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(kMaxFrameMessage + 1, h);
  ASSERT_EQ(::send(bad.get(), h, sizeof(h), MSG_NOSIGNAL), 4);
  ASSERT_TRUE(PumpUntil({&server}, [&] { return server.counter(TcpCounter::kDropOversize) == 1; }));
  EXPECT_TRUE(PeerClosed(bad.get()));
  // Another connection goes on.
  auto m = DataMessage(200, 3);
  const ByteSpan out[] = {m};
  ASSERT_TRUE(client.Send(out, to).ok());
  ASSERT_TRUE(PumpUntil({&client}, [&] { return client.counter(TcpCounter::kDialed) == 1; }));
  auto got = Pump(server, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, m);
}

TEST(TcpTransportTest, GarbageAndUndersizeAreCountedByReason) {
  TcpTransport server;
  ASSERT_TRUE(server.Listen(0).ok());
  UniqueFd a = RawConnect(server.listen_port());
  UniqueFd b = RawConnect(server.listen_port());
  UniqueFd c = RawConnect(server.listen_port());
  const char http[] = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_GT(::send(a.get(), http, sizeof(http) - 1, MSG_NOSIGNAL), 0);
  uint8_t h[kFrameHeaderSize];
  EncodeFrameHeader(8, h);
  ASSERT_EQ(::send(b.get(), h, sizeof(h), MSG_NOSIGNAL), 4);
  std::vector<uint8_t> wrong(92, 0);
  wrong[0] = 1;  // an initiation of a response's size
  WriteFrame(c.get(), wrong);
  ASSERT_TRUE(PumpUntil({&server}, [&] {
    return server.counter(TcpCounter::kDropOversize) == 1 &&
           server.counter(TcpCounter::kDropUndersize) == 1 &&
           server.counter(TcpCounter::kDropBadSize) == 1;
  }));
  EXPECT_EQ(server.connection_count(), 0u);
}

TEST(TcpTransportTest, UnauthenticatedConnectionsAreBoundedAndTimedOut) {
  TcpOptions o;
  o.max_unauthenticated = 2;
  o.unauthenticated_timeout = std::chrono::milliseconds(500);
  TcpTransport server(o);
  ASSERT_TRUE(server.Listen(0).ok());
  const uint16_t port = server.listen_port();
  UniqueFd a = RawConnect(port), b = RawConnect(port);
  ASSERT_TRUE(PumpUntil({&server}, [&] { return server.connection_count() == 2; }));
  UniqueFd c = RawConnect(port);
  ASSERT_TRUE(PumpUntil({&server},
                        [&] { return server.counter(TcpCounter::kRefusedUnauthenticated) == 1; }));
  EXPECT_TRUE(PeerClosed(c.get()));

  // One of them carries a message the device authenticates: it is no longer counted or timed.
  WriteFrame(a.get(), DataMessage(64, 1));
  auto got = Pump(server, 1);
  ASSERT_EQ(got.size(), 1u);
  server.MarkAuthenticated(got[0].from);
  UniqueFd d = RawConnect(port);
  ASSERT_TRUE(PumpUntil({&server}, [&] { return server.connection_count() == 3; }));
  // b and d time out; a stays.
  ASSERT_TRUE(PumpUntil({&server},
                        [&] { return server.counter(TcpCounter::kClosedUnauthenticated) == 2; }));
  EXPECT_EQ(server.connection_count(), 1u);
  EXPECT_TRUE(PeerClosed(b.get()));
  EXPECT_FALSE(PeerClosed(a.get(), 100));
}

TEST(TcpTransportTest, DialerReconnectsWhenTheConnectionDrops) {
  auto server = std::make_unique<TcpTransport>();
  ASSERT_TRUE(server->Listen(0).ok());
  const uint16_t port = server->listen_port();
  TcpTransport client;
  std::atomic<int> connected{0};
  client.SetOnConnected([&](const Endpoint&) { ++connected; });
  const Endpoint to = Loopback(port).WithTransport(Transport::kTcp);
  auto m = DataMessage(64, 5);
  const ByteSpan out[] = {m};
  ASSERT_TRUE(client.Send(out, to).ok());
  ASSERT_TRUE(PumpUntil({&client, server.get()}, [&] { return connected.load() == 1; }));
  ASSERT_EQ(Pump(*server, 1).size(), 1u);

  // The listener side goes away and comes back on the same port: the client redials alone.
  server.reset();
  ASSERT_TRUE(PumpUntil({&client}, [&] { return client.counter(TcpCounter::kClosedByPeer) == 1; }));
  server = std::make_unique<TcpTransport>();
  ASSERT_TRUE(server->Listen(port).ok());
  ASSERT_TRUE(PumpUntil(
      {&client, server.get()}, [&] { return connected.load() == 2; }, 8000));
  ASSERT_TRUE(client.Send(out, to).ok());
  auto got = Pump(*server, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data, m);
}

TEST(TcpTransportTest, SendToAGoneConnectionIsCountedNotQueued) {
  TcpTransport t;
  auto m = DataMessage(64, 1);
  const ByteSpan out[] = {m};
  Status s = t.Send(out, Loopback(1).WithTransport(Transport::kTcp, 12345));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(t.counter(TcpCounter::kDropNoConnection), 1u);
}

TEST(TcpTransportTest, SendQueueIsBoundedWithCountedDrops) {
  // A listener that accepts and never reads: the kernel buffers fill, then the queue.
  UniqueFd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(l.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(l.get(), 1), 0);
  socklen_t len = sizeof(a);
  ::getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len);
  int rcv = 4096;
  ::setsockopt(l.get(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  TcpTransport client;
  const Endpoint to = Loopback(ntohs(a.sin_port)).WithTransport(Transport::kTcp);
  auto m = DataMessage(1452, 1);
  std::vector<ByteSpan> batch(64, ByteSpan(m));
  ASSERT_TRUE(client.Send(batch, to).ok());
  ASSERT_TRUE(PumpUntil({&client}, [&] { return client.counter(TcpCounter::kDialed) == 1; }));
  size_t sent = 0;
  while (client.counter(TcpCounter::kDropSendQueueFull) == 0 && sent < 100000) {
    (void)client.Send(batch, to);
    sent += batch.size();
  }
  EXPECT_GT(client.counter(TcpCounter::kDropSendQueueFull), 0u);
  // Bounded: what was accepted fits the queue plus what the kernel took.
  EXPECT_LT(sent, size_t{100000});
}

TEST(TcpTransportTest, SendersOnSeveralThreadsWhileTheLoopRuns) {
  // The device's shape: tun and control threads send while the udp thread runs Receive.
  TcpTransport server, client;
  ASSERT_TRUE(server.Listen(0).ok());
  const Endpoint to = Loopback(server.listen_port()).WithTransport(Transport::kTcp);
  constexpr int kThreads = 3, kPerThread = 2000;
  std::atomic<bool> go{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      auto m = DataMessage(200 + size_t(t), uint8_t(t));
      const ByteSpan out[] = {m};
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) (void)client.Send(out, to);
    });
  }
  go.store(true);
  size_t received = 0;
  std::vector<RecvPacket> pkts(64);
  auto done = [&] {
    return received + client.counter(TcpCounter::kDropSendQueueFull) +
               client.counter(TcpCounter::kDropNoConnection) ==
           size_t(kThreads * kPerThread);
  };
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool joined = false;
  while (!(joined && done()) && std::chrono::steady_clock::now() < end) {
    for (TcpTransport* t : {&client, &server}) {
      pollfd p{t->poll_fd(), POLLIN, 0};
      ::poll(&p, 1, 5);
      for (;;) {
        auto n = t->Receive(pkts);
        ASSERT_TRUE(n.ok());
        if (*n == 0) break;
        if (t == &server) {
          for (size_t i = 0; i < *n; ++i) {
            ASSERT_GE(pkts[i].data.size(), 200u);  // whole messages, never interleaved
            ASSERT_LT(pkts[i].data.size(), 200u + kThreads);
            EXPECT_EQ(pkts[i].data[10], uint8_t(pkts[i].data.size() - 200 + 10));
          }
          received += *n;
        }
      }
    }
    if (!joined && go.load()) {
      bool all = true;
      for (auto& th : senders) all &= th.joinable();
      if (all) {
        for (auto& th : senders) th.join();
        joined = true;
      }
    }
  }
  EXPECT_TRUE(done()) << "received " << received;
  EXPECT_GT(received, 0u);
  for (TcpCounter c : {TcpCounter::kDropOversize, TcpCounter::kDropUndersize,
                       TcpCounter::kDropBadType, TcpCounter::kDropBadSize}) {
    EXPECT_EQ(server.counter(c), 0u) << TcpCounterName(c);
  }
}

TEST(MuxBindTest, UdpGoesToTheWrappedBindAndTcpToTheStream) {
  FakeNetwork net;
  auto fake = std::make_unique<FakeBind>(net, "127.0.0.1");
  FakeBind* udp = fake.get();
  MuxBind mux(std::move(fake));
  EXPECT_EQ(mux.receiver_count(), 2u);
  // The listener is off until configured, then follows the UDP port.
  auto port = mux.Open(0);
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(mux.tcp_listen_port(), 0);
  ASSERT_TRUE(mux.SetTcpListener(0).ok());
  EXPECT_EQ(mux.tcp_listen_port(), *port);
  EXPECT_EQ(mux.receiver_fd(1), mux.tcp().poll_fd());

  FakeBind other(net, "127.0.0.2");
  ASSERT_TRUE(other.Open(0).ok());
  auto m = DataMessage(64, 1);
  const ByteSpan out[] = {m};
  ASSERT_TRUE(mux.Send(out, other.local()).ok());
  EXPECT_EQ(udp->sent(), 1u);
  EXPECT_EQ(other.queued(), 1u);

  TcpTransport client;
  ASSERT_TRUE(client.Send(out, Loopback(*port).WithTransport(Transport::kTcp)).ok());
  ASSERT_TRUE(PumpUntil({&client}, [&] { return client.counter(TcpCounter::kDialed) == 1; }));
  auto got = Pump(mux.tcp(), 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(udp->sent(), 1u);
  ASSERT_TRUE(mux.SetTcpListener(std::nullopt).ok());
  EXPECT_EQ(mux.tcp_listen_port(), 0);
}

}  // namespace
}  // namespace tundra::transport
