#include "tundra/l2/frame.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "tundra/l2/allowed_macs.h"

namespace tundra::l2 {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(uint8_t(b));
  return out;
}

// dst 02:00:00:00:00:01, src 02:00:00:00:00:02, then `rest` (type fields, tags, payload),
// padded with zeros up to `size` when larger.
std::vector<uint8_t> FrameBytes(std::vector<uint8_t> rest, size_t size = 0) {
  std::vector<uint8_t> f = Bytes({2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2});
  f.insert(f.end(), rest.begin(), rest.end());
  if (f.size() < size) f.resize(size, 0);
  return f;
}

TEST(MacAddressTest, ParsesFormatsAndClassifies) {
  struct Case {
    const char* text;
    bool ok;
    uint64_t value;
  } cases[] = {
      {"52:54:00:12:34:56", true, 0x525400123456},
      {"52-54-00-12-34-56", true, 0x525400123456},
      {"FF:ff:FF:ff:FF:ff", true, 0xffffffffffff},
      {"00:00:00:00:00:00", true, 0},
      {"52:54:00:12:34", false, 0},      // five groups
      {"52:54:00:12:34:567", false, 0},  // too long
      {"52:54-00:12:34:56", false, 0},   // mixed separators
      {"52:54:00:12:34:5g", false, 0},   // not hex
      {"5254.0012.3456.", false, 0},     // Cisco dots: not taken
      {"", false, 0},
  };
  for (const Case& c : cases) {
    auto mac = MacAddress::Parse(c.text);
    ASSERT_EQ(mac.has_value(), c.ok) << c.text;
    if (!c.ok) {
      EXPECT_NE(mac.error().message().find(c.text), std::string::npos) << mac.error().message();
      continue;
    }
    EXPECT_EQ(mac->value(), c.value) << c.text;
  }
  EXPECT_EQ(MacAddress::FromU64(0x525400123456).ToString(), "52:54:00:12:34:56");
  uint8_t b[6];
  MacAddress::FromU64(0x0102030405a6).ToBytes(b);
  EXPECT_EQ(MacAddress::FromBytes(b).value(), 0x0102030405a6u);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[5], 0xa6);

  struct Kind {
    uint64_t v;
    bool broadcast, group, valid_source;
  } kinds[] = {
      {0xffffffffffff, true, true, false},    // broadcast
      {0x01005e000001, false, true, false},   // IPv4 multicast
      {0x333300000001, false, true, false},   // IPv6 multicast (ND)
      {0x0180c2000000, false, true, false},   // STP
      {0x000000000000, false, false, false},  // zero
      {0x525400123456, false, false, true},
      {0x020000000001, false, false, true},  // locally administered unicast
      {0xfeffffffffff, false, false, true},  // I/G bit clear
  };
  for (const Kind& k : kinds) {
    const MacAddress m = MacAddress::FromU64(k.v);
    EXPECT_EQ(m.is_broadcast(), k.broadcast) << m.ToString();
    EXPECT_EQ(m.is_group(), k.group) << m.ToString();
    EXPECT_EQ(m.is_valid_source(), k.valid_source) << m.ToString();
  }
}

TEST(ParseFrameTest, BoundsTagsAndTypes) {
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    size_t max;
    DropReason want;
    size_t tags;
    uint16_t ethertype;
    size_t header;
  } cases[] = {
      {"empty", {}, kMaxFrameSize, DropReason::kFrameTooShort, 0, 0, 0},
      {"13 bytes", FrameBytes({0x08}), kMaxFrameSize, DropReason::kFrameTooShort, 0, 0, 0},
      {"bare header (14)", FrameBytes({0x08, 0x06}), kMaxFrameSize, DropReason::kNone, 0, 0x0806,
       14},
      {"ARP (42)", FrameBytes({0x08, 0x06}, 42), kMaxFrameSize, DropReason::kNone, 0, 0x0806, 14},
      {"IPv6", FrameBytes({0x86, 0xdd}, 60), kMaxFrameSize, DropReason::kNone, 0, 0x86dd, 14},
      {"802.3 length (STP LLC)", FrameBytes({0x00, 0x26, 0x42, 0x42, 0x03}, 60), kMaxFrameSize,
       DropReason::kNone, 0, 0x0026, 14},
      {"non-IP ethertype", FrameBytes({0x88, 0xb5}, 64), kMaxFrameSize, DropReason::kNone, 0,
       0x88b5, 14},
      {"802.1Q", FrameBytes({0x81, 0x00, 0x20, 0x0a, 0x08, 0x00}, 64), kMaxFrameSize,
       DropReason::kNone, 1, 0x0800, 18},
      {"802.1Q tag cut off (16)", FrameBytes({0x81, 0x00, 0x00, 0x0a}), kMaxFrameSize,
       DropReason::kFrameTooShort, 0, 0, 0},
      {"802.1Q, no inner type (17)", FrameBytes({0x81, 0x00, 0x00, 0x0a, 0x08}), kMaxFrameSize,
       DropReason::kFrameTooShort, 0, 0, 0},
      {"802.1Q exactly (18)", FrameBytes({0x81, 0x00, 0x00, 0x0a, 0x08, 0x06}), kMaxFrameSize,
       DropReason::kNone, 1, 0x0806, 18},
      {"802.1ad + 802.1Q", FrameBytes({0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 200, 0x86, 0xdd}, 80),
       kMaxFrameSize, DropReason::kNone, 2, 0x86dd, 22},
      {"legacy QinQ 0x9100", FrameBytes({0x91, 0x00, 0, 5, 0x81, 0x00, 0, 6, 0x08, 0x00}, 80),
       kMaxFrameSize, DropReason::kNone, 2, 0x0800, 22},
      {"QinQ inner tag cut off", FrameBytes({0x88, 0xa8, 0, 100, 0x81, 0x00, 0}), kMaxFrameSize,
       DropReason::kFrameTooShort, 0, 0, 0},
      {"three tags: third passes as the type",
       FrameBytes({0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3, 0x08, 0x00}, 80),
       kMaxFrameSize, DropReason::kNone, 2, 0x8100, 22},
      {"at the bound", FrameBytes({0x08, 0x00}, 1421), 1421, DropReason::kNone, 0, 0x0800, 14},
      {"one over the bound", FrameBytes({0x08, 0x00}, 1422), 1421, DropReason::kFrameTooLong, 0, 0,
       0},
      {"kMaxFrameSize", FrameBytes({0x08, 0x00}, kMaxFrameSize), kMaxFrameSize, DropReason::kNone,
       0, 0x0800, 14},
      {"kMaxFrameSize + 1", FrameBytes({0x08, 0x00}, kMaxFrameSize + 1), kMaxFrameSize,
       DropReason::kFrameTooLong, 0, 0, 0},
      {"bound above kMaxFrameSize is clamped", FrameBytes({0x08, 0x00}, kMaxFrameSize + 1),
       kMaxFrameSize + 100, DropReason::kFrameTooLong, 0, 0, 0},
  };
  for (const Case& c : cases) {
    Frame f;
    EXPECT_EQ(ParseFrame(c.bytes, f, c.max), c.want) << c.name;
    if (c.want != DropReason::kNone) continue;
    EXPECT_EQ(f.dst.value(), 0x020000000001u) << c.name;
    EXPECT_EQ(f.src.value(), 0x020000000002u) << c.name;
    EXPECT_EQ(f.tag_count, c.tags) << c.name;
    EXPECT_EQ(f.ethertype, c.ethertype) << c.name;
    EXPECT_EQ(f.header_size, c.header) << c.name;
    EXPECT_EQ(f.bytes.size(), c.bytes.size()) << c.name;
  }
  Frame f;
  auto tagged = FrameBytes({0x88, 0xa8, 0xe0, 0x64, 0x81, 0x00, 0x20, 0xc8, 0x08, 0x00}, 64);
  ASSERT_EQ(ParseFrame(tagged, f), DropReason::kNone);
  EXPECT_EQ(f.tags[0].tpid, kTpidQinQ);
  EXPECT_EQ(f.tags[0].vid(), 100);
  EXPECT_EQ(f.tags[0].tci >> 13, 7);  // priority
  EXPECT_EQ(f.tags[1].tpid, kTpidVlan);
  EXPECT_EQ(f.tags[1].vid(), 200);
}

TEST(MtuTest, DesignFigures) {
  // docs/l2.md, "MTU": 1500-byte path, IPv6 underlay: tunnel MTU 1420, TAP MTU 1399; a frame
  // with one tag at that MTU is exactly the tunnel MTU once framed.
  EXPECT_EQ(TapMtuFor(1420), 1399u);
  EXPECT_EQ(kMessageHeaderSize + kEthernetHeaderSize + kVlanTagSize + TapMtuFor(1420), 1420u);
  EXPECT_EQ(MaxFrameSizeFor(1399), 1399u + 14 + 8);
  EXPECT_EQ(MaxFrameSizeFor(70000), kMaxFrameSize);
  EXPECT_EQ(TapMtuFor(10), 0u);
  EXPECT_EQ(kMaxFrameSize + kMessageHeaderSize, 65535u);
}

TEST(ClassifyPlaintextTest, FirstByte) {
  struct Case {
    int first;
    PlaintextKind want;
  } cases[] = {
      {0x45, PlaintextKind::kIp},    {0x4f, PlaintextKind::kIp},    {0x60, PlaintextKind::kIp},
      {0x6f, PlaintextKind::kIp},    {0x20, PlaintextKind::kFrame}, {0x21, PlaintextKind::kFrame},
      {0x22, PlaintextKind::kOther}, {0x2f, PlaintextKind::kOther}, {0x10, PlaintextKind::kOther},
      {0x11, PlaintextKind::kOther}, {0x1f, PlaintextKind::kOther}, {0x00, PlaintextKind::kOther},
      {0x52, PlaintextKind::kOther}, {0xff, PlaintextKind::kOther},
  };
  for (const Case& c : cases) {
    const uint8_t b[2] = {uint8_t(c.first), 0};
    EXPECT_EQ(ClassifyPlaintext(ByteSpan(b, 2)), c.want) << std::hex << c.first;
  }
  EXPECT_EQ(ClassifyPlaintext({}), PlaintextKind::kEmpty);
}

TEST(MessageTest, RoundTripWithPadding) {
  for (size_t size : {size_t{14}, size_t{42}, size_t{60}, size_t{1399 + 18}, kMaxFrameSize}) {
    for (bool relayed : {false, true}) {
      const auto frame = FrameBytes({0x08, 0x06}, size);
      // WireGuard pads the plaintext to a multiple of 16 with zeros.
      std::vector<uint8_t> buf((kMessageHeaderSize + size + 15) / 16 * 16 + 16, 0xee);
      const size_t n = WriteMessage(frame, relayed, buf);
      ASSERT_EQ(n, size + kMessageHeaderSize);
      EXPECT_EQ(buf[0], relayed ? 0x21 : 0x20);
      EXPECT_EQ(LoadBe16(&buf[1]), size);
      const size_t padded = std::min<size_t>((n + 15) / 16 * 16, 65535);
      std::fill(buf.begin() + n, buf.begin() + padded, 0);
      EXPECT_EQ(ClassifyPlaintext(ByteSpan(buf.data(), padded)), PlaintextKind::kFrame);
      Message m;
      ASSERT_EQ(ReadMessage(ByteSpan(buf.data(), padded), m), DropReason::kNone) << size;
      EXPECT_EQ(m.relayed, relayed);
      ASSERT_EQ(m.frame.size(), size);
      EXPECT_TRUE(std::equal(m.frame.begin(), m.frame.end(), frame.begin()));
    }
  }
}

TEST(MessageTest, BadInput) {
  auto msg = [](int marker, size_t len_field, size_t body, size_t padding) {
    std::vector<uint8_t> m = {uint8_t(marker), uint8_t(len_field >> 8), uint8_t(len_field)};
    m.resize(m.size() + body + padding, 0);
    return m;
  };
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    size_t max;
    DropReason want;
  } cases[] = {
      {"empty", {}, kMaxFrameSize, DropReason::kBadLength},
      {"marker only", {0x20}, kMaxFrameSize, DropReason::kBadLength},
      {"no length low byte", {0x20, 0}, kMaxFrameSize, DropReason::kBadLength},
      {"not a marker", msg(0x45, 60, 60, 0), kMaxFrameSize, DropReason::kBadLength},
      {"length beyond the bytes", msg(0x20, 61, 60, 0), kMaxFrameSize, DropReason::kBadLength},
      {"15 padding bytes", msg(0x20, 60, 60, 15), kMaxFrameSize, DropReason::kNone},
      {"16 bytes behind the frame", msg(0x20, 60, 60, 16), kMaxFrameSize, DropReason::kBadLength},
      {"zero length", msg(0x20, 0, 0, 13), kMaxFrameSize, DropReason::kFrameTooShort},
      {"13-byte frame", msg(0x21, 13, 13, 0), kMaxFrameSize, DropReason::kFrameTooShort},
      {"14-byte frame", msg(0x21, 14, 14, 0), kMaxFrameSize, DropReason::kNone},
      {"at the interface bound", msg(0x20, 1421, 1421, 0), 1421, DropReason::kNone},
      {"over the interface bound", msg(0x20, 1422, 1422, 0), 1421, DropReason::kFrameTooLong},
      {"65533-byte frame (over kMaxFrameSize)", msg(0x20, 65533, 65533, 0), 70000,
       DropReason::kFrameTooLong},
  };
  for (const Case& c : cases) {
    Message m;
    EXPECT_EQ(ReadMessage(c.bytes, m, c.max), c.want) << c.name;
  }
  std::vector<uint8_t> small(20);
  const auto frame = FrameBytes({8, 0}, 60);
  EXPECT_EQ(WriteMessage(frame, false, small), 0u);  // no room
  EXPECT_EQ(WriteMessage(ByteSpan(frame.data(), 13), false, std::span(small)), 0u);
}

TEST(AllowedMacsTest, PrefixesAndLists) {
  struct Case {
    const char* text;
    bool ok;
    const char* formatted;
  } cases[] = {
      {"52:54:00:12:34:56", true, "52:54:00:12:34:56"},
      {" 52:54:00:12:34:56/48 ", true, "52:54:00:12:34:56"},
      {"52:54:00:00:00:00/24", true, "52:54:00:00:00:00/24"},
      {"00:00:00:00:00:00/0", true, "00:00:00:00:00:00/0"},
      {"52:54:00:12:34:56/24", false, "52:54:00:00:00:00/24"},  // host bits: suggests the fix
      {"52:54:00:12:34:56/49", false, nullptr},
      {"52:54:00:12:34:56/", false, nullptr},
      {"52:54:00:12:34:56/x", false, nullptr},
      {"52:54:00:12:34:56/-1", false, nullptr},
      {"nonsense", false, nullptr},
  };
  for (const Case& c : cases) {
    auto p = ParseMacPrefix(c.text);
    ASSERT_EQ(p.has_value(), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(p->ToString(), c.formatted);
    } else if (c.formatted != nullptr) {
      EXPECT_NE(p.error().message().find(c.formatted), std::string::npos) << p.error().message();
    }
  }

  AllowedMacs a;
  ASSERT_TRUE(a.AddList("52:54:00:12:34:56, 02:aa:00:00:00:00/16").has_value());
  EXPECT_EQ(a.size(), 2u);
  struct Match {
    uint64_t mac;
    bool allowed;
  } matches[] = {
      {0x525400123456, true}, {0x525400123457, false}, {0x02aa00000000, true},
      {0x02aaffffffff, true}, {0x02ab00000000, false}, {0x000000000000, false},
  };
  for (const Match& m : matches) {
    EXPECT_EQ(a.Allows(MacAddress::FromU64(m.mac)), m.allowed) << std::hex << m.mac;
  }
  // All or nothing: a bad entry leaves the list as it was.
  auto bad = a.AddList("06:00:00:00:00:01, garbage");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("garbage"), std::string::npos);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_FALSE(a.Allows(MacAddress::FromU64(0x060000000001)));
  ASSERT_TRUE(a.AddList("52:54:00:12:34:56").has_value());  // duplicate kept once
  EXPECT_EQ(a.size(), 2u);

  AllowedMacs full;
  for (size_t i = 0; i < kMaxAllowedMacs; ++i) {
    ASSERT_TRUE(full.Add(MacPrefix{MacAddress::FromU64(0x020000000000 + i), 48}).has_value());
  }
  auto over = full.Add(MacPrefix{MacAddress::FromU64(0x030000000000), 48});
  ASSERT_FALSE(over.has_value());
  EXPECT_NE(over.error().message().find("256"), std::string::npos);
  AllowedMacs any;
  ASSERT_TRUE(any.AddList("00:00:00:00:00:00/0").has_value());
  EXPECT_TRUE(any.Allows(MacAddress::FromU64(0x123456789abc)));
}

TEST(DropReasonTest, EveryReasonHasADistinctName) {
  std::set<std::string> names;
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const std::string n = DropReasonName(DropReason(i));
    EXPECT_NE(n, "unknown") << i;
    EXPECT_TRUE(names.insert(n).second) << n;
  }
}

}  // namespace
}  // namespace tundra::l2
