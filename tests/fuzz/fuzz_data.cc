// Fuzz target: the transport-data path (tundra/proto keypair.h, replay.h) with one fixed pair
// of session keys. Every input is used three ways:
// 1. as a received datagram: a data message that opens under the responder's keypair must
//    re-seal to exactly the same bytes, and its counter is accepted once;
// 2. as a plaintext: PaddedLength obeys its rules, seal-then-open returns the padded plaintext,
//    and flipping any authenticated byte (counter, ciphertext, tag) makes open fail;
// 3. as a sequence of counters: ReplayWindow agrees with a naive model (a set of accepted
//    counters and the highest one).
#include <algorithm>
#include <set>
#include <vector>

#include "tests/fuzz/fuzz_fixture.h"
#include "tundra/proto/constants.h"
#include "tundra/proto/keypair.h"

namespace tundra::fuzz {
namespace {

using proto::Keypair;

proto::SessionKeys Keys(bool initiator) {
  proto::SessionKeys k;
  k.send = PatternKey(initiator ? 31 : 63);
  k.recv = PatternKey(initiator ? 63 : 31);
  k.i_am_initiator = initiator;
  k.local_index = initiator ? kInitiatorIndex : kResponderIndex;
  k.remote_index = initiator ? kResponderIndex : kInitiatorIndex;
  return k;
}

void FuzzReceive(ByteSpan data) {
  proto::MessageType type{};
  if (proto::Classify(data, type) != proto::DropReason::kNone) return;
  if (type != proto::MessageType::kData) return;
  if (proto::DataReceiverIndex(data.data()) != kResponderIndex) return;
  Keypair receiver(Keys(false), kFuzzNow);
  std::vector<uint8_t> buf(data.begin(), data.end());
  if (!proto::OpenDataMessage(receiver, buf)) return;
  const uint64_t counter = proto::DataCounter(data.data());
  // The plaintext re-sealed under the sender's keypair is the message we received.
  Keypair sender(Keys(true), kFuzzNow);
  const size_t plain = data.size() - proto::kDataOverhead;
  const size_t n = proto::SealDataMessage(sender, counter, buf, plain, plain);
  TUNDRA_CHECK(n == data.size());
  TUNDRA_CHECK(std::equal(buf.begin(), buf.end(), data.begin()));
  const bool fresh = receiver.ValidateCounter(counter);
  TUNDRA_CHECK(fresh == (counter < proto::kRejectAfterMessages));
  TUNDRA_CHECK(!receiver.ValidateCounter(counter));
}

void FuzzSealOpen(ByteSpan data) {
  if (data.size() < 10) return;
  const size_t mtu = LoadLe16(data.data());
  const uint64_t counter = LoadLe64(data.data() + 2);
  const ByteSpan plain = data.subspan(10);
  const size_t padded = proto::PaddedLength(plain.size(), mtu);
  if (plain.size() >= mtu) {
    TUNDRA_CHECK(padded == plain.size());
  } else {
    TUNDRA_CHECK(padded >= plain.size() && padded <= mtu);
    TUNDRA_CHECK(padded - plain.size() < proto::kPaddingMultiple);
    TUNDRA_CHECK(padded % proto::kPaddingMultiple == 0 || padded == mtu);
  }
  Keypair sender(Keys(true), kFuzzNow), receiver(Keys(false), kFuzzNow);
  std::vector<uint8_t> buf(proto::kDataHeaderSize + padded + proto::kAeadTagLen, 0xA5);
  std::copy(plain.begin(), plain.end(), buf.begin() + proto::kDataHeaderSize);
  const size_t n = proto::SealDataMessage(sender, counter, buf, plain.size(), padded);
  TUNDRA_CHECK(n == buf.size());
  proto::MessageType type{};
  TUNDRA_CHECK(proto::Classify(buf, type) == proto::DropReason::kNone);
  TUNDRA_CHECK(type == proto::MessageType::kData);
  TUNDRA_CHECK(proto::DataReceiverIndex(buf.data()) == kResponderIndex);
  TUNDRA_CHECK(proto::DataCounter(buf.data()) == counter);
  const std::vector<uint8_t> sealed = buf;

  TUNDRA_CHECK(proto::OpenDataMessage(receiver, buf));
  TUNDRA_CHECK(std::equal(plain.begin(), plain.end(), buf.begin() + proto::kDataHeaderSize));
  TUNDRA_CHECK(std::all_of(buf.begin() + proto::kDataHeaderSize + plain.size(),
                           buf.end() - proto::kAeadTagLen, [](uint8_t b) { return b == 0; }));

  // The wrong direction's keys do not open it.
  buf = sealed;
  TUNDRA_CHECK(!proto::OpenDataMessage(sender, buf));
  // Every byte from the counter on is authenticated (the counter is the nonce).
  const size_t authenticated = sealed.size() - 8;
  const size_t pos = 8 + (plain.empty() ? 0 : plain[0] * 131 + plain.size()) % authenticated;
  buf = sealed;
  buf[pos] ^= uint8_t(1u << (counter % 8));
  TUNDRA_CHECK(!proto::OpenDataMessage(receiver, buf));
}

void FuzzReplay(ByteSpan data) {
  // Small limits too, so the limit check is reached.
  const uint64_t limit = data.size() % 2 ? proto::kRejectAfterMessages : 40000;
  proto::ReplayWindow window;
  std::set<uint64_t> seen;
  uint64_t highest = 0;
  uint64_t counter = 0;
  for (size_t i = 0; i + 3 <= data.size(); i += 3) {
    const uint8_t op = data[i];
    const uint16_t arg = LoadLe16(data.data() + i + 1);
    switch (op % 4) {
      case 0:  // forward by a little or by a lot
        counter += (op & 4) ? uint64_t(arg) << 8 : arg;
        break;
      case 1:  // back
        counter -= std::min<uint64_t>(counter, arg);
        break;
      case 2:  // near the window edge
        counter = highest - std::min<uint64_t>(highest, proto::kReplayWindow - 2 + arg % 4);
        break;
      default:  // near the limit
        counter = limit - 1 - std::min<uint64_t>(limit - 1, arg % 8);
    }
    const bool expect = counter < limit && !seen.count(counter) &&
                        (counter > highest || highest - counter <= proto::kReplayWindow);
    const bool got = window.Validate(counter, limit);
    TUNDRA_CHECK(got == expect);
    if (got) {
      seen.insert(counter);
      highest = std::max(highest, counter);
    }
  }
}

}  // namespace
}  // namespace tundra::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const tundra::ByteSpan in(data, size);
  tundra::fuzz::FuzzReceive(in);
  tundra::fuzz::FuzzSealOpen(in);
  tundra::fuzz::FuzzReplay(in);
  return 0;
}
