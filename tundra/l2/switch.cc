#include "tundra/l2/switch.h"

#include <fmt/format.h>

namespace tundra::l2 {

const char* ModeName(Mode mode) { return mode == Mode::kHub ? "hub" : "switch"; }

std::string Decision::ToString() const {
  switch (action) {
    case Action::kDrop:
      return fmt::format("drop({})", DropReasonName(reason));
    case Action::kTap:
      return "tap";
    case Action::kUnicast:
      return fmt::format("unicast({}{})", peer, relayed ? ", relayed" : "");
    case Action::kFlood: {
      std::string s = "flood(";
      s += flood_tap ? "tap" : "no tap";
      if (has_exclude) s += fmt::format(", -{}", exclude);
      if (relayed) s += ", relayed";
      return s + ")";
    }
  }
  return "?";
}

Switch::Switch(const SwitchOptions& options)
    : max_frame_(options.max_frame),
      mode_(options.mode),
      forward_(options.forward),
      table_(options.table) {}

Decision Switch::Flood(const Ingress& ingress, bool forward) const {
  if (ingress.from_tap) return Decision::FloodFromTap();
  // From a peer: relayed on once when forwarding, else only for the local side.
  if (forward && !ingress.relayed) return Decision::FloodFromPeer(ingress.peer);
  return Decision::ToTap();
}

Decision Switch::Decide(ByteSpan bytes, const Ingress& ingress, const AllowedMacs* allowed,
                        TimePoint now, Frame* parsed) {
  Frame local;
  Frame& frame = parsed != nullptr ? *parsed : local;
  if (DropReason r = ParseFrame(bytes, frame, max_frame()); r != DropReason::kNone) {
    return Decision::Drop(r);
  }
  // Source checks, before anything is learned from the frame.
  if (!frame.src.is_valid_source()) return Decision::Drop(DropReason::kInvalidSource);
  if (!ingress.from_tap && allowed != nullptr && !allowed->empty() && !allowed->Allows(frame.src)) {
    return Decision::Drop(DropReason::kSourceNotAllowed);
  }
  const bool forward = this->forward();
  if (mode() == Mode::kHub) return Flood(ingress, forward);

  const Port in = ingress.port();
  (void)table_.Learn(frame.src, in, now);
  if (frame.dst.is_group()) return Flood(ingress, forward);  // broadcast, multicast
  const std::optional<Port> out = table_.Lookup(frame.dst, now);
  if (!out.has_value()) return Flood(ingress, forward);  // unknown unicast
  if (*out == in) return Decision::Drop(DropReason::kToIngress);
  if (out->is_tap()) return Decision::ToTap();  // from a peer to the local side
  if (ingress.from_tap) return Decision::Unicast(out->peer(), false);
  // From one peer to another.
  if (ingress.relayed) return Decision::Drop(DropReason::kAlreadyRelayed);
  if (!forward) return Decision::Drop(DropReason::kNotForwarding);
  return Decision::Unicast(out->peer(), true);
}

}  // namespace tundra::l2
