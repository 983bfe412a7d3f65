#include "tundra/transport/endpoint.h"

#include <arpa/inet.h>
#include <fmt/core.h>

#include <charconv>
#include <cstring>

namespace tundra::transport {

Endpoint Endpoint::FromSockaddr(const sockaddr* sa, socklen_t len) {
  Endpoint e;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&e.addr_.in4, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      e.addr_.in4.sin_family = AF_INET;
      e.addr_.in4.sin_port = in6->sin6_port;
      std::memcpy(&e.addr_.in4.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
    } else {
      std::memcpy(&e.addr_.in6, in6, sizeof(sockaddr_in6));
    }
  }
  return e;
}

Result<Endpoint> Endpoint::Parse(std::string_view text) {
  auto bad = [&](const char* why) {
    return InvalidArgument(fmt::format("endpoint '{}': {}", text, why));
  };
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("missing ':port'");
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing ':port'");
    host = std::string(text.substr(0, colon));
    if (host.find(':') != std::string::npos) return bad("IPv6 addresses need [brackets]");
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad("port must be 0-65535");
  }
  Endpoint e;
  if (text[0] == '[') {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(uint16_t(port));
    if (inet_pton(AF_INET6, host.c_str(), &in6.sin6_addr) != 1) return bad("bad IPv6 address");
    e = FromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof(in6));
  } else {
    e.addr_.in4.sin_family = AF_INET;
    e.addr_.in4.sin_port = htons(uint16_t(port));
    if (inet_pton(AF_INET, host.c_str(), &e.addr_.in4.sin_addr) != 1) {
      return bad("bad IPv4 address");
    }
  }
  return e;
}

ByteSpan Endpoint::AddressBytes() const {
  if (family() == AF_INET6) return ByteSpan(addr_.in6.sin6_addr.s6_addr, 16);
  return ByteSpan(reinterpret_cast<const uint8_t*>(&addr_.in4.sin_addr), 4);
}

uint16_t Endpoint::port() const {
  return ntohs(family() == AF_INET6 ? addr_.in6.sin6_port : addr_.in4.sin_port);
}

std::string Endpoint::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &addr_.in6.sin6_addr, buf, sizeof(buf));
    if (addr_.in6.sin6_scope_id != 0) {
      return fmt::format("[{}%{}]:{}", buf, addr_.in6.sin6_scope_id, port());
    }
    return fmt::format("[{}]:{}", buf, port());
  }
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &addr_.in4.sin_addr, buf, sizeof(buf));
    return fmt::format("{}:{}", buf, port());
  }
  return "(none)";
}

Endpoint Endpoint::WithTransport(Transport t, uint64_t connection) const {
  Endpoint e = *this;
  e.transport_ = t;
  e.connection_ = t == Transport::kTcp ? connection : 0;
  if (t == Transport::kTcp) e.has_source_ = false;
  return e;
}

void Endpoint::SetSourceV4(const in_addr& local, int ifindex) {
  src4_ = local;
  src_ifindex_ = ifindex;
  has_source_ = true;
}

void Endpoint::SetSourceV6(const in6_addr& local, int ifindex) {
  src6_ = local;
  src_ifindex_ = ifindex;
  has_source_ = true;
}

bool Endpoint::operator==(const Endpoint& o) const {
  if (family() != o.family() || transport_ != o.transport_ || connection_ != o.connection_) {
    return false;
  }
  if (family() == AF_INET) {
    return addr_.in4.sin_port == o.addr_.in4.sin_port &&
           addr_.in4.sin_addr.s_addr == o.addr_.in4.sin_addr.s_addr;
  }
  if (family() == AF_INET6) {
    return addr_.in6.sin6_port == o.addr_.in6.sin6_port &&
           std::memcmp(&addr_.in6.sin6_addr, &o.addr_.in6.sin6_addr, 16) == 0 &&
           addr_.in6.sin6_scope_id == o.addr_.in6.sin6_scope_id;
  }
  return true;
}

bool Endpoint::SameIncludingSource(const Endpoint& o) const {
  if (*this != o || has_source_ != o.has_source_) return false;
  if (!has_source_) return true;
  if (src_ifindex_ != o.src_ifindex_) return false;
  return family() == AF_INET6 ? std::memcmp(&src6_, &o.src6_, sizeof(src6_)) == 0
                              : src4_.s_addr == o.src4_.s_addr;
}

socklen_t WildcardAddress(int family, uint16_t port, sockaddr_storage& out) {
  out = sockaddr_storage{};
  if (family == AF_INET) {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&out);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_addr = in6addr_any;
  in6->sin6_port = htons(port);
  return sizeof(sockaddr_in6);
}

}  // namespace tundra::transport
