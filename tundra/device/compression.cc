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

size_t CompressInPlace(compress::Codec& codec, MutableByteSpan buf, size_t header, size_t len,
                       size_t mtu) {
  std::vector<uint8_t>& scratch = Codecs().scratch;
  if (scratch.size() < len) scratch.resize(std::max(len, size_t(proto::kDefaultMtu)));
  const size_t n = codec.Compress(ByteSpan(buf.data() + header, len), MutableByteSpan(scratch));
  // Only when it pays on the wire: WireGuard pads both to a multiple of 16 (up to the MTU), so
  // 1 to 15 bytes saved may save nothing and cost the receiver a decompression.
  if (n == 0 || proto::PaddedLength(n, mtu) >= proto::PaddedLength(len, mtu)) return len;
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
  const size_t need = header + bound;
  while (used_ < chunks_.size() && chunks_[used_].size() - offset_ < need) {
    ++used_;  // the rest of this chunk is too small: the next one
    offset_ = 0;
  }
  if (used_ == chunks_.size()) chunks_.emplace_back(std::max(need, kInflateChunkSize));
  std::vector<uint8_t>& c = chunks_[used_];
  return MutableByteSpan(c.data() + offset_, need);
}

void InflateBuffers::Commit(size_t used) { offset_ += used; }

void Device::MaybeSendHello(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                            const transport::Endpoint& to, const compress::Setting& setting,
                            TimePoint now) {
  // docs/compression.md, "The hello": ours goes ahead of the first packet of the session and
  // again, at most every kHelloResendInterval, until the other end's hello says it has ours;
  // at once when its hello asks for an answer. At most kMaxHellosPerSession in all, so a peer
  // that never answers (a plain WireGuard peer) costs a handful of messages per session.
  const bool answer = keypair->hello_answer_wanted.exchange(false, std::memory_order_relaxed);
  const int64_t now_ns = now.time_since_epoch().count();
  const int64_t next_ns = now_ns + std::chrono::nanoseconds(kHelloResendInterval).count();
  if (answer) {
    keypair->hello_next_ns.store(next_ns, std::memory_order_relaxed);
  } else {
    if (keypair->hello_acked.load(std::memory_order_relaxed)) return;
    int64_t due = keypair->hello_next_ns.load(std::memory_order_relaxed);
    if (now_ns < due) return;
    // One thread sends (the tun and control threads may both get here).
    if (!keypair->hello_next_ns.compare_exchange_strong(due, next_ns, std::memory_order_relaxed))
      return;
  }
  if (keypair->hellos_sent.fetch_add(1, std::memory_order_relaxed) >= kMaxHellosPerSession) {
    return;
  }
  const uint8_t theirs = keypair->remote_decompresses.load(std::memory_order_relaxed);
  const bool have_theirs = theirs != 0;
  const bool acked = keypair->hello_acked.load(std::memory_order_relaxed);
  const uint8_t bits =
      uint8_t(compress::HelloBit(setting.algorithm) | (have_theirs ? compress::kHelloAck : 0) |
              (acked ? 0 : compress::kHelloWantAnswer));
  constexpr size_t kHelloPadded = proto::kPaddingMultiple;
  std::array<uint8_t, proto::kDataHeaderSize + kHelloPadded + proto::kAeadTagLen> buf{};
  uint64_t counter;
  if (!keypair->ReserveSendCounter(now, counter)) return;
  compress::WriteHello(bits, MutableByteSpan(buf).subspan(proto::kDataHeaderSize));
  const size_t total =
      proto::SealDataMessage(*keypair, counter, buf, compress::kHelloSize, kHelloPadded);
  const ByteSpan datagram(buf.data(), total);
  Status s = SendDatagrams(std::span<const ByteSpan>(&datagram, 1), to);
  if (s.ok()) {
    peer->tx_bytes.fetch_add(total, std::memory_order_relaxed);
    peer->counters.AddTxPackets(1);
    TUNDRA_LOG(kDebug, "{}: compression hello ({}, bits {:#x}) sent to peer {}", options_.name,
               compress::FormatSetting(setting), bits, peer->id());
  } else {
    CountSendFailure(s.error(), 1, peer.get());
  }
}

compress::Codec* Device::StartCompression(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                                          const transport::Endpoint& to, uint32_t packed,
                                          TimePoint now) {
  const compress::Setting setting = UnpackSetting(packed);
  MaybeSendHello(peer, keypair, to, setting, now);
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
    if (!theirs) {  // no bitmask byte: not a hello this build can read
      CountPeerDrop(*peer, proto::DropReason::kInvalidPacket);
      return false;
    }
    // A hello with no algorithm says nothing to record (no peer sends one).
    const uint8_t algorithms = *theirs & compress::kHelloAlgorithms;
    if (algorithms != 0) keypair->remote_decompresses.store(algorithms, std::memory_order_relaxed);
    if (*theirs & compress::kHelloAck) keypair->hello_acked.store(true, std::memory_order_relaxed);
    TUNDRA_LOG(kDebug, "{}: compression hello (bits {:#x}) from peer {}", options_.name, *theirs,
               peer->id());
    // It asks for an answer (it does not know that it has ours): the control thread sends ours
    // at once (the responder may have nothing else to send for a while).
    if (packed != 0 && (*theirs & compress::kHelloWantAnswer) != 0) {
      keypair->hello_answer_wanted.store(true, std::memory_order_relaxed);
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
  if (packed == 0) {
    // Compressed with an algorithm this build knows but this end did not configure for the
    // peer; a marker it does not know at all is unknown either way.
    const bool known = plain[0] == compress::kMarkerLz4 || plain[0] == compress::kMarkerZstd;
    CountPeerDrop(*peer, known ? proto::DropReason::kDecompressNotEnabled
                               : proto::DropReason::kDecompressUnknown);
    return false;
  }
  compress::Codec* codec = ThreadCodec(UnpackSetting(packed));
  if (codec == nullptr) {  // could not be made (out of memory; logged once per thread)
    CountPeerDrop(*peer, proto::DropReason::kDecompressNoCodec);
    return false;
  }
  // The bound is the largest packet any peer may send (kMaxDecompressed), not this end's MTU:
  // a peer with a larger MTU compresses packets this end would still take uncompressed, and
  // both paths then apply the same checks to the packet.
  MutableByteSpan buf = inflate.Next(proto::kDataHeaderSize, kMaxDecompressed);
  const compress::Codec::Decoded d =
      codec->Decompress(plain, buf.subspan(proto::kDataHeaderSize, kMaxDecompressed));
  if (d.error) {
    CountPeerDrop(*peer, DropReasonFor(*d.error));
    TUNDRA_LOG_RATELIMITED(kDebug, "{}: compressed packet from peer {} dropped: {}", options_.name,
                           peer->id(), compress::DecodeErrorName(*d.error));
    return false;
  }
  const size_t framed = compress::kHeaderSize + ((size_t(plain[1]) << 8) | plain[2]);
  peer->counters.AddCompressRx(framed, d.size);
  inflate.Commit(proto::kDataHeaderSize + d.size);
  out = buf.first(proto::kDataHeaderSize + d.size);
  return true;
}

}  // namespace tundra::device
