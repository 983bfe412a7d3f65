// Opt-in compression on the data path (docs/compression.md): per-thread codecs, the hello
// and the receive side of compressed packets.
#include "tundra/device/compression.h"

#include <array>
#include <cstring>

#include "tundra/base/log.h"
#include "tundra/device/device.h"
#include "tundra/proto/constants.h"

namespace tundra::device {
namespace {

// One thread's codecs (lz4, and zstd per level) and its compression scratch buffer.
struct ThreadCodecs {
  std::unique_ptr<compress::Codec> lz4;
  std::array<std::unique_ptr<compress::Codec>, compress::kMaxZstdLevel + 1> zstd;
  bool failed_logged = false;
  std::vector<uint8_t> scratch;
};

ThreadCodecs& Codecs() {
  thread_local ThreadCodecs codecs;
  return codecs;
}

}  // namespace

compress::Codec* ThreadCodec(const compress::Setting& setting) {
  ThreadCodecs& t = Codecs();
  std::unique_ptr<compress::Codec>* slot = nullptr;
  if (setting.algorithm == compress::Algorithm::kLz4) {
    slot = &t.lz4;
  } else if (setting.algorithm == compress::Algorithm::kZstd && setting.level >= 0 &&
             setting.level <= compress::kMaxZstdLevel) {
    slot = &t.zstd[size_t(setting.level)];
  } else {
    return nullptr;
  }
  if (*slot == nullptr) {
    auto codec = compress::Codec::Create(setting);
    if (!codec.ok()) {
      if (!t.failed_logged) {
        TUNDRA_LOG(kError, "compression {}: {}", compress::FormatSetting(setting),
                   codec.error().message());
        t.failed_logged = true;
      }
      return nullptr;
    }
    *slot = std::move(*codec);
  }
  return slot->get();
}

size_t CompressInPlace(compress::Codec& codec, MutableByteSpan buf, size_t header, size_t len) {
  std::vector<uint8_t>& scratch = Codecs().scratch;
  if (scratch.size() < len) scratch.resize(std::max(len, size_t(proto::kDefaultMtu)));
  const size_t n = codec.Compress(ByteSpan(buf.data() + header, len), MutableByteSpan(scratch));
  if (n == 0 || n >= len) return len;
  std::memcpy(buf.data() + header, scratch.data(), n);
  return n;
}

proto::DropReason DropReasonFor(compress::DecodeError e) {
  switch (e) {
    case compress::DecodeError::kTruncated:
      return proto::DropReason::kDecompressTruncated;
    case compress::DecodeError::kUnknown:
      return proto::DropReason::kDecompressUnknown;
    case compress::DecodeError::kNotEnabled:
      return proto::DropReason::kDecompressNotEnabled;
    case compress::DecodeError::kBomb:
      return proto::DropReason::kDecompressBomb;
    case compress::DecodeError::kCorrupt:
      break;
  }
  return proto::DropReason::kDecompressCorrupt;
}

MutableByteSpan InflateBuffers::Next(size_t header, size_t bound) {
  if (used_ == bufs_.size()) bufs_.emplace_back();
  std::vector<uint8_t>& b = bufs_[used_++];
  if (b.size() < header + bound) b.resize(header + bound);
  return MutableByteSpan(b.data(), header + bound);
}

compress::Codec* Device::StartCompression(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                                          const transport::Endpoint& to, uint32_t packed,
                                          TimePoint now) {
  const compress::Setting setting = UnpackSetting(packed);
  if (!keypair->hello_sent.exchange(true, std::memory_order_relaxed)) {
    // Our hello, once per session, ahead of the packets: what this end decompresses.
    constexpr size_t kHelloPadded = proto::kPaddingMultiple;
    std::array<uint8_t, proto::kDataHeaderSize + kHelloPadded + proto::kAeadTagLen> buf{};
    uint64_t counter;
    if (keypair->ReserveSendCounter(now, counter)) {
      compress::WriteHello(compress::HelloBit(setting.algorithm),
                           MutableByteSpan(buf).subspan(proto::kDataHeaderSize));
      const size_t total =
          proto::SealDataMessage(*keypair, counter, buf, compress::kHelloSize, kHelloPadded);
      const ByteSpan datagram(buf.data(), total);
      Status s = SendDatagrams(std::span<const ByteSpan>(&datagram, 1), to);
      if (s.ok()) {
        peer->tx_bytes.fetch_add(total, std::memory_order_relaxed);
        peer->counters.AddTxPackets(1);
        TUNDRA_LOG(kDebug, "{}: compression hello ({}) sent to peer {}", options_.name,
                   compress::FormatSetting(setting), peer->id());
      } else {
        CountSendFailure(s.error(), 1, peer.get());
      }
    }
  }
  const uint8_t theirs = keypair->remote_decompresses.load(std::memory_order_relaxed);
  if ((theirs & compress::HelloBit(setting.algorithm)) == 0) return nullptr;
  return ThreadCodec(setting);
}

bool Device::ReceiveNotIp(const PeerPtr& peer, const proto::KeypairPtr& keypair, ByteSpan plain,
                          InflateBuffers& inflate, MutableByteSpan& out) {
  const compress::Kind kind = compress::Classify(plain);
  const uint32_t packed = peer->compression.load(std::memory_order_relaxed);
  if (kind == compress::Kind::kHello) {
    const std::optional<uint8_t> theirs = compress::ReadHello(plain);
    if (!theirs) {
      CountPeerDrop(*peer, proto::DropReason::kDecompressTruncated);
      return false;
    }
    keypair->remote_decompresses.store(*theirs, std::memory_order_relaxed);
    TUNDRA_LOG(kDebug, "{}: compression hello (bits {:#x}) from peer {}", options_.name, *theirs,
               peer->id());
    // Answer at once with ours if this session has not carried it yet (the responder may
    // have nothing else to send for a while).
    if (packed != 0 && !keypair->hello_sent.load(std::memory_order_relaxed)) {
      peer->keepalive_wanted.store(true);
      {
        std::lock_guard lock(work_mu_);
        peer_work_.push_back(peer);
      }
      WakeControl();
    }
    return false;
  }
  if (kind != compress::Kind::kCompressed) {
    CountPeerDrop(*peer, proto::DropReason::kInvalidPacket);
    return false;
  }
  compress::Codec* codec = packed == 0 ? nullptr : ThreadCodec(UnpackSetting(packed));
  if (codec == nullptr) {
    CountPeerDrop(*peer, packed == 0 ? proto::DropReason::kDecompressNotEnabled
                                     : proto::DropReason::kDecompressCorrupt);
    return false;
  }
  const size_t bound = MaxPlaintext();
  MutableByteSpan buf = inflate.Next(proto::kDataHeaderSize, bound);
  const compress::Codec::Decoded d =
      codec->Decompress(plain, buf.subspan(proto::kDataHeaderSize, bound));
  if (d.error) {
    CountPeerDrop(*peer, DropReasonFor(*d.error));
    TUNDRA_LOG_RATELIMITED(kDebug, "{}: compressed packet from peer {} dropped: {}", options_.name,
                           peer->id(), compress::DecodeErrorName(*d.error));
    return false;
  }
  const size_t framed = compress::kHeaderSize + ((size_t(plain[1]) << 8) | plain[2]);
  peer->counters.AddCompressRx(framed, d.size);
  out = buf.first(proto::kDataHeaderSize + d.size);
  return true;
}

}  // namespace tundra::device
