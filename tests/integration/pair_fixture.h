// PairTest: two Devices in one process, joined by FakeBind and fed by FakeTun, configured
// through the UAPI text parser, with a FakeClock driving every timer (wireguard-go
// device_test.go genTestPair, in C++). Shared by the integration test files.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "packets.h"
#include "tundra/base/fake_clock.h"
#include "tundra/base/log.h"
#include "tundra/crypto/key_text.h"
#include "tundra/crypto/x25519.h"
#include "tundra/device/device.h"
#include "tundra/transport/fake_bind.h"
#include "tundra/tun/fake_tun.h"
#include "tundra/uapi/protocol.h"

namespace tundra::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

template <typename F>
inline bool WaitFor(F&& f, milliseconds timeout = milliseconds(5000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return f();
}

struct Side {
  std::string name, underlay, inner4, inner6;
  uint16_t port = 0;
  crypto::PrivateKey key;
  crypto::PublicKey pub{};
  tun::FakeTun* tun = nullptr;
  transport::FakeBind* bind = nullptr;
  std::unique_ptr<device::Device> dev;
};

class PairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogLevel(LogLevel::kError);
    Init(a_, "a", "198.18.0.1", "198.19.0.1", "fd19::1", 51820);
    Init(b_, "b", "198.18.0.2", "198.19.0.2", "fd19::2", 51821);
  }
  void TearDown() override {
    if (a_.dev) a_.dev->Close();
    if (b_.dev) b_.dev->Close();
  }

  void Init(Side& s, std::string name, std::string underlay, std::string inner4, std::string inner6,
            uint16_t port, size_t max_queued_handshakes = 1024) {
    s.name = name;
    s.underlay = underlay;
    s.inner4 = inner4;
    s.inner6 = inner6;
    s.port = port;
    s.key = crypto::GeneratePrivateKey();
    s.pub = crypto::PublicFromPrivate(s.key);
    auto tun = tun::FakeTun::Create("tun-" + name);
    ASSERT_TRUE(tun.ok());
    s.tun = tun->get();
    auto bind = std::make_unique<transport::FakeBind>(net_, underlay);
    s.bind = bind.get();
    device::DeviceOptions opts;
    opts.name = name;
    opts.clock = &clock_;
    opts.max_queued_handshakes = max_queued_handshakes;
    if (peer_events_) {
      opts.on_peer_event = [this, name](const device::PeerEvent& e) { peer_events_(name, e); };
    }
    s.dev = std::make_unique<device::Device>(std::move(*tun), std::move(bind), opts);
  }

  // kill -9 and restart: a new device for `s` with the same key, address and port, and no
  // state (the caller configures and starts it).
  void Restart(Side& s) {
    s.dev->Close();
    s.dev.reset();
    const crypto::PrivateKey key = s.key;
    Init(s, s.name, s.underlay, s.inner4, s.inner6, s.port);
    s.key = key;
    s.pub = crypto::PublicFromPrivate(key);
  }

  // The UAPI text a `wg setconf` would send for `me` with one peer `peer`.
  std::vector<std::string> Config(const Side& me, const Side& peer) {
    return {"private_key=" + ToHex(me.key.span()),
            "listen_port=" + std::to_string(me.port),
            "replace_peers=true",
            "public_key=" + ToHex(peer.pub),
            "endpoint=" + peer.underlay + ":" + std::to_string(peer.port),
            "replace_allowed_ips=true",
            "allowed_ip=" + peer.inner4 + "/32",
            "allowed_ip=" + peer.inner6 + "/128"};
  }

  void Apply(Side& s, const std::vector<std::string>& lines) {
    uapi::SetRequest req = uapi::ParseSet(lines);
    ASSERT_EQ(req.error, 0) << req.error_detail;
    Status st = s.dev->Apply(req.update);
    ASSERT_TRUE(st.ok()) << st.error().message();
  }

  // Configures both sides (each with `a_extra` / `b_extra` appended to its peer's lines, e.g.
  // "tundra_compression=lz4") and starts them.
  void StartBoth(const std::vector<std::string>& a_extra = {},
                 const std::vector<std::string>& b_extra = {}) {
    auto a = Config(a_, b_), b = Config(b_, a_);
    a.insert(a.end(), a_extra.begin(), a_extra.end());
    b.insert(b.end(), b_extra.begin(), b_extra.end());
    Apply(a_, a);
    Apply(b_, b);
    ASSERT_TRUE(a_.dev->Start().ok());
    ASSERT_TRUE(b_.dev->Start().ok());
  }
  static std::vector<std::string> CompressionLine(const std::string& setting) {
    if (setting.empty()) return {};
    return {"tundra_compression=" + setting};
  }

  // Injects a ping into `from`'s TUN and waits until the identical bytes come out of `to`'s
  // TUN (other packets still in flight may come out too).
  ::testing::AssertionResult Ping(Side& from, Side& to, uint16_t seq, bool v6 = false,
                                  milliseconds wait = milliseconds(5000)) {
    auto pkt = v6 ? Ping6(from.inner6, to.inner6, seq) : Ping4(from.inner4, to.inner4, seq);
    to.tun->TakeWritten();
    from.tun->Inject(pkt);
    bool found = false;
    WaitFor(
        [&] {
          for (const auto& w : to.tun->TakeWritten()) found |= w == pkt;
          return found;
        },
        wait);
    if (!found) {
      return ::testing::AssertionFailure()
             << "ping " << seq << " " << from.name << "->" << to.name << " not delivered; drops "
             << DropSummary(from) << " | " << DropSummary(to);
    }
    return ::testing::AssertionSuccess();
  }

  // Ping, and while it is not delivered let a retransmission's REKEY_TIMEOUT pass and ping
  // again (up to `rounds` tries). For the moment after a jump of the fake clock that landed
  // while a handshake was in flight: both clocks stand still, so the retransmission carries the
  // same TAI64N as the initiation it repeats and only the next one gets through, as a slow
  // network would see it.
  ::testing::AssertionResult PingRecovering(Side& from, Side& to, uint16_t seq, int rounds = 3) {
    ::testing::AssertionResult r = ::testing::AssertionFailure();
    for (int i = 0; i < rounds; ++i) {
      if (i > 0) Advance(seconds(6));
      r = Ping(from, to, seq, false, milliseconds(2000));
      if (r) return r;
    }
    return r;
  }

  // Waits (up to 2 s, not an assertion) until every initiation `s` sent has become a session:
  // the handshake in flight completes before the test moves the fake clock again. A test that
  // jumps 10 s per step otherwise outruns a loaded machine's round trip, and the jump makes the
  // next request a second initiation that crosses the first (stale or flood at the peer).
  void SettleHandshakes(const Side& s) {
    WaitFor(
        [&] {
          const auto c = Peer(s).counters;
          return c.handshakes >= c.initiations_sent;
        },
        milliseconds(2000));
  }

  static std::string DropSummary(const Side& s) {
    std::string out = s.name + ":";
    auto d = s.dev->GetDropCounters();
    for (size_t i = 1; i < d.size(); ++i) {
      if (d[i])
        out += " " + std::string(proto::DropReasonName(proto::DropReason(i))) + "=" +
               std::to_string(d[i]);
    }
    return out;
  }

  static device::PeerStatus Peer(const Side& s) {
    auto st = s.dev->GetStatus();
    EXPECT_EQ(st.peers.size(), 1u);
    return st.peers.empty() ? device::PeerStatus{} : st.peers[0];
  }

  void Advance(Duration d) {
    clock_.Advance(d);
    a_.dev->PokeTimers();
    b_.dev->PokeTimers();
  }

  static uint32_t TypeOf(ByteSpan d) { return d.size() >= 4 ? LoadLe32(d.data()) : 0; }

  // Starts both devices, pings A -> B and returns the first data message (with a payload)
  // that crossed the network: a real message under a live receiver index.
  std::vector<uint8_t> StartAndCaptureDataMessage() {
    auto captured = std::make_shared<std::pair<std::mutex, std::vector<uint8_t>>>();
    net_.set_filter([captured](const transport::Endpoint&, const transport::Endpoint&, ByteSpan d) {
      std::lock_guard lock(captured->first);
      if (TypeOf(d) == 4 && d.size() > 32 && captured->second.empty()) {
        captured->second.assign(d.begin(), d.end());
      }
      return true;
    });
    StartBoth();
    EXPECT_TRUE(Ping(a_, b_, 1));
    std::lock_guard lock(captured->first);
    EXPECT_FALSE(captured->second.empty());
    return captured->second;
  }

  FakeClock clock_;
  transport::FakeNetwork net_;
  Side a_, b_;
  // Set before SetUp() to receive each device's peer up/down events (with its side's name).
  std::function<void(const std::string&, const device::PeerEvent&)> peer_events_;
};

}  // namespace tundra::testing
