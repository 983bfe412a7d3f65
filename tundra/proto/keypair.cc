#include "tundra/proto/keypair.h"

#include <cstring>

#include "tundra/base/check.h"
#include "tundra/proto/constants.h"

namespace tundra::proto {

bool Keypair::ReserveSendCounter(TimePoint now, uint64_t& counter) {
  if (!sending_valid.load(std::memory_order_relaxed) || now - birthdate >= kRejectAfterTime) {
    return false;
  }
  counter = send_counter.fetch_add(1, std::memory_order_relaxed);
  if (counter >= kRejectAfterMessages) {
    sending_valid.store(false, std::memory_order_relaxed);
    return false;
  }
  return true;
}

bool Keypair::CanReceive(TimePoint now) const {
  return receiving_valid.load(std::memory_order_relaxed) && now - birthdate < kRejectAfterTime;
}

bool Keypair::ValidateCounter(uint64_t counter) {
  std::lock_guard lock(replay_mu);
  return replay.Validate(counter, kRejectAfterMessages);
}

KeypairPtr Keypairs::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

KeypairPtr Keypairs::previous() const {
  std::lock_guard lock(mu_);
  return previous_;
}

KeypairPtr Keypairs::next() const {
  std::lock_guard lock(mu_);
  return next_;
}

Keypairs::Evicted Keypairs::Add(KeypairPtr keypair) {
  Evicted evicted;
  std::lock_guard lock(mu_);
  if (keypair->i_am_initiator) {
    // The response confirmed the session: use it now. A pending `next` (from a handshake we
    // answered meanwhile) becomes previous and the current one is dropped unused.
    if (next_) {
      evicted[0] = std::move(previous_);
      evicted[1] = std::move(current_);
      previous_ = std::move(next_);
    } else {
      evicted[0] = std::move(previous_);
      previous_ = std::move(current_);
    }
    current_ = std::move(keypair);
  } else {
    // We answered: wait for the first data message before using it. Drop previous and any
    // older pending next.
    evicted[0] = std::move(next_);
    evicted[1] = std::move(previous_);
    next_ = std::move(keypair);
  }
  return evicted;
}

bool Keypairs::ReceivedWith(const KeypairPtr& keypair, Evicted& evicted) {
  std::lock_guard lock(mu_);
  if (!keypair || next_ != keypair) return false;
  evicted[0] = std::move(previous_);
  previous_ = std::move(current_);
  current_ = std::move(next_);
  return true;
}

Keypairs::Evicted Keypairs::Clear() {
  std::lock_guard lock(mu_);
  Evicted evicted = {std::move(previous_), std::move(current_), std::move(next_)};
  for (auto& k : evicted) {
    if (k) {
      k->sending_valid.store(false);
      k->receiving_valid.store(false);
    }
  }
  return evicted;
}

size_t PaddedLength(size_t plain_len, size_t mtu) {
  if (plain_len >= mtu) return plain_len;
  size_t padded = (plain_len + kPaddingMultiple - 1) / kPaddingMultiple * kPaddingMultiple;
  return padded > mtu ? mtu : padded;
}

size_t SealDataMessage(const Keypair& keypair, uint64_t counter, MutableByteSpan buf,
                       size_t plain_len, size_t padded_len) {
  const size_t total = kDataHeaderSize + padded_len + kAeadTagLen;
  TUNDRA_CHECK(padded_len >= plain_len && buf.size() >= total);
  uint8_t* p = buf.data();
  std::memset(p + kDataHeaderSize + plain_len, 0, padded_len - plain_len);
  StoreLe32(p, uint32_t(MessageType::kData));
  StoreLe32(p + 4, keypair.remote_index);
  StoreLe64(p + 8, counter);
  MutableByteSpan body = buf.subspan(kDataHeaderSize, padded_len + kAeadTagLen);
  keypair.send_key.Seal(counter, body.first(padded_len), {}, body);
  return total;
}

bool OpenDataMessage(const Keypair& keypair, MutableByteSpan msg) {
  if (msg.size() < kDataMinSize) return false;
  MutableByteSpan body = msg.subspan(kDataHeaderSize);
  return keypair.recv_key.Open(DataCounter(msg.data()), body, {}, body);
}

}  // namespace tundra::proto
