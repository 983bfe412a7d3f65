#include "tundra/l2/frame.h"

#include <fmt/format.h>

namespace tundra::l2 {
namespace {

bool IsTpid(uint16_t v) { return v == kTpidVlan || v == kTpidQinQ || v == kTpidQinQLegacy; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

MacAddress MacAddress::FromBytes(const uint8_t* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < kMacSize; ++i) v = (v << 8) | p[i];
  return MacAddress(v);
}

Result<MacAddress> MacAddress::Parse(std::string_view text) {
  // Exactly six two-digit groups with one separator kind: "aa:bb:cc:dd:ee:ff" (17 chars).
  auto bad = [&] {
    return InvalidArgument(
        fmt::format("'{}' is not a MAC address (want six hex pairs: 52:54:00:12:34:56)", text));
  };
  if (text.size() != 17) return bad();
  const char sep = text[2];
  if (sep != ':' && sep != '-') return bad();
  uint64_t v = 0;
  for (size_t i = 0; i < 6; ++i) {
    const int hi = HexDigit(text[i * 3]);
    const int lo = HexDigit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0) return bad();
    if (i < 5 && text[i * 3 + 2] != sep) return bad();
    v = (v << 8) | uint64_t(hi << 4 | lo);
  }
  return MacAddress(v);
}

void MacAddress::ToBytes(uint8_t* out) const {
  for (size_t i = 0; i < kMacSize; ++i) out[i] = uint8_t(v_ >> (8 * (kMacSize - 1 - i)));
}

std::string MacAddress::ToString() const {
  uint8_t b[kMacSize];
  ToBytes(b);
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                     b[5]);
}

DropReason ParseFrame(ByteSpan bytes, Frame& out, size_t max_size) {
  if (max_size > kMaxFrameSize) max_size = kMaxFrameSize;
  if (bytes.size() < kMinFrameSize) return DropReason::kFrameTooShort;
  if (bytes.size() > max_size) return DropReason::kFrameTooLong;
  const uint8_t* p = bytes.data();
  out.dst = MacAddress::FromBytes(p);
  out.src = MacAddress::FromBytes(p + kMacSize);
  out.bytes = bytes;
  out.tag_count = 0;
  size_t off = 2 * kMacSize;  // the first type field
  uint16_t type = LoadBe16(p + off);
  while (IsTpid(type) && out.tag_count < kMaxVlanTags) {
    // A tag is the TPID (already read) plus a TCI, followed by the next type field.
    if (bytes.size() < off + kVlanTagSize + 2) return DropReason::kFrameTooShort;
    out.tags[out.tag_count++] = VlanTag{type, LoadBe16(p + off + 2)};
    off += kVlanTagSize;
    type = LoadBe16(p + off);
  }
  out.ethertype = type;
  out.header_size = off + 2;
  return DropReason::kNone;
}

PlaintextKind ClassifyPlaintext(ByteSpan plaintext) {
  if (plaintext.empty()) return PlaintextKind::kEmpty;
  const uint8_t b = plaintext[0];
  if (b == kMarkerFrame || b == kMarkerRelayed) return PlaintextKind::kFrame;
  if ((b >> 4) == 4 || (b >> 4) == 6) return PlaintextKind::kIp;
  return PlaintextKind::kOther;
}

size_t WriteMessage(ByteSpan frame, bool relayed, MutableByteSpan out) {
  if (frame.size() < kMinFrameSize || frame.size() > kMaxFrameSize) return 0;
  const size_t total = kMessageHeaderSize + frame.size();
  if (out.size() < total) return 0;
  out[0] = relayed ? kMarkerRelayed : kMarkerFrame;
  StoreBe16(out.data() + 1, uint16_t(frame.size()));
  std::memmove(out.data() + kMessageHeaderSize, frame.data(), frame.size());
  return total;
}

DropReason ReadMessage(ByteSpan plaintext, Message& out, size_t max_frame) {
  if (plaintext.size() < kMessageHeaderSize) return DropReason::kBadLength;
  const uint8_t marker = plaintext[0];
  if (marker != kMarkerFrame && marker != kMarkerRelayed) return DropReason::kBadLength;
  const size_t len = LoadBe16(plaintext.data() + 1);
  const size_t avail = plaintext.size() - kMessageHeaderSize;
  if (len > avail || avail - len > kMaxPadding) return DropReason::kBadLength;
  if (len < kMinFrameSize) return DropReason::kFrameTooShort;
  if (len > max_frame || len > kMaxFrameSize) return DropReason::kFrameTooLong;
  out.frame = plaintext.subspan(kMessageHeaderSize, len);
  out.relayed = marker == kMarkerRelayed;
  return DropReason::kNone;
}

}  // namespace tundra::l2
