// The UAPI server on a real unix socket in a temporary directory, against a Device over FakeTun
// and FakeBind that is never started: request bounds, connection limits and timeouts, Stop(),
// and what a connection leaves in freed memory and in the log.
#include "tundra/uapi/server.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <new>
#include <thread>

#include "tundra/base/log.h"
#include "tundra/transport/fake_bind.h"
#include "tundra/tun/fake_tun.h"
#include "tundra/uapi/test_client.h"

// Every block freed on a thread that set t_watch is searched for the patterns first: key hex
// found there was freed without being wiped.
namespace {
thread_local const std::vector<std::string>* t_watch = nullptr;
std::atomic<int> g_unwiped_frees{0};

void ScanBeforeFree(void* p) {
  if (p == nullptr || t_watch == nullptr) return;
  const size_t n = malloc_usable_size(p);
  for (const std::string& pattern : *t_watch) {
    if (memmem(p, n, pattern.data(), pattern.size()) != nullptr) ++g_unwiped_frees;
  }
}
void* Allocate(size_t n) {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) std::abort();
  return p;
}
void Release(void* p) noexcept {
  ScanBeforeFree(p);
  std::free(p);
}
}  // namespace

void* operator new(size_t n) { return Allocate(n); }
void* operator new[](size_t n) { return Allocate(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return Allocate(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return Allocate(n); }
void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, size_t) noexcept { Release(p); }
void operator delete[](void* p, size_t) noexcept { Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }

namespace tundra::uapi {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using testing::ReadReply;

const std::string kPrivHex = "389c0e5a7b21d4c86e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e60";
const std::string kPskHex = "c0ffee5eed1e55e7b00b5ca1ab1e0ddba11fee1dead5ca1ab1ecafebabe01234";
const std::string kPeerHex = std::string(62, 'b') + "02";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tundra-uapi-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto tun = tun::FakeTun::Create("tun-uapi");
    ASSERT_TRUE(tun.ok());
    device::DeviceOptions opts;
    opts.name = "uapi-test";
    device_ = std::make_unique<device::Device>(
        std::move(*tun), std::make_unique<transport::FakeBind>(net_, "198.18.0.1"), opts);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    device_.reset();
    ::rmdir(dir_.c_str());
  }
  void StartServer(ServerOptions options = {}) {
    auto listener = Listen("tu0", dir_);
    ASSERT_TRUE(listener.ok()) << listener.error().message();
    server_ =
        std::make_unique<Server>(std::move(*listener), SocketPath("tu0", dir_), *device_, options);
    ASSERT_TRUE(server_->Start().ok());
  }
  UniqueFd Connect() { return testing::ConnectUnix(SocketPath("tu0", dir_)); }
  // True when the server closed `fd` (after any reply) within `timeout`.
  static bool ClosedWithin(int fd, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      pollfd p = {fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) <= 0) return false;
      char buf[256];
      if (::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0) return true;
    }
  }
  static void Send(int fd, std::string_view data) {
    ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), ssize_t(data.size()));
  }
  std::string Request(std::string_view request, milliseconds timeout = milliseconds(5000)) {
    UniqueFd fd = Connect();
    Send(fd.get(), request);
    return ReadReply(fd.get(), timeout);
  }

  std::string dir_;
  transport::FakeNetwork net_;
  std::unique_ptr<device::Device> device_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, SetGetAndStatsOverTheSocket) {
  StartServer();
  EXPECT_EQ(Request("set=1\nprivate_key=" + kPrivHex + "\npublic_key=" + kPeerHex +
                    "\npreshared_key=" + kPskHex + "\nallowed_ip=198.19.0.2/32\n\n"),
            "errno=0\n\n");
  const std::string get = Request("get=1\n\n");
  EXPECT_EQ(get.rfind("private_key=" + kPrivHex + "\n", 0), 0u) << get;
  EXPECT_NE(get.find("preshared_key=" + kPskHex + "\n"), std::string::npos) << get;
  EXPECT_NE(get.find("allowed_ip=198.19.0.2/32\nerrno=0\n\n"), std::string::npos) << get;
  // tundra_stats=1: drop_REASON for every reason but kNone, tun_drop_REASON, then the rest.
  std::string want;
  for (size_t i = 1; i < proto::kDropReasonCount; ++i) {
    want += fmt::format("drop_{}=0\n", proto::DropReasonName(proto::DropReason(i)));
  }
  for (size_t i = 0; i < size_t(tun::TunDropReason::kCount); ++i) {
    want += fmt::format("tun_drop_{}=0\n", tun::TunDropReasonName(tun::TunDropReason(i)));
  }
  want += "icmp_unreachable_sent=0\nunknown_index_initiations=0\nsticky_sources_rerouted=0\n";
  want += "tun_super_packets_read=0\ntun_segments_split=0\n";
  want += "tun_super_packets_written=0\ntun_packets_coalesced=0\nerrno=0\n\n";
  EXPECT_EQ(Request("tundra_stats=1\n\n"), want);
  // tundra_peers=1 (and its first name, tundra_transports=1): per peer, transport and counters.
  const std::string peers = Request("tundra_peers=1\n\n");
  EXPECT_EQ(peers, "transport=udp\ntcp_listen_port=0\npublic_key=" + kPeerHex +
                       "\ntransport=udp\ntransport_in_use=udp\ntransport_since_sec=0\n"
                       "transport_since_nsec=0\nrx_packets=0\ntx_packets=0\nhandshakes=0\n"
                       "handshake_initiations=0\ndropped=0\nspeed=0:0\nburst=0\nshaped_in=0\n"
                       "shaped_out=0\ncompression=none\ncompression_active=0\n"
                       "compress_tx_packets=0\ncompress_tx_compressed=0\ncompress_tx_before=0\n"
                       "compress_tx_after=0\ncompress_rx_packets=0\ncompress_rx_before=0\n"
                       "compress_rx_after=0\nerrno=0\n\n");
  EXPECT_EQ(Request("tundra_transports=1\n\n"), peers);
}

// TAP mode's set keys (docs/l2.md) with bad values are refused by the parser, before the device
// sees them, with wireguard-go's EINVAL; get=1 stays wg's.
TEST_F(ServerTest, BadTapModeKeysAreInvalid) {
  StartServer();
  for (const std::string& body :
       {std::string("tundra_switch=router\n"), std::string("tundra_forward=yes\n"),
        "public_key=" + kPeerHex + "\ntundra_allowed_mac=52:54:00:00:00:01/24\n",
        "public_key=" + kPeerHex + "\ntundra_replace_allowed_macs=1\n"}) {
    EXPECT_EQ(Request("set=1\n" + body + "\n"), "errno=-22\n\n") << body;
  }
  const std::string get = Request("get=1\n\n");
  EXPECT_EQ(get.find("tundra"), std::string::npos) << get;
  EXPECT_EQ(get.find("mac"), std::string::npos) << get;
}

// 100 MB of garbage after set=1 is cut off at kMaxSetRequestBytes with errno=-90 (nothing
// applied, not even the good line before it) while another client is served meanwhile.
TEST_F(ServerTest, GarbageFloodIsCutOffAndOthersAreServed) {
  StartServer();
  UniqueFd flood = Connect();
  size_t sent = 0;
  std::thread flooder([&] {
    std::string chunk = "set=1\nlisten_port=4242\n";
    const std::string garbage = std::string(1023, '#') + "\n";
    while (chunk.size() < (1 << 20)) chunk += garbage;
    const size_t total = size_t{100} << 20;
    while (sent < total) {
      const ssize_t n = ::send(flood.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += size_t(n);
      chunk = chunk.substr(chunk.find('#'));  // the op once
    }
  });
  const auto t0 = Clock::now();
  EXPECT_NE(Request("get=1\n\n").find("errno=0\n\n"), std::string::npos);
  EXPECT_LT(Clock::now() - t0, milliseconds(2000));
  flooder.join();
  EXPECT_EQ(ReadReply(flood.get()), fmt::format("errno={}\n\n", kErrnoMsgSize));
  EXPECT_LT(sent, kMaxSetRequestBytes + (4 << 20));  // the server stopped reading at the bound
  EXPECT_NE(device_->GetStatus().listen_port, 4242);
}

// 150,000 peers with a psk, an endpoint, a keepalive and two allowed IPs each, as `wg setconf`
// writes them, fit the bound (update_only, so that Apply skips the peers: the test is of the
// request, not of the device).
TEST_F(ServerTest, SetconfOf150kFullPeersFits) {
  StartServer();
  std::string req = "set=1\nreplace_peers=true\n";
  for (uint32_t i = 0; i < 150'000; ++i) {
    req += fmt::format(
        "public_key={:056x}{:08x}\nupdate_only=true\npreshared_key={}\n"
        "endpoint=[fd18::{:x}:{:x}]:51820\npersistent_keepalive_interval=25\n"
        "replace_allowed_ips=true\nallowed_ip=198.19.{}.{}/32\nallowed_ip=fd19::{:x}:{:x}/128\n",
        0, i + 1, kPskHex, i >> 16, i & 0xffff, (i >> 8) & 255, i & 255, i >> 16, i & 0xffff);
  }
  req += "\n";
  EXPECT_EQ(Request(req, milliseconds(60'000)), "errno=0\n\n");  // -90 over the bound
}

// Stalled clients are closed after the idle timeout; beyond max_connections new clients wait
// in the backlog instead of taking more threads, and are served once a slot frees.
TEST_F(ServerTest, StalledClientsAreClosedAndBounded) {
  ServerOptions options;
  options.max_connections = 2;
  options.idle_timeout = milliseconds(300);
  StartServer(options);
  UniqueFd idle = Connect();
  UniqueFd half = Connect();
  Send(half.get(), "set=1\nlisten_port=1");  // and then nothing
  std::this_thread::sleep_for(milliseconds(50));
  UniqueFd third = Connect();
  Send(third.get(), "get=1\n\n");
  EXPECT_EQ(ReadReply(third.get(), milliseconds(150)), "");  // no third thread meanwhile
  EXPECT_TRUE(ClosedWithin(idle.get(), milliseconds(2000)));
  EXPECT_TRUE(ClosedWithin(half.get(), milliseconds(2000)));
  EXPECT_NE(ReadReply(third.get()).find("errno=0\n\n"), std::string::npos);
}

// Stop() returns at once with a client stalled mid-request and one that does not read a reply
// larger than the socket buffer.
TEST_F(ServerTest, StopDoesNotWaitForStalledClients) {
  std::string peers = "set=1\n";
  for (int i = 0; i < 4000; ++i) peers += fmt::format("public_key={:064x}\n", i + 1);
  StartServer();
  ASSERT_EQ(Request(peers + "\n"), "errno=0\n\n");
  UniqueFd half = Connect();
  Send(half.get(), "set=1\nlisten_port=1\n");
  UniqueFd deaf = Connect();
  for (int i = 0; i < 8; ++i) Send(deaf.get(), "get=1\n\n");
  std::this_thread::sleep_for(milliseconds(200));
  const auto t0 = Clock::now();
  server_->Stop();
  EXPECT_LT(Clock::now() - t0, milliseconds(1000));
}

// Key hex passes through request buffers, lines and the get=1 reply: none is freed unwiped.
TEST_F(ServerTest, KeyHexIsWipedBeforeBuffersAreFreed) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd client(fds[0]), served(fds[1]);
  Server server(UniqueFd(), "", *device_);
  const std::vector<std::string> patterns = {kPrivHex, kPskHex};
  g_unwiped_frees = 0;
  std::thread thread([&] {
    t_watch = &patterns;
    server.ServeConnection(served.get());
    t_watch = nullptr;
  });
  Send(client.get(), "set=1\nprivate_key=" + kPrivHex + "\npublic_key=" + kPeerHex +
                         "\npreshared_key=" + kPskHex + "\n\n");
  EXPECT_EQ(ReadReply(client.get()), "errno=0\n\n");
  Send(client.get(), "get=1\n\n");
  EXPECT_NE(ReadReply(client.get()).find(kPskHex), std::string::npos);
  Send(client.get(), "set=1\nprivate_key " + kPrivHex + "\n\n");  // a bad line, key and all
  EXPECT_EQ(ReadReply(client.get()), fmt::format("errno={}\n\n", kErrnoProtocol));
  client.reset();
  thread.join();
  EXPECT_EQ(g_unwiped_frees.load(), 0);
}

// Lines that may hold a key (no '=', a base64 key pasted as a line, an op that forgot set=1)
// reach the log as a line number and key name only.
TEST_F(ServerTest, LogNeverHoldsLineContents) {
  StartServer();
  const std::string b64 = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
  const LogLevel old_level = GetLogLevel();
  SetLogLevel(LogLevel::kVerbose);
  ::testing::internal::CaptureStderr();
  const std::string no_eq = Request("set=1\nprivate_key " + kPrivHex + "\n\n");
  const std::string pasted = Request("set=1\n" + b64 + "\n\n");
  const std::string no_op = Request("private_key=" + kPrivHex + "\n\n");
  const std::string log = ::testing::internal::GetCapturedStderr();
  SetLogLevel(old_level);
  EXPECT_EQ(no_eq, fmt::format("errno={}\n\n", kErrnoProtocol));
  EXPECT_EQ(pasted, fmt::format("errno={}\n\n", kErrnoInvalid));
  EXPECT_EQ(no_op, "");
  EXPECT_NE(log.find("line 1"), std::string::npos) << log;
  EXPECT_EQ(log.find(kPrivHex.substr(0, 12)), std::string::npos) << log;
  EXPECT_EQ(log.find(b64.substr(0, 12)), std::string::npos) << log;
}

}  // namespace
}  // namespace tundra::uapi
