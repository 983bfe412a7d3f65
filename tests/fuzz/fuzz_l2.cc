// Fuzz target: TAP mode's receive side (tundra/l2): ReadMessage, ParseFrame, Switch::Decide.
// Input: a control byte (mode, Forward, whether the sending peer has AllowedMACs, a learning
// prelude), then the plaintext a peer's data message decrypted to. Invariants beyond no crash:
// a message's frame lies inside the plaintext within every bound and writes back to the same
// bytes; a decision never sends a frame back where it came from, never relays a relayed frame,
// never relays at all without Forward, and a drop always has a reason.
#include <cstring>
#include <vector>

#include "tundra/base/check.h"
#include "tundra/l2/frame.h"
#include "tundra/l2/switch.h"

namespace {

using namespace tundra::l2;

const tundra::TimePoint kNow = tundra::TimePoint(std::chrono::seconds(100));
constexpr size_t kTapMtu = 1399;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const tundra::ByteSpan plain(data + 1, size - 1);
  const size_t max_frame = MaxFrameSizeFor(kTapMtu);

  Message m;
  const DropReason r = ReadMessage(plain, m, max_frame);
  if (r != DropReason::kNone) {
    TUNDRA_CHECK(r == DropReason::kBadLength || r == DropReason::kFrameTooShort ||
                 r == DropReason::kFrameTooLong);
    return 0;
  }
  TUNDRA_CHECK(ClassifyPlaintext(plain) == PlaintextKind::kFrame);
  TUNDRA_CHECK(m.frame.data() == plain.data() + kMessageHeaderSize);
  TUNDRA_CHECK(m.frame.size() >= kMinFrameSize && m.frame.size() <= max_frame);
  TUNDRA_CHECK(plain.size() - kMessageHeaderSize - m.frame.size() <= kMaxPadding);
  std::vector<uint8_t> again(m.frame.size() + kMessageHeaderSize);
  TUNDRA_CHECK(WriteMessage(m.frame, m.relayed, again) == again.size());
  TUNDRA_CHECK(std::memcmp(again.data(), plain.data(), again.size()) == 0);

  SwitchOptions o;
  o.mode = (control & 1) ? Mode::kHub : Mode::kSwitch;
  o.forward = (control & 2) != 0;
  o.max_frame = max_frame;
  o.table = MacTableOptions{kMinMacTableSize, kDefaultMacExpiry, 1};
  Switch sw(o);
  constexpr PeerKey kIngress = 3;
  // Prelude: the frame's own addresses learned on various ports, so known unicast is reached.
  Frame f;
  if (const DropReason pr = ParseFrame(m.frame, f, max_frame); pr != DropReason::kNone) {
    // ReadMessage checks the length only; a VLAN tag cut off is ParseFrame's (and so Decide's).
    TUNDRA_CHECK(pr == DropReason::kFrameTooShort);
    TUNDRA_CHECK(sw.Decide(m.frame, Ingress::Peer(kIngress, m.relayed), nullptr, kNow) ==
                 Decision::Drop(pr));
    return 0;
  }
  TUNDRA_CHECK(f.header_size <= f.bytes.size() && f.tag_count <= kMaxVlanTags);
  const Port ports[4] = {Port::Tap(), Port::Peer(kIngress), Port::Peer(4), Port::Peer(5)};
  (void)sw.table().Learn(f.dst, ports[(control >> 2) & 3], kNow, true);
  AllowedMacs allowed;
  if (control & 0x10) {
    TUNDRA_CHECK(allowed.Add(MacPrefix{MacAddress::FromU64(0x020000000000), 8}).has_value());
  }
  const Decision d = sw.Decide(m.frame, Ingress::Peer(kIngress, m.relayed), &allowed, kNow);
  switch (d.action) {
    case Decision::Action::kDrop:
      TUNDRA_CHECK(d.reason != DropReason::kNone);
      break;
    case Decision::Action::kTap:
      break;
    case Decision::Action::kUnicast:
      TUNDRA_CHECK(d.peer != kIngress && o.forward && !m.relayed && d.relayed);
      break;
    case Decision::Action::kFlood:
      TUNDRA_CHECK(d.has_exclude && d.exclude == kIngress && d.flood_tap);
      TUNDRA_CHECK(o.forward && !m.relayed && d.relayed);
      break;
  }
  if (d.action != Decision::Action::kDrop) {
    TUNDRA_CHECK(f.src.is_valid_source());
    TUNDRA_CHECK(!(control & 0x10) || allowed.Allows(f.src));
  }
  return 0;
}
