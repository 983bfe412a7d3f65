// Endpoint: a peer's UDP address and port, plus the "sticky source" — the local address (and
// interface) its last packet arrived on, which replies are sent from (wireguard-go
// conn/sticky_linux.go; kernel socket.c). The source is not part of equality.
//
// A TCP endpoint (docs/tcp-transport.md) names the remote address and, for a connection the
// peer opened to us, that connection (connection() != 0); connection() == 0 means "the
// connection this side dials to the address", which survives reconnects. Transport and
// connection are part of equality; ToString() prints only the address (as the UAPI wants).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "tundra/base/bytes.h"
#include "tundra/base/result.h"

namespace tundra::transport {

enum class Transport : uint8_t { kUdp, kTcp };

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

  Transport transport() const { return transport_; }
  bool is_tcp() const { return transport_ == Transport::kTcp; }
  uint64_t connection() const { return connection_; }
  // The same address over another transport (and connection; sticky source dropped for TCP).
  Endpoint WithTransport(Transport t, uint64_t connection = 0) const;

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
  Transport transport_ = Transport::kUdp;
  uint64_t connection_ = 0;
  bool has_source_ = false;
  in_addr src4_{};
  in6_addr src6_{};
  int src_ifindex_ = 0;
};

// The wildcard address of `family` (AF_INET: 0.0.0.0, AF_INET6: ::) with `port`, for bind();
// returns its length.
socklen_t WildcardAddress(int family, uint16_t port, sockaddr_storage& out);

}  // namespace tundra::transport
