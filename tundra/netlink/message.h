// rtnetlink messages: a builder for nlmsghdr + family header + (nested) rtattrs, and parsers
// that walk untrusted buffers without reading past their end (QBONE RtnetlinkMessage, in our
// style). No I/O here: socket.h sends and receives.
//
// Parsers are strict: a length field that points outside its buffer, or bytes left over that
// cannot hold another header, make the whole buffer an error (the kernel's strict validation).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/base/result.h"

namespace tundra::netlink {

// NLMSG_ALIGN / RTA_ALIGN: both 4.
constexpr size_t Align4(size_t n) { return (n + 3) & ~size_t{3}; }

class MessageBuilder {
 public:
  MessageBuilder(uint16_t type, uint16_t flags);

  // The family header (ifinfomsg, ifaddrmsg, rtmsg, fib_rule_hdr): appended once, first (or as
  // the start of a nested attribute such as VETH_INFO_PEER).
  template <typename H>
  MessageBuilder& Family(const H& h) {
    Append(&h, sizeof(h));
    return *this;
  }
  MessageBuilder& Attr(uint16_t type, const void* data, size_t len);
  MessageBuilder& Attr(uint16_t type, ByteSpan data) {
    return Attr(type, data.data(), data.size());
  }
  MessageBuilder& U8(uint16_t type, uint8_t v) { return Attr(type, &v, 1); }
  MessageBuilder& U32(uint16_t type, uint32_t v) { return Attr(type, &v, 4); }
  MessageBuilder& S32(uint16_t type, int32_t v) { return Attr(type, &v, 4); }
  // A NUL-terminated string attribute.
  MessageBuilder& String(uint16_t type, std::string_view s);
  // Nested attributes: BeginNested returns a token for the matching EndNested.
  size_t BeginNested(uint16_t type);
  MessageBuilder& EndNested(size_t token);

  uint16_t type() const;
  uint16_t flags() const;
  void AddFlags(uint16_t flags);
  // The finished message with nlmsg_len and `seq` set.
  std::vector<uint8_t> Finish(uint32_t seq) const;

 private:
  void Append(const void* data, size_t len);
  std::vector<uint8_t> buf_;
};

struct RtAttr {
  uint16_t type = 0;  // NLA_TYPE_MASK applied (the nested/byte-order bits removed)
  ByteSpan data;
  // The value only when the attribute has exactly that size.
  std::optional<uint8_t> AsU8() const;
  std::optional<uint32_t> AsU32() const;
  // Up to the first NUL (or the attribute's end when there is none).
  std::string_view Str() const;
};

// Attributes in `data` (e.g. after the family header). Malformed lengths are an error.
Result<std::vector<RtAttr>> ParseAttrs(ByteSpan data);
// The last attribute of `type` (the kernel's nla_parse keeps the last), or nullptr.
const RtAttr* FindAttr(const std::vector<RtAttr>& attrs, uint16_t type);

struct Message {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t pid = 0;
  ByteSpan payload;  // after the nlmsghdr
};

// Every nlmsghdr in a received datagram (payload spans point into `buf`: keep it alive).
Result<std::vector<Message>> ParseMessages(ByteSpan buf);

// Family header + attributes of a message payload (or of a nested attribute that starts with
// a family header, like VETH_INFO_PEER).
template <typename Header>
Result<std::pair<Header, std::vector<RtAttr>>> ParsePayload(ByteSpan payload) {
  if (payload.size() < sizeof(Header)) {
    return MakeError(EBADMSG, "netlink: message shorter than its family header");
  }
  Header h;
  std::memcpy(&h, payload.data(), sizeof(h));
  const size_t off = std::min(Align4(sizeof(Header)), payload.size());
  TUNDRA_ASSIGN_OR_RETURN(auto attrs, ParseAttrs(payload.subspan(off)));
  return std::make_pair(h, std::move(attrs));
}

// "RTM_NEWADDR" etc. for error messages.
const char* MessageTypeName(uint16_t type);

}  // namespace tundra::netlink
