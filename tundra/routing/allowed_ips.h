// Allowed-IPs: cryptokey routing's longest-prefix-match table (kernel allowedips.c).
//
// One path-compressed binary trie per family. Each node holds a masked prefix; a node with a
// value is a route, one without is an internal branch point. Insert replaces the owner of an
// identical prefix (a prefix belongs to at most one peer); removals splice out nodes that no
// longer carry a value and have fewer than two children, so the trie stays minimal.
//
// `Value` is a small copyable handle (e.g. Peer*); Value{} means "no route".
// Not internally synchronized: the device guards it (readers shared, writers exclusive).
// Lookups allocate nothing and touch at most one node per distinct branch point.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "tundra/base/ip_header.h"
#include "tundra/routing/ip_prefix.h"

namespace tundra::routing {

template <typename Value>
class AllowedIps {
 public:
  void Insert(const IpPrefix& prefix, Value value);
  // Removes `prefix` if `value` owns it; true when something was removed.
  bool Remove(const IpPrefix& prefix, Value value);
  void RemoveByPeer(Value value);
  void Clear() {
    root4_.reset();
    root6_.reset();
    size_ = 0;
  }

  Value LookupV4(const uint8_t* addr4) const { return Lookup(root4_.get(), addr4, 32); }
  Value LookupV6(const uint8_t* addr16) const { return Lookup(root6_.get(), addr16, 128); }
  Value Lookup(const IpAddress& a) const {
    return a.is_v4() ? LookupV4(a.data()) : LookupV6(a.data());
  }
  // Route for the destination (send) or the source (receive check) of an IPv4/IPv6 packet;
  // Value{} when the packet is too short or not IP.
  Value LookupPacketDst(ByteSpan packet) const;
  Value LookupPacketSrc(ByteSpan packet) const;

  // Every prefix `value` owns, normalized (host bits cleared), IPv4 first.
  std::vector<IpPrefix> EntriesForPeer(Value value) const;
  size_t size() const { return size_; }

 private:
  struct Node {
    std::array<uint8_t, 16> key{};  // masked to `cidr` bits
    uint8_t cidr = 0;
    bool has_value = false;
    Value value{};
    std::unique_ptr<Node> child[2];
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
    return n;
  }

  static Value Lookup(const Node* node, const uint8_t* key, unsigned max_bits);
  // Removes the value at `slot`'s subtree matching (key, cidr, value); splices on the way back.
  bool RemoveAt(std::unique_ptr<Node>& slot, const uint8_t* key, unsigned cidr, Value value);
  size_t PruneByValue(std::unique_ptr<Node>& slot, Value value);
  static void Normalize(std::unique_ptr<Node>& slot);
  static void Collect(const Node* n, Value value, bool v6, std::vector<IpPrefix>& out);

  std::unique_ptr<Node> root4_;
  std::unique_ptr<Node> root6_;
  size_t size_ = 0;
};

template <typename Value>
void AllowedIps<Value>::Insert(const IpPrefix& prefix, Value value) {
  const unsigned max_bits = prefix.address().max_bits();
  const unsigned cidr = prefix.bits();
  std::unique_ptr<Node>* slot = prefix.is_v4() ? &root4_ : &root6_;
  auto fresh = MakeNode(prefix.address().data(), cidr, max_bits);
  const uint8_t* key = fresh->key.data();
  // Walk down while the existing node is an ancestor of (or equal to) the new prefix.
  while (*slot) {
    Node& n = **slot;
    if (n.cidr > cidr || !Matches(n, key)) break;
    if (n.cidr == cidr) {  // the same prefix: (re)assign its owner
      if (!n.has_value) ++size_;
      n.has_value = true;
      n.value = value;
      return;
    }
    slot = &n.child[Bit(key, n.cidr)];
  }
  fresh->has_value = true;
  fresh->value = value;
  ++size_;
  if (!*slot) {
    *slot = std::move(fresh);
    return;
  }
  // `down` diverges from the new prefix somewhere before its own cidr.
  std::unique_ptr<Node> down = std::move(*slot);
  const unsigned common = CommonBits(down->key.data(), key, std::min<unsigned>(cidr, down->cidr));
  if (common == cidr) {
    // The new prefix is an ancestor of `down`.
    fresh->child[Bit(down->key.data(), cidr)] = std::move(down);
    *slot = std::move(fresh);
    return;
  }
  // A branch point where the two part ways.
  auto branch = MakeNode(key, common, max_bits);
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
void AllowedIps<Value>::Normalize(std::unique_ptr<Node>& slot) {
  Node& n = *slot;
  if (n.has_value) return;
  if (n.child[0] && n.child[1]) return;
  std::unique_ptr<Node> only = std::move(n.child[0] ? n.child[0] : n.child[1]);
  slot = std::move(only);  // null when it had no children
}

template <typename Value>
bool AllowedIps<Value>::RemoveAt(std::unique_ptr<Node>& slot, const uint8_t* key, unsigned cidr,
                                 Value value) {
  if (!slot) return false;
  Node& n = *slot;
  if (n.cidr > cidr || !Matches(n, key)) return false;
  bool removed = false;
  if (n.cidr == cidr) {
    if (n.has_value && n.value == value) {
      n.has_value = false;
      n.value = Value{};
      removed = true;
    }
  } else {
    removed = RemoveAt(n.child[Bit(key, n.cidr)], key, cidr, value);
  }
  if (removed) Normalize(slot);
  return removed;
}

template <typename Value>
bool AllowedIps<Value>::Remove(const IpPrefix& prefix, Value value) {
  const IpPrefix masked = prefix.Masked();
  auto& root = prefix.is_v4() ? root4_ : root6_;
  const bool removed = RemoveAt(root, masked.address().data(), masked.bits(), value);
  if (removed) --size_;
  return removed;
}

template <typename Value>
size_t AllowedIps<Value>::PruneByValue(std::unique_ptr<Node>& slot, Value value) {
  if (!slot) return 0;
  size_t removed = PruneByValue(slot->child[0], value) + PruneByValue(slot->child[1], value);
  if (slot->has_value && slot->value == value) {
    slot->has_value = false;
    slot->value = Value{};
    ++removed;
  }
  Normalize(slot);
  return removed;
}

template <typename Value>
void AllowedIps<Value>::RemoveByPeer(Value value) {
  size_ -= PruneByValue(root4_, value);
  size_ -= PruneByValue(root6_, value);
}

template <typename Value>
void AllowedIps<Value>::Collect(const Node* n, Value value, bool v6, std::vector<IpPrefix>& out) {
  if (n == nullptr) return;
  if (n->has_value && n->value == value) {
    out.emplace_back(v6 ? IpAddress::V6(n->key.data()) : IpAddress::V4(n->key.data()), n->cidr);
  }
  Collect(n->child[0].get(), value, v6, out);
  Collect(n->child[1].get(), value, v6, out);
}

template <typename Value>
std::vector<IpPrefix> AllowedIps<Value>::EntriesForPeer(Value value) const {
  std::vector<IpPrefix> out;
  Collect(root4_.get(), value, false, out);
  Collect(root6_.get(), value, true, out);
  return out;
}

}  // namespace tundra::routing
