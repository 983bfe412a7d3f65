// TAP mode's data path (docs/l2.md): frames from the TAP switched to peers, frames from peers
// switched to the TAP and (Forward = yes) relayed once to other peers. The decision is
// l2::Switch's; this file frames, copies and sends.
#include "tundra/device/l2_path.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tundra/base/log.h"
#include "tundra/device/device.h"
#include "tundra/l2/frame.h"

namespace tundra::device {
namespace {

using Action = l2::Decision::Action;

// Frames dropped for these reasons were never accepted from the peer (bad framing or a source
// it may not use): their bytes are not counted as received, as for the IP source check.
bool RejectedAtIngress(l2::DropReason r) {
  return r == l2::DropReason::kFrameTooShort || r == l2::DropReason::kFrameTooLong ||
         r == l2::DropReason::kBadLength || r == l2::DropReason::kInvalidSource ||
         r == l2::DropReason::kSourceNotAllowed;
}

}  // namespace

void Device::TapBatch(std::span<const MutableByteSpan> bufs, std::span<const size_t> sizes,
                      size_t count, L2Batch& batch) {
  const TimePoint now = clock_.Now();
  batch.Clear();
  for (size_t i = 0; i < count; ++i) {
    const ByteSpan frame(bufs[i].data() + kL2Headroom, sizes[i]);
    const l2::Decision d = switch_->Decide(frame, l2::Ingress::Tap(), nullptr, now);
    if (d.action == Action::kDrop) {
      CountL2Drop(nullptr, d.reason);
      continue;
    }
    if (d.action == Action::kTap) continue;  // (never for a frame from the TAP)
    batch.items.push_back(L2Item{bufs[i], sizes[i], d});
  }
  SendL2Batch(batch);
}

MutableByteSpan Device::ConsumeL2(const PeerPtr& peer, const proto::KeypairPtr& keypair,
                                  MutableByteSpan msg, bool is_data, TimePoint now,
                                  InflateBuffers& inflate, L2Batch& batch) {
  MutableByteSpan out = msg;
  ByteSpan plain(msg.data() + proto::kDataHeaderSize, msg.size() - proto::kDataOverhead);
  l2::PlaintextKind kind = l2::ClassifyPlaintext(plain);
  if (kind == l2::PlaintextKind::kOther) {
    // Compression's hello or a compressed message; decompressed, it is classified again.
    if (!ReceiveNotIp(peer, keypair, plain, inflate, out)) {
      if (!is_data) peer->rx_bytes.fetch_add(msg.size(), std::memory_order_relaxed);  // a hello
      return {};
    }
    plain = ByteSpan(out.data() + proto::kDataHeaderSize, out.size() - proto::kDataHeaderSize);
    kind = l2::ClassifyPlaintext(plain);
    if (kind != l2::PlaintextKind::kFrame && kind != l2::PlaintextKind::kIp) {
      CountPeerDrop(*peer, proto::DropReason::kInvalidPacket);  // nested or empty: no such thing
      return {};
    }
  }
  if (kind == l2::PlaintextKind::kIp) {
    // A peer in TUN mode, or a plain WireGuard peer: an IP packet is never a frame here.
    CountL2Drop(peer.get(), l2::DropReason::kIpOnTap);
    TUNDRA_LOG_RATELIMITED(kDebug, "{}: IP packet from peer {} on a TAP-mode interface",
                           options_.name, peer->id());
    return {};
  }
  l2::Message m;
  if (const l2::DropReason r = l2::ReadMessage(plain, m, switch_->max_frame());
      r != l2::DropReason::kNone) {
    CountL2Drop(peer.get(), r);
    return {};
  }
  const l2::Decision d = switch_->Decide(m.frame, l2::Ingress::Peer(peer->id(), m.relayed),
                                         peer->allowed_macs.get(), now);
  if (d.action == Action::kDrop) {
    if (!RejectedAtIngress(d.reason))
      peer->rx_bytes.fetch_add(msg.size(), std::memory_order_relaxed);
    CountL2Drop(peer.get(), d.reason);
    if (d.reason == l2::DropReason::kSourceNotAllowed) {
      TUNDRA_LOG_RATELIMITED(kDebug, "{}: frame from peer {} has a source outside its AllowedMACs",
                             options_.name, peer->id());
    }
    return {};
  }
  peer->rx_bytes.fetch_add(msg.size(), std::memory_order_relaxed);
  if (!peer->shape_in.Take(m.frame.size(), now.time_since_epoch().count())) {
    CountPeerDrop(*peer, proto::DropReason::kShapedIn);
    return {};
  }
  if (d.action == Action::kUnicast || d.action == Action::kFlood) {
    // On to other peers (relayed): copied, as the datagram's buffer is the bind's and the TAP
    // write may use the bytes in front of the frame.
    MutableByteSpan copy = batch.copies.Take(kL2Headroom, m.frame.size() + kSealTailroom);
    std::memcpy(copy.data() + kL2Headroom, m.frame.data(), m.frame.size());
    batch.items.push_back(L2Item{copy, m.frame.size(), d});
  }
  if (d.action == Action::kTap || (d.action == Action::kFlood && d.flood_tap)) {
    const size_t at = size_t(m.frame.data() - out.data());  // >= kL2Headroom
    return out.subspan(at - proto::kDataHeaderSize, proto::kDataHeaderSize + m.frame.size());
  }
  return {};
}

std::shared_ptr<const L2Peers> Device::L2PeersSnapshot() const {
  std::lock_guard lock(l2_peers_mu_);
  return l2_peers_;
}

void Device::PublishL2PeersLocked() {
  auto next = std::make_shared<L2Peers>();
  next->all.reserve(peers_.size());
  next->by_id.reserve(peers_.size());
  for (const auto& [key, peer] : peers_) {
    next->all.push_back(peer);
    next->by_id.emplace(peer->id(), peer);
  }
  std::shared_ptr<const L2Peers> old;
  {
    std::lock_guard lock(l2_peers_mu_);
    old = std::exchange(l2_peers_, std::move(next));
  }
  // `old` (and peers only it still held) goes here, outside the lock.
}

void Device::ForgetRemovedMacs() {
  if (l2_removed_.empty()) return;
  // One sweep of the table for all of them (a `wg setconf` removes every peer).
  switch_->table().RemovePeers(l2_removed_);
  l2_removed_.clear();
}

void Device::SendL2Batch(L2Batch& batch) {
  if (batch.items.empty()) return;
  const std::shared_ptr<const L2Peers> peers = L2PeersSnapshot();
  if (peers->all.empty()) {
    // No peer to send to at all (from the TAP: from a peer, there is one).
    drops_.Add(proto::DropReason::kNoRoute, batch.items.size());
    batch.Clear();
    return;
  }
  const int64_t now_ns = clock_.Now().time_since_epoch().count();
  const bool flood = std::any_of(batch.items.begin(), batch.items.end(), [](const L2Item& i) {
    return i.decision.action == Action::kFlood;
  });
  // A unicast frame for a peer the snapshot no longer has (learned behind a peer removed
  // since; its entries are being forgotten) goes to nobody: counted.
  for (const L2Item& item : batch.items) {
    if (item.decision.action == Action::kUnicast && !peers->by_id.contains(item.decision.peer)) {
      drops_.Add(proto::DropReason::kPeerRemoved);
    }
  }
  if (flood) {
    // Every peer gets its frames of the batch in order, flooded and unicast alike.
    for (const PeerPtr& peer : peers->all) SendL2To(peer, batch, now_ns);
  } else {
    batch.targets.clear();
    for (const L2Item& item : batch.items) {
      if (std::find(batch.targets.begin(), batch.targets.end(), item.decision.peer) ==
          batch.targets.end()) {
        batch.targets.push_back(item.decision.peer);
      }
    }
    for (const uint64_t id : batch.targets) {
      if (auto it = peers->by_id.find(id); it != peers->by_id.end()) {
        SendL2To(it->second, batch, now_ns);
      }
    }
  }
  batch.Clear();
}

void Device::SendL2To(const PeerPtr& peer, L2Batch& batch, int64_t now_ns) {
  const uint64_t id = peer->id();
  batch.per_peer.Reset();
  batch.bufs.clear();
  batch.lens.clear();
  uint64_t shaped = 0;
  for (const L2Item& item : batch.items) {
    const l2::Decision& d = item.decision;
    const bool unicast = d.action == Action::kUnicast && d.peer == id;
    const bool flooded = d.action == Action::kFlood && !(d.has_exclude && d.exclude == id);
    if (!unicast && !flooded) continue;
    if (!peer->shape_out.Take(item.frame_len, now_ns)) {
      ++shaped;
      continue;
    }
    // A unicast frame is framed and sealed where it is; a flooded one once per peer, in a copy.
    const MutableByteSpan buf =
        unicast ? item.buf : batch.per_peer.Take(kL2Headroom, item.frame_len + kSealTailroom);
    const size_t len = l2::WriteMessage(ByteSpan(item.buf.data() + kL2Headroom, item.frame_len),
                                        d.relayed, buf.subspan(proto::kDataHeaderSize));
    if (len == 0) continue;  // (the switch took the frame, so its size is within bounds)
    batch.bufs.push_back(buf);
    batch.lens.push_back(len);
  }
  if (shaped != 0) CountPeerDrop(*peer, proto::DropReason::kShapedOut, shaped);
  if (!batch.bufs.empty()) SendPackets(peer, batch.bufs, batch.lens);
}

}  // namespace tundra::device
