// Key erasure inside OpenSSL (issue #15 defect 3): once a keypair dies, no memory that OpenSSL
// holds may still contain its keys, and none may have been handed back to the allocator with a
// key in it. The test owns OpenSSL's allocator (CRYPTO_set_mem_functions, installed before
// OpenSSL's first allocation, which is why this is a binary of its own) and scans every live
// block, and every block at the moment it is freed, for the key bytes.
#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "tundra/crypto/aead.h"
#include "tundra/crypto/random.h"
#include "tundra/proto/constants.h"
#include "tundra/proto/keypair.h"

namespace tundra::proto {
namespace {

struct Heap {
  std::mutex mu;
  std::map<void*, size_t> live;  // guarded by mu
  // Keys to look for in blocks as they are freed, and how many such blocks were found.
  std::vector<std::vector<uint8_t>> watched;  // guarded by mu
  size_t freed_holding_key = 0;               // guarded by mu
};

Heap& TheHeap() {
  static Heap* heap = new Heap;  // never destroyed: OpenSSL frees blocks at exit
  return *heap;
}

bool Holds(const void* block, size_t size, const std::vector<uint8_t>& key) {
  return memmem(block, size, key.data(), key.size()) != nullptr;
}

void* HookMalloc(size_t n, const char*, int) {
  void* p = std::malloc(n);
  if (p != nullptr) {
    std::lock_guard lock(TheHeap().mu);
    TheHeap().live[p] = n;
  }
  return p;
}

void HookFree(void* p, const char*, int) {
  if (p == nullptr) return;
  {
    Heap& heap = TheHeap();
    std::lock_guard lock(heap.mu);
    auto it = heap.live.find(p);
    if (it != heap.live.end()) {
      for (const auto& key : heap.watched) {
        if (Holds(p, it->second, key)) ++heap.freed_holding_key;
      }
      heap.live.erase(it);
    }
  }
  std::free(p);
}

void* HookRealloc(void* p, size_t n, const char* file, int line) {
  if (p == nullptr) return HookMalloc(n, file, line);
  if (n == 0) {
    HookFree(p, file, line);
    return nullptr;
  }
  void* q = HookMalloc(n, file, line);
  if (q == nullptr) return nullptr;
  size_t old = 0;
  {
    std::lock_guard lock(TheHeap().mu);
    old = TheHeap().live[p];
  }
  std::memcpy(q, p, old < n ? old : n);
  HookFree(p, file, line);
  return q;
}

// Runs before main, so before OpenSSL allocates anything.
const bool kHooked = CRYPTO_set_mem_functions(HookMalloc, HookRealloc, HookFree) == 1;

// Live OpenSSL blocks that contain `key`.
size_t LiveBlocksHolding(const std::vector<uint8_t>& key) {
  Heap& heap = TheHeap();
  std::lock_guard lock(heap.mu);
  size_t n = 0;
  for (const auto& [p, size] : heap.live) n += Holds(p, size, key);
  return n;
}

void Watch(const std::vector<uint8_t>& key) {
  std::lock_guard lock(TheHeap().mu);
  TheHeap().watched.push_back(key);
}

size_t FreedHoldingKey() {
  std::lock_guard lock(TheHeap().mu);
  return TheHeap().freed_holding_key;
}

std::vector<uint8_t> Bytes(const crypto::SymmetricKey& k) {
  return std::vector<uint8_t>(k.data(), k.data() + k.size());
}

// One packet each way between two keypairs of one session, as a data thread does it.
void RoundTrip(const Keypair& from, const Keypair& to, uint64_t counter) {
  std::vector<uint8_t> buf(kDataHeaderSize + 64 + kAeadTagLen, 0x42);
  const size_t n = SealDataMessage(from, counter, buf, 60, 64);
  ASSERT_TRUE(OpenDataMessage(to, MutableByteSpan(buf.data(), n)));
}

TEST(KeypairWipeTest, NoOpenSslMemoryHoldsTheKeysAfterTheKeypairDies) {
  ASSERT_TRUE(kHooked) << "OpenSSL allocated before the test could install its allocator";
  SessionKeys a;
  crypto::RandomBytes(a.send.span());
  crypto::RandomBytes(a.recv.span());
  SessionKeys b;
  b.send = a.recv;
  b.recv = a.send;
  const std::vector<uint8_t> k1 = Bytes(a.send), k2 = Bytes(a.recv);
  Watch(k1);
  Watch(k2);
  const size_t freed_before = FreedHoldingKey();
  {
    auto ka = std::make_shared<Keypair>(a, TimePoint{});
    auto kb = std::make_shared<Keypair>(b, TimePoint{});
    a.send.Wipe();
    a.recv.Wipe();
    b.send.Wipe();
    b.recv.Wipe();
    // Used from this thread and from two others at once, as the tun/control/udp threads do.
    RoundTrip(*ka, *kb, 0);
    RoundTrip(*kb, *ka, 0);
    std::thread t1([&] {
      for (uint64_t i = 1; i < 200; ++i) RoundTrip(*ka, *kb, i);
    });
    std::thread t2([&] {
      for (uint64_t i = 1; i < 200; ++i) RoundTrip(*kb, *ka, i);
    });
    t1.join();
    t2.join();
    // The scan can see a key where OpenSSL keeps it (else this test could not fail).
    EXPECT_GT(LiveBlocksHolding(k1), 0u);
    EXPECT_GT(LiveBlocksHolding(k2), 0u);
  }
  EXPECT_EQ(LiveBlocksHolding(k1), 0u) << "a library context still holds a send key";
  EXPECT_EQ(LiveBlocksHolding(k2), 0u) << "a library context still holds a receive key";
  EXPECT_EQ(FreedHoldingKey(), freed_before) << "a context was freed without being wiped";
}

TEST(KeypairWipeTest, OneShotAeadLeavesNoKeyInOpenSsl) {
  ASSERT_TRUE(kHooked);
  crypto::SymmetricKey key;
  crypto::RandomBytes(key.span());
  const std::vector<uint8_t> k = Bytes(key);
  Watch(k);
  const size_t freed_before = FreedHoldingKey();
  std::vector<uint8_t> plain(48, 7), sealed(48 + crypto::kTagSize), back(48);
  crypto::ChaChaPolySeal(key, 3, plain, {}, sealed);
  ASSERT_TRUE(crypto::ChaChaPolyOpen(key, 3, sealed, {}, back));
  EXPECT_EQ(back, plain);
  EXPECT_EQ(LiveBlocksHolding(k), 0u) << "a library context still holds a handshake key";
  EXPECT_EQ(FreedHoldingKey(), freed_before) << "a context was freed without being wiped";
}

}  // namespace
}  // namespace tundra::proto
