// Allowed-IPs: cryptokey routing's longest-prefix-match table (kernel allowedips.c).
//
// One path-compressed binary trie per family. Each node holds a masked prefix; a node with a
// value is a route, one without is an internal branch point. Insert replaces the owner of an
// identical prefix (a prefix belongs to at most one peer); removals splice out nodes that no
// longer carry a value and have fewer than two children, so the trie stays minimal.
//
// Every route is also on its owner's list (the kernel's peer->allowedips_list), and every node
// knows its parent, so what one peer owns is listed and removed in time proportional to its own
// routes (EntriesForPeer, RemoveByPeer), not to the size of the table: configuring or listing n
// peers is linear in n.
//
// Host routes (/32, /128: most of a many-peer table) are also in a hash table by address. A
// host route is the longest prefix there can be, so a lookup that finds the address there is
// done in one probe instead of a walk through the trie (~17 nodes deep at 100k routes, each a
// cache miss); other addresses walk the trie as before.
//
// `Value` is a small copyable, hashable handle (e.g. Peer*); Value{} means "no route".
// Not internally synchronized: the device guards it (readers shared, writers exclusive).
// Lookups allocate nothing and touch at most one node per distinct branch point.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "tundra/base/ip_header.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::routing {

template <typename Value>
class AllowedIps {
 public:
  AllowedIps() = default;
  AllowedIps(const AllowedIps&) = delete;
  AllowedIps& operator=(const AllowedIps&) = delete;

  void Insert(const IpPrefix& prefix, Value value);
  // Removes `prefix` if `value` owns it; true when something was removed.
  bool Remove(const IpPrefix& prefix, Value value);
  // Removes every route `value` owns: O(its routes), whatever the size of the table.
  void RemoveByPeer(Value value);
  void Clear() {
    owners_.clear();
    hosts4_.clear();
    hosts6_.clear();
    root4_.reset();
    root6_.reset();
    size_ = 0;
  }

  Value LookupV4(const uint8_t* addr4) const {
    if (!hosts4_.empty()) {
      auto it = hosts4_.find(LoadBe32(addr4));
      if (it != hosts4_.end()) return it->second->value;
    }
    return Lookup(root4_.get(), addr4, 32);
  }
  Value LookupV6(const uint8_t* addr16) const {
    if (!hosts6_.empty()) {
      auto it = hosts6_.find(Host6{LoadBe64(addr16), LoadBe64(addr16 + 8)});
      if (it != hosts6_.end()) return it->second->value;
    }
    return Lookup(root6_.get(), addr16, 128);
  }
  Value Lookup(const IpAddress& a) const {
    return a.is_v4() ? LookupV4(a.data()) : LookupV6(a.data());
  }
  // Route for the destination (send) or the source (receive check) of an IPv4/IPv6 packet;
  // Value{} when the packet is too short or not IP.
  Value LookupPacketDst(ByteSpan packet) const;
  Value LookupPacketSrc(ByteSpan packet) const;

  // Every prefix `value` owns, normalized (host bits cleared), IPv4 first, then by address and
  // length (the trie's pre-order). O(k log k) for k routes of `value`.
  std::vector<IpPrefix> EntriesForPeer(Value value) const;
  // How many routes `value` owns.
  size_t CountForPeer(Value value) const;
  size_t size() const { return size_; }

  // Checks the structure (for tests; O(n)): parent links, every node inside its parent's prefix
  // on the right side, no branch point with fewer than two children, every owner's list holds
  // exactly that owner's routes, the host tables exactly the host routes, counts agree.
  bool Valid() const;

 private:
  struct Node {
    std::array<uint8_t, 16> key{};  // masked to `cidr` bits
    uint8_t cidr = 0;
    bool v6 = false;
    bool has_value = false;
    Value value{};
    Node* parent = nullptr;  // null at a root
    std::unique_ptr<Node> child[2];
    // The owner's list of routes (only while has_value).
    Node* owner_prev = nullptr;
    Node* owner_next = nullptr;
  };
  struct Host6 {
    uint64_t hi, lo;
    bool operator==(const Host6&) const = default;
  };
  struct Host4Hash {
    size_t operator()(uint32_t a) const { return size_t((uint64_t{a} * 0x9e3779b97f4a7c15) >> 32); }
  };
  struct Host6Hash {
    size_t operator()(const Host6& a) const {
      return size_t(((a.hi * 0x9e3779b97f4a7c15) ^ a.lo) * 0xc2b2ae3d27d4eb4f >> 16);
    }
  };
  struct OwnerList {
    Node* head = nullptr;
    size_t count = 0;
  };

  static bool Bit(const uint8_t* key, unsigned i) { return (key[i / 8] >> (7 - i % 8)) & 1; }
  static unsigned CommonBits(const uint8_t* a, const uint8_t* b, unsigned max) {
    unsigned n = 0;
    for (unsigned byte = 0; n < max; ++byte) {
      const uint8_t x = a[byte] ^ b[byte];
      if (x == 0) {
        n += 8;
        continue;
      }
      n += unsigned(__builtin_clz(unsigned(x)) - 24);
      break;
    }
    return n < max ? n : max;
  }
  static bool Matches(const Node& n, const uint8_t* key) {
    return CommonBits(n.key.data(), key, n.cidr) >= n.cidr;
  }
  static std::unique_ptr<Node> MakeNode(const uint8_t* key, unsigned cidr, unsigned max_bits) {
    auto n = std::make_unique<Node>();
    std::memcpy(n->key.data(), key, max_bits / 8);
    for (unsigned i = cidr; i < max_bits; ++i) n->key[i / 8] &= uint8_t(~(0x80 >> (i % 8)));
    n->cidr = uint8_t(cidr);
    n->v6 = max_bits == 128;
    return n;
  }

  static Value Lookup(const Node* node, const uint8_t* key, unsigned max_bits);
  // Valid() for one subtree; adds its routes to `routes`.
  static bool ValidAt(const Node* n, const Node* parent, size_t& routes);
  // The unique_ptr that owns `n` (a root, or its parent's child slot).
  std::unique_ptr<Node>& SlotOf(const Node* n);
  // Gives node `n` (which carries no value yet) to `value` and puts it on its list.
  void Own(Node* n, Value value);
  // Takes the value off `n` and off its owner's list.
  void Unlink(Node* n);
  // Unlink, then splices out what is left over.
  void Disown(Node* n);
  // Splices `n` out if it carries no value and has fewer than two children; its parent may then
  // have to go too (a branch point with one child left).
  void Splice(Node* n);

  std::unique_ptr<Node> root4_;
  std::unique_ptr<Node> root6_;
  std::unordered_map<Value, OwnerList> owners_;
  std::unordered_map<uint32_t, Node*, Host4Hash> hosts4_;  // every /32 route
  std::unordered_map<Host6, Node*, Host6Hash> hosts6_;     // every /128 route
  size_t size_ = 0;
};

template <typename Value>
std::unique_ptr<typename AllowedIps<Value>::Node>& AllowedIps<Value>::SlotOf(const Node* n) {
  if (n->parent == nullptr) return n->v6 ? root6_ : root4_;
  return n->parent->child[Bit(n->key.data(), n->parent->cidr)];
}

template <typename Value>
void AllowedIps<Value>::Own(Node* n, Value value) {
  OwnerList& list = owners_[value];
  n->has_value = true;
  n->value = value;
  n->owner_prev = nullptr;
  n->owner_next = list.head;
  if (list.head != nullptr) list.head->owner_prev = n;
  list.head = n;
  ++list.count;
  ++size_;
  if (n->cidr == (n->v6 ? 128 : 32)) {
    if (n->v6) {
      hosts6_[Host6{LoadBe64(n->key.data()), LoadBe64(n->key.data() + 8)}] = n;
    } else {
      hosts4_[LoadBe32(n->key.data())] = n;
    }
  }
}

template <typename Value>
void AllowedIps<Value>::Unlink(Node* n) {
  auto it = owners_.find(n->value);
  if (n->owner_prev != nullptr) {
    n->owner_prev->owner_next = n->owner_next;
  } else {
    it->second.head = n->owner_next;
  }
  if (n->owner_next != nullptr) n->owner_next->owner_prev = n->owner_prev;
  if (--it->second.count == 0) owners_.erase(it);
  n->owner_prev = n->owner_next = nullptr;
  if (n->cidr == (n->v6 ? 128 : 32)) {
    if (n->v6) {
      hosts6_.erase(Host6{LoadBe64(n->key.data()), LoadBe64(n->key.data() + 8)});
    } else {
      hosts4_.erase(LoadBe32(n->key.data()));
    }
  }
  n->has_value = false;
  n->value = Value{};
  --size_;
}

template <typename Value>
void AllowedIps<Value>::Disown(Node* n) {
  Unlink(n);
  Splice(n);
}

template <typename Value>
void AllowedIps<Value>::Splice(Node* n) {
  while (n != nullptr && !n->has_value && !(n->child[0] && n->child[1])) {
    Node* parent = n->parent;
    std::unique_ptr<Node> only = std::move(n->child[0] ? n->child[0] : n->child[1]);
    if (only) only->parent = parent;
    SlotOf(n) = std::move(only);  // frees n (null when it had no children)
    n = parent;
  }
}

template <typename Value>
void AllowedIps<Value>::Insert(const IpPrefix& prefix, Value value) {
  const unsigned max_bits = prefix.address().max_bits();
  const unsigned cidr = prefix.bits();
  std::unique_ptr<Node>* slot = prefix.is_v4() ? &root4_ : &root6_;
  Node* parent = nullptr;
  auto fresh = MakeNode(prefix.address().data(), cidr, max_bits);
  const uint8_t* key = fresh->key.data();
  // Walk down while the existing node is an ancestor of (or equal to) the new prefix.
  while (*slot) {
    Node& n = **slot;
    if (n.cidr > cidr || !Matches(n, key)) break;
    if (n.cidr == cidr) {  // the same prefix: (re)assign its owner
      if (n.has_value && n.value == value) return;
      if (n.has_value) Unlink(&n);  // off the old owner's list; the node stays
      Own(&n, value);
      return;
    }
    parent = &n;
    slot = &n.child[Bit(key, n.cidr)];
  }
  Node* added = fresh.get();
  Own(added, value);
  if (!*slot) {
    fresh->parent = parent;
    *slot = std::move(fresh);
    return;
  }
  // `down` diverges from the new prefix somewhere before its own cidr.
  std::unique_ptr<Node> down = std::move(*slot);
  const unsigned common = CommonBits(down->key.data(), key, std::min<unsigned>(cidr, down->cidr));
  if (common == cidr) {
    // The new prefix is an ancestor of `down`.
    down->parent = added;
    fresh->child[Bit(down->key.data(), cidr)] = std::move(down);
    fresh->parent = parent;
    *slot = std::move(fresh);
    return;
  }
  // A branch point where the two part ways.
  auto branch = MakeNode(key, common, max_bits);
  branch->parent = parent;
  down->parent = branch.get();
  fresh->parent = branch.get();
  branch->child[Bit(down->key.data(), common)] = std::move(down);
  branch->child[Bit(key, common)] = std::move(fresh);
  *slot = std::move(branch);
}

template <typename Value>
Value AllowedIps<Value>::Lookup(const Node* node, const uint8_t* key, unsigned max_bits) {
  Value found{};
  while (node != nullptr && Matches(*node, key)) {
    if (node->has_value) found = node->value;
    if (node->cidr == max_bits) break;
    node = node->child[Bit(key, node->cidr)].get();
  }
  return found;
}

template <typename Value>
Value AllowedIps<Value>::LookupPacketDst(ByteSpan p) const {
  bool v6 = false;
  const uint8_t* dst = ip::Destination(p, v6);
  if (dst == nullptr) return Value{};
  return v6 ? LookupV6(dst) : LookupV4(dst);
}

template <typename Value>
Value AllowedIps<Value>::LookupPacketSrc(ByteSpan p) const {
  bool v6 = false;
  const uint8_t* src = ip::Source(p, v6);
  if (src == nullptr) return Value{};
  return v6 ? LookupV6(src) : LookupV4(src);
}

template <typename Value>
bool AllowedIps<Value>::Remove(const IpPrefix& prefix, Value value) {
  const IpPrefix masked = prefix.Masked();
  const uint8_t* key = masked.address().data();
  const unsigned cidr = masked.bits();
  Node* n = (prefix.is_v4() ? root4_ : root6_).get();
  while (n != nullptr && n->cidr <= cidr && Matches(*n, key)) {
    if (n->cidr == cidr) {
      if (!n->has_value || n->value != value) return false;
      Disown(n);
      return true;
    }
    n = n->child[Bit(key, n->cidr)].get();
  }
  return false;
}

template <typename Value>
void AllowedIps<Value>::RemoveByPeer(Value value) {
  auto it = owners_.find(value);
  if (it == owners_.end()) return;
  // Disown frees only nodes without a value, so `next` (a route) survives each step; the list
  // entry itself goes with the last route.
  for (Node* n = it->second.head; n != nullptr;) {
    Node* next = n->owner_next;
    Disown(n);
    n = next;
  }
}

template <typename Value>
size_t AllowedIps<Value>::CountForPeer(Value value) const {
  auto it = owners_.find(value);
  return it == owners_.end() ? 0 : it->second.count;
}

template <typename Value>
std::vector<IpPrefix> AllowedIps<Value>::EntriesForPeer(Value value) const {
  std::vector<const Node*> nodes;
  auto it = owners_.find(value);
  if (it != owners_.end()) {
    nodes.reserve(it->second.count);
    for (const Node* n = it->second.head; n != nullptr; n = n->owner_next) nodes.push_back(n);
  }
  std::sort(nodes.begin(), nodes.end(), [](const Node* a, const Node* b) {
    if (a->v6 != b->v6) return !a->v6;
    const int c = std::memcmp(a->key.data(), b->key.data(), a->v6 ? 16 : 4);
    return c != 0 ? c < 0 : a->cidr < b->cidr;
  });
  std::vector<IpPrefix> out;
  out.reserve(nodes.size());
  for (const Node* n : nodes) {
    out.emplace_back(n->v6 ? IpAddress::V6(n->key.data()) : IpAddress::V4(n->key.data()), n->cidr);
  }
  return out;
}

template <typename Value>
bool AllowedIps<Value>::ValidAt(const Node* n, const Node* parent, size_t& routes) {
  if (n == nullptr) return true;
  if (n->parent != parent) return false;
  if (parent != nullptr) {
    if (n->cidr <= parent->cidr || n->v6 != parent->v6 || !Matches(*parent, n->key.data())) {
      return false;
    }
    if (parent->child[Bit(n->key.data(), parent->cidr)].get() != n) return false;
  }
  if (n->has_value) {
    ++routes;
  } else if (!n->child[0] || !n->child[1]) {
    return false;
  }
  return ValidAt(n->child[0].get(), n, routes) && ValidAt(n->child[1].get(), n, routes);
}

template <typename Value>
bool AllowedIps<Value>::Valid() const {
  size_t routes = 0;
  if (!ValidAt(root4_.get(), nullptr, routes) || !ValidAt(root6_.get(), nullptr, routes)) {
    return false;
  }
  if ((root4_ && root4_->v6) || (root6_ && !root6_->v6)) return false;
  size_t listed = 0, hosts = 0;
  for (const auto& [value, list] : owners_) {
    size_t count = 0;
    const Node* prev = nullptr;
    for (const Node* n = list.head; n != nullptr; prev = n, n = n->owner_next) {
      if (!n->has_value || n->value != value || n->owner_prev != prev) return false;
      ++count;
      hosts += n->cidr == (n->v6 ? 128 : 32);
    }
    if (count == 0 || count != list.count) return false;
    listed += count;
  }
  for (const auto& [addr, n] : hosts4_) {
    if (n->v6 || n->cidr != 32 || !n->has_value || LoadBe32(n->key.data()) != addr) return false;
  }
  for (const auto& [addr, n] : hosts6_) {
    if (!n->v6 || n->cidr != 128 || !n->has_value ||
        !(Host6{LoadBe64(n->key.data()), LoadBe64(n->key.data() + 8)} == addr)) {
      return false;
    }
  }
  return routes == size_ && listed == size_ && hosts == hosts4_.size() + hosts6_.size();
}

}  // namespace tundra::routing
