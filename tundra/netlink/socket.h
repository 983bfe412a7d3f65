// A NETLINK_ROUTE socket: request/acknowledge and dump exchanges, with every NLMSG_ERROR turned
// into an Error carrying the kernel's errno, the request's name and the extended-ack text:
//   "netlink RTM_NEWADDR 198.19.0.1/24 dev tun0: File exists"
// The byte transport is an interface so tests can script the kernel's replies.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "tundra/base/result.h"
#include "tundra/base/unique_fd.h"
#include "tundra/netlink/message.h"

namespace tundra::netlink {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Status Send(ByteSpan message) = 0;
  // One datagram (possibly several netlink messages).
  virtual Result<size_t> Receive(MutableByteSpan buffer) = 0;
  virtual int fd() const { return -1; }
};

// The kernel transport: socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE), extended
// acks on, bound to `groups` (multicast groups for monitors; 0 for requests).
Result<std::unique_ptr<Transport>> OpenKernelTransport(uint32_t groups = 0,
                                                       bool nonblocking = false);

class NetlinkSocket {
 public:
  explicit NetlinkSocket(std::unique_ptr<Transport> transport);
  // A socket to the kernel for requests.
  static Result<NetlinkSocket> Open();

  // Sends `msg` with NLM_F_REQUEST|NLM_F_ACK and waits for its acknowledgement. `what` names the
  // request and its object in errors ("198.19.0.1/24 dev tun0").
  Status Request(const MessageBuilder& msg, std::string_view what);
  // Sends a NLM_F_DUMP request and returns every reply message's bytes until NLMSG_DONE.
  Result<std::vector<std::vector<uint8_t>>> Dump(const MessageBuilder& msg, std::string_view what);

 private:
  Result<std::vector<uint8_t>> ReceiveDatagram();
  std::unique_ptr<Transport> transport_;
  uint32_t seq_;
};

}  // namespace tundra::netlink
