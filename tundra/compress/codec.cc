#include "tundra/compress/codec.h"

#include <fmt/core.h>
#include <lz4.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace tundra::compress {

struct Codec::Zstd {
  ZSTD_CCtx* cctx = nullptr;
  ZSTD_DCtx* dctx = nullptr;
  ~Zstd() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};

Result<Setting> ParseSetting(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(
        fmt::format("'{}' is not a compression setting ({}): use none, lz4, "
                    "zstd or zstd:LEVEL ({}..{})",
                    text, why, kMinZstdLevel, kMaxZstdLevel));
  };
  if (text == "none" || text == "off") return Setting{};
  if (text == "lz4") return Setting{Algorithm::kLz4, 0};
  if (text == "zstd") return Setting{Algorithm::kZstd, kDefaultZstdLevel};
  if (text.starts_with("zstd:")) {
    const std::string_view level = text.substr(5);
    int v = 0;
    auto [end, ec] = std::from_chars(level.data(), level.data() + level.size(), v);
    if (ec != std::errc() || end != level.data() + level.size() || v < kMinZstdLevel ||
        v > kMaxZstdLevel) {
      return bad("bad level");
    }
    return Setting{Algorithm::kZstd, v};
  }
  return bad("unknown algorithm");
}

std::string FormatSetting(const Setting& s) {
  switch (s.algorithm) {
    case Algorithm::kNone:
      return "none";
    case Algorithm::kLz4:
      return "lz4";
    case Algorithm::kZstd:
      return s.level == kDefaultZstdLevel ? "zstd" : fmt::format("zstd:{}", s.level);
  }
  return "none";
}

uint8_t HelloBit(Algorithm a) {
  switch (a) {
    case Algorithm::kLz4:
      return kHelloLz4;
    case Algorithm::kZstd:
      return kHelloZstd;
    case Algorithm::kNone:
      break;
  }
  return 0;
}

Kind Classify(ByteSpan plaintext) {
  if (plaintext.empty()) return Kind::kOther;
  const uint8_t b = plaintext[0];
  if ((b >> 4) == 4 || (b >> 4) == 6) return Kind::kIp;
  if (b == kMarkerHello) return Kind::kHello;
  if ((b >> 4) == 1) return Kind::kCompressed;  // 0x10..0x1e: known or not, ours
  return Kind::kOther;
}

size_t WriteHello(uint8_t algorithms, MutableByteSpan out) {
  if (out.size() < kHelloSize) return 0;
  out[0] = kMarkerHello;
  out[1] = algorithms;
  return kHelloSize;
}

std::optional<uint8_t> ReadHello(ByteSpan plaintext) {
  if (plaintext.size() < kHelloSize || plaintext[0] != kMarkerHello) return std::nullopt;
  return plaintext[1];
}

std::string_view DecodeErrorName(DecodeError e) {
  switch (e) {
    case DecodeError::kTruncated:
      return "truncated";
    case DecodeError::kUnknown:
      return "unknown";
    case DecodeError::kNotEnabled:
      return "not_enabled";
    case DecodeError::kBomb:
      return "bomb";
    case DecodeError::kCorrupt:
      return "corrupt";
  }
  return "?";
}

Result<std::unique_ptr<Codec>> Codec::Create(const Setting& setting) {
  std::unique_ptr<Codec> codec(new Codec(setting));
  if (setting.algorithm == Algorithm::kZstd) {
    codec->zstd_ = std::make_unique<Zstd>();
    codec->zstd_->cctx = ZSTD_createCCtx();
    codec->zstd_->dctx = ZSTD_createDCtx();
    if (codec->zstd_->cctx == nullptr || codec->zstd_->dctx == nullptr) {
      return MakeError(ENOMEM, "zstd: cannot create a context");
    }
    const size_t rc =
        ZSTD_CCtx_setParameter(codec->zstd_->cctx, ZSTD_c_compressionLevel, setting.level);
    if (ZSTD_isError(rc)) return InvalidArgument(fmt::format("zstd: level {}", setting.level));
    // Nothing but the packet: the frame needs no checksum (the AEAD authenticates it) and no
    // content size (the decoder is bounded by the caller's buffer anyway).
    (void)ZSTD_CCtx_setParameter(codec->zstd_->cctx, ZSTD_c_checksumFlag, 0);
    (void)ZSTD_CCtx_setParameter(codec->zstd_->cctx, ZSTD_c_contentSizeFlag, 0);
  }
  return codec;
}

Codec::Codec(const Setting& setting) : setting_(setting) {}
Codec::~Codec() = default;

size_t Codec::Compress(ByteSpan packet, MutableByteSpan out) {
  if (!setting_.enabled() || packet.size() <= kHeaderSize + 1 || packet.size() > kMaxPacket ||
      out.size() < packet.size()) {
    return 0;
  }
  // Strictly smaller than the packet, header included.
  const size_t room = packet.size() - kHeaderSize - 1;
  size_t n = 0;
  if (setting_.algorithm == Algorithm::kLz4) {
    const int r = LZ4_compress_default(reinterpret_cast<const char*>(packet.data()),
                                       reinterpret_cast<char*>(out.data() + kHeaderSize),
                                       int(packet.size()), int(room));
    if (r <= 0) return 0;
    n = size_t(r);
    out[0] = kMarkerLz4;
  } else {
    const size_t r =
        ZSTD_compress2(zstd_->cctx, out.data() + kHeaderSize, room, packet.data(), packet.size());
    if (ZSTD_isError(r) || r == 0) return 0;  // did not fit: not worth it
    n = r;
    out[0] = kMarkerZstd;
  }
  out[1] = uint8_t(n >> 8);
  out[2] = uint8_t(n);
  return kHeaderSize + n;
}

Codec::Decoded Codec::Decompress(ByteSpan framed, MutableByteSpan out) {
  if (framed.size() < kHeaderSize) return {0, DecodeError::kTruncated};
  const uint8_t marker = framed[0];
  const size_t n = (size_t(framed[1]) << 8) | framed[2];
  if (marker != kMarkerLz4 && marker != kMarkerZstd) return {0, DecodeError::kUnknown};
  const Algorithm algorithm = marker == kMarkerLz4 ? Algorithm::kLz4 : Algorithm::kZstd;
  if (algorithm != setting_.algorithm) return {0, DecodeError::kNotEnabled};
  if (n == 0 || n > framed.size() - kHeaderSize) return {0, DecodeError::kTruncated};
  const ByteSpan body = framed.subspan(kHeaderSize, n);
  const size_t bound = std::min(out.size(), kMaxPacket);
  if (algorithm == Algorithm::kLz4) {
    const int r =
        LZ4_decompress_safe(reinterpret_cast<const char*>(body.data()),
                            reinterpret_cast<char*>(out.data()), int(body.size()), int(bound));
    if (r < 0) {
      // lz4 does not say why; a block that is valid up to the bound is a bomb, else corrupt.
      const int partial = LZ4_decompress_safe_partial(reinterpret_cast<const char*>(body.data()),
                                                      reinterpret_cast<char*>(out.data()),
                                                      int(body.size()), int(bound), int(bound));
      return {0, partial == int(bound) ? DecodeError::kBomb : DecodeError::kCorrupt};
    }
    if (r == 0) return {0, DecodeError::kCorrupt};
    return {size_t(r), std::nullopt};
  }
  const size_t r = ZSTD_decompressDCtx(zstd_->dctx, out.data(), bound, body.data(), body.size());
  if (ZSTD_isError(r)) {
    return {0, ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? DecodeError::kBomb
                                                                   : DecodeError::kCorrupt};
  }
  if (r == 0) return {0, DecodeError::kCorrupt};
  return {r, std::nullopt};
}

}  // namespace tundra::compress
