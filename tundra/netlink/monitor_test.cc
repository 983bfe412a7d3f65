// LinkMonitor against scripted multicast events and link dumps: it reports what changed
// (MTU, flags, deletion, a move to another namespace) and recovers from lost events.
#include "tundra/netlink/monitor.h"

#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "tundra/netlink/mock_netlink.h"

namespace tundra::netlink {
namespace {

class LinkMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto events = std::make_unique<FakeTransport>();
    events_ = events.get();
    auto requests = std::make_unique<FakeTransport>();
    requests->on_request = [this](FakeTransport& f, const Message& req) {
      ASSERT_EQ(req.type, RTM_GETLINK);
      for (const auto& link : links_) f.Queue(ReplyMessage(RTM_NEWLINK, req.seq, link));
      f.Queue(DoneMessage(req.seq));
    };
    links_ = {LinkPayload(1, "lo", 65536, IFF_UP | IFF_LOOPBACK),
              LinkPayload(3, "tun0", 1420, IFF_UP, "tun")};
    monitor_ = std::make_unique<LinkMonitor>(std::move(events), NetlinkSocket(std::move(requests)));
    auto initial = monitor_->Sync();
    ASSERT_TRUE(initial.ok());
    ASSERT_EQ(initial->size(), 2u);  // everything is new to an empty monitor
    EXPECT_TRUE((*initial)[0].created);
  }

  // One multicast datagram (sequence number 0, as the kernel sends notifications).
  void Event(uint16_t type, std::vector<uint8_t> payload) {
    events_->Queue(ReplyMessage(type, 0, payload, 0));
  }

  std::vector<LinkEvent> Poll() {
    auto events = monitor_->Poll();
    EXPECT_TRUE(events.ok()) << events.error().message();
    return events.ok() ? *events : std::vector<LinkEvent>{};
  }

  FakeTransport* events_;
  std::vector<std::vector<uint8_t>> links_;
  std::unique_ptr<LinkMonitor> monitor_;
};

TEST_F(LinkMonitorTest, ReportsMtuChangesOnlyWhenTheMtuChanged) {
  EXPECT_TRUE(Poll().empty());
  Event(RTM_NEWLINK, LinkPayload(3, "tun0", 1420, IFF_UP, "tun"));  // nothing changed
  Event(RTM_NEWLINK, LinkPayload(3, "tun0", 1280, IFF_UP, "tun"));
  auto events = Poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].index, 3);
  EXPECT_TRUE(events[0].mtu_changed);
  EXPECT_EQ(events[0].mtu, 1280);
  EXPECT_EQ(events[0].old_mtu, 1420);
  EXPECT_FALSE(events[0].deleted);
  EXPECT_EQ(events[0].ToString(), "ifindex 3 (tun0) mtu changed to 1280 (was 1420)");
  EXPECT_EQ(monitor_->Find(3)->mtu, 1280);
  ASSERT_NE(monitor_->FindByName("tun0"), nullptr);
  EXPECT_EQ(monitor_->FindByName("tun0")->index, 3);
  EXPECT_EQ(monitor_->FindByName("tun9"), nullptr);
}

TEST_F(LinkMonitorTest, ReportsFlagChangesCreationAndDeletion) {
  Event(RTM_NEWLINK, LinkPayload(3, "tun0", 1420, 0, "tun"));  // down
  Event(RTM_NEWLINK, LinkPayload(9, "tvx0", 1500, 0, "veth"));
  Event(RTM_DELLINK, LinkPayload(3, "tun0", 1420, 0, "tun"));
  auto events = Poll();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(events[0].flags_changed);
  EXPECT_EQ(events[0].old_flags, unsigned(IFF_UP));
  EXPECT_FALSE(events[0].mtu_changed);
  EXPECT_TRUE(events[1].created);
  EXPECT_EQ(events[1].ToString(), "ifindex 9 (tvx0) created, mtu 1500");
  EXPECT_TRUE(events[2].deleted);
  EXPECT_FALSE(events[2].moved);
  EXPECT_EQ(events[2].ToString(), "ifindex 3 (tun0) deleted");
  EXPECT_EQ(monitor_->Find(3), nullptr);
}

TEST_F(LinkMonitorTest, BridgePortMessagesAreNotLinkDeletions) {
  // A bridge port removed: RTM_DELLINK with ifi_family AF_BRIDGE; the link itself stays.
  Event(RTM_DELLINK, LinkPayload(3, "tun0", 1420, IFF_UP, "", AF_BRIDGE));
  EXPECT_TRUE(Poll().empty());
  EXPECT_NE(monitor_->Find(3), nullptr);
}

TEST_F(LinkMonitorTest, AMoveToAnotherNamespaceIsReportedAsSuch) {
  auto payload = LinkPayload(3, "tun0", 1420, IFF_UP, "tun");
  const int32_t nsid = 0;
  MessageBuilder extra(0, 0);
  extra.S32(IFLA_NEW_NETNSID, nsid);
  auto bytes = extra.Finish(0);
  payload.insert(payload.end(), bytes.begin() + sizeof(nlmsghdr), bytes.end());
  Event(RTM_DELLINK, payload);
  auto events = Poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].deleted);
  EXPECT_TRUE(events[0].moved);
  EXPECT_EQ(events[0].ToString(), "ifindex 3 (tun0) moved to another namespace");
}

TEST_F(LinkMonitorTest, LostEventsAreRecoveredByReReadingTheLinks) {
  // The kernel dropped events (ENOBUFS); meanwhile tun0 was deleted and lo's MTU changed.
  links_ = {LinkPayload(1, "lo", 1500, IFF_UP | IFF_LOOPBACK)};
  events_->QueueError(ErrnoError("recvmsg(netlink)", ENOBUFS));
  auto events = Poll();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].index, 1);
  EXPECT_TRUE(events[0].mtu_changed);
  EXPECT_EQ(events[1].index, 3);
  EXPECT_TRUE(events[1].deleted);
  EXPECT_EQ(monitor_->overruns(), 1u);
}

TEST_F(LinkMonitorTest, OtherMessagesAndErrors) {
  const uint8_t junk[4] = {1, 2, 3, 4};
  events_->Queue(ReplyMessage(RTM_NEWADDR, 0, junk, 0));  // not a link message: ignored
  Event(RTM_NEWLINK, {1, 2, 3});                          // malformed: ignored
  EXPECT_TRUE(Poll().empty());
  events_->QueueError(ErrnoError("recvmsg(netlink)", EBADF));
  auto r = monitor_->Poll();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "link monitor: recvmsg(netlink): Bad file descriptor");
}

}  // namespace
}  // namespace tundra::netlink
