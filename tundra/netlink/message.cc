#include "tundra/netlink/message.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

namespace tundra::netlink {
namespace {
constexpr size_t Align(size_t n) { return (n + 3) & ~size_t(3); }
}  // namespace

MessageBuilder::MessageBuilder(uint16_t type, uint16_t flags) {
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  Append(&h, sizeof(h));
}

void MessageBuilder::Append(const void* data, size_t len) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  buf_.insert(buf_.end(), p, p + len);
  Pad();
}

void MessageBuilder::Pad() { buf_.resize(Align(buf_.size()), 0); }

MessageBuilder& MessageBuilder::Attr(uint16_t type, const void* data, size_t len) {
  rtattr a{};
  a.rta_type = type;
  a.rta_len = uint16_t(RTA_LENGTH(len));
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&a);
  buf_.insert(buf_.end(), p, p + sizeof(a));
  if (len != 0) {
    const uint8_t* d = static_cast<const uint8_t*>(data);
    buf_.insert(buf_.end(), d, d + len);
  }
  Pad();
  return *this;
}

MessageBuilder& MessageBuilder::String(uint16_t type, std::string_view s) {
  std::vector<uint8_t> z(s.begin(), s.end());
  z.push_back(0);
  return Attr(type, z.data(), z.size());
}

size_t MessageBuilder::BeginNested(uint16_t type) {
  const size_t at = buf_.size();
  Attr(type, nullptr, 0);
  return at;
}

void MessageBuilder::EndNested(size_t token) {
  const uint16_t len = uint16_t(buf_.size() - token);
  std::memcpy(buf_.data() + token, &len, sizeof(len));
}

uint16_t MessageBuilder::type() const {
  nlmsghdr h;
  std::memcpy(&h, buf_.data(), sizeof(h));
  return h.nlmsg_type;
}

std::vector<uint8_t> MessageBuilder::Finish(uint32_t seq) const {
  std::vector<uint8_t> out = buf_;
  nlmsghdr h;
  std::memcpy(&h, out.data(), sizeof(h));
  h.nlmsg_len = uint32_t(out.size());
  h.nlmsg_seq = seq;
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

uint32_t RtAttr::U32() const {
  uint32_t v = 0;
  if (data.size() >= 4) std::memcpy(&v, data.data(), 4);
  return v;
}

std::string_view RtAttr::Str() const {
  const char* p = reinterpret_cast<const char*>(data.data());
  size_t n = 0;
  while (n < data.size() && p[n] != '\0') ++n;
  return std::string_view(p, n);
}

Result<std::vector<RtAttr>> ParseAttrs(ByteSpan data) {
  std::vector<RtAttr> out;
  size_t off = 0;
  while (off + sizeof(rtattr) <= data.size()) {
    rtattr a;
    std::memcpy(&a, data.data() + off, sizeof(a));
    if (a.rta_len < sizeof(rtattr) || off + a.rta_len > data.size()) {
      return InvalidArgument("netlink: malformed attribute length");
    }
    out.push_back({uint16_t(a.rta_type & NLA_TYPE_MASK),
                   data.subspan(off + sizeof(rtattr), a.rta_len - sizeof(rtattr))});
    off += Align(a.rta_len);
  }
  return out;
}

const RtAttr* FindAttr(const std::vector<RtAttr>& attrs, uint16_t type) {
  for (const RtAttr& a : attrs) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

Result<std::vector<Message>> ParseMessages(ByteSpan buf) {
  std::vector<Message> out;
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= buf.size()) {
    nlmsghdr h;
    std::memcpy(&h, buf.data() + off, sizeof(h));
    if (h.nlmsg_len < sizeof(nlmsghdr) || off + h.nlmsg_len > buf.size()) {
      return InvalidArgument("netlink: malformed message length");
    }
    out.push_back({h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq,
                   buf.subspan(off + sizeof(nlmsghdr), h.nlmsg_len - sizeof(nlmsghdr))});
    off += Align(h.nlmsg_len);
  }
  return out;
}

const char* MessageTypeName(uint16_t type) {
  switch (type) {
    case RTM_NEWLINK:
      return "RTM_NEWLINK";
    case RTM_DELLINK:
      return "RTM_DELLINK";
    case RTM_GETLINK:
      return "RTM_GETLINK";
    case RTM_NEWADDR:
      return "RTM_NEWADDR";
    case RTM_DELADDR:
      return "RTM_DELADDR";
    case RTM_GETADDR:
      return "RTM_GETADDR";
    case RTM_NEWROUTE:
      return "RTM_NEWROUTE";
    case RTM_DELROUTE:
      return "RTM_DELROUTE";
    case RTM_GETROUTE:
      return "RTM_GETROUTE";
    case RTM_NEWRULE:
      return "RTM_NEWRULE";
    case RTM_DELRULE:
      return "RTM_DELRULE";
    case RTM_GETRULE:
      return "RTM_GETRULE";
    default:
      return "RTM_?";
  }
}

}  // namespace tundra::netlink
