// Per-packet ChaCha20-Poly1305 seal/open (issue #14 item 2): tundra's ChaChaPolyKey against the
// designs it was chosen from, plus two ceilings (ChaCha20 alone, AEAD update only). Packets
// are sealed and opened in place, as the data path does; figures in docs/performance.md.
//
//   taskset -c 1 build/tundra/crypto/aead_bench --benchmark_repetitions=7
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
//   (one command line)
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>
#include <vector>

#include "tundra/base/check.h"
#include "tundra/crypto/aead.h"
#ifdef TUNDRA_BENCH_GCRYPT
#include <gcrypt.h>
#endif

namespace tundra::crypto {
namespace {

SymmetricKey BenchKey() {
  SymmetricKey k;
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = uint8_t(i * 7 + 1);
  return k;
}

void Nonce(uint64_t counter, uint8_t nonce[kNonceSize]) {
  StoreLe32(nonce, 0);
  StoreLe64(nonce + 4, counter);
}

const EVP_CIPHER* Cipher() {
  static const EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  return c;
}

// The chosen design: key set once, a slot lock and only the nonce per packet.
struct Tundra {
  ChaChaPolyKey key{BenchKey()};
  void Seal(uint64_t c, uint8_t* p, size_t n) { key.Seal(c, ByteSpan(p, n), {}, {p, n + 16}); }
  bool Open(uint64_t c, uint8_t* p, size_t n) {
    return key.Open(c, ByteSpan(p, n + 16), {}, {p, n});
  }
};

// Raw EVP: one context per direction, `rekey` sets key and nonce per packet (the per-thread
// design tundra had before), otherwise the key is set once and only the nonce per packet
// (ChaChaPolyKey without its slot lock).
template <bool rekey>
struct Evp {
  SymmetricKey k = BenchKey();
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  Evp() {
    TUNDRA_CHECK(EVP_EncryptInit_ex2(enc, Cipher(), rekey ? nullptr : k.data(), nullptr, nullptr) ==
                 1);
    TUNDRA_CHECK(EVP_DecryptInit_ex2(dec, Cipher(), rekey ? nullptr : k.data(), nullptr, nullptr) ==
                 1);
  }
  ~Evp() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
  void Seal(uint64_t c, uint8_t* p, size_t n) {
    uint8_t nonce[kNonceSize];
    Nonce(c, nonce);
    int len = 0;
    TUNDRA_CHECK(EVP_EncryptInit_ex2(enc, nullptr, rekey ? k.data() : nullptr, nonce, nullptr));
    TUNDRA_CHECK(EVP_EncryptUpdate(enc, p, &len, p, int(n)) == 1);
    TUNDRA_CHECK(EVP_EncryptFinal_ex(enc, p + n, &len) == 1);
    TUNDRA_CHECK(EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_AEAD_GET_TAG, 16, p + n) == 1);
  }
  bool Open(uint64_t c, uint8_t* p, size_t n) {
    uint8_t nonce[kNonceSize], tag[kTagSize];
    Nonce(c, nonce);
    std::memcpy(tag, p + n, kTagSize);
    int len = 0;
    TUNDRA_CHECK(EVP_DecryptInit_ex2(dec, nullptr, rekey ? k.data() : nullptr, nonce, nullptr));
    TUNDRA_CHECK(EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1);
    TUNDRA_CHECK(EVP_DecryptUpdate(dec, p, &len, p, int(n)) == 1);
    return EVP_DecryptFinal_ex(dec, p + n, &len) == 1;
  }
};
using EvpRekeyPerPacket = Evp<true>;
using EvpKeyOnceNoLock = Evp<false>;

#ifdef TUNDRA_BENCH_GCRYPT
// libgcrypt: a handle per direction, setkey once, setiv per packet.
struct Gcrypt {
  gcry_cipher_hd_t enc = nullptr, dec = nullptr;
  Gcrypt() {
    static const bool init = [] {
      TUNDRA_CHECK(gcry_check_version(nullptr) != nullptr);
      gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
      return true;
    }();
    (void)init;
    const SymmetricKey k = BenchKey();
    for (gcry_cipher_hd_t* h : {&enc, &dec}) {
      TUNDRA_CHECK(gcry_cipher_open(h, GCRY_CIPHER_CHACHA20, GCRY_CIPHER_MODE_POLY1305, 0) == 0);
      TUNDRA_CHECK(gcry_cipher_setkey(*h, k.data(), k.size()) == 0);
    }
  }
  ~Gcrypt() {
    gcry_cipher_close(enc);
    gcry_cipher_close(dec);
  }
  void Seal(uint64_t c, uint8_t* p, size_t n) {
    uint8_t nonce[kNonceSize];
    Nonce(c, nonce);
    TUNDRA_CHECK(gcry_cipher_setiv(enc, nonce, kNonceSize) == 0);
    gcry_cipher_final(enc);
    TUNDRA_CHECK(gcry_cipher_encrypt(enc, p, n, nullptr, 0) == 0);
    TUNDRA_CHECK(gcry_cipher_gettag(enc, p + n, kTagSize) == 0);
  }
  bool Open(uint64_t c, uint8_t* p, size_t n) {
    uint8_t nonce[kNonceSize];
    Nonce(c, nonce);
    TUNDRA_CHECK(gcry_cipher_setiv(dec, nonce, kNonceSize) == 0);
    gcry_cipher_final(dec);
    TUNDRA_CHECK(gcry_cipher_decrypt(dec, p, n, nullptr, 0) == 0);
    return gcry_cipher_checktag(dec, p + n, kTagSize) == 0;
  }
};
#endif

// libsodium: stateless, the key passed with every packet.
struct Sodium {
  SymmetricKey k = BenchKey();
  Sodium() { TUNDRA_CHECK(sodium_init() >= 0); }
  void Seal(uint64_t c, uint8_t* p, size_t n) {
    uint8_t nonce[kNonceSize];
    Nonce(c, nonce);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(p, p + n, nullptr, p, n, nullptr, 0, nullptr,
                                                       nonce, k.data());
  }
  bool Open(uint64_t c, uint8_t* p, size_t n) {
    uint8_t nonce[kNonceSize];
    Nonce(c, nonce);
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(p, nullptr, p, n, p + n, nullptr, 0,
                                                              nonce, k.data()) == 0;
  }
};

template <class T>
void BM_Seal(benchmark::State& state) {
  T t;
  const size_t n = size_t(state.range(0));
  std::vector<uint8_t> buf(n + kTagSize, 7);
  uint64_t counter = 0;
  for (auto _ : state) {
    t.Seal(counter++, buf.data(), n);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}

// Each iteration opens a fresh copy of one sealed packet (the copy is in every row alike).
template <class T>
void BM_Open(benchmark::State& state) {
  T t;
  const size_t n = size_t(state.range(0));
  std::vector<uint8_t> sealed(n + kTagSize, 7), buf(n + kTagSize);
  t.Seal(5, sealed.data(), n);
  for (auto _ : state) {
    std::memcpy(buf.data(), sealed.data(), sealed.size());
    TUNDRA_CHECK(t.Open(5, buf.data(), n));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}

// The handshake path: a context made, keyed and freed (wiped) per message.
void BM_OneShotSeal(benchmark::State& state) {
  const SymmetricKey k = BenchKey();
  const size_t n = size_t(state.range(0));
  std::vector<uint8_t> buf(n + kTagSize, 7);
  uint64_t counter = 0;
  for (auto _ : state) {
    ChaChaPolySeal(k, counter++, ByteSpan(buf.data(), n), {}, buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}

// Ceilings: the stream cipher alone, and the AEAD's update call alone (no init, final, tag).
void Stream(benchmark::State& state, const EVP_CIPHER* cipher, size_t iv_len) {
  const SymmetricKey k = BenchKey();
  uint8_t iv[16] = {};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  TUNDRA_CHECK(iv_len <= sizeof(iv) && EVP_EncryptInit_ex(ctx, cipher, nullptr, k.data(), iv));
  const size_t n = size_t(state.range(0));
  std::vector<uint8_t> buf(n, 7);
  int len = 0;
  for (auto _ : state) {
    TUNDRA_CHECK(EVP_EncryptUpdate(ctx, buf.data(), &len, buf.data(), int(n)) == 1);
    benchmark::DoNotOptimize(buf.data());
  }
  EVP_CIPHER_CTX_free(ctx);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(n));
}
void BM_CeilingChaCha20(benchmark::State& state) { Stream(state, EVP_chacha20(), 16); }
void BM_CeilingAeadUpdateOnly(benchmark::State& state) { Stream(state, Cipher(), 12); }

void Sizes(benchmark::internal::Benchmark* b) {
  for (int n : {64, 512, 1424, 9000}) b->Arg(n);
}

BENCHMARK_TEMPLATE(BM_Seal, Tundra)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Open, Tundra)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Seal, EvpRekeyPerPacket)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Open, EvpRekeyPerPacket)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Seal, EvpKeyOnceNoLock)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Open, EvpKeyOnceNoLock)->Apply(Sizes);
#ifdef TUNDRA_BENCH_GCRYPT
BENCHMARK_TEMPLATE(BM_Seal, Gcrypt)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Open, Gcrypt)->Apply(Sizes);
#endif
BENCHMARK_TEMPLATE(BM_Seal, Sodium)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Open, Sodium)->Apply(Sizes);
BENCHMARK(BM_OneShotSeal)->Arg(64);
BENCHMARK(BM_CeilingChaCha20)->Apply(Sizes);
BENCHMARK(BM_CeilingAeadUpdateOnly)->Apply(Sizes);

}  // namespace
}  // namespace tundra::crypto

BENCHMARK_MAIN();
