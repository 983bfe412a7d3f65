#include "tundra/proto/handshake.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tundra/base/fake_clock.h"
#include "tundra/crypto/aead.h"
#include "tundra/crypto/x25519.h"
#include "tundra/proto/constants.h"
#include "tundra/proto/cookie.h"
#include "tundra/proto/keypair.h"
#include "tundra/testing/test_util.h"

namespace tundra::proto {
namespace {

using ::tundra::testing::FromHex;
using Json = nlohmann::json;
using crypto::PrivateKey;
using crypto::PublicKey;

Json Load(const char* file) { return ::tundra::testing::LoadVectorJson(file); }

PrivateKey Priv(const std::string& hex) { return PrivateKey(FromHex(hex)); }
PublicKey Pub(const std::string& hex) {
  PublicKey p{};
  auto b = FromHex(hex);
  std::copy(b.begin(), b.end(), p.begin());
  return p;
}
std::vector<uint8_t> Bytes(ByteSpan s) { return {s.begin(), s.end()}; }

// The generic Noise core against Cacophony's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s vector
// (prologue "John Galt", arbitrary payloads): the same tokens handshake.cc uses.
TEST(NoiseCoreTest, CacophonyIKpsk2) {
  Json v = Load("noise_IKpsk2_cacophony.json");
  auto name = std::string(v["protocol_name"]);
  auto prologue = FromHex(v["init_prologue"]);
  PrivateKey i_s = Priv(v["init_static"]), i_e = Priv(v["init_ephemeral"]);
  PrivateKey r_s = Priv(v["resp_static"]), r_e = Priv(v["resp_ephemeral"]);
  auto psk = FromHex(v["init_psks"][0]);
  PublicKey rs = crypto::PublicFromPrivate(r_s);
  ASSERT_EQ(ToHex(rs), v["init_remote_static"].get<std::string>());
  auto dh = [](const PrivateKey& a, const PublicKey& b) {
    crypto::SymmetricKey out;
    EXPECT_TRUE(crypto::X25519(a, b, out));
    return Bytes(out.span());
  };
  ByteSpan name_bytes(reinterpret_cast<const uint8_t*>(name.data()), name.size());

  internal::SymmetricState I, R;
  I.Initialize(name_bytes, prologue);
  R.Initialize(name_bytes, prologue);
  I.MixHash(rs);
  R.MixHash(rs);

  // -> e, es, s, ss, payload
  auto p1 = FromHex(v["messages"][0]["payload"]);
  PublicKey ie = crypto::PublicFromPrivate(i_e);
  std::vector<uint8_t> m1(ie.begin(), ie.end());
  I.MixHash(ie);
  I.MixKey(ie);
  I.MixKey(dh(i_e, rs));
  PublicKey is = crypto::PublicFromPrivate(i_s);
  std::vector<uint8_t> enc_s(48), enc_p1(p1.size() + 16);
  I.EncryptAndHash(is, enc_s);
  I.MixKey(dh(i_s, rs));
  I.EncryptAndHash(p1, enc_p1);
  m1.insert(m1.end(), enc_s.begin(), enc_s.end());
  m1.insert(m1.end(), enc_p1.begin(), enc_p1.end());
  EXPECT_EQ(ToHex(m1), v["messages"][0]["ciphertext"].get<std::string>());

  // Responder consumes.
  R.MixHash(ie);
  R.MixKey(ie);
  R.MixKey(dh(r_s, ie));
  PublicKey got_is;
  ASSERT_TRUE(R.DecryptAndHash(enc_s, got_is));
  EXPECT_EQ(got_is, is);
  R.MixKey(dh(r_s, got_is));
  std::vector<uint8_t> got_p1(p1.size());
  ASSERT_TRUE(R.DecryptAndHash(enc_p1, got_p1));
  EXPECT_EQ(got_p1, p1);

  // <- e, ee, se, psk, payload
  auto p2 = FromHex(v["messages"][1]["payload"]);
  PublicKey re = crypto::PublicFromPrivate(r_e);
  R.MixHash(re);
  R.MixKey(re);
  R.MixKey(dh(r_e, ie));
  R.MixKey(dh(r_e, is));
  R.MixKeyAndHash(psk);
  std::vector<uint8_t> enc_p2(p2.size() + 16);
  R.EncryptAndHash(p2, enc_p2);
  std::vector<uint8_t> m2(re.begin(), re.end());
  m2.insert(m2.end(), enc_p2.begin(), enc_p2.end());
  EXPECT_EQ(ToHex(m2), v["messages"][1]["ciphertext"].get<std::string>());

  I.MixHash(re);
  I.MixKey(re);
  I.MixKey(dh(i_e, re));
  I.MixKey(dh(i_s, re));
  I.MixKeyAndHash(psk);
  std::vector<uint8_t> got_p2(p2.size());
  ASSERT_TRUE(I.DecryptAndHash(enc_p2, got_p2));
  EXPECT_EQ(got_p2, p2);
  EXPECT_EQ(ToHex(I.hash()), v["handshake_hash"].get<std::string>());
  EXPECT_EQ(I.hash(), R.hash());

  // Transport messages: initiator sends with k1, responder with k2, nonces 0 and 1.
  crypto::SymmetricKey k1, k2;
  I.Split(k1, k2);
  const crypto::SymmetricKey* keys[] = {&k1, &k2, &k1, &k2};
  const uint64_t nonces[] = {0, 0, 1, 1};
  for (int j = 0; j < 4; ++j) {
    auto m = v["messages"][2 + j];
    auto pt = FromHex(m["payload"]);
    std::vector<uint8_t> ct(pt.size() + 16);
    crypto::ChaChaPolySeal(*keys[j], nonces[j], pt, {}, ct);
    EXPECT_EQ(ToHex(ct), m["ciphertext"].get<std::string>()) << "transport " << j;
  }
}

class DerivedVectorTest : public ::testing::TestWithParam<const char*> {};

// A fixed-key WireGuard handshake (tests/vectors/wireguard_derived.json): initiation, response,
// transport keys, a data message and keepalives, byte for byte.
TEST_P(DerivedVectorTest, HandshakeBytesMatch) {
  Json v = Load("wireguard_derived.json")[GetParam()];
  StaticIdentity init = StaticIdentity::FromPrivateKey(Priv(v["init_static_priv"]));
  StaticIdentity resp = StaticIdentity::FromPrivateKey(Priv(v["resp_static_priv"]));
  ASSERT_EQ(ToHex(init.public_key), v["init_static_pub"].get<std::string>());
  ASSERT_EQ(ToHex(resp.public_key), v["resp_static_pub"].get<std::string>());
  EXPECT_EQ(ToHex(Mac1KeyFor(resp.public_key)),
            v["mac1_key_for_msgs_to_responder"].get<std::string>());
  EXPECT_EQ(ToHex(Mac1KeyFor(init.public_key)),
            v["mac1_key_for_msgs_to_initiator"].get<std::string>());
  EXPECT_EQ(ToHex(CookieKeyFor(resp.public_key).span()),
            v["cookie_key_responder"].get<std::string>());

  crypto::SymmetricKey psk(FromHex(v["psk"]));
  const uint32_t sender = uint32_t(std::stoul(v["sender_index"].get<std::string>(), nullptr, 16));
  const uint32_t responder =
      uint32_t(std::stoul(v["responder_index"].get<std::string>(), nullptr, 16));
  Timestamp ts;
  auto ts_bytes = FromHex(v["timestamp_tai64n"]);
  std::copy(ts_bytes.begin(), ts_bytes.end(), ts.begin());

  Handshake hi, hr;
  ASSERT_TRUE(hi.Configure(init, resp.public_key));
  ASSERT_TRUE(hr.Configure(resp, init.public_key));
  hi.SetPresharedKey(psk);
  hr.SetPresharedKey(psk);
  CookieJar jar_i, jar_r;
  jar_i.SetRemotePublicKey(resp.public_key);
  jar_r.SetRemotePublicKey(init.public_key);
  FakeClock clock;

  PrivateKey ie = Priv(v["init_ephemeral_priv"]);
  MessageInitiation init_msg;
  ASSERT_EQ(hi.CreateInitiation(init, sender, ts, init_msg, &ie), DropReason::kNone);
  jar_i.AddMacs(AsMutableBytes(init_msg), clock.Now());
  EXPECT_EQ(ToHex(AsBytes(init_msg)), v["handshake_initiation_148"].get<std::string>());

  // Responder side, with MAC checking.
  CookieChecker checker(clock);
  checker.SetLocalPublicKey(resp.public_key);
  const uint8_t src[] = {198, 18, 0, 1, 0xca, 0x6c};
  EXPECT_EQ(checker.Validate(AsBytes(init_msg), src, false), MacState::kValidMac1);
  DecryptedInitiation d;
  ASSERT_EQ(DecryptInitiation(resp, init_msg, d), DropReason::kNone);
  EXPECT_EQ(d.remote_static, init.public_key);
  EXPECT_EQ(d.sender_index, sender);
  ASSERT_EQ(hr.ConsumeInitiation(d, init_msg, clock.Now()), DropReason::kNone);

  PrivateKey re = Priv(v["resp_ephemeral_priv"]);
  MessageResponse resp_msg;
  ASSERT_EQ(hr.CreateResponse(responder, resp_msg, &re), DropReason::kNone);
  jar_r.AddMacs(AsMutableBytes(resp_msg), clock.Now());
  EXPECT_EQ(ToHex(AsBytes(resp_msg)), v["handshake_response_92"].get<std::string>());

  ASSERT_EQ(hi.ConsumeResponse(init, resp_msg), DropReason::kNone);
  SessionKeys ki, kr;
  ASSERT_TRUE(hi.BeginSession(ki));
  ASSERT_TRUE(hr.BeginSession(kr));
  EXPECT_TRUE(ki.i_am_initiator);
  EXPECT_FALSE(kr.i_am_initiator);
  EXPECT_EQ(ToHex(ki.send.span()), v["T_send_initiator"].get<std::string>());
  EXPECT_EQ(ToHex(ki.recv.span()), v["T_recv_initiator"].get<std::string>());
  EXPECT_TRUE(ki.send.Equals(kr.recv));
  EXPECT_TRUE(ki.recv.Equals(kr.send));
  EXPECT_EQ(ki.remote_index, responder);
  EXPECT_EQ(kr.remote_index, sender);
  EXPECT_EQ(hi.state(), HandshakeState::kZeroed);

  // Data: the 84-byte ICMP echo padded to 96 -> 128-byte message with counter 0.
  Keypair kpi(ki, clock.Now()), kpr(kr, clock.Now());
  auto inner = FromHex(v["inner_ipv4_icmp_84"]);
  std::vector<uint8_t> buf(kDataHeaderSize + 96 + kAeadTagLen);
  std::copy(inner.begin(), inner.end(), buf.begin() + kDataHeaderSize);
  const size_t padded = PaddedLength(inner.size(), kDefaultMtu);
  EXPECT_EQ(padded, 96u);
  size_t n = SealDataMessage(kpi, 0, buf, inner.size(), padded);
  EXPECT_EQ(ToHex(ByteSpan(buf.data(), n)), v["data_init_to_resp_ctr0_128"].get<std::string>());
  ASSERT_TRUE(OpenDataMessage(kpr, MutableByteSpan(buf.data(), n)));
  EXPECT_TRUE(std::equal(inner.begin(), inner.end(), buf.begin() + kDataHeaderSize));

  std::array<uint8_t, kDataMinSize> ka;
  EXPECT_EQ(SealDataMessage(kpi, 1, ka, 0, 0), kDataMinSize);
  EXPECT_EQ(ToHex(ka), v["keepalive_init_to_resp_ctr1_32"].get<std::string>());
  EXPECT_EQ(SealDataMessage(kpr, 0, ka, 0, 0), kDataMinSize);
  EXPECT_EQ(ToHex(ka), v["keepalive_resp_to_init_ctr0_32"].get<std::string>());

  // Cookie reply for the initiation, and the initiation re-MACed with that cookie.
  auto cookie = FromHex(v["cookie_tau"]);
  auto nonce = FromHex(v["cookie_nonce"]);
  MessageCookieReply reply;
  SealCookieReply(CookieKeyFor(resp.public_key), sender,
                  std::span<const uint8_t, kCookieNonceLen>(nonce.data(), kCookieNonceLen),
                  std::span<const uint8_t, kCookieLen>(cookie.data(), kCookieLen),
                  std::span<const uint8_t, kMacLen>(init_msg.mac1), reply);
  EXPECT_EQ(ToHex(AsBytes(reply)), v["cookie_reply_64"].get<std::string>());
  ASSERT_EQ(jar_i.ConsumeReply(reply, clock.Now()), DropReason::kNone);
  MessageInitiation again = init_msg;
  jar_i.AddMacs(AsMutableBytes(again), clock.Now());
  EXPECT_EQ(ToHex(AsBytes(again)), v["handshake_initiation_with_mac2_148"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(Psk, DerivedVectorTest, ::testing::Values("psk_zero", "psk_set"));

struct Pair {
  StaticIdentity a = StaticIdentity::FromPrivateKey(crypto::GeneratePrivateKey());
  StaticIdentity b = StaticIdentity::FromPrivateKey(crypto::GeneratePrivateKey());
  Handshake ha, hb;
  Pair() {
    EXPECT_TRUE(ha.Configure(a, b.public_key));
    EXPECT_TRUE(hb.Configure(b, a.public_key));
  }
};

Timestamp Ts(uint8_t last) {
  Timestamp t{};
  t[0] = 0x40;
  t[11] = last;
  return t;
}

// wireguard-go TestNoiseHandshake: random keys, both directions, keys cross-decrypt.
TEST(HandshakeTest, PairwiseBothDirections) {
  Pair p;
  FakeClock clock;
  for (int round = 0; round < 2; ++round) {
    const bool a_initiates = round == 0;
    Handshake& hi = a_initiates ? p.ha : p.hb;
    Handshake& hr = a_initiates ? p.hb : p.ha;
    const StaticIdentity& id_i = a_initiates ? p.a : p.b;
    const StaticIdentity& id_r = a_initiates ? p.b : p.a;
    MessageInitiation m1;
    ASSERT_EQ(hi.CreateInitiation(id_i, 10 + round, Ts(uint8_t(round + 1)), m1), DropReason::kNone);
    DecryptedInitiation d;
    ASSERT_EQ(DecryptInitiation(id_r, m1, d), DropReason::kNone);
    EXPECT_EQ(d.remote_static, id_i.public_key);
    ASSERT_EQ(hr.ConsumeInitiation(d, m1, clock.Now()), DropReason::kNone);
    MessageResponse m2;
    ASSERT_EQ(hr.CreateResponse(20 + round, m2), DropReason::kNone);
    ASSERT_EQ(hi.ConsumeResponse(id_i, m2), DropReason::kNone);
    SessionKeys ki, kr;
    ASSERT_TRUE(hi.BeginSession(ki));
    ASSERT_TRUE(hr.BeginSession(kr));
    EXPECT_TRUE(ki.send.Equals(kr.recv));
    EXPECT_TRUE(ki.recv.Equals(kr.send));
    EXPECT_FALSE(ki.send.Equals(ki.recv));
    clock.Advance(std::chrono::seconds(1));
  }
}

TEST(HandshakeTest, ReplayedAndFloodedInitiationsAreRefused) {
  Pair p;
  FakeClock clock;
  MessageInitiation m1;
  ASSERT_EQ(p.ha.CreateInitiation(p.a, 1, Ts(5), m1), DropReason::kNone);
  DecryptedInitiation d;
  ASSERT_EQ(DecryptInitiation(p.b, m1, d), DropReason::kNone);
  ASSERT_EQ(p.hb.ConsumeInitiation(d, m1, clock.Now()), DropReason::kNone);
  clock.Advance(std::chrono::seconds(1));
  // The same message again: its timestamp is not newer.
  ASSERT_EQ(DecryptInitiation(p.b, m1, d), DropReason::kNone);
  EXPECT_EQ(p.hb.ConsumeInitiation(d, m1, clock.Now()), DropReason::kStaleTimestamp);
  // An older timestamp: refused too.
  ASSERT_EQ(p.ha.CreateInitiation(p.a, 2, Ts(4), m1), DropReason::kNone);
  ASSERT_EQ(DecryptInitiation(p.b, m1, d), DropReason::kNone);
  EXPECT_EQ(p.hb.ConsumeInitiation(d, m1, clock.Now()), DropReason::kStaleTimestamp);
  // Newer, accepted; then newer again but within 20 ms: flood.
  ASSERT_EQ(p.ha.CreateInitiation(p.a, 3, Ts(6), m1), DropReason::kNone);
  ASSERT_EQ(DecryptInitiation(p.b, m1, d), DropReason::kNone);
  ASSERT_EQ(p.hb.ConsumeInitiation(d, m1, clock.Now()), DropReason::kNone);
  clock.Advance(std::chrono::milliseconds(10));
  ASSERT_EQ(p.ha.CreateInitiation(p.a, 4, Ts(7), m1), DropReason::kNone);
  ASSERT_EQ(DecryptInitiation(p.b, m1, d), DropReason::kNone);
  EXPECT_EQ(p.hb.ConsumeInitiation(d, m1, clock.Now()), DropReason::kFlood);
  clock.Advance(std::chrono::milliseconds(11));
  EXPECT_EQ(p.hb.ConsumeInitiation(d, m1, clock.Now()), DropReason::kNone);
}

TEST(HandshakeTest, TamperedMessagesFail) {
  Pair p;
  FakeClock clock;
  MessageInitiation m1;
  ASSERT_EQ(p.ha.CreateInitiation(p.a, 1, Ts(1), m1), DropReason::kNone);
  MessageInitiation bad = m1;
  bad.encrypted_static[3] ^= 1;
  DecryptedInitiation d;
  EXPECT_EQ(DecryptInitiation(p.b, bad, d), DropReason::kHandshakeDecrypt);
  bad = m1;
  bad.encrypted_timestamp[0] ^= 1;
  ASSERT_EQ(DecryptInitiation(p.b, bad, d), DropReason::kNone);
  EXPECT_EQ(p.hb.ConsumeInitiation(d, bad, clock.Now()), DropReason::kHandshakeDecrypt);
  // Initiation for someone else: decrypting the static key fails.
  StaticIdentity other = StaticIdentity::FromPrivateKey(crypto::GeneratePrivateKey());
  EXPECT_EQ(DecryptInitiation(other, m1, d), DropReason::kHandshakeDecrypt);

  ASSERT_EQ(DecryptInitiation(p.b, m1, d), DropReason::kNone);
  ASSERT_EQ(p.hb.ConsumeInitiation(d, m1, clock.Now()), DropReason::kNone);
  MessageResponse m2;
  ASSERT_EQ(p.hb.CreateResponse(2, m2), DropReason::kNone);
  MessageResponse bad2 = m2;
  bad2.encrypted_nothing[0] ^= 1;
  EXPECT_EQ(p.ha.ConsumeResponse(p.a, bad2), DropReason::kHandshakeDecrypt);
  bad2 = m2;
  bad2.receiver_index = 99;
  EXPECT_EQ(p.ha.ConsumeResponse(p.a, bad2), DropReason::kUnexpectedMessage);
  // The forged responses did not disturb the pending handshake.
  EXPECT_EQ(p.ha.ConsumeResponse(p.a, m2), DropReason::kNone);
  // A second copy of the response is unexpected now.
  EXPECT_EQ(p.ha.ConsumeResponse(p.a, m2), DropReason::kUnexpectedMessage);
}

TEST(HandshakeTest, WrongPresharedKeyFailsTheResponse) {
  Pair p;
  FakeClock clock;
  crypto::SymmetricKey psk1, psk2;
  psk1.data()[0] = 1;
  psk2.data()[0] = 2;
  p.ha.SetPresharedKey(psk1);
  p.hb.SetPresharedKey(psk2);
  MessageInitiation m1;
  ASSERT_EQ(p.ha.CreateInitiation(p.a, 1, Ts(1), m1), DropReason::kNone);
  DecryptedInitiation d;
  ASSERT_EQ(DecryptInitiation(p.b, m1, d), DropReason::kNone);
  ASSERT_EQ(p.hb.ConsumeInitiation(d, m1, clock.Now()), DropReason::kNone);
  MessageResponse m2;
  ASSERT_EQ(p.hb.CreateResponse(2, m2), DropReason::kNone);
  EXPECT_EQ(p.ha.ConsumeResponse(p.a, m2), DropReason::kHandshakeDecrypt);
}

TEST(HandshakeTest, LowOrderKeysNeverHandshake) {
  Json v = Load("x25519.json");
  StaticIdentity me = StaticIdentity::FromPrivateKey(crypto::GeneratePrivateKey());
  int checked = 0;
  for (const auto& point : v["low_order_points_from_netns_sh"]) {
    Handshake h;
    EXPECT_FALSE(h.Configure(me, Pub(point["hex"])));
    MessageInitiation m1;
    EXPECT_NE(h.CreateInitiation(me, 1, Ts(1), m1), DropReason::kNone);
    ++checked;
  }
  EXPECT_EQ(checked, 7);
  // A low-order ephemeral in an initiation is refused at the first DH.
  MessageInitiation m1{};
  m1.type = 1;
  DecryptedInitiation d;
  EXPECT_EQ(DecryptInitiation(me, m1, d), DropReason::kLowOrderKey);
}

TEST(HandshakeTest, NoPrivateKeyMeansNoHandshake) {
  StaticIdentity none;
  Handshake h;
  EXPECT_FALSE(h.Configure(none, crypto::PublicFromPrivate(crypto::GeneratePrivateKey())));
  MessageInitiation m1{};
  DecryptedInitiation d;
  EXPECT_EQ(DecryptInitiation(none, m1, d), DropReason::kNoPrivateKey);
}

TEST(HandshakeTest, InitialChainingKeyAndHash) {
  Json v = Load("wireguard_derived.json");
  EXPECT_EQ(ToHex(internal::InitialChainingKey().span()),
            v["Ci_hash_construction"].get<std::string>());
  EXPECT_EQ(ToHex(internal::InitialHash()), v["Hi_hash_Ci_identifier"].get<std::string>());
}

}  // namespace
}  // namespace tundra::proto
