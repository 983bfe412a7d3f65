#include "tundra/netlink/message.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <limits>

#include "tundra/base/check.h"

namespace tundra::netlink {

MessageBuilder::MessageBuilder(uint16_t type, uint16_t flags) {
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  Append(&h, sizeof(h));
}

void MessageBuilder::Append(const void* data, size_t len) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  if (len != 0) buf_.insert(buf_.end(), p, p + len);
  buf_.resize(Align4(buf_.size()), 0);
}

MessageBuilder& MessageBuilder::Attr(uint16_t type, const void* data, size_t len) {
  // Attribute sizes are ours (addresses, names, u32s): an oversized one is a bug.
  TUNDRA_CHECK(len <= std::numeric_limits<uint16_t>::max() - sizeof(rtattr));
  rtattr a{};
  a.rta_type = type;
  a.rta_len = uint16_t(RTA_LENGTH(len));
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&a);
  buf_.insert(buf_.end(), p, p + sizeof(a));
  Append(data, len);
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

MessageBuilder& MessageBuilder::EndNested(size_t token) {
  TUNDRA_CHECK(token + sizeof(rtattr) <= buf_.size());
  const size_t len = buf_.size() - token;
  TUNDRA_CHECK(len <= std::numeric_limits<uint16_t>::max());
  const uint16_t len16 = uint16_t(len);
  std::memcpy(buf_.data() + token + offsetof(rtattr, rta_len), &len16, sizeof(len16));
  return *this;
}

uint16_t MessageBuilder::type() const {
  nlmsghdr h;
  std::memcpy(&h, buf_.data(), sizeof(h));
  return h.nlmsg_type;
}

uint16_t MessageBuilder::flags() const {
  nlmsghdr h;
  std::memcpy(&h, buf_.data(), sizeof(h));
  return h.nlmsg_flags;
}

void MessageBuilder::AddFlags(uint16_t flags) {
  nlmsghdr h;
  std::memcpy(&h, buf_.data(), sizeof(h));
  h.nlmsg_flags |= flags;
  std::memcpy(buf_.data(), &h, sizeof(h));
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

std::optional<uint8_t> RtAttr::AsU8() const {
  if (data.size() != 1) return std::nullopt;
  return data[0];
}

std::optional<uint32_t> RtAttr::AsU32() const {
  if (data.size() != 4) return std::nullopt;
  uint32_t v;
  std::memcpy(&v, data.data(), 4);
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
  while (off < data.size()) {
    if (data.size() - off < sizeof(rtattr)) {
      return MakeError(EBADMSG, "netlink: trailing bytes after the last attribute");
    }
    rtattr a;
    std::memcpy(&a, data.data() + off, sizeof(a));
    if (a.rta_len < sizeof(rtattr) || a.rta_len > data.size() - off) {
      return MakeError(EBADMSG, "netlink: malformed attribute length");
    }
    out.push_back({uint16_t(a.rta_type & NLA_TYPE_MASK),
                   data.subspan(off + sizeof(rtattr), a.rta_len - sizeof(rtattr))});
    off += Align4(a.rta_len);  // may step past the end when the last one is unpadded
  }
  return out;
}

const RtAttr* FindAttr(const std::vector<RtAttr>& attrs, uint16_t type) {
  const RtAttr* found = nullptr;
  for (const RtAttr& a : attrs) {
    if (a.type == type) found = &a;
  }
  return found;
}

Result<std::vector<Message>> ParseMessages(ByteSpan buf) {
  std::vector<Message> out;
  size_t off = 0;
  while (off < buf.size()) {
    if (buf.size() - off < sizeof(nlmsghdr)) {
      return MakeError(EBADMSG, "netlink: trailing bytes after the last message");
    }
    nlmsghdr h;
    std::memcpy(&h, buf.data() + off, sizeof(h));
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > buf.size() - off) {
      return MakeError(EBADMSG, "netlink: malformed message length");
    }
    out.push_back({h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq, h.nlmsg_pid,
                   buf.subspan(off + sizeof(nlmsghdr), h.nlmsg_len - sizeof(nlmsghdr))});
    off += Align4(h.nlmsg_len);
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
    case NLMSG_ERROR:
      return "NLMSG_ERROR";
    case NLMSG_DONE:
      return "NLMSG_DONE";
    default:
      return "RTM_?";
  }
}

}  // namespace tundra::netlink
