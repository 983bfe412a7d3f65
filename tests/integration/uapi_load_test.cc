// Slow and hostile UAPI clients against the data path: B's device is served by the UAPI server
// the daemon runs (uapi::Server on a real unix socket, in a temporary directory), while A and
// B carry pings over FakeBind.
#include <fmt/core.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "pair_fixture.h"
#include "tundra/uapi/server.h"
#include "tundra/uapi/test_client.h"

namespace tundra {
namespace {

using testing::milliseconds;
using Clock = std::chrono::steady_clock;
using uapi::testing::ReadReply;
using uapi::testing::SendAll;

class UapiLoadTest : public testing::PairTest {
 protected:
  void SetUp() override {
    PairTest::SetUp();
    char tmpl[] = "/tmp/tundra-uapi-load-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (server_) server_->Stop();  // also wakes the stalled connection
    server_.reset();
    PairTest::TearDown();
    ::rmdir(dir_.c_str());
  }
  void StartServer(testing::Side& s, uapi::ServerOptions options) {
    auto listener = uapi::Listen("tl0", dir_);
    ASSERT_TRUE(listener.ok()) << listener.error().message();
    server_ = std::make_unique<uapi::Server>(std::move(*listener), uapi::SocketPath("tl0", dir_),
                                             *s.dev, options);
    ASSERT_TRUE(server_->Start().ok());
  }
  UniqueFd Connect() { return uapi::testing::ConnectUnix(uapi::SocketPath("tl0", dir_)); }
  std::string Request(std::string_view request) {
    UniqueFd fd = Connect();
    if (!SendAll(fd.get(), request)) return "(send failed)";
    return ReadReply(fd.get());
  }

  std::string dir_;
  std::unique_ptr<uapi::Server> server_;
};

// One client stalls in the middle of a set=1 line (for longer than the test: its idle timeout is
// raised to a minute), another streams more than 100 MB of garbage lines after set=1
// (reconnecting each time the server cuts it off at kMaxSetRequestBytes) and goes on until the
// checks are done. Meanwhile pings cross the tunnel both ways and a third client's config write
// and get are served, each within a bound; nothing of either bad client is applied.
TEST_F(UapiLoadTest, StalledAndGarbageClientsBlockNeitherTrafficNorOtherClients) {
  StartBoth();
  ASSERT_TRUE(Ping(a_, b_, 1));
  uapi::ServerOptions options;
  options.idle_timeout = milliseconds(60'000);
  StartServer(b_, options);

  UniqueFd stalled = Connect();
  ASSERT_TRUE(SendAll(stalled.get(), "set=1\nlisten_port=1"));  // and then nothing

  constexpr size_t kGarbage = size_t{100} << 20;
  std::atomic<size_t> garbage_sent{0};
  std::atomic<int> connections{0}, cut_offs{0};
  std::atomic<bool> checks_done{false};
  std::thread flooder([&] {
    std::string chunk;
    const std::string line = std::string(1023, '#') + "\n";
    while (chunk.size() < (size_t{1} << 20)) chunk += line;
    auto more = [&] { return garbage_sent.load() < kGarbage || !checks_done.load(); };
    while (more()) {
      UniqueFd fd = Connect();
      ++connections;
      if (!SendAll(fd.get(), "set=1\n")) break;
      while (more() && SendAll(fd.get(), chunk, milliseconds(200))) garbage_sent += chunk.size();
      if (!more()) break;
      // Cut off: the server answers EMSGSIZE and closes.
      if (ReadReply(fd.get(), milliseconds(200)) ==
          fmt::format("errno={}\n\n", uapi::kErrnoMsgSize))
        ++cut_offs;
    }
  });
  // Stops the flooder however the test ends (a failed ASSERT returns early).
  struct Joiner {
    std::atomic<bool>& done;
    std::thread& t;
    void Join() {
      done = true;
      if (t.joinable()) t.join();
    }
    ~Joiner() { Join(); }
  } joiner{checks_done, flooder};

  // Wait until the garbage stream is under way, then check while it goes on.
  ASSERT_TRUE(testing::WaitFor([&] { return garbage_sent.load() > (size_t{4} << 20); }));
  const size_t sent_before = garbage_sent.load();
  Clock::duration worst_ping{}, worst_request{};
  constexpr int kRounds = 30;
  for (int round = 0; round < kRounds; ++round) {
    auto t0 = Clock::now();
    EXPECT_TRUE(Ping(a_, b_, uint16_t(100 + 2 * round), false, milliseconds(3000)));
    EXPECT_TRUE(Ping(b_, a_, uint16_t(101 + 2 * round), false, milliseconds(3000)));
    worst_ping = std::max(worst_ping, (Clock::now() - t0) / 2);
    if (round % 5 != 4) continue;
    // The third client: a write to B's peer, then a get that shows it.
    const int keepalive = 10 + round;
    t0 = Clock::now();
    EXPECT_EQ(Request(fmt::format("set=1\npublic_key={}\nupdate_only=true\n"
                                  "persistent_keepalive_interval={}\n\n",
                                  ToHex(a_.pub), keepalive)),
              "errno=0\n\n");
    const std::string get = Request("get=1\n\n");
    worst_request = std::max(worst_request, (Clock::now() - t0) / 2);
    EXPECT_NE(get.find(fmt::format("persistent_keepalive_interval={}\n", keepalive)),
              std::string::npos)
        << get.substr(0, 400);
    EXPECT_NE(get.find("errno=0\n\n"), std::string::npos);
  }
  const size_t sent_during = garbage_sent.load() - sent_before;
  checks_done = true;
  EXPECT_LT(worst_ping, milliseconds(1000));
  EXPECT_LT(worst_request, milliseconds(1000));
  // The bad clients really overlapped the checks: the garbage went on throughout, and the
  // stalled connection is still open, neither answered nor closed.
  EXPECT_GT(sent_during, size_t{0});
  pollfd p = {stalled.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0) << "the stalled client was answered or closed";
  joiner.Join();
  EXPECT_GE(garbage_sent.load(), kGarbage);
  EXPECT_GE(cut_offs.load(), 1);
  EXPECT_EQ(b_.dev->GetStatus().listen_port, b_.port);
  std::fprintf(stderr,
               "garbage %zu MB over %d connections (%d cut off), %zu MB during the checks; "
               "worst ping %lld us, worst write/get %lld us\n",
               garbage_sent.load() >> 20, connections.load(), cut_offs.load(), sent_during >> 20,
               static_cast<long long>(
                   std::chrono::duration_cast<std::chrono::microseconds>(worst_ping).count()),
               static_cast<long long>(
                   std::chrono::duration_cast<std::chrono::microseconds>(worst_request).count()));
}

}  // namespace
}  // namespace tundra
