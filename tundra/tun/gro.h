// Coalescing a batch of IP packets bound for a TUN into TCP/UDP super-packets (GRO on the TUN
// write side, offloads.md §2.2). No I/O: the planner decides which packets are written together
// and rewrites the first packet's headers in place; LinuxTun writes each group with one writev
// (the first packet whole, then the payload of each follower), so nothing is copied.
//
// What merges (everything else is written alone, unchanged, with an all-zero virtio_net_hdr):
// - IPv4 without options and not fragmented, or IPv6 without extension headers; the length
//   fields agree with the buffer; at least one byte of payload.
// - TCP whose flags are exactly ACK or ACK|PSH, appended to an earlier packet of the same flow
//   (addresses, ports and ACK number) with the same TOS/DF/TTL (IPv6: traffic class and hop
//   limit), the same TCP header length and byte-identical options, when its sequence number
//   continues that packet's data, its payload is no larger than the first segment's, the group
//   holds no short segment and no PSH yet. A PSH segment closes its group.
// - UDP (only when the TUN accepts USO, `udp`), appended to the newest group of its flow under
//   the same size rules; datagrams are never reordered.
// - A group stays within 65535 bytes and 64 segments (the UDP limit of pre-6.9 kernels).
// Segments are only appended, never prepended: a batch arrives in order from one peer, and a
// reordered segment simply starts a new group.
//
// Checksums of the merged packets are not verified first: every packet arrived inside an
// authenticated WireGuard data message, and the kernel's own WireGuard marks decrypted packets
// CHECKSUM_UNNECESSARY for the same reason. A merged group is written CHECKSUM_PARTIAL (the L4
// checksum field holds the pseudo-header sum) and the kernel or NIC completes it when needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/tun/vnet_hdr.h"

namespace tundra::tun {

inline constexpr size_t kGroMaxSegments = 64;

class GroTable {
 public:
  struct Write {
    uint32_t head = 0;      // the packet written first (its headers describe the group)
    uint32_t segments = 1;  // packets in the group
    uint32_t last = 0;      // the last follower (== head when alone)
    uint32_t hdr_len = 0;   // IP + L4 header length: a follower contributes packet[hdr_len:]
    VirtioNetHdr vnet;      // all-zero when alone
  };

  // Plans the writes for `packets` (complete IP packets, at most 65535 bytes each). Merged
  // groups' first packets are rewritten in place (lengths, IPv4 header checksum, pseudo-header
  // sum in the L4 checksum field, PSH). Writes come out in the order of their first packet.
  void Coalesce(std::span<const MutableByteSpan> packets, bool udp);

  std::span<const Write> writes() const { return writes_; }
  // The packet whose payload follows packet `i` in its group, or -1 after the last.
  int32_t next(size_t i) const { return next_[i]; }

 private:
  // A group that may still grow.
  struct Item {
    uint32_t write = 0;  // its entry in writes_
    const uint8_t* head = nullptr;
    bool v6 = false;
    bool tcp = false;
    bool psh = false;  // TCP: a PSH segment was merged, nothing may follow
    uint32_t ip_hdr_len = 0;
    uint32_t hdr_len = 0;
    uint32_t seq = 0;       // TCP: the first segment's sequence number
    uint32_t payload = 0;   // payload bytes in the group
    uint32_t gso_size = 0;  // the first segment's payload
    uint32_t length = 0;    // the merged packet's length
  };
  // Appends packet `index` (TCP: at sequence `seq`) to `item` if the size and order rules allow.
  bool TryAppend(Item& item, uint32_t payload, uint32_t seq, bool psh, uint32_t index);
  void Finalize(Write& w, const Item& item, const MutableByteSpan& head);

  std::vector<Write> writes_;
  std::vector<int32_t> next_;
  std::vector<Item> items_;
};

}  // namespace tundra::tun
