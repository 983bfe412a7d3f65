// Fuzz target: rtnetlink replies (tundra/netlink message.h, link.h, address.h, route.h,
// monitor.h). The input is a sequence of datagrams, each behind a 2-byte little-endian length
// (an empty one stands for ENOBUFS: the kernel dropped events). Each datagram:
// - ParseMessages: every payload lies inside the datagram, in order, without overlap;
// - ParseAttrs of each payload after its family header: every attribute inside the payload,
//   and rebuilding them with MessageBuilder parses back to the same attributes;
// - ParseLink / ParseAddress / ParseRoute / ParseRule by message type (no crash, sane values);
// then all datagrams go to a LinkMonitor as link events: after each Poll, every reported link
// is known (or, if deleted, unknown) with exactly the reported name, MTU and flags.
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <deque>
#include <memory>
#include <vector>

#include "tests/fuzz/fuzz_fixture.h"
#include "tundra/base/log.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/message.h"
#include "tundra/netlink/monitor.h"
#include "tundra/netlink/route.h"

namespace tundra::fuzz {
namespace {

using netlink::Message;
using netlink::RtAttr;

bool Inside(ByteSpan inner, ByteSpan outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

void CheckAttrs(ByteSpan region, uint16_t type) {
  auto attrs = netlink::ParseAttrs(region);
  if (!attrs.ok()) return;
  const uint8_t* prev_end = region.data();
  for (const RtAttr& a : *attrs) {
    TUNDRA_CHECK(Inside(a.data, region));
    TUNDRA_CHECK(a.data.data() >= prev_end + sizeof(rtattr));
    prev_end = a.data.data() + a.data.size();
    TUNDRA_CHECK((a.type & ~NLA_TYPE_MASK) == 0);
    TUNDRA_CHECK(a.AsU32().has_value() == (a.data.size() == 4));
    TUNDRA_CHECK(a.AsU8().has_value() == (a.data.size() == 1));
    TUNDRA_CHECK(a.Str().size() <= a.data.size());
  }
  // Rebuilt from the parsed attributes, the message parses back to the same ones.
  netlink::MessageBuilder b(type, 0);
  for (const RtAttr& a : *attrs) b.Attr(a.type, a.data);
  const std::vector<uint8_t> bytes = b.Finish(7);
  auto messages = netlink::ParseMessages(bytes);
  TUNDRA_CHECK(messages.ok() && messages->size() == 1);
  TUNDRA_CHECK((*messages)[0].type == type && (*messages)[0].seq == 7);
  auto again = netlink::ParseAttrs((*messages)[0].payload);
  TUNDRA_CHECK(again.ok() && again->size() == attrs->size());
  for (size_t i = 0; i < attrs->size(); ++i) {
    TUNDRA_CHECK((*again)[i].type == (*attrs)[i].type);
    TUNDRA_CHECK(std::equal((*again)[i].data.begin(), (*again)[i].data.end(),
                            (*attrs)[i].data.begin(), (*attrs)[i].data.end()));
  }
}

// The attributes after the family header `Header` of message `m`.
template <typename Header>
void CheckAttrsAfter(const Message& m) {
  CheckAttrs(m.payload.subspan(std::min(m.payload.size(), NLMSG_ALIGN(sizeof(Header)))), m.type);
}

void CheckDatagram(ByteSpan datagram) {
  auto messages = netlink::ParseMessages(datagram);
  if (!messages.ok()) return;
  const uint8_t* prev_end = datagram.data();
  for (const Message& m : *messages) {
    TUNDRA_CHECK(Inside(m.payload, datagram));
    TUNDRA_CHECK(m.payload.data() >= prev_end + sizeof(nlmsghdr));
    prev_end = m.payload.data() + m.payload.size();
    TUNDRA_CHECK(netlink::MessageTypeName(m.type) != nullptr);
    switch (m.type) {
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        CheckAttrsAfter<ifinfomsg>(m);
        auto link = netlink::ParseLink(m.payload);
        if (link.ok()) {
          TUNDRA_CHECK(link->mtu >= 0);
          TUNDRA_CHECK(link->name.find('\0') == std::string::npos);
        }
        break;
      }
      case RTM_NEWADDR:
      case RTM_DELADDR:
        CheckAttrsAfter<ifaddrmsg>(m);
        (void)netlink::ParseAddress(m.payload);
        break;
      case RTM_NEWROUTE:
      case RTM_DELROUTE:
        CheckAttrsAfter<rtmsg>(m);
        (void)netlink::ParseRoute(m.payload);
        break;
      case RTM_NEWRULE:
      case RTM_DELRULE:
        (void)netlink::ParseRule(m.payload);
        break;
      default:
        CheckAttrs(m.payload, m.type);
    }
  }
}

// The monitor's event socket: the fuzz input's datagrams, then nothing.
class EventQueue : public netlink::Transport {
 public:
  std::deque<std::vector<uint8_t>> datagrams;
  Status Send(ByteSpan) override { return MakeError(EINVAL, "fuzz: events are receive-only"); }
  Result<std::optional<size_t>> Receive(MutableByteSpan buffer) override {
    if (datagrams.empty()) return std::optional<size_t>();
    std::vector<uint8_t> d = std::move(datagrams.front());
    datagrams.pop_front();
    if (d.empty()) return MakeError(ENOBUFS, "fuzz: events lost");
    if (d.size() > buffer.size()) return MakeError(EMSGSIZE, "fuzz: datagram too large");
    std::memcpy(buffer.data(), d.data(), d.size());
    return std::optional<size_t>(d.size());
  }
};

// The monitor's request socket: every dump answers "no links" (NLMSG_DONE).
class EmptyDumps : public netlink::Transport {
 public:
  std::deque<std::vector<uint8_t>> replies;
  Status Send(ByteSpan message) override {
    auto parsed = netlink::ParseMessages(message);
    if (!parsed.ok() || parsed->empty()) return MakeError(EINVAL, "fuzz: bad request");
    netlink::MessageBuilder done(NLMSG_DONE, NLM_F_MULTI);
    done.Family(int32_t{0});
    replies.push_back(done.Finish((*parsed)[0].seq));
    return OkStatus();
  }
  Result<std::optional<size_t>> Receive(MutableByteSpan buffer) override {
    if (replies.empty()) return std::optional<size_t>();
    std::vector<uint8_t> d = std::move(replies.front());
    replies.pop_front();
    std::memcpy(buffer.data(), d.data(), std::min(d.size(), buffer.size()));
    return std::optional<size_t>(d.size());
  }
};

void CheckMonitor(const std::vector<std::vector<uint8_t>>& datagrams) {
  auto events = std::make_unique<EventQueue>();
  EventQueue* queue = events.get();
  netlink::LinkMonitor monitor(std::move(events),
                               netlink::NetlinkSocket(std::make_unique<EmptyDumps>()));
  for (const auto& d : datagrams) {
    queue->datagrams.push_back(d);
    auto polled = monitor.Poll();
    if (!polled.ok()) continue;
    // Only the last event of each link describes the state after the Poll.
    std::map<int, const netlink::LinkEvent*> last;
    for (const netlink::LinkEvent& e : *polled) {
      last[e.index] = &e;
      TUNDRA_CHECK(!e.ToString().empty());
    }
    for (const auto& [index, e] : last) {
      const netlink::LinkInfo* known = monitor.Find(index);
      if (e->deleted) {
        TUNDRA_CHECK(known == nullptr);
        continue;
      }
      TUNDRA_CHECK(known != nullptr);
      TUNDRA_CHECK(known->name == e->name && known->mtu == e->mtu && known->flags == e->flags);
      if (e->mtu_changed) TUNDRA_CHECK(e->mtu != e->old_mtu);
    }
  }
}

}  // namespace
}  // namespace tundra::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tundra;
  static const bool quiet = [] {
    SetLogLevel(LogLevel::kSilent);  // the monitor warns about every malformed link message
    return true;
  }();
  (void)quiet;
  std::vector<std::vector<uint8_t>> datagrams;
  size_t i = 0;
  while (i + 2 <= size && datagrams.size() < 64) {
    const size_t len = std::min<size_t>(LoadLe16(data + i), size - i - 2);
    datagrams.emplace_back(data + i + 2, data + i + 2 + len);
    i += 2 + len;
  }
  for (const auto& d : datagrams) fuzz::CheckDatagram(d);
  fuzz::CheckMonitor(datagrams);
  return 0;
}
