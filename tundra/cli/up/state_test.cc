#include "tundra/cli/up/state.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace tundra::cli::up {
namespace {

UpState Full() {
  UpState s;
  s.ifname = "wg0";
  s.config_path = "/etc/my tunnels/wg0.conf";
  s.daemon = {4242, 1234567};
  s.resolver = {4250, 1234590};
  s.fwmark = 51820;
  s.dns = true;
  s.routes = {{*routing::IpPrefix::Parse("198.19.0.0/24"), 254},
              {*routing::IpPrefix::Parse("::/0"), 51820}};
  netlink::Rule a;
  a.family = AF_INET6;
  a.invert = true;
  a.fwmark = 51820;
  a.table = 51820;
  netlink::Rule b;
  b.family = AF_INET;
  b.table = 254;
  b.suppress_prefixlength = 0;
  s.rules = {a, b};
  return s;
}

TEST(StateFormatTest, ExactTextAndRoundTrip) {
  const std::string text = FormatState(Full());
  EXPECT_EQ(text,
            "# tundra up state (read by tundra down); no keys\n"
            "version 1\n"
            "interface wg0\n"
            "config /etc/my tunnels/wg0.conf\n"
            "daemon 4242 1234567\n"
            "resolver 4250 1234590\n"
            "fwmark 51820\n"
            "dns\n"
            "route 198.19.0.0/24 table 254\n"
            "route ::/0 table 51820\n"
            "rule -6 not fwmark 51820 table 51820\n"
            "rule -4 table 254 suppress_prefixlength 0\n");
  auto back = ParseState(text, "x.state");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(FormatState(*back), text);
  EXPECT_EQ(back->daemon, (ProcessRef{4242, 1234567}));
  ASSERT_EQ(back->rules.size(), 2u);
  EXPECT_EQ(back->rules[0].family, AF_INET6);
  EXPECT_TRUE(back->rules[0].invert);
  EXPECT_EQ(back->rules[1].suppress_prefixlength, 0u);
  EXPECT_EQ(back->routes[1].table, 51820u);
}

TEST(StateFormatTest, MinimalAndErrors) {
  UpState s;
  s.ifname = "t0";
  s.config_path = "/c/t0.conf";
  auto back = ParseState(FormatState(s), "t0.state");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->daemon.pid, 0);
  EXPECT_FALSE(back->fwmark);
  EXPECT_EQ(ParseState("version 1\ninterface x\nroute 1.2.3/8 table 1\n", "s").error().message(),
            "s:3: not a tundra state line");
  EXPECT_EQ(ParseState("version 1\ninterface x\nrule -5 table 1\n", "s").error().message(),
            "s:3: not a tundra state line");
  EXPECT_EQ(ParseState("version 1\ninterface x\nrule -4 not\n", "s").error().message(),
            "s:3: not a tundra state line");
  EXPECT_EQ(ParseState("version 2\ninterface x\n", "s").error().message(),
            "s:1: state version 2 (this tundra writes 1)");
  EXPECT_EQ(ParseState("interface x\n", "s").error().message(),
            "s: not a tundra state file (no version or interface)");
  EXPECT_EQ(ParseState("version 1\ninterface x\ndaemon 12\n", "s").error().message(),
            "s:3: not a tundra state line");
}

TEST(StateFileTest, WrittenPrivateAndReadBack) {
  char tmpl[] = "/tmp/tundra-state-test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/run";  // created by WriteState
  ASSERT_TRUE(WriteState(Full(), dir).ok());
  struct stat st;
  ASSERT_EQ(::stat(StatePath("wg0", dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = ReadState("wg0", dir);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(FormatState(*back), FormatState(Full()));
  ASSERT_TRUE(RemoveState("wg0", dir).ok());
  EXPECT_EQ(ReadState("wg0", dir).error().code(), ENOENT);
  EXPECT_TRUE(RemoveState("wg0", dir).ok());  // already gone is fine
  std::system(("rm -rf '" + std::string(tmpl) + "'").c_str());
}

TEST(ProcessRefTest, NamesThisProcessAndNotAReusedPid) {
  auto me = RefOf(::getpid());
  ASSERT_TRUE(me.ok()) << me.error().message();
  EXPECT_GT(me->start_time, 0u);
  EXPECT_TRUE(IsRunning(*me));
  ProcessRef other = *me;
  other.start_time += 1;  // the same pid, started at another time: another process
  EXPECT_FALSE(IsRunning(other));
  EXPECT_FALSE(IsRunning(ProcessRef{}));
}

}  // namespace
}  // namespace tundra::cli::up
