#include "tundra/netlink/socket.h"

#include <fmt/core.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>

#include "tundra/base/syscall.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

namespace tundra::netlink {
namespace {

constexpr size_t kReceiveBuffer = 64 * 1024;

class KernelTransport final : public Transport {
 public:
  explicit KernelTransport(UniqueFd fd) : fd_(std::move(fd)) {}
  Status Send(ByteSpan message) override {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (RetryOnEintr(::sendto, fd_.get(), message.data(), message.size(), 0,
                     reinterpret_cast<sockaddr*>(&kernel), socklen_t(sizeof(kernel))) < 0) {
      return ErrnoError("sendto(netlink)");
    }
    return OkStatus();
  }
  Result<size_t> Receive(MutableByteSpan buffer) override {
    ssize_t n = RetryOnEintr(::recv, fd_.get(), buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
      return ErrnoError("recv(netlink)");
    }
    return size_t(n);
  }
  int fd() const override { return fd_.get(); }

 private:
  UniqueFd fd_;
};

// The extended-ack message of an NLMSG_ERROR payload, if the kernel attached one.
std::string ExtAckText(ByteSpan payload, uint16_t flags) {
  if (!(flags & NLM_F_ACK_TLVS) || payload.size() < sizeof(nlmsgerr)) return {};
  nlmsgerr err;
  std::memcpy(&err, payload.data(), sizeof(err));
  size_t off = sizeof(nlmsgerr);
  if (!(flags & NLM_F_CAPPED)) off += err.msg.nlmsg_len - sizeof(nlmsghdr);
  off = (off + 3) & ~size_t(3);
  if (off >= payload.size()) return {};
  auto attrs = ParseAttrs(payload.subspan(off));
  if (!attrs.ok()) return {};
  const RtAttr* msg = FindAttr(*attrs, NLMSGERR_ATTR_MSG);
  return msg != nullptr ? std::string(msg->Str()) : std::string();
}

}  // namespace

Result<std::unique_ptr<Transport>> OpenKernelTransport(uint32_t groups, bool nonblocking) {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0),
                    NETLINK_ROUTE);
  if (fd < 0) return ErrnoError("socket(NETLINK_ROUTE)");
  UniqueFd owned(fd);
  const int one = 1;
  ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = groups;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return ErrnoError("bind(netlink)");
  }
  return std::unique_ptr<Transport>(std::make_unique<KernelTransport>(std::move(owned)));
}

NetlinkSocket::NetlinkSocket(std::unique_ptr<Transport> transport)
    : transport_(std::move(transport)), seq_(uint32_t(::time(nullptr))) {}

Result<NetlinkSocket> NetlinkSocket::Open() {
  TUNDRA_ASSIGN_OR_RETURN(auto t, OpenKernelTransport());
  return NetlinkSocket(std::move(t));
}

Result<std::vector<uint8_t>> NetlinkSocket::ReceiveDatagram() {
  std::vector<uint8_t> buf(kReceiveBuffer);
  TUNDRA_ASSIGN_OR_RETURN(size_t n, transport_->Receive(buf));
  if (n == 0) return MakeError(EIO, "netlink: no reply from the kernel");
  buf.resize(n);
  return buf;
}

Status NetlinkSocket::Request(const MessageBuilder& msg, std::string_view what) {
  MessageBuilder m = msg;
  const uint32_t seq = ++seq_;
  std::vector<uint8_t> bytes = m.Finish(seq);
  nlmsghdr h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  std::memcpy(bytes.data(), &h, sizeof(h));
  const std::string context = fmt::format("netlink {} {}", MessageTypeName(m.type()), what);
  if (Status s = transport_->Send(bytes); !s.ok()) return s.error().Wrap(context);
  for (;;) {
    TUNDRA_ASSIGN_OR_RETURN(auto datagram, ReceiveDatagram());
    auto messages = ParseMessages(datagram);
    if (!messages.ok()) return messages.error().Wrap(context);
    for (const Message& reply : *messages) {
      if (reply.seq != seq || reply.type != NLMSG_ERROR) continue;
      if (reply.payload.size() < sizeof(int)) return MakeError(EIO, context + ": truncated ack");
      int error;
      std::memcpy(&error, reply.payload.data(), sizeof(error));
      if (error == 0) return OkStatus();
      std::string ext = ExtAckText(reply.payload, reply.flags);
      return Error(
          -error, context,
          ext.empty() ? std::string() : fmt::format("{} ({})", std::strerror(-error), ext));
    }
  }
}

Result<std::vector<std::vector<uint8_t>>> NetlinkSocket::Dump(const MessageBuilder& msg,
                                                              std::string_view what) {
  MessageBuilder m = msg;
  const uint32_t seq = ++seq_;
  std::vector<uint8_t> bytes = m.Finish(seq);
  nlmsghdr h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
  std::memcpy(bytes.data(), &h, sizeof(h));
  const std::string context = fmt::format("netlink {} {}", MessageTypeName(m.type()), what);
  if (Status s = transport_->Send(bytes); !s.ok()) return s.error().Wrap(context);
  std::vector<std::vector<uint8_t>> out;
  for (;;) {
    TUNDRA_ASSIGN_OR_RETURN(auto datagram, ReceiveDatagram());
    auto messages = ParseMessages(datagram);
    if (!messages.ok()) return messages.error().Wrap(context);
    for (const Message& reply : *messages) {
      if (reply.seq != seq) continue;
      if (reply.type == NLMSG_DONE) return out;
      if (reply.type == NLMSG_ERROR) {
        int error = 0;
        if (reply.payload.size() >= sizeof(int))
          std::memcpy(&error, reply.payload.data(), sizeof(int));
        if (error != 0) return Error(-error, context);
        continue;
      }
      out.emplace_back(reply.payload.begin(), reply.payload.end());
    }
  }
}

}  // namespace tundra::netlink
