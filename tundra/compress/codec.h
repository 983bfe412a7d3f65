// Opt-in compression of a peer's packets (`Compression = lz4|zstd[:level]|none`,
// docs/compression.md). Sans-IO: bytes in, bytes out; the device decides when to use it.
//
// On the wire, inside the encrypted payload of a WireGuard data message, the first byte tells
// what the plaintext is (an IP packet starts with its version nibble, 4 or 6, so these never
// collide with one, and a plain WireGuard peer drops them as "not IP"):
//
//   0x4_, 0x6_   an IP packet, as sent by any WireGuard peer (also a packet not worth compressing)
//   0x10         lz4 block:  [0x10][compressed length, 2 bytes big-endian][compressed bytes]
//   0x11         zstd frame: [0x11][compressed length, 2 bytes big-endian][compressed bytes]
//   0x1f         hello:      [0x1f][bitmask of the algorithms this end decompresses]
//
// followed by WireGuard's zero padding to 16 bytes (the length field says where the compressed
// bytes end; an IP packet's own header does the same for it). A packet is sent compressed only
// when the framed result is strictly smaller than the packet. A peer sends compressed packets
// only after it received the other end's hello for that algorithm (so only when both ends
// configure it). Decompression never writes beyond the caller's bound (the largest packet the
// interface takes): anything that would is a counted drop ("bomb"), never an allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tundra/base/bytes.h"
#include "tundra/base/result.h"

namespace tundra::compress {

enum class Algorithm : uint8_t { kNone = 0, kLz4 = 1, kZstd = 2 };

// Wire markers (the first plaintext byte), and the hello's algorithm bits.
inline constexpr uint8_t kMarkerLz4 = 0x10;
inline constexpr uint8_t kMarkerZstd = 0x11;
inline constexpr uint8_t kMarkerHello = 0x1f;
inline constexpr size_t kHeaderSize = 3;  // marker + 2-byte length
inline constexpr size_t kHelloSize = 2;   // marker + bitmask
inline constexpr uint8_t kHelloLz4 = 1 << 0;
inline constexpr uint8_t kHelloZstd = 1 << 1;
inline constexpr uint8_t kHelloAlgorithms = kHelloLz4 | kHelloZstd;
// Delivery of the hello (docs/compression.md, "The hello"): "I have your hello in this
// session" and "I do not know that you have mine: answer".
inline constexpr uint8_t kHelloWantAnswer = 1 << 6;
inline constexpr uint8_t kHelloAck = 1 << 7;
inline constexpr int kDefaultZstdLevel = 1;
inline constexpr int kMinZstdLevel = 1;
inline constexpr int kMaxZstdLevel = 19;
inline constexpr size_t kMaxPacket = 65535;  // what the 2-byte length can say

struct Setting {
  Algorithm algorithm = Algorithm::kNone;
  int level = 0;  // zstd only (kDefaultZstdLevel when not given)
  bool enabled() const { return algorithm != Algorithm::kNone; }
  bool operator==(const Setting&) const = default;
};

// "none", "lz4", "zstd", "zstd:LEVEL" (1..19); errors name the text and what is allowed.
Result<Setting> ParseSetting(std::string_view text);
std::string FormatSetting(const Setting& s);  // the same spellings
uint8_t HelloBit(Algorithm a);                // kHelloLz4, kHelloZstd, 0 for kNone

// What a plaintext is, from its first byte.
enum class Kind : uint8_t { kIp, kCompressed, kHello, kOther };
Kind Classify(ByteSpan plaintext);

// Writes the hello advertising what this end decompresses (kHelloSize bytes into `out`).
size_t WriteHello(uint8_t algorithms, MutableByteSpan out);
// The algorithms a hello advertises, or nullopt when it is not a hello.
std::optional<uint8_t> ReadHello(ByteSpan plaintext);

enum class DecodeError : uint8_t {
  kTruncated,   // the length field says more than the plaintext holds
  kUnknown,     // a marker this build does not know
  kNotEnabled,  // compressed with an algorithm this end did not configure
  kBomb,        // would decompress beyond the bound
  kCorrupt,     // the codec rejected the bytes
};
std::string_view DecodeErrorName(DecodeError e);  // "truncated", "unknown", ...

// One direction's codec state for one peer (zstd contexts are reused; not thread-safe: one
// per sending or receiving thread).
class Codec {
 public:
  static Result<std::unique_ptr<Codec>> Create(const Setting& setting);
  ~Codec();
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  const Setting& setting() const { return setting_; }

  // Frames `packet` compressed into `out` when that is strictly smaller than the packet;
  // returns the framed size, or 0 to send the packet as it is. `out` needs packet.size() bytes.
  size_t Compress(ByteSpan packet, MutableByteSpan out);

  // Decompresses a framed packet (Classify == kCompressed) into `out`; `out.size()` is the
  // bound. The packet's length, or why it was dropped.
  struct Decoded {
    size_t size = 0;
    std::optional<DecodeError> error;
  };
  Decoded Decompress(ByteSpan framed, MutableByteSpan out);

 private:
  explicit Codec(const Setting& setting);
  struct Zstd;
  Setting setting_;
  std::unique_ptr<Zstd> zstd_;
};

}  // namespace tundra::compress
