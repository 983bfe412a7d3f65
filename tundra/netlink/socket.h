// A NETLINK_ROUTE socket: request/acknowledge, query and dump exchanges, with every NLMSG_ERROR
// turned into an Error carrying the kernel's errno, the request's name and object, and the
// kernel's extended-ack text when it sent one:
//   "netlink RTM_NEWADDR 198.19.0.1/24 dev tun0: File exists"
//   "netlink RTM_NEWROUTE 198.19.0.0/24 dev tun0: Invalid argument (Nexthop has invalid gateway)"
//
// The byte transport is an interface: the kernel's (a socket through KernelInterface, so
// MockKernel sees every syscall) or a scripted fake (mock_netlink.h) for tests without root.
// Not thread-safe: one NetlinkSocket per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/base/kernel.h"
#include "tundra/base/result.h"
#include "tundra/netlink/message.h"

namespace tundra::netlink {

// Large enough for any rtnetlink datagram (dumps fill at most ~32 KiB per datagram); a larger
// one is reported as EMSGSIZE, never silently cut.
inline constexpr size_t kReceiveBufferSize = 64 * 1024;

class Transport {
 public:
  virtual ~Transport() = default;
  // One whole netlink message (or several, back to back) to the kernel.
  virtual Status Send(ByteSpan message) = 0;
  // One datagram (possibly several netlink messages) into `buffer`. nullopt: nothing waiting
  // (a non-blocking socket, or a blocking one whose receive timeout passed). ENOBUFS: the
  // kernel dropped messages because the socket's buffer was full (a monitor fell behind).
  virtual Result<std::optional<size_t>> Receive(MutableByteSpan buffer) = 0;
  // The pollable fd, or -1.
  virtual int fd() const { return -1; }
};

struct TransportOptions {
  uint32_t groups = 0;         // RTMGRP_* multicast groups (monitors); 0 for requests
  bool nonblocking = false;    // SOCK_NONBLOCK, for epoll
  int receive_timeout_ms = 0;  // SO_RCVTIMEO; 0 = wait forever
};

// socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) with extended and capped acks
// requested, bound to `options.groups`. Datagrams not sent by the kernel are ignored.
// `kernel` must outlive the transport.
Result<std::unique_ptr<Transport>> OpenKernelTransport(const TransportOptions& options,
                                                       KernelInterface& kernel = RealKernel());

// One reply message, owning its payload (the bytes after the nlmsghdr).
struct Reply {
  uint16_t type = 0;
  uint16_t flags = 0;
  std::vector<uint8_t> payload;
};

class NetlinkSocket {
 public:
  explicit NetlinkSocket(std::unique_ptr<Transport> transport, uint32_t first_seq = 1);
  // A blocking socket to the kernel for requests (replies are waited for at most 10 s).
  static Result<NetlinkSocket> Open(KernelInterface& kernel = RealKernel());

  // Sends `msg` with NLM_F_REQUEST|NLM_F_ACK and waits for its acknowledgement; messages with
  // other sequence numbers are skipped. `what` names the object in errors ("198.19.0.1/24 dev
  // tun0"); the request's type is named from the message.
  Status Request(const MessageBuilder& msg, std::string_view what);
  // The same, returning the replies that precede the acknowledgement (RTM_GETLINK of one
  // link, for example).
  Result<std::vector<Reply>> Query(const MessageBuilder& msg, std::string_view what);
  // Sends `msg` with NLM_F_REQUEST|NLM_F_DUMP and returns every reply until NLMSG_DONE. A dump
  // the kernel marks as interrupted (NLM_F_DUMP_INTR: the table changed under it) is redone,
  // up to 3 times, then fails with EAGAIN.
  Result<std::vector<Reply>> Dump(const MessageBuilder& msg, std::string_view what);

 private:
  enum class Mode { kAck, kDump };
  // One send and its replies. `interrupted` is set when a dump reply had NLM_F_DUMP_INTR.
  Result<std::vector<Reply>> Exchange(const MessageBuilder& msg, Mode mode,
                                      const std::string& context, bool* interrupted);

  std::unique_ptr<Transport> transport_;
  uint32_t seq_;
  std::vector<uint8_t> buffer_;
};

// The errno (positive; 0 for an acknowledgement) and extended-ack text of an NLMSG_ERROR
// payload, or of an NLMSG_DONE payload (`done`). Exposed for tests.
struct AckInfo {
  int error = 0;
  std::string message;  // NLMSGERR_ATTR_MSG, empty when absent
};
Result<AckInfo> ParseAck(ByteSpan payload, uint16_t flags, bool done = false);

}  // namespace tundra::netlink
