// Test doubles for the netlink transport (tests only; link gmock).
//
//   MockTransport: gmock, for exact call expectations.
//   FakeTransport: a scripted kernel. Every sent message is recorded; `on_request` (if set)
//     answers it by queueing datagrams with the helpers below, the way the kernel would.
//
//   auto fake = std::make_unique<FakeTransport>();
//   fake->on_request = [&](FakeTransport& t, const Message& req) {
//     t.Queue(AckMessage(req.seq, -EEXIST, "Address already assigned"));
//   };
#pragma once

#include <gmock/gmock.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <deque>
#include <functional>
#include <string_view>
#include <variant>
#include <vector>

#include "tundra/netlink/socket.h"

namespace tundra::netlink {

class MockTransport : public Transport {
 public:
  MOCK_METHOD(Status, Send, (ByteSpan message), (override));
  MOCK_METHOD(Result<std::optional<size_t>>, Receive, (MutableByteSpan buffer), (override));
  MOCK_METHOD(int, fd, (), (const, override));
};

class FakeTransport : public Transport {
 public:
  std::function<void(FakeTransport&, const Message& request)> on_request;
  std::vector<std::vector<uint8_t>> sent;  // every message sent, in order

  void Queue(std::vector<uint8_t> datagram) { queue_.emplace_back(std::move(datagram)); }
  // A receive error (e.g. ENOBUFS: the kernel dropped messages).
  void QueueError(Error error) { queue_.emplace_back(std::move(error)); }
  bool idle() const { return queue_.empty(); }

  Status Send(ByteSpan message) override {
    sent.emplace_back(message.begin(), message.end());
    auto parsed = ParseMessages(sent.back());
    if (!parsed.ok() || parsed->size() != 1) return MakeError(EINVAL, "fake: not one message");
    if (on_request) on_request(*this, (*parsed)[0]);
    return OkStatus();
  }
  Result<std::optional<size_t>> Receive(MutableByteSpan buffer) override {
    if (queue_.empty()) return std::optional<size_t>();
    auto next = std::move(queue_.front());
    queue_.pop_front();
    if (auto* e = std::get_if<Error>(&next)) return std::move(*e);
    const auto& d = std::get<std::vector<uint8_t>>(next);
    if (d.size() > buffer.size()) return MakeError(EMSGSIZE, "fake: datagram too large");
    if (!d.empty()) std::memcpy(buffer.data(), d.data(), d.size());
    return std::optional<size_t>(d.size());
  }

 private:
  std::deque<std::variant<std::vector<uint8_t>, Error>> queue_;
};

// NLMSG_ERROR for `seq`: `error` 0 (an ack) or -errno, capped, with `ext` as the extended-ack
// message when not empty.
inline std::vector<uint8_t> AckMessage(uint32_t seq, int error, std::string_view ext = {}) {
  MessageBuilder b(NLMSG_ERROR, uint16_t(NLM_F_CAPPED | (ext.empty() ? 0 : NLM_F_ACK_TLVS)));
  nlmsgerr e{};
  e.error = error;
  e.msg.nlmsg_len = sizeof(nlmsghdr);
  e.msg.nlmsg_seq = seq;
  b.Family(e);
  if (!ext.empty()) b.String(NLMSGERR_ATTR_MSG, ext);
  return b.Finish(seq);
}

// One reply message (`type`, payload bytes) with `seq`, as the kernel sends in a dump.
inline std::vector<uint8_t> ReplyMessage(uint16_t type, uint32_t seq, ByteSpan payload,
                                         uint16_t flags = NLM_F_MULTI) {
  std::vector<uint8_t> out(Align4(sizeof(nlmsghdr) + payload.size()), 0);
  if (!payload.empty()) std::memcpy(out.data() + sizeof(nlmsghdr), payload.data(), payload.size());
  nlmsghdr h{};
  h.nlmsg_len = uint32_t(sizeof(nlmsghdr) + payload.size());
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = seq;
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

// NLMSG_DONE ending a dump: a bare int (`error`); `flags` may add NLM_F_DUMP_INTR.
inline std::vector<uint8_t> DoneMessage(uint32_t seq, int32_t error = 0, uint16_t flags = 0) {
  uint8_t payload[sizeof(int32_t)];
  std::memcpy(payload, &error, sizeof(error));
  return ReplyMessage(NLMSG_DONE, seq, payload, uint16_t(NLM_F_MULTI | flags));
}

// Several messages back to back in one datagram.
inline std::vector<uint8_t> Datagram(std::initializer_list<std::vector<uint8_t>> messages) {
  std::vector<uint8_t> out;
  for (const auto& m : messages) out.insert(out.end(), m.begin(), m.end());
  return out;
}

// The payload of an RTM_NEWLINK/RTM_DELLINK as the kernel sends it (the attributes tests use).
inline std::vector<uint8_t> LinkPayload(int index, std::string_view name, uint32_t mtu,
                                        unsigned flags = 0, std::string_view kind = {},
                                        uint8_t family = AF_UNSPEC) {
  ifinfomsg info{};
  info.ifi_family = family;
  info.ifi_index = index;
  info.ifi_flags = flags;
  MessageBuilder b(0, 0);
  b.Family(info).String(IFLA_IFNAME, name).U32(IFLA_MTU, mtu).U8(IFLA_OPERSTATE, 0);
  if (!kind.empty()) {
    const size_t linkinfo = b.BeginNested(IFLA_LINKINFO);
    b.String(IFLA_INFO_KIND, kind);
    b.EndNested(linkinfo);
  }
  auto bytes = b.Finish(0);
  return std::vector<uint8_t>(bytes.begin() + sizeof(nlmsghdr), bytes.end());
}

}  // namespace tundra::netlink
