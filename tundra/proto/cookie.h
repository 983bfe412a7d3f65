// MAC1/MAC2 and cookie replies (whitepaper §5.4.4, §5.4.7; kernel cookie.c).
//
//   mac1 = MAC(HASH("mac1----" || receiver's static public), msg[0 : mac1 offset])
//   mac2 = MAC(cookie, msg[0 : mac2 offset])  or 16 zero bytes without a fresh cookie
//   cookie = MAC(secret rotated every 120 s, source IP || source port)
//   reply  = XChaCha20-Poly1305(HASH("cookie--" || responder's static public), nonce, cookie,
//                               ad = mac1 of the message it answers)
//
// CookieChecker is the responder's side (one per device); CookieJar the initiator's (one per peer).
// Neither is thread-safe: their owners serialize calls (device handshake worker / peer lock).
#pragma once

#include <cstdint>

#include "tundra/base/bytes.h"
#include "tundra/base/clock.h"
#include "tundra/crypto/blake2s.h"
#include "tundra/crypto/secret.h"
#include "tundra/proto/drop_reason.h"
#include "tundra/proto/messages.h"

namespace tundra::proto {

enum class MacState {
  kInvalidMac1,       // drop silently
  kValidMac1,         // mac1 good; mac2 missing, wrong or not checked
  kValidMac1AndMac2,  // both good (the sender holds a fresh cookie for its address)
};

// mac1 key and cookie key derived from a static public key.
crypto::Hash32 Mac1KeyFor(const crypto::PublicKey& pub);
crypto::SymmetricKey CookieKeyFor(const crypto::PublicKey& pub);

// Builds a cookie reply from its parts (exposed for the derived test vector).
void SealCookieReply(const crypto::SymmetricKey& cookie_key, uint32_t receiver_index,
                     std::span<const uint8_t, kCookieNonceLen> nonce,
                     std::span<const uint8_t, kCookieLen> cookie,
                     std::span<const uint8_t, kMacLen> mac1, MessageCookieReply& out);

class CookieChecker {
 public:
  // `clock` must outlive this object.
  explicit CookieChecker(const Clock& clock);

  // Our static public key: precomputes the mac1 and cookie keys.
  void SetLocalPublicKey(const crypto::PublicKey& pub);

  // `msg` is a whole initiation or response; `source` the sender's address bytes and port
  // (any stable encoding). Checks mac2 only when `check_mac2` (i.e. under load).
  MacState Validate(ByteSpan msg, ByteSpan source, bool check_mac2);

  // The reply to `msg` (initiation or response) from `source`, to the message's sender index.
  void CreateReply(ByteSpan msg, uint32_t sender_index, ByteSpan source, MessageCookieReply& out);

 private:
  void MakeCookie(ByteSpan source, std::span<uint8_t, kCookieLen> cookie);

  const Clock& clock_;
  crypto::Hash32 mac1_key_{};
  crypto::SymmetricKey cookie_key_;
  crypto::Secret<32> secret_;
  TimePoint secret_birthdate_{};
  bool has_secret_ = false;
};

class CookieJar {
 public:
  // The peer's static public key: precomputes the mac1 key for messages to it and the key
  // that decrypts its cookie replies. Forgets any cookie.
  void SetRemotePublicKey(const crypto::PublicKey& pub);

  // Writes mac1 (and mac2 when a cookie younger than 120 - 5 s is held) into `msg`, an
  // initiation or response of exact size, and remembers mac1 for a cookie reply.
  void AddMacs(MutableByteSpan msg, TimePoint now);

  // Accepts a cookie reply answering the last message we sent with mac1, once.
  DropReason ConsumeReply(const MessageCookieReply& reply, TimePoint now);

  bool has_cookie(TimePoint now) const;

 private:
  crypto::Hash32 mac1_key_{};
  crypto::SymmetricKey cookie_decryption_key_;
  crypto::Secret<kCookieLen> cookie_;
  TimePoint cookie_birthdate_{};
  bool has_cookie_ = false;
  std::array<uint8_t, kMacLen> last_mac1_sent_{};
  bool have_sent_mac1_ = false;
};

}  // namespace tundra::proto
