#include "tundra/routing/ip_prefix.h"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <charconv>
#include <cstring>

namespace tundra::routing {

IpAddress IpAddress::V4(const uint8_t* bytes4) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), bytes4, 4);
  return a;
}

IpAddress IpAddress::V6(const uint8_t* bytes16) {
  IpAddress a;
  a.v6_ = true;
  std::memcpy(a.bytes_.data(), bytes16, 16);
  return a;
}

Result<IpAddress> IpAddress::Parse(std::string_view text) {
  std::string s(text);  // inet_pton needs a terminated string
  uint8_t buf[16];
  if (s.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) return V4(buf);
  } else if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    return V6(buf);
  }
  return InvalidArgument(fmt::format("'{}' is not an IP address", text));
}

int IpAddress::family() const { return v6_ ? AF_INET6 : AF_INET; }

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family(), bytes_.data(), buf, sizeof(buf));
  return buf;
}

IpPrefix::IpPrefix(const IpAddress& address, unsigned bits)
    : address_(address), bits_(uint8_t(bits > address.max_bits() ? address.max_bits() : bits)) {}

Result<IpPrefix> IpPrefix::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  TUNDRA_ASSIGN_OR_RETURN(IpAddress address, IpAddress::Parse(text.substr(0, slash)));
  unsigned bits = address.max_bits();
  if (slash != std::string_view::npos) {
    std::string_view len = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (len.empty() || ec != std::errc() || p != len.data() + len.size() ||
        bits > address.max_bits()) {
      return InvalidArgument(
          fmt::format("'{}': prefix length must be 0-{}", text, address.max_bits()));
    }
  }
  return IpPrefix(address, bits);
}

IpPrefix IpPrefix::Masked() const {
  std::array<uint8_t, 16> b{};
  std::memcpy(b.data(), address_.data(), address_.size());
  for (unsigned i = bits_; i < address_.max_bits(); ++i) b[i / 8] &= uint8_t(~(0x80 >> (i % 8)));
  return IpPrefix(address_.is_v4() ? IpAddress::V4(b.data()) : IpAddress::V6(b.data()), bits_);
}

bool IpPrefix::Contains(const IpAddress& a) const {
  if (a.is_v4() != address_.is_v4()) return false;
  return IpPrefix(a, bits_).Masked().address() == Masked().address();
}

std::string IpPrefix::ToString() const { return fmt::format("{}/{}", address_.ToString(), bits_); }

}  // namespace tundra::routing
