// rtnetlink messages: a builder for nlmsghdr + family header + (nested) rtattrs, and parsers
// that walk untrusted buffers without reading past their end (QBONE RtnetlinkMessage, in our
// style). No I/O here: socket.h sends and receives.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "tundra/base/bytes.h"
#include "tundra/base/result.h"

namespace tundra::netlink {

class MessageBuilder {
 public:
  MessageBuilder(uint16_t type, uint16_t flags);

  // The family header (ifinfomsg, ifaddrmsg, rtmsg, fib_rule_hdr): appended once, first.
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
  // A NUL-terminated string attribute.
  MessageBuilder& String(uint16_t type, std::string_view s);
  // Nested attributes: Begin returns a token for End.
  size_t BeginNested(uint16_t type);
  void EndNested(size_t token);

  uint16_t type() const;
  // The finished message with `seq` set.
  std::vector<uint8_t> Finish(uint32_t seq) const;

 private:
  void Append(const void* data, size_t len);
  void Pad();
  std::vector<uint8_t> buf_;
};

struct RtAttr {
  uint16_t type;  // NLA_TYPE_MASK applied
  ByteSpan data;
  uint32_t U32() const;          // 0 if shorter
  std::string_view Str() const;  // up to the first NUL
};

// Attributes in `data` (after the family header). Malformed lengths are an error.
Result<std::vector<RtAttr>> ParseAttrs(ByteSpan data);
const RtAttr* FindAttr(const std::vector<RtAttr>& attrs, uint16_t type);

struct Message {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  ByteSpan payload;  // after nlmsghdr
};

// Every nlmsghdr in a received buffer (payload spans point into `buf`: keep it alive).
// Malformed lengths are an error.
Result<std::vector<Message>> ParseMessages(ByteSpan buf);

// Family header + attributes of a message payload.
template <typename Header>
Result<std::pair<Header, std::vector<RtAttr>>> ParsePayload(ByteSpan payload) {
  if (payload.size() < sizeof(Header)) return InvalidArgument("netlink: truncated message");
  Header h;
  std::memcpy(&h, payload.data(), sizeof(h));
  const size_t off = (sizeof(Header) + 3) & ~size_t(3);
  TUNDRA_ASSIGN_OR_RETURN(auto attrs, ParseAttrs(payload.subspan(std::min(off, payload.size()))));
  return std::make_pair(h, std::move(attrs));
}

// "RTM_NEWADDR" etc. for error messages.
const char* MessageTypeName(uint16_t type);

}  // namespace tundra::netlink
