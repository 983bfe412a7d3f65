#include "tundra/netlink/socket.h"

#include <fmt/core.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

#include "tundra/base/syscall.h"
#include "tundra/base/unique_fd.h"

namespace tundra::netlink {
namespace {

constexpr int kDumpAttempts = 3;

class KernelTransport final : public Transport {
 public:
  KernelTransport(UniqueFd fd, KernelInterface& kernel) : fd_(std::move(fd)), kernel_(kernel) {}

  Status Send(ByteSpan message) override {
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;  // nl_pid 0: the kernel
    iovec iov{const_cast<uint8_t*>(message.data()), message.size()};
    msghdr msg{};
    msg.msg_name = &to;
    msg.msg_namelen = sizeof(to);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = RetryOnEintr([&] { return kernel_.sendmsg(fd_.get(), &msg, 0); });
    if (n < 0) return ErrnoError("sendmsg(netlink)");
    if (size_t(n) != message.size()) {
      return Error(EMSGSIZE, "sendmsg(netlink)",
                   fmt::format("sent {} of {} bytes", n, message.size()));
    }
    return OkStatus();
  }

  Result<std::optional<size_t>> Receive(MutableByteSpan buffer) override {
    for (;;) {
      sockaddr_nl from{};
      iovec iov{buffer.data(), buffer.size()};
      msghdr msg{};
      msg.msg_name = &from;
      msg.msg_namelen = sizeof(from);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      const ssize_t n = RetryOnEintr([&] { return kernel_.recvmsg(fd_.get(), &msg, 0); });
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::optional<size_t>();
        return ErrnoError("recvmsg(netlink)");
      }
      if (msg.msg_flags & MSG_TRUNC) {
        return Error(EMSGSIZE, "recvmsg(netlink)",
                     fmt::format("a datagram did not fit the {}-byte buffer", buffer.size()));
      }
      // Any process may unicast to our port id; only the kernel (port 0) is believed.
      if (msg.msg_namelen >= sizeof(from) && from.nl_pid != 0) continue;
      return std::optional<size_t>(size_t(n));
    }
  }

  int fd() const override { return fd_.get(); }

 private:
  UniqueFd fd_;
  KernelInterface& kernel_;
};

std::string ExtAckText(ByteSpan tlvs) {
  auto attrs = ParseAttrs(tlvs);
  if (!attrs.ok()) return {};  // the errno still stands without the text
  const RtAttr* msg = FindAttr(*attrs, NLMSGERR_ATTR_MSG);
  return msg != nullptr ? std::string(msg->Str()) : std::string();
}

Error KernelError(const AckInfo& ack, const std::string& context) {
  std::string detail;
  if (!ack.message.empty()) detail = fmt::format("{} ({})", std::strerror(ack.error), ack.message);
  return Error(ack.error, context, std::move(detail));
}

}  // namespace

Result<AckInfo> ParseAck(ByteSpan payload, uint16_t flags, bool done) {
  int32_t error = 0;
  if (payload.size() < sizeof(error)) {
    if (done && payload.empty()) return AckInfo{};  // old kernels: an empty NLMSG_DONE
    return MakeError(EBADMSG, done ? "netlink: truncated NLMSG_DONE" : "netlink: truncated ack");
  }
  std::memcpy(&error, payload.data(), sizeof(error));
  AckInfo ack;
  ack.error = error < 0 ? -error : error;
  if (!(flags & NLM_F_ACK_TLVS)) return ack;
  // The TLVs follow the error (NLMSG_DONE) or the nlmsgerr, which echoes our whole request
  // unless the ack is capped (NETLINK_CAP_ACK).
  size_t off = sizeof(error);
  if (!done) {
    nlmsgerr err;
    if (payload.size() < sizeof(err)) return ack;
    std::memcpy(&err, payload.data(), sizeof(err));
    off = sizeof(err);
    if (!(flags & NLM_F_CAPPED)) {
      if (err.msg.nlmsg_len < sizeof(nlmsghdr)) return ack;
      off += err.msg.nlmsg_len - sizeof(nlmsghdr);
    }
  }
  off = Align4(off);
  if (off >= payload.size()) return ack;
  ack.message = ExtAckText(payload.subspan(off));
  return ack;
}

Result<std::unique_ptr<Transport>> OpenKernelTransport(const TransportOptions& options,
                                                       KernelInterface& kernel) {
  const int type = SOCK_RAW | SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
  const int fd = kernel.socket(AF_NETLINK, type, NETLINK_ROUTE);
  if (fd < 0) return ErrnoError("socket(AF_NETLINK, NETLINK_ROUTE)");
  UniqueFd owned(fd, &kernel);
  // Extended acks (the kernel's error text) and capped acks (no echo of our request). Both are
  // optional: kernels without them still answer, only with less detail.
  const int one = 1;
  (void)kernel.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  (void)kernel.setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
  if (options.receive_timeout_ms > 0) {
    timeval tv{};
    tv.tv_sec = options.receive_timeout_ms / 1000;
    tv.tv_usec = (options.receive_timeout_ms % 1000) * 1000;
    if (kernel.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
      return ErrnoError("setsockopt(SO_RCVTIMEO) netlink");
    }
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = options.groups;
  if (kernel.bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0) {
    return ErrnoError(fmt::format("bind(netlink groups {:#x})", options.groups));
  }
  return std::unique_ptr<Transport>(std::make_unique<KernelTransport>(std::move(owned), kernel));
}

NetlinkSocket::NetlinkSocket(std::unique_ptr<Transport> transport, uint32_t first_seq)
    : transport_(std::move(transport)), seq_(first_seq - 1), buffer_(kReceiveBufferSize) {}

Result<NetlinkSocket> NetlinkSocket::Open(KernelInterface& kernel) {
  TransportOptions options;
  options.receive_timeout_ms = 10'000;
  TUNDRA_ASSIGN_OR_RETURN(auto transport, OpenKernelTransport(options, kernel));
  return NetlinkSocket(std::move(transport));
}

Status NetlinkSocket::Request(const MessageBuilder& msg, std::string_view what) {
  TUNDRA_RETURN_IF_ERROR(Query(msg, what));
  return OkStatus();
}

Result<std::vector<Reply>> NetlinkSocket::Query(const MessageBuilder& msg, std::string_view what) {
  const std::string context = fmt::format("netlink {} {}", MessageTypeName(msg.type()), what);
  return Exchange(msg, Mode::kAck, context, nullptr);
}

Result<std::vector<Reply>> NetlinkSocket::Dump(const MessageBuilder& msg, std::string_view what) {
  const std::string context = fmt::format("netlink {} {}", MessageTypeName(msg.type()), what);
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    bool interrupted = false;
    TUNDRA_ASSIGN_OR_RETURN(auto replies, Exchange(msg, Mode::kDump, context, &interrupted));
    if (!interrupted) return replies;
  }
  return Error(
      EAGAIN, context,
      fmt::format("the dump was interrupted by concurrent changes {} times", kDumpAttempts));
}

Result<std::vector<Reply>> NetlinkSocket::Exchange(const MessageBuilder& msg, Mode mode,
                                                   const std::string& context, bool* interrupted) {
  if (++seq_ == 0) ++seq_;  // 0 is what unsolicited messages carry
  const uint32_t seq = seq_;
  MessageBuilder request = msg;
  request.AddFlags(NLM_F_REQUEST | (mode == Mode::kDump ? NLM_F_DUMP : NLM_F_ACK));
  if (Status s = transport_->Send(request.Finish(seq)); !s.ok()) return s.error().Wrap(context);

  std::vector<Reply> replies;
  for (;;) {
    auto received = transport_->Receive(buffer_);
    if (!received.ok()) return received.error().Wrap(context);
    if (!received->has_value()) {
      return Error(ETIMEDOUT, context, "no reply from the kernel");
    }
    auto messages = ParseMessages(ByteSpan(buffer_.data(), **received));
    if (!messages.ok()) return messages.error().Wrap(context);
    for (const Message& m : *messages) {
      if (m.seq != seq) continue;  // a late reply to an earlier request
      switch (m.type) {
        case NLMSG_NOOP:
          continue;
        case NLMSG_OVERRUN:
          return Error(ENOBUFS, context, "the kernel reported an overrun");
        case NLMSG_ERROR: {
          auto ack = ParseAck(m.payload, m.flags);
          if (!ack.ok()) return ack.error().Wrap(context);
          if (ack->error != 0) return KernelError(*ack, context);
          if (mode == Mode::kAck) return replies;
          continue;  // not expected inside a dump; the NLMSG_DONE ends it
        }
        case NLMSG_DONE: {
          if (mode == Mode::kAck) continue;
          if ((m.flags & NLM_F_DUMP_INTR) && interrupted != nullptr) *interrupted = true;
          auto done = ParseAck(m.payload, m.flags, /*done=*/true);
          if (!done.ok()) return done.error().Wrap(context);
          if (done->error != 0) return KernelError(*done, context);
          return replies;
        }
        default:
          if ((m.flags & NLM_F_DUMP_INTR) && interrupted != nullptr) *interrupted = true;
          replies.push_back(
              {m.type, m.flags, std::vector<uint8_t>(m.payload.begin(), m.payload.end())});
      }
    }
  }
}

}  // namespace tundra::netlink
