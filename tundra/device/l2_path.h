// TAP mode's data path (l2_path.cc; docs/l2.md): the frames of one batch on their way to peers,
// and the peers a flood goes to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/device/compression.h"
#include "tundra/device/peer.h"
#include "tundra/l2/constants.h"
#include "tundra/l2/switch.h"
#include "tundra/proto/constants.h"

namespace tundra::device {

// Room behind a plaintext for WireGuard's padding (< 16) and the tag: what sealing in place
// needs (send.cc's packet buffers have it too).
inline constexpr size_t kSealTailroom = proto::kPaddingMultiple + proto::kAeadTagLen;
// In front of a frame in a packet buffer: the data message header, then the L2 message header
// (docs/l2.md, "Wire format"), so that framing and sealing happen in place.
inline constexpr size_t kL2Headroom = proto::kDataHeaderSize + l2::kMessageHeaderSize;

// One frame for peers: buf = [kL2Headroom][frame_len bytes of frame][kSealTailroom], and what
// the switch decided (kUnicast or kFlood). A unicast frame is framed and sealed in its buffer;
// a flooded one is copied for each peer it goes to.
struct L2Item {
  MutableByteSpan buf;
  size_t frame_len = 0;
  l2::Decision decision;
};

// A batch's frames for peers and the scratch to send them (reused batch after batch).
struct L2Batch {
  std::vector<L2Item> items;
  InflateBuffers copies;    // receive path: frames to relay, copied out of the datagrams
  InflateBuffers per_peer;  // one peer's copies of the flooded frames
  std::vector<MutableByteSpan> bufs;
  std::vector<size_t> lens;
  std::vector<uint64_t> targets;  // the unicast peers of a batch without floods
  void Clear() {
    items.clear();
    copies.Reset();
  }
};

// The peers a TAP-mode device floods to and finds by id (the MAC table's PeerKey): an
// immutable snapshot Apply publishes after each transaction, so that the data path walks it
// without the configuration lock.
struct L2Peers {
  std::vector<PeerPtr> all;
  std::unordered_map<uint64_t, PeerPtr> by_id;
};

}  // namespace tundra::device
