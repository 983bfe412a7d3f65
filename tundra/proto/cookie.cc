#include "tundra/proto/cookie.h"

#include <cstring>

#include "tundra/base/check.h"
#include "tundra/crypto/aead.h"
#include "tundra/crypto/random.h"
#include "tundra/proto/constants.h"

namespace tundra::proto {
namespace {

constexpr uint8_t kMac1Label[8] = {'m', 'a', 'c', '1', '-', '-', '-', '-'};
constexpr uint8_t kCookieLabel[8] = {'c', 'o', 'o', 'k', 'i', 'e', '-', '-'};

// Size-checked offsets of the MACs for an initiation or a response.
bool MacOffsets(size_t size, size_t& mac1, size_t& mac2) {
  if (size == kInitiationSize) {
    mac1 = Mac1Offset<MessageInitiation>();
    mac2 = Mac2Offset<MessageInitiation>();
    return true;
  }
  if (size == kResponseSize) {
    mac1 = Mac1Offset<MessageResponse>();
    mac2 = Mac2Offset<MessageResponse>();
    return true;
  }
  return false;
}

}  // namespace

crypto::Hash32 Mac1KeyFor(const crypto::PublicKey& pub) {
  crypto::Hash32 key;
  crypto::Blake2sHash({kMac1Label, pub}, key);
  return key;
}

crypto::SymmetricKey CookieKeyFor(const crypto::PublicKey& pub) {
  crypto::Hash32 key;
  crypto::Blake2sHash({kCookieLabel, pub}, key);
  return crypto::SymmetricKey(key);
}

void SealCookieReply(const crypto::SymmetricKey& cookie_key, uint32_t receiver_index,
                     std::span<const uint8_t, kCookieNonceLen> nonce,
                     std::span<const uint8_t, kCookieLen> cookie,
                     std::span<const uint8_t, kMacLen> mac1, MessageCookieReply& out) {
  std::memset(&out, 0, sizeof(out));
  out.type = uint32_t(MessageType::kCookieReply);
  out.receiver_index = receiver_index;
  std::memcpy(out.nonce, nonce.data(), nonce.size());
  crypto::XChaChaPolySeal(cookie_key, nonce, cookie, mac1, out.encrypted_cookie);
}

CookieChecker::CookieChecker(const Clock& clock) : clock_(clock) {}

void CookieChecker::SetLocalPublicKey(const crypto::PublicKey& pub) {
  mac1_key_ = Mac1KeyFor(pub);
  cookie_key_ = CookieKeyFor(pub);
}

void CookieChecker::MakeCookie(ByteSpan source, std::span<uint8_t, kCookieLen> cookie) {
  const TimePoint now = clock_.Now();
  if (!has_secret_ || now - secret_birthdate_ >= kCookieSecretMaxAge) {
    crypto::RandomBytes(secret_.span());
    secret_birthdate_ = now;
    has_secret_ = true;
  }
  crypto::Blake2sKeyed(secret_.span(), {source}, cookie);
}

MacState CookieChecker::Validate(ByteSpan msg, ByteSpan source, bool check_mac2) {
  size_t mac1_off, mac2_off;
  if (!MacOffsets(msg.size(), mac1_off, mac2_off)) return MacState::kInvalidMac1;
  crypto::Mac16 computed;
  crypto::Blake2sMac(mac1_key_, {msg.first(mac1_off)}, computed);
  if (!crypto::ConstantTimeEqual(computed, msg.subspan(mac1_off, kMacLen))) {
    return MacState::kInvalidMac1;
  }
  if (!check_mac2) return MacState::kValidMac1;
  std::array<uint8_t, kCookieLen> cookie;
  MakeCookie(source, cookie);
  crypto::Blake2sMac(cookie, {msg.first(mac2_off)}, computed);
  SecureZero(cookie.data(), cookie.size());
  if (!crypto::ConstantTimeEqual(computed, msg.subspan(mac2_off, kMacLen))) {
    return MacState::kValidMac1;
  }
  return MacState::kValidMac1AndMac2;
}

void CookieChecker::CreateReply(ByteSpan msg, uint32_t sender_index, ByteSpan source,
                                MessageCookieReply& out) {
  size_t mac1_off, mac2_off;
  TUNDRA_CHECK(MacOffsets(msg.size(), mac1_off, mac2_off));
  std::array<uint8_t, kCookieNonceLen> nonce;
  crypto::RandomBytes(nonce);
  std::array<uint8_t, kCookieLen> cookie;
  MakeCookie(source, cookie);
  SealCookieReply(cookie_key_, sender_index, nonce, cookie,
                  std::span<const uint8_t, kMacLen>(msg.data() + mac1_off, kMacLen), out);
  SecureZero(cookie.data(), cookie.size());
}

void CookieJar::SetRemotePublicKey(const crypto::PublicKey& pub) {
  mac1_key_ = Mac1KeyFor(pub);
  cookie_decryption_key_ = CookieKeyFor(pub);
  cookie_.Wipe();
  has_cookie_ = false;
  have_sent_mac1_ = false;
}

bool CookieJar::has_cookie(TimePoint now) const {
  return has_cookie_ && now - cookie_birthdate_ < kCookieSecretMaxAge - kCookieSecretLatency;
}

void CookieJar::AddMacs(MutableByteSpan msg, TimePoint now) {
  size_t mac1_off, mac2_off;
  TUNDRA_CHECK(MacOffsets(msg.size(), mac1_off, mac2_off));
  crypto::Mac16 mac;
  crypto::Blake2sMac(mac1_key_, {msg.first(mac1_off)}, mac);
  std::memcpy(msg.data() + mac1_off, mac.data(), kMacLen);
  last_mac1_sent_ = mac;
  have_sent_mac1_ = true;
  if (has_cookie(now)) {
    crypto::Blake2sMac(cookie_.span(), {msg.first(mac2_off)}, mac);
    std::memcpy(msg.data() + mac2_off, mac.data(), kMacLen);
  } else {
    std::memset(msg.data() + mac2_off, 0, kMacLen);
  }
}

DropReason CookieJar::ConsumeReply(const MessageCookieReply& reply, TimePoint now) {
  if (!have_sent_mac1_) return DropReason::kUnexpectedMessage;
  crypto::Secret<kCookieLen> cookie;
  if (!crypto::XChaChaPolyOpen(cookie_decryption_key_,
                               std::span<const uint8_t, kCookieNonceLen>(reply.nonce),
                               reply.encrypted_cookie, last_mac1_sent_, cookie.span())) {
    return DropReason::kHandshakeDecrypt;
  }
  cookie_ = cookie;
  cookie_birthdate_ = now;
  has_cookie_ = true;
  have_sent_mac1_ = false;
  return DropReason::kNone;
}

}  // namespace tundra::proto
