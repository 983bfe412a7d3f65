// Opt-in compression (Compression = lz4|zstd, docs/compression.md) on two in-process devices:
// compressible packets are counted smaller on the wire and arrive byte-exact, incompressible
// ones go as they are, nothing is compressed unless both ends configure it, and a fake peer
// (a handshake made with the proto layer, then crafted plaintexts sealed under its session)
// shows that a decompression bomb and every malformed frame are counted drops.
#include "tundra/device/compression.h"

#include <gtest/gtest.h>
#include <lz4.h>

#include <algorithm>
#include <mutex>
#include <random>

#include "pair_fixture.h"
#include "tundra/compress/codec.h"
#include "tundra/proto/cookie.h"
#include "tundra/proto/handshake.h"
#include "tundra/proto/keypair.h"
#include "tundra/proto/messages.h"
#include "tundra/proto/tai64n.h"

namespace tundra {
namespace {

using testing::milliseconds;
using testing::PairTest;
using testing::Udp4;
using testing::WaitFor;

std::vector<uint8_t> Compressible(size_t n) {
  const std::string line = "GET /logs/2026-12-03/tundra.log HTTP/1.1 200 OK\n";
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = uint8_t(line[i % line.size()]);
  return p;
}

std::vector<uint8_t> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> p(n);
  for (auto& b : p) b = uint8_t(rng());
  return p;
}

class CompressionTest : public PairTest {
 protected:
  void SetUp() override {
    PairTest::SetUp();
    // The size of every data message A sends to B (type 4).
    net_.set_filter(
        [this](const transport::Endpoint& from, const transport::Endpoint&, ByteSpan d) {
          if (TypeOf(d) == 4 && from.ToString().starts_with(a_.underlay)) {
            std::lock_guard lock(mu_);
            a_sent_.push_back(d.size());
          }
          return true;
        });
  }

  void StartWith(const std::string& a_setting, const std::string& b_setting) {
    ASSERT_NO_FATAL_FAILURE(StartBoth(CompressionLine(a_setting), CompressionLine(b_setting)));
    ASSERT_TRUE(Ping(a_, b_, 1));
  }

  // Sends one UDP packet A -> B; returns the size of the data message that carried it (the
  // largest A sent meanwhile), after checking that B's TUN wrote exactly the same bytes.
  size_t SendAndMeasure(const std::vector<uint8_t>& payload) {
    const auto pkt = Udp4(a_.inner4, 4000, b_.inner4, 5000, payload);
    {
      std::lock_guard lock(mu_);
      a_sent_.clear();
    }
    b_.tun->TakeWritten();
    a_.tun->Inject(pkt);
    bool found = false;
    WaitFor([&] {
      for (const auto& w : b_.tun->TakeWritten()) found |= w == pkt;
      return found;
    });
    EXPECT_TRUE(found) << DropSummary(a_) << " | " << DropSummary(b_);
    std::lock_guard lock(mu_);
    return a_sent_.empty() ? 0 : *std::max_element(a_sent_.begin(), a_sent_.end());
  }

  std::mutex mu_;
  std::vector<size_t> a_sent_;  // guarded by mu_
};

TEST_F(CompressionTest, CompressibleIsSmallerOnTheWireAndArrivesExact) {
  StartWith("lz4", "lz4");
  // The hellos cross after the handshake; then A compresses.
  ASSERT_TRUE(WaitFor([&] { return Peer(a_).compression_active; }));
  ASSERT_TRUE(WaitFor([&] { return Peer(b_).compression_active; }));
  const auto payload = Compressible(1200);
  const size_t wire = SendAndMeasure(payload);
  EXPECT_GT(wire, 0u);
  EXPECT_LT(wire, 400u) << "1228-byte packet not compressed";
  const device::PeerStatus a = Peer(a_), b = Peer(b_);
  EXPECT_EQ(a.compression, (compress::Setting{compress::Algorithm::kLz4, 0}));
  EXPECT_GE(a.counters.compress_tx_compressed, 1u);
  EXPECT_GT(a.counters.compress_tx_before, a.counters.compress_tx_after);
  EXPECT_EQ(b.counters.compress_rx_packets, 1u);
  EXPECT_EQ(b.counters.compress_rx_after, 1228u);
  EXPECT_LT(b.counters.compress_rx_before, 400u);
  EXPECT_EQ(b.counters.dropped, 0u) << DropSummary(b_);
}

TEST_F(CompressionTest, ZstdWithALevelToo) {
  StartWith("zstd:3", "zstd:3");
  ASSERT_TRUE(WaitFor([&] { return Peer(a_).compression_active; }));
  EXPECT_LT(SendAndMeasure(Compressible(1300)), 400u);
  EXPECT_EQ(Peer(b_).counters.compress_rx_packets, 1u);
}

TEST_F(CompressionTest, IncompressibleGoesAsItIs) {
  StartWith("lz4", "lz4");
  ASSERT_TRUE(WaitFor([&] { return Peer(a_).compression_active; }));
  const device::PeerCounterValues before = Peer(a_).counters;
  const size_t wire = SendAndMeasure(Random(1200, 7));
  // 1228 bytes of packet, padded to 1232, plus 32 bytes of header and tag.
  EXPECT_EQ(wire, 1264u);
  const device::PeerCounterValues after = Peer(a_).counters;
  EXPECT_EQ(after.compress_tx_packets - before.compress_tx_packets, 1u);
  EXPECT_EQ(after.compress_tx_compressed, before.compress_tx_compressed);
  EXPECT_EQ(after.compress_tx_before - before.compress_tx_before, 1228u);
  EXPECT_EQ(after.compress_tx_after - before.compress_tx_after, 1228u);
  EXPECT_EQ(Peer(b_).counters.compress_rx_packets, 0u);
}

TEST_F(CompressionTest, NothingCompressedWhenOnlyOneSideConfiguresIt) {
  StartWith("lz4", "");
  // B got A's hello (and ignored it: it has no Compression); A never gets one.
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(Peer(a_).compression_active);
  const size_t wire = SendAndMeasure(Compressible(1200));
  EXPECT_EQ(wire, 1264u);
  EXPECT_EQ(Peer(a_).counters.compress_tx_packets, 0u);
  EXPECT_EQ(Peer(b_).counters.dropped, 0u) << DropSummary(b_);
}

TEST_F(CompressionTest, NothingCompressedWhenTheAlgorithmsDiffer) {
  StartWith("lz4", "zstd");
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(Peer(a_).compression_active);
  EXPECT_FALSE(Peer(b_).compression_active);
  EXPECT_EQ(SendAndMeasure(Compressible(1200)), 1264u);
}

TEST_F(CompressionTest, ChangingTheSettingStartsANewSession) {
  StartWith("lz4", "lz4");
  ASSERT_TRUE(WaitFor([&] { return Peer(a_).compression_active; }));
  Apply(b_, {"public_key=" + ToHex(a_.pub), "tundra_compression=none"});
  EXPECT_FALSE(Peer(b_).compression_active);
  // A's next packet finds no session at B (B cleared its sessions), a new handshake follows,
  // and in it B sends no hello: A stops compressing.
  ASSERT_TRUE(PingRecovering(a_, b_, 2));
  ASSERT_TRUE(WaitFor([&] { return !Peer(a_).compression_active; }));
  EXPECT_EQ(SendAndMeasure(Compressible(1200)), 1264u);
  EXPECT_EQ(b_.dev->drops().Get(proto::DropReason::kDecompressNotEnabled), 0u);
}

// --- a fake peer: F, known to B, speaking through the proto layer ---

class FakePeerTest : public PairTest {
 protected:
  static constexpr const char* kF = "198.18.0.9";
  static constexpr const char* kFInner = "198.19.0.9";
  static constexpr uint16_t kFPort = 51829;

  void SetUp() override {
    PairTest::SetUp();
    f_ = proto::StaticIdentity::FromPrivateKey(crypto::GeneratePrivateKey());
    Apply(b_, {"private_key=" + ToHex(b_.key.span()), "listen_port=" + std::to_string(b_.port),
               "public_key=" + ToHex(f_.public_key),
               "endpoint=" + std::string(kF) + ":" + std::to_string(kFPort),
               "allowed_ip=" + std::string(kFInner) + "/32", "tundra_compression=lz4"});
    ASSERT_TRUE(b_.dev->Start().ok());
    // F's address exists on the network (the filters read what B sends it, then drop it).
    f_bind_ = std::make_unique<transport::FakeBind>(net_, kF);
    ASSERT_TRUE(f_bind_->Open(kFPort).ok());
    from_ = *transport::Endpoint::Parse(std::string(kF) + ":" + std::to_string(kFPort));
    to_ = *transport::Endpoint::Parse(b_.underlay + ":" + std::to_string(b_.port));
  }

  // F initiates, B answers (captured on the network), F derives the session.
  void Handshake() {
    auto response = std::make_shared<std::pair<std::mutex, std::vector<uint8_t>>>();
    net_.set_filter(
        [response](const transport::Endpoint&, const transport::Endpoint& to, ByteSpan d) {
          if (to.ToString().starts_with(kF) && TypeOf(d) == 2) {
            std::lock_guard lock(response->first);
            response->second.assign(d.begin(), d.end());
          }
          return !to.ToString().starts_with(kF);
        });
    proto::Handshake h;
    ASSERT_TRUE(h.Configure(f_, b_.pub));
    proto::MessageInitiation init;
    ASSERT_EQ(h.CreateInitiation(f_, kFIndex, proto::Tai64nNow(clock_.WallNow()), init),
              proto::DropReason::kNone);
    proto::CookieJar jar;
    jar.SetRemotePublicKey(b_.pub);
    jar.AddMacs(proto::AsMutableBytes(init), clock_.Now());
    ASSERT_TRUE(net_.Inject(from_, to_, proto::AsBytes(init)));
    ASSERT_TRUE(WaitFor([&] {
      std::lock_guard lock(response->first);
      return !response->second.empty();
    }));
    proto::MessageResponse resp;
    {
      std::lock_guard lock(response->first);
      ASSERT_EQ(response->second.size(), sizeof(resp));
      std::memcpy(&resp, response->second.data(), sizeof(resp));
    }
    ASSERT_EQ(h.ConsumeResponse(f_, resp), proto::DropReason::kNone);
    proto::SessionKeys keys;
    ASSERT_TRUE(h.BeginSession(keys));
    keypair_ = std::make_unique<proto::Keypair>(keys, clock_.Now());
  }

  // Seals `plain` under F's session and sends it to B.
  void Send(const std::vector<uint8_t>& plain) {
    std::vector<uint8_t> buf(proto::kDataHeaderSize + plain.size() + proto::kPaddingMultiple +
                             proto::kAeadTagLen);
    std::memcpy(buf.data() + proto::kDataHeaderSize, plain.data(), plain.size());
    const size_t padded = proto::PaddedLength(plain.size(), 65535);
    const size_t n = proto::SealDataMessage(*keypair_, counter_++, buf, plain.size(), padded);
    ASSERT_TRUE(net_.Inject(from_, to_, ByteSpan(buf.data(), n)));
  }

  // A compressed packet as the codec frames it: marker, length, lz4 block of `packet`.
  static std::vector<uint8_t> Lz4Frame(const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> out(compress::kHeaderSize + size_t(LZ4_compressBound(int(packet.size()))));
    const int n = LZ4_compress_default(reinterpret_cast<const char*>(packet.data()),
                                       reinterpret_cast<char*>(out.data() + 3), int(packet.size()),
                                       int(out.size() - 3));
    out[0] = compress::kMarkerLz4;
    out[1] = uint8_t(n >> 8);
    out[2] = uint8_t(n);
    out.resize(compress::kHeaderSize + size_t(n));
    return out;
  }

  uint64_t Drops(proto::DropReason r) const { return b_.dev->drops().Get(r); }

  // Sends `plain` and waits until B counted it as a drop for `r` (or wrote it to the TUN).
  ::testing::AssertionResult DroppedAs(const std::vector<uint8_t>& plain, proto::DropReason r) {
    const uint64_t before = Drops(r);
    Send(plain);
    if (!WaitFor([&] { return Drops(r) == before + 1; }, milliseconds(3000))) {
      return ::testing::AssertionFailure()
             << "not dropped as " << proto::DropReasonName(r) << ": " << DropSummary(b_);
    }
    auto written = b_.tun->TakeWritten();
    if (!written.empty()) return ::testing::AssertionFailure() << "the TUN got a packet";
    return ::testing::AssertionSuccess();
  }

  static constexpr uint32_t kFIndex = 0x5eed;
  proto::StaticIdentity f_;
  transport::Endpoint from_, to_;
  std::unique_ptr<transport::FakeBind> f_bind_;
  std::unique_ptr<proto::Keypair> keypair_;
  uint64_t counter_ = 0;
};

TEST_F(FakePeerTest, CompressedPacketFromAPeerIsDecompressedAndSourceChecked) {
  ASSERT_NO_FATAL_FAILURE(Handshake());
  const auto pkt = Udp4(kFInner, 4000, b_.inner4, 5000, Compressible(1000));
  Send(Lz4Frame(pkt));
  std::vector<std::vector<uint8_t>> got;
  ASSERT_TRUE(WaitFor([&] {
    for (auto& w : b_.tun->TakeWritten()) got.push_back(std::move(w));
    return !got.empty();
  })) << DropSummary(b_);
  EXPECT_EQ(got[0], pkt);
  EXPECT_EQ(Peer(b_).counters.compress_rx_after, pkt.size());
  // Decompressed packets pass the same allowed-IPs check as any: a source outside F's.
  EXPECT_TRUE(DroppedAs(Lz4Frame(Udp4("198.19.0.77", 4000, b_.inner4, 5000, Compressible(1000))),
                        proto::DropReason::kSourceNotAllowed));
}

TEST_F(FakePeerTest, DecompressionIsBoundedByTheLargestPacketNotTheMtu) {
  ASSERT_NO_FATAL_FAILURE(Handshake());
  // A 60,000-byte packet (a peer with a larger MTU may send one; B would take it uncompressed
  // too): a few hundred bytes as lz4, delivered.
  std::vector<uint8_t> big = Udp4(kFInner, 4000, b_.inner4, 5000, std::vector<uint8_t>(59972));
  ASSERT_EQ(big.size(), 60000u);
  const auto frame = Lz4Frame(big);
  ASSERT_LT(frame.size(), 400u);
  Send(frame);
  std::vector<std::vector<uint8_t>> got;
  ASSERT_TRUE(WaitFor([&] {
    for (auto& w : b_.tun->TakeWritten()) got.push_back(std::move(w));
    return !got.empty();
  })) << DropSummary(b_);
  EXPECT_EQ(got[0], big);
  // Beyond the largest packet (kMaxDecompressed, 65535) is a counted drop, never a bigger
  // buffer; exactly the largest decompresses (and then fails the IP check: no 65535-byte
  // packet of zeros is an IP packet).
  EXPECT_TRUE(DroppedAs(Lz4Frame(std::vector<uint8_t>(device::kMaxDecompressed + 1)),
                        proto::DropReason::kDecompressBomb));
  EXPECT_TRUE(
      DroppedAs(Lz4Frame(std::vector<uint8_t>(1 << 20)), proto::DropReason::kDecompressBomb));
  EXPECT_TRUE(DroppedAs(Lz4Frame(std::vector<uint8_t>(device::kMaxDecompressed)),
                        proto::DropReason::kInvalidPacket));
  EXPECT_EQ(Peer(b_).counters.compress_rx_packets, 2u);
  EXPECT_GE(Peer(b_).counters.dropped, 3u);
  // A batch of several large ones is carved from the receive path's chunks.
  for (int i = 0; i < 8; ++i) Send(frame);
  got.clear();
  ASSERT_TRUE(WaitFor([&] {
    for (auto& w : b_.tun->TakeWritten()) got.push_back(std::move(w));
    return got.size() == 8;
  })) << DropSummary(b_);
  for (const auto& g : got) EXPECT_EQ(g, big);
}

TEST_F(FakePeerTest, MalformedFramesAreCountedByReason) {
  ASSERT_NO_FATAL_FAILURE(Handshake());
  const auto pkt = Udp4(kFInner, 4000, b_.inner4, 5000, Compressible(1000));
  auto frame = Lz4Frame(pkt);
  // The length says more than the plaintext holds (the padding is zeros, so beyond it).
  auto truncated = frame;
  truncated[1] = 0xff;
  EXPECT_TRUE(DroppedAs(truncated, proto::DropReason::kDecompressTruncated));
  // A marker of ours this build does not know.
  auto unknown = frame;
  unknown[0] = 0x17;
  EXPECT_TRUE(DroppedAs(unknown, proto::DropReason::kDecompressUnknown));
  // zstd, which B did not configure for F.
  auto zstd = frame;
  zstd[0] = compress::kMarkerZstd;
  EXPECT_TRUE(DroppedAs(zstd, proto::DropReason::kDecompressNotEnabled));
  // Bytes lz4 rejects.
  auto corrupt = frame;
  std::fill(corrupt.begin() + 3, corrupt.end(), uint8_t(0xf0));
  EXPECT_TRUE(DroppedAs(corrupt, proto::DropReason::kDecompressCorrupt));
  // Neither IP nor ours.
  EXPECT_TRUE(DroppedAs({0x30, 1, 2, 3}, proto::DropReason::kInvalidPacket));
  // An L2 message (TAP mode's, docs/l2.md) on this TUN-mode device: its own reason.
  const uint64_t on_tun = b_.dev->GetL2DropCounters()[size_t(l2::DropReason::kFrameOnTun)];
  Send({0x20, 0, 14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
  EXPECT_TRUE(WaitFor([&] {
    return b_.dev->GetL2DropCounters()[size_t(l2::DropReason::kFrameOnTun)] == on_tun + 1;
  }));
  // A valid one still passes afterwards.
  Send(frame);
  ASSERT_TRUE(WaitFor([&] { return !b_.tun->TakeWritten().empty(); })) << DropSummary(b_);
}

TEST_F(FakePeerTest, CompressedFramesWithoutCompressionConfiguredAreCountedByReason) {
  Apply(b_, {"public_key=" + ToHex(f_.public_key), "tundra_compression=none"});
  ASSERT_NO_FATAL_FAILURE(Handshake());
  const auto frame = Lz4Frame(Udp4(kFInner, 4000, b_.inner4, 5000, Compressible(1000)));
  EXPECT_TRUE(DroppedAs(frame, proto::DropReason::kDecompressNotEnabled));
  auto zstd = frame;
  zstd[0] = compress::kMarkerZstd;
  EXPECT_TRUE(DroppedAs(zstd, proto::DropReason::kDecompressNotEnabled));
  auto unknown = frame;
  unknown[0] = 0x17;  // no build knows it: unknown, configured or not
  EXPECT_TRUE(DroppedAs(unknown, proto::DropReason::kDecompressUnknown));
}

TEST_F(FakePeerTest, HelloIsAnsweredWithAHello) {
  ASSERT_NO_FATAL_FAILURE(Handshake());
  auto hello = std::make_shared<std::pair<std::mutex, std::vector<uint8_t>>>();
  net_.set_filter([hello](const transport::Endpoint&, const transport::Endpoint& to, ByteSpan d) {
    if (to.ToString().starts_with(kF) && TypeOf(d) == 4) {
      std::lock_guard lock(hello->first);
      if (hello->second.empty()) hello->second.assign(d.begin(), d.end());
    }
    return !to.ToString().starts_with(kF);
  });
  Send({compress::kMarkerHello, compress::kHelloLz4 | compress::kHelloWantAnswer});
  ASSERT_TRUE(WaitFor([&] { return Peer(b_).compression_active; }));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(hello->first);
    return !hello->second.empty();
  }));
  std::vector<uint8_t> msg;
  {
    std::lock_guard lock(hello->first);
    msg = hello->second;
  }
  ASSERT_TRUE(proto::OpenDataMessage(*keypair_, msg));
  EXPECT_EQ(msg[proto::kDataHeaderSize], compress::kMarkerHello);
  // Ours, with "I have yours", asking for an answer (F has not said it has ours).
  EXPECT_EQ(msg[proto::kDataHeaderSize + 1],
            compress::kHelloLz4 | compress::kHelloAck | compress::kHelloWantAnswer);
  // B now compresses to F.
  b_.tun->Inject(Udp4(b_.inner4, 5000, kFInner, 4000, Compressible(1000)));
  EXPECT_TRUE(WaitFor([&] { return Peer(b_).counters.compress_tx_compressed == 1; }));
}

TEST_F(FakePeerTest, AHelloThatAsksForNoAnswerGetsNone) {
  ASSERT_NO_FATAL_FAILURE(Handshake());
  auto hellos = std::make_shared<std::atomic<int>>(0);
  net_.set_filter([hellos](const transport::Endpoint&, const transport::Endpoint& to, ByteSpan d) {
    if (to.ToString().starts_with(kF) && TypeOf(d) == 4 && d.size() == 48) ++*hellos;
    return !to.ToString().starts_with(kF);
  });
  // F says it has B's hello and does not ask for one: B records F's algorithms, stops sending
  // its own, and has nothing to answer.
  Send({compress::kMarkerHello, compress::kHelloLz4 | compress::kHelloAck});
  ASSERT_TRUE(WaitFor([&] { return Peer(b_).compression_active; }));
  b_.tun->Inject(Udp4(b_.inner4, 5000, kFInner, 4000, Compressible(1000)));
  EXPECT_TRUE(WaitFor([&] { return Peer(b_).counters.compress_tx_compressed == 1; }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(hellos->load(), 0);
}

}  // namespace
}  // namespace tundra
