// NetlinkSocket exchanges against a scripted kernel (FakeTransport), and the kernel transport's
// syscalls through MockKernel: all without root.
#include "tundra/netlink/socket.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "tundra/base/mock_kernel.h"
#include "tundra/netlink/address.h"
#include "tundra/netlink/link.h"
#include "tundra/netlink/mock_netlink.h"

namespace tundra::netlink {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::Invoke;
using ::testing::NiceMock;
using ::testing::Return;

routing::IpPrefix P(const char* s) { return *routing::IpPrefix::Parse(s); }

struct Harness {
  Harness() {
    auto t = std::make_unique<FakeTransport>();
    fake = t.get();
    nl = std::make_unique<NetlinkSocket>(std::move(t), 100);
  }
  FakeTransport* fake;
  std::unique_ptr<NetlinkSocket> nl;
};

TEST(SocketTest, RequestSetsFlagsAndSequenceAndAcceptsTheAck) {
  Harness h;
  h.fake->on_request = [](FakeTransport& t, const Message& req) {
    t.Queue(AckMessage(req.seq, 0));
  };
  ASSERT_TRUE(h.nl->Request(BuildAddAddress(7, P("198.19.0.1/24")), "x").ok());
  ASSERT_TRUE(h.nl->Request(BuildAddAddress(7, P("198.19.0.1/24")), "x").ok());
  ASSERT_EQ(h.fake->sent.size(), 2u);
  auto first = ParseMessages(h.fake->sent[0]);
  auto second = ParseMessages(h.fake->sent[1]);
  EXPECT_EQ((*first)[0].flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  EXPECT_EQ((*first)[0].seq, 100u);
  EXPECT_EQ((*second)[0].seq, 101u);
  EXPECT_TRUE(h.fake->idle());
}

TEST(SocketTest, KernelErrorNamesRequestAndObject) {
  Harness h;
  h.fake->on_request = [](FakeTransport& t, const Message& req) {
    // Replies to other requests come first and are skipped.
    t.Queue(Datagram({AckMessage(req.seq - 1, -EPERM), AckMessage(req.seq + 7, 0)}));
    t.Queue(AckMessage(req.seq, -EEXIST));
  };
  Status s = h.nl->Request(BuildAddAddress(7, P("198.19.0.1/24")), "198.19.0.1/24 dev tun0");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EEXIST);
  EXPECT_EQ(s.error().message(), "netlink RTM_NEWADDR 198.19.0.1/24 dev tun0: File exists");
}

TEST(SocketTest, ExtendedAckTextIsAppended) {
  Harness h;
  h.fake->on_request = [](FakeTransport& t, const Message& req) {
    t.Queue(AckMessage(req.seq, -EINVAL, "Invalid prefix length"));
  };
  Status s = h.nl->Request(BuildAddAddress(7, P("198.19.0.1/24")), "198.19.0.1/24 dev tun0");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EINVAL);
  EXPECT_EQ(s.error().message(),
            "netlink RTM_NEWADDR 198.19.0.1/24 dev tun0: Invalid argument (Invalid prefix length)");
}

// Without NETLINK_CAP_ACK the kernel echoes the whole request before the TLVs.
TEST(SocketTest, ExtendedAckAfterAnEchoedRequest) {
  const auto request = BuildDeleteLink("tvx9").Finish(5);
  std::vector<uint8_t> payload(sizeof(int32_t));
  const int32_t error = -ENODEV;
  std::memcpy(payload.data(), &error, sizeof(error));
  payload.insert(payload.end(), request.begin(), request.end());
  MessageBuilder tlv(0, 0);
  tlv.String(NLMSGERR_ATTR_MSG, "no such link");
  const auto tlv_bytes = tlv.Finish(0);
  payload.insert(payload.end(), tlv_bytes.begin() + sizeof(nlmsghdr), tlv_bytes.end());
  auto ack = ParseAck(payload, NLM_F_ACK_TLVS);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->error, ENODEV);
  EXPECT_EQ(ack->message, "no such link");
  // An echoed header claiming more than there is: the errno survives, the text is dropped.
  nlmsghdr lying{};
  lying.nlmsg_len = 4000;
  std::memcpy(payload.data() + 4, &lying, sizeof(lying));
  ack = ParseAck(payload, NLM_F_ACK_TLVS);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->error, ENODEV);
  EXPECT_EQ(ack->message, "");
  lying.nlmsg_len = 3;  // below its own size
  std::memcpy(payload.data() + 4, &lying, sizeof(lying));
  EXPECT_EQ(ParseAck(payload, NLM_F_ACK_TLVS)->message, "");
  // Shorter than the error itself.
  EXPECT_EQ(ParseAck(ByteSpan(payload.data(), 3), 0).error().code(), EBADMSG);
}

TEST(SocketTest, TruncatedAckIsAnError) {
  Harness h;
  h.fake->on_request = [](FakeTransport& t, const Message& req) {
    const uint8_t two[2] = {0, 0};
    t.Queue(ReplyMessage(NLMSG_ERROR, req.seq, two, 0));
  };
  Status s = h.nl->Request(BuildDeleteLink(3), "ifindex 3");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), EBADMSG);
  EXPECT_EQ(s.error().message(), "netlink RTM_DELLINK ifindex 3: netlink: truncated ack");
}

TEST(SocketTest, NoReplyAndTransportErrorsAreNamed) {
  Harness h;  // answers nothing
  Status s = h.nl->Request(BuildDeleteLink(3), "ifindex 3");
  EXPECT_EQ(s.error().code(), ETIMEDOUT);
  EXPECT_EQ(s.error().message(), "netlink RTM_DELLINK ifindex 3: no reply from the kernel");
  h.fake->on_request = [](FakeTransport& t, const Message&) {
    t.QueueError(ErrnoError("recvmsg(netlink)", ENOBUFS));
  };
  s = h.nl->Request(BuildDeleteLink(3), "ifindex 3");
  EXPECT_EQ(s.error().code(), ENOBUFS);
  EXPECT_EQ(s.error().message(),
            "netlink RTM_DELLINK ifindex 3: recvmsg(netlink): No buffer space available");
}

TEST(SocketTest, QueryReturnsTheRepliesBeforeTheAck) {
  Harness h;
  h.fake->on_request = [](FakeTransport& t, const Message& req) {
    const uint8_t payload[4] = {1, 2, 3, 4};
    t.Queue(Datagram({ReplyMessage(RTM_NEWLINK, req.seq, payload, 0), AckMessage(req.seq, 0)}));
  };
  auto replies = h.nl->Query(BuildGetLink("x"), "x");
  ASSERT_TRUE(replies.ok());
  ASSERT_EQ(replies->size(), 1u);
  EXPECT_EQ((*replies)[0].type, RTM_NEWLINK);
  EXPECT_EQ((*replies)[0].payload, (std::vector<uint8_t>{1, 2, 3, 4}));
}

TEST(SocketTest, DumpCollectsAcrossDatagramsUntilDone) {
  Harness h;
  h.fake->on_request = [](FakeTransport& t, const Message& req) {
    EXPECT_EQ(req.flags, NLM_F_REQUEST | NLM_F_DUMP);
    const uint8_t a[5] = {1, 1, 1, 1, 1}, b[4] = {2, 2, 2, 2}, c[4] = {3, 3, 3, 3};
    t.Queue(
        Datagram({ReplyMessage(RTM_NEWLINK, req.seq, a), ReplyMessage(RTM_NEWLINK, req.seq, b)}));
    t.Queue(Datagram({ReplyMessage(RTM_NEWLINK, req.seq + 1, c)}));  // not ours
    t.Queue(Datagram({ReplyMessage(RTM_NEWLINK, req.seq, c), DoneMessage(req.seq)}));
  };
  auto d = h.nl->Dump(BuildListLinks(), "(all links)");
  ASSERT_TRUE(d.ok()) << d.error().message();
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].payload.size(), 5u);  // an unpadded length is kept exact
  EXPECT_EQ((*d)[2].payload[0], 3);
  EXPECT_TRUE(h.fake->idle());
}

TEST(SocketTest, DumpErrorsAndInterruptions) {
  Harness h;
  h.fake->on_request = [](FakeTransport& t, const Message& req) {
    t.Queue(AckMessage(req.seq, -EOPNOTSUPP, "dump not supported"));
  };
  auto d = h.nl->Dump(BuildListLinks(), "(all links)");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().message(),
            "netlink RTM_GETLINK (all links): Operation not supported (dump not supported)");

  h.fake->on_request = [](FakeTransport& t, const Message& req) {
    t.Queue(DoneMessage(req.seq, -EMSGSIZE));
  };
  EXPECT_EQ(h.nl->Dump(BuildListLinks(), "(all links)").error().code(), EMSGSIZE);

  // Interrupted twice, then consistent: the dump is redone and the last one returned.
  int dumps = 0;
  h.fake->on_request = [&](FakeTransport& t, const Message& req) {
    const uint8_t p[4] = {uint8_t(dumps), 0, 0, 0};
    const uint16_t intr = ++dumps < 3 ? NLM_F_DUMP_INTR : 0;
    t.Queue(Datagram({ReplyMessage(RTM_NEWLINK, req.seq, p, uint16_t(NLM_F_MULTI | intr)),
                      DoneMessage(req.seq, 0, intr)}));
  };
  d = h.nl->Dump(BuildListLinks(), "(all links)");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(dumps, 3);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].payload[0], 2);
  // Always interrupted: EAGAIN after three attempts.
  dumps = -100;
  d = h.nl->Dump(BuildListLinks(), "(all links)");
  EXPECT_EQ(d.error().code(), EAGAIN);
}

TEST(SocketTest, MalformedReplyIsAnErrorNamingTheRequest) {
  Harness h;
  h.fake->on_request = [](FakeTransport& t, const Message&) {
    t.Queue({0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // nlmsg_len 255 > 16
  };
  Status s = h.nl->Request(BuildDeleteLink(3), "ifindex 3");
  EXPECT_EQ(s.error().code(), EBADMSG);
  EXPECT_EQ(s.error().message(),
            "netlink RTM_DELLINK ifindex 3: netlink: malformed message length");
}

// The kernel transport, syscall by syscall.
class KernelTransportTest : public ::testing::Test {
 protected:
  static constexpr int kFd = 42;
  NiceMock<MockKernel> kernel_;
};

TEST_F(KernelTransportTest, OpensCloexecBindsGroupsAndClosesOnce) {
  EXPECT_CALL(kernel_, socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE))
      .WillOnce(Return(kFd));
  EXPECT_CALL(kernel_, setsockopt(kFd, SOL_NETLINK, NETLINK_EXT_ACK, _, sizeof(int)))
      .WillOnce(Return(0));
  EXPECT_CALL(kernel_, setsockopt(kFd, SOL_NETLINK, NETLINK_CAP_ACK, _, sizeof(int)))
      .WillOnce(Return(-1));  // optional: an old kernel refusing it is fine
  EXPECT_CALL(kernel_, bind(kFd, _, sizeof(sockaddr_nl)))
      .WillOnce(Invoke([](int, const sockaddr* sa, socklen_t) {
        sockaddr_nl nl;
        std::memcpy(&nl, sa, sizeof(nl));
        EXPECT_EQ(nl.nl_family, AF_NETLINK);
        EXPECT_EQ(nl.nl_groups, uint32_t(RTMGRP_LINK));
        return 0;
      }));
  EXPECT_CALL(kernel_, close(kFd)).Times(1);
  TransportOptions options;
  options.groups = RTMGRP_LINK;
  options.nonblocking = true;
  auto t = OpenKernelTransport(options, kernel_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->fd(), kFd);
}

TEST_F(KernelTransportTest, BindFailureClosesTheSocket) {
  EXPECT_CALL(kernel_, socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE))
      .WillOnce(Return(kFd));
  EXPECT_CALL(kernel_, bind(kFd, _, _))
      .WillOnce(DoAll(Invoke([](int, const sockaddr*, socklen_t) { errno = EPERM; }), Return(-1)));
  EXPECT_CALL(kernel_, close(kFd)).Times(1);
  auto t = OpenKernelTransport({}, kernel_);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message(), "bind(netlink groups 0x0): Operation not permitted");
}

TEST_F(KernelTransportTest, SocketFailureIsNamed) {
  EXPECT_CALL(kernel_, socket(_, _, _))
      .WillOnce(DoAll(Invoke([](int, int, int) { errno = EAFNOSUPPORT; }), Return(-1)));
  EXPECT_CALL(kernel_, close(_)).Times(0);
  auto t = OpenKernelTransport({}, kernel_);
  EXPECT_EQ(t.error().code(), EAFNOSUPPORT);
  EXPECT_EQ(t.error().context(), "socket(AF_NETLINK, NETLINK_ROUTE)");
}

TEST_F(KernelTransportTest, ReceiveRetriesEintrSkipsStrangersAndReportsTruncation) {
  ON_CALL(kernel_, socket(_, _, _)).WillByDefault(Return(kFd));
  ON_CALL(kernel_, bind(_, _, _)).WillByDefault(Return(0));
  auto t = OpenKernelTransport({}, kernel_);
  ASSERT_TRUE(t.ok());
  auto deliver = [](uint32_t from_pid, size_t len, int flags) {
    return [=](int, msghdr* msg, int) -> ssize_t {
      sockaddr_nl from{};
      from.nl_family = AF_NETLINK;
      from.nl_pid = from_pid;
      std::memcpy(msg->msg_name, &from, sizeof(from));
      msg->msg_namelen = sizeof(from);
      std::memset(msg->msg_iov[0].iov_base, 0xab, std::min(len, msg->msg_iov[0].iov_len));
      msg->msg_flags = flags;
      return ssize_t(len);
    };
  };
  auto fail = [](int err) {
    return [err](int, msghdr*, int) -> ssize_t {
      errno = err;
      return -1;
    };
  };
  EXPECT_CALL(kernel_, recvmsg(kFd, _, 0))
      .WillOnce(Invoke(fail(EINTR)))
      .WillOnce(Invoke(deliver(4242, 20, 0)))  // another process: ignored
      .WillOnce(Invoke(deliver(0, 20, 0)))
      .WillOnce(Invoke(fail(EAGAIN)))
      .WillOnce(Invoke(deliver(0, 70000, MSG_TRUNC)))
      .WillOnce(Invoke(fail(ENOBUFS)));
  std::vector<uint8_t> buf(64);
  auto r = (*t)->Receive(buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->value_or(0), 20u);
  r = (*t)->Receive(buf);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());  // would block
  r = (*t)->Receive(buf);
  EXPECT_EQ(r.error().code(), EMSGSIZE);
  r = (*t)->Receive(buf);
  EXPECT_EQ(r.error().code(), ENOBUFS);
}

TEST_F(KernelTransportTest, SendAddressesTheKernelAndRetriesEintr) {
  ON_CALL(kernel_, socket(_, _, _)).WillByDefault(Return(kFd));
  ON_CALL(kernel_, bind(_, _, _)).WillByDefault(Return(0));
  auto t = OpenKernelTransport({}, kernel_);
  ASSERT_TRUE(t.ok());
  const auto bytes = BuildDeleteLink(3).Finish(1);
  int calls = 0;
  EXPECT_CALL(kernel_, sendmsg(kFd, _, 0))
      .Times(2)
      .WillRepeatedly(Invoke([&](int, const msghdr* msg, int) -> ssize_t {
        if (++calls == 1) {
          errno = EINTR;
          return -1;
        }
        sockaddr_nl to;
        std::memcpy(&to, msg->msg_name, sizeof(to));
        EXPECT_EQ(to.nl_pid, 0u);
        EXPECT_EQ(msg->msg_iov[0].iov_len, bytes.size());
        return ssize_t(msg->msg_iov[0].iov_len);
      }));
  EXPECT_TRUE((*t)->Send(bytes).ok());
}

}  // namespace
}  // namespace tundra::netlink
