// Writes the seed corpus of the fuzz targets from the code itself: `fuzz_seeds DIR` creates
// DIR/<target>/<name> (the committed copy is tests/fuzz/corpus; netlink/ also holds replies
// captured from a kernel, see docs/security.md). Deterministic except the cookie reply's nonce.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_fixture.h"
#include "tundra/compress/codec.h"
#include "tundra/l2/frame.h"
#include "tundra/proto/keypair.h"
#include "tundra/transport/tcp_frame.h"
#include "tundra/tun/offload_testing.h"
#include "tundra/tun/pi_header.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::fuzz {
namespace {

std::filesystem::path g_root;

void Write(const std::string& target, const std::string& name, ByteSpan bytes) {
  const auto dir = g_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  TUNDRA_CHECK(out.good());
}
void Write(const std::string& target, const std::string& name, std::string_view text) {
  Write(target, name, ByteSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::vector<uint8_t> Sealed(size_t plain_len, uint64_t counter) {
  proto::SessionKeys k;
  k.send = PatternKey(31);  // fuzz_data.cc's initiator keys
  k.recv = PatternKey(63);
  k.i_am_initiator = true;
  k.local_index = kInitiatorIndex;
  k.remote_index = kResponderIndex;
  proto::Keypair sender(k, kFuzzNow);
  const size_t padded = proto::PaddedLength(plain_len, 1420);
  std::vector<uint8_t> buf(proto::kDataOverhead + padded, 0);
  for (size_t i = 0; i < plain_len; ++i) buf[proto::kDataHeaderSize + i] = uint8_t(0x45 + i);
  buf.resize(proto::SealDataMessage(sender, counter, buf, plain_len, padded));
  return buf;
}

void Proto() {
  const HandshakeWorld w;
  Write("handshake", "initiation", proto::AsBytes(w.initiation));
  Write("handshake", "response", proto::AsBytes(w.response));
  FakeClock clock;
  proto::CookieChecker checker(clock);
  checker.SetLocalPublicKey(w.responder.public_key);
  const uint8_t source[6] = {198, 18, 0, 1, 0x12, 0x34};
  proto::MessageCookieReply reply;
  checker.CreateReply(proto::AsBytes(w.initiation), w.initiation.sender_index, source, reply);
  Write("handshake", "cookie_reply", proto::AsBytes(reply));
  Write("handshake", "keepalive", Sealed(0, 0));
  Write("data", "keepalive", Sealed(0, 0));
  Write("data", "packet_84", Sealed(84, 5));
  Write("data", "packet_1420", Sealed(1420, 8200));
  std::vector<uint8_t> replay;
  for (uint8_t op : {0, 0, 1, 2, 3, 4, 0, 2, 1}) {
    replay.insert(replay.end(), {op, uint8_t(op * 37), uint8_t(op & 1)});
  }
  Write("data", "replay_ops", replay);
}

void Uapi() {
  const std::string pub(64, 'a'), psk(64, 'b'), priv(64, 'c');
  Write("uapi", "set_full",
        "private_key=" + priv + "\nlisten_port=51820\nfwmark=7\nreplace_peers=true\npublic_key=" +
            pub + "\npreshared_key=" + psk +
            "\nprotocol_version=1\nendpoint=198.18.0.2:51820\npersistent_keepalive_interval=25\n"
            "replace_allowed_ips=true\nallowed_ip=198.19.0.0/24\nallowed_ip=fd19::/64\n"
            "allowed_ip=-198.19.1.0/24\npublic_key=" +
            std::string(64, 'd') + "\nendpoint=[fd18::2]:1\nupdate_only=true\n");
  Write("uapi", "remove_peer", "public_key=" + pub + "\nremove=true\n");
  Write("uapi", "bad_line", "listen_port=1\nno equals sign here\n");
  Write("uapi", "bad_key", "private_key=" + std::string(63, 'e') + "\n");
}

void PiHeader() {
  tun::testing::PacketSpec s;
  s.payload = 20;
  for (bool v6 : {false, true}) {
    s.v6 = v6;
    std::vector<uint8_t> p = tun::testing::BuildPacket(s);
    std::vector<uint8_t> framed(tun::kPiHeaderSize);
    tun::EncodePi({0, tun::EtherTypeOfIpPacket(p)}, framed.data());
    framed.insert(framed.end(), p.begin(), p.end());
    Write("pi_header", v6 ? "ipv6" : "ipv4", framed);
  }
  const uint8_t truncated[] = {1, 0, 0x08, 0x00};  // TUN_PKT_STRIP
  Write("pi_header", "strip", ByteSpan(truncated));
}

// Mode 0 of fuzz_vnet: a TUN read (virtio_net_hdr + packet).
void Read(const std::string& name, const tun::VirtioNetHdr& h, const std::vector<uint8_t>& p) {
  std::vector<uint8_t> in(1 + tun::kVirtioNetHdrSize, 0);
  in[0] = 0;
  tun::EncodeVirtioNetHdr(h, in.data() + 1);
  in.insert(in.end(), p.begin(), p.end());
  Write("vnet", name, in);
}

void Vnet() {
  // wireguard-go's tcp4/tcp6/udp super-packet shapes (offload_linux_test.go): 2 or 3 segments.
  for (bool v6 : {false, true}) {
    for (bool tcp : {true, false}) {
      tun::testing::PacketSpec s;
      s.v6 = v6;
      s.tcp = tcp;
      s.tcp_flags = 0x18;  // ACK|PSH: only the last segment keeps PSH
      s.payload = 2500;
      const std::vector<uint8_t> p = tun::testing::BuildPacket(s);
      tun::VirtioNetHdr h;
      h.flags = tun::kVirtioNetHdrFNeedsCsum;
      h.gso_type = tcp ? (v6 ? tun::kVirtioNetHdrGsoTcpV6 : tun::kVirtioNetHdrGsoTcpV4)
                       : tun::kVirtioNetHdrGsoUdpL4;
      h.csum_start = v6 ? 40 : 20;
      h.csum_offset = tcp ? 16 : 6;
      h.hdr_len = uint16_t(h.csum_start + (tcp ? 20 : 8));
      h.gso_size = 1000;
      Read(std::string("super_") + (v6 ? "v6_" : "v4_") + (tcp ? "tcp" : "udp"), h, p);
    }
  }
  tun::testing::PacketSpec s;
  s.payload = 64;
  tun::VirtioNetHdr partial;
  partial.flags = tun::kVirtioNetHdrFNeedsCsum;
  partial.csum_start = 20;
  partial.csum_offset = 16;
  Read("needs_csum_v4_tcp", partial, tun::testing::BuildPacket(s));
  Read("plain", tun::VirtioNetHdr{}, tun::testing::BuildPacket(s));

  // Mode 1: a write batch that coalesces (gro_test's merge-then-split shape), TCP and UDP.
  for (bool tcp : {true, false}) {
    std::vector<uint8_t> batch{uint8_t(tcp ? 1 : 5)};  // mode 1; bit 2: UDP too
    for (uint32_t i = 0; i < 5; ++i) {
      tun::testing::PacketSpec b;
      b.tcp = tcp;
      b.v6 = !tcp;
      b.tcp_flags = uint8_t(i == 4 ? 0x18 : 0x10);
      b.seq = 0xfffffe00 + i * 300;
      b.ip_id = uint16_t(0xfffe + i);
      b.payload = i == 4 ? 123u : 300u;
      b.fill = uint8_t(i * 7);
      const std::vector<uint8_t> p = tun::testing::BuildPacket(b);
      batch.push_back(uint8_t(p.size()));
      batch.push_back(uint8_t(p.size() >> 8));
      batch.insert(batch.end(), p.begin(), p.end());
    }
    Write("vnet", tcp ? "batch_tcp_v4" : "batch_udp_v6", batch);
  }
  // Mode 3: records that build an in-order TCP/IPv4 stream ending in PSH, and a UDP/IPv6 one.
  for (bool tcp : {true, false}) {
    std::vector<uint8_t> records{uint8_t(tcp ? 3 : 7)};
    for (uint8_t i = 0; i < 8; ++i) {
      const uint8_t kind = tcp ? uint8_t(i == 7 ? 0x18 : 0) : 3;  // 0x18: PSH; 3: UDP/IPv6
      records.insert(records.end(), {kind, 0x19, 0, uint8_t(i * 5), 0, 0});  // 300 bytes each
    }
    Write("vnet", tcp ? "built_tcp_v4" : "built_udp_v6", records);
  }
  // Mode 2: checksum bytes.
  std::vector<uint8_t> sum{2};
  for (int i = 0; i < 77; ++i) sum.push_back(uint8_t(0xff - i * 3));
  Write("vnet", "checksum", sum);
}

// fuzz_decompress: the first byte picks the codec (bit 0: zstd) and the bound; then a frame.
void Decompress() {
  using namespace compress;
  std::vector<uint8_t> packet(1400);
  for (size_t i = 0; i < packet.size(); ++i) packet[i] = uint8_t("tundra compress seed "[i % 21]);
  packet[0] = 0x45;
  for (const Setting& s : {Setting{Algorithm::kLz4, 0}, Setting{Algorithm::kZstd, 1}}) {
    auto codec = Codec::Create(s).value();
    std::vector<uint8_t> framed(packet.size());
    framed.resize(codec->Compress(packet, framed));
    TUNDRA_CHECK(!framed.empty());
    const uint8_t pick = s.algorithm == Algorithm::kZstd ? 1 : 0;
    std::vector<uint8_t> fits{uint8_t(pick | (20 << 1))};  // bound 1464: decompresses
    fits.insert(fits.end(), framed.begin(), framed.end());
    Write("decompress", FormatSetting(s) + "_1400", fits);
    std::vector<uint8_t> bomb{pick};  // bound 64: a bomb
    bomb.insert(bomb.end(), framed.begin(), framed.end());
    Write("decompress", FormatSetting(s) + "_bomb", bomb);
  }
}

// fuzz_tcp_frame: a split byte, then a TCP stream of frames (good ones, then each kind of bad).
void TcpFrame() {
  auto frame = [](std::vector<uint8_t>& out, uint32_t type, size_t size) {
    uint8_t h[transport::kFrameHeaderSize];
    transport::EncodeFrameHeader(size, h);
    out.insert(out.end(), h, h + sizeof(h));
    std::vector<uint8_t> m(size, 0x5a);
    if (size >= 4) {
      m[0] = uint8_t(type);
      m[1] = m[2] = m[3] = 0;
    }
    out.insert(out.end(), m.begin(), m.end());
  };
  std::vector<uint8_t> good = {7};
  frame(good, 1, 148);
  frame(good, 2, 92);
  frame(good, 3, 64);
  frame(good, 4, 32);
  frame(good, 4, 1452);
  Write("tcp_frame", "good", good);
  struct Bad {
    const char* name;
    uint32_t type;
    size_t size;
  };
  for (const Bad& b : {Bad{"bad_type", 9, 64}, Bad{"bad_size", 1, 92}, Bad{"undersize", 4, 8}}) {
    std::vector<uint8_t> s = {3};
    frame(s, 4, 64);
    frame(s, b.type, b.size);
    Write("tcp_frame", b.name, s);
  }
  std::vector<uint8_t> over = {1, 0, 2, 0, 0, 4, 0, 0, 0};  // length 131072, then a data type
  Write("tcp_frame", "oversize", over);
  std::vector<uint8_t> cut = {2};
  frame(cut, 1, 148);
  cut.resize(cut.size() - 50);
  Write("tcp_frame", "truncated", cut);
}

// fuzz_l2: a control byte (bit 0 hub, bit 1 Forward, bits 2-3 where the destination is learned,
// bit 4 AllowedMACs 02:../8), then a peer's plaintext: L2 messages of each kind, good and bad.
void L2() {
  auto eth = [](uint64_t dst, uint64_t src, std::vector<uint8_t> type, size_t size) {
    std::vector<uint8_t> f(12);
    l2::MacAddress::FromU64(dst).ToBytes(f.data());
    l2::MacAddress::FromU64(src).ToBytes(f.data() + 6);
    f.insert(f.end(), type.begin(), type.end());
    if (f.size() < size) f.resize(size, 0);
    f.resize(size);
    return f;
  };
  auto msg = [](uint8_t control, const std::vector<uint8_t>& frame, bool relayed, int pad = -1) {
    std::vector<uint8_t> m = {control, relayed ? l2::kMarkerRelayed : l2::kMarkerFrame,
                              uint8_t(frame.size() >> 8), uint8_t(frame.size())};
    m.insert(m.end(), frame.begin(), frame.end());
    const size_t body = m.size() - 1;
    m.resize(m.size() + (pad >= 0 ? size_t(pad) : (16 - body % 16) % 16), 0);
    return m;
  };
  constexpr uint64_t kA = 0x02000000000a, kB = 0x02000000000b, kBcast = 0xffffffffffff;
  const std::vector<uint8_t> arp = {0x08, 0x06}, ip4 = {0x08, 0x00};
  Write("l2", "arp_broadcast", msg(0, eth(kBcast, kB, arp, 42), false));
  Write("l2", "unicast_forward", msg(2 | (2 << 2), eth(kA, kB, ip4, 60), false));
  Write("l2", "relayed_hub", msg(3, eth(kA, kB, arp, 42), true));
  Write("l2", "vlan_qinq",
        msg(2, eth(kBcast, kB, {0x88, 0xa8, 0, 0x64, 0x81, 0, 0, 0xc8, 0x86, 0xdd}, 80), false));
  Write("l2", "allowed_macs_spoof", msg(0x10, eth(kA, 0x520000000001, arp, 42), false));
  std::vector<uint8_t> bad = {0, l2::kMarkerFrame, 0x00, 0x40};
  bad.resize(bad.size() + 20, 0);
  Write("l2", "bad_length", bad);
  Write("l2", "too_short", msg(0, eth(kA, kB, {}, 12), false));
  Write("l2", "too_much_padding", msg(0, eth(kA, kB, arp, 42), false, 16));
  Write("l2", "oversize", msg(0, eth(kA, kB, ip4, 1422), false));
  // Found by the fuzzer: a length ReadMessage accepts around a VLAN tag that is cut off.
  Write("l2", "vlan_tag_cut_off", msg(0, eth(kA, kB, {0x91, 0x00, 0x00}, 17), true));
  std::vector<uint8_t> ip = {0, 0x45, 0x00, 0x00, 0x1c};
  ip.resize(ip.size() + 24, 0);
  Write("l2", "ip_packet", ip);
}

}  // namespace
}  // namespace tundra::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  tundra::fuzz::g_root = argv[1];
  tundra::fuzz::Proto();
  tundra::fuzz::Uapi();
  tundra::fuzz::PiHeader();
  tundra::fuzz::Vnet();
  tundra::fuzz::Decompress();
  tundra::fuzz::TcpFrame();
  tundra::fuzz::L2();
  std::printf("seeds written to %s\n", argv[1]);
  return 0;
}
