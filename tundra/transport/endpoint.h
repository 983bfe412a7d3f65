// Endpoint: a peer's UDP address and port, plus the "sticky source" — the local address (and
// interface) its last packet arrived on, which replies are sent from (wireguard-go
// conn/sticky_linux.go; kernel socket.c). The source is not part of equality.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "tundra/base/bytes.h"
#include "tundra/base/result.h"

namespace tundra::transport {

class Endpoint {
 public:
  Endpoint() = default;
  // From a kernel socket address; a v4-mapped IPv6 address becomes IPv4.
  static Endpoint FromSockaddr(const sockaddr* sa, socklen_t len);
  // "198.18.0.1:51820" or "[fd18::1]:51820" (numeric only); errors name the text.
  static Result<Endpoint> Parse(std::string_view text);

  bool valid() const { return family() == AF_INET || family() == AF_INET6; }
  int family() const { return addr_.sa.sa_family; }
  const sockaddr* sockaddr_ptr() const { return &addr_.sa; }
  socklen_t socklen() const {
    return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  }
  // 4 or 16 raw address bytes, and the port: what cookies and the rate limiter key on.
  ByteSpan AddressBytes() const;
  uint16_t port() const;
  std::string ToString() const;  // as wireguard-go's UAPI prints it

  // Sticky source.
  bool has_source() const { return has_source_; }
  void SetSourceV4(const in_addr& local, int ifindex);
  void SetSourceV6(const in6_addr& local, int ifindex);
  void ClearSource() { has_source_ = false; }
  const in_addr& source_v4() const { return src4_; }
  const in6_addr& source_v6() const { return src6_; }
  int source_ifindex() const { return src_ifindex_; }

  bool operator==(const Endpoint& o) const;
  bool operator!=(const Endpoint& o) const { return !(*this == o); }
  // Same address, port and sticky source.
  bool SameIncludingSource(const Endpoint& o) const;

 private:
  union {
    sockaddr sa;
    sockaddr_in in4;
    sockaddr_in6 in6;
  } addr_{};
  bool has_source_ = false;
  in_addr src4_{};
  in6_addr src6_{};
  int src_ifindex_ = 0;
};

}  // namespace tundra::transport
