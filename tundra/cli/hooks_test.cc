#include "tundra/cli/hooks.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tundra::cli {
namespace {

using Argv = std::vector<std::string>;

const HookContext kCtx{"wg7", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "[fd18::1]:51820"};

TEST(SubstituteHookTest, ReplacesEverySequence) {
  EXPECT_EQ(SubstituteHook("up %i %k %e", kCtx),
            "up wg7 xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= [fd18::1]:51820");
  EXPECT_EQ(SubstituteHook("%i%i", kCtx), "wg7wg7");
  EXPECT_EQ(SubstituteHook("100%% of %i", kCtx), "100% of wg7");
  EXPECT_EQ(SubstituteHook("%%i", kCtx), "%i");                 // %% first: the i is a plain letter
  EXPECT_EQ(SubstituteHook("date +%s %", kCtx), "date +%s %");  // others kept, as wg-quick
  EXPECT_EQ(SubstituteHook("%", kCtx), "%");
  EXPECT_EQ(SubstituteHook("", kCtx), "");
}

struct PlanCase {
  std::string line;
  bool shell;
  Argv argv;  // for shell: just the substituted line (argv[2])
};

TEST(PlanHookTest, SplitsOrUsesTheShell) {
  const PlanCase cases[] = {
      {"ip link set %i up", false, {"ip", "link", "set", "wg7", "up"}},
      {"  logger   -t tundra  'up: %i'  ", false, {"logger", "-t", "tundra", "up: wg7"}},
      {R"(echo "a  b" 'c"d' e\ f)", false, {"echo", "a  b", "c\"d", "e f"}},
      {R"(echo "x\"y" "\n")", false, {"echo", "x\"y", "\\n"}},
      {"echo ''", false, {"echo", ""}},
      {"echo a'b'\"c\"", false, {"echo", "abc"}},
      {"echo '|;&'", false, {"echo", "|;&"}},           // quoted metacharacters are words
      {"echo %e", false, {"echo", "[fd18::1]:51820"}},  // a value never turns on the shell
      {"echo %i >> /tmp/x", true, {"echo wg7 >> /tmp/x"}},
      {"iptables -A FORWARD -i %i -j ACCEPT; ip6tables -A FORWARD -i %i -j ACCEPT",
       true,
       {"iptables -A FORWARD -i wg7 -j ACCEPT; ip6tables -A FORWARD -i wg7 -j ACCEPT"}},
      {"a | b", true, {"a | b"}},
      {"a && b", true, {"a && b"}},
      {"echo $HOME", true, {"echo $HOME"}},
      {"echo \"$HOME\"", true, {"echo \"$HOME\""}},
      {"echo '$HOME'", false, {"echo", "$HOME"}},
      {"echo `id`", true, {"echo `id`"}},
      {"ls *.conf", true, {"ls *.conf"}},
      {"(cd /; ls)", true, {"(cd /; ls)"}},
      {"FOO=1 env", true, {"FOO=1 env"}},
      {"env FOO=1", false, {"env", "FOO=1"}},
      {"echo \\|", false, {"echo", "|"}},
  };
  for (const PlanCase& c : cases) {
    auto r = PlanHook(c.line, kCtx);
    ASSERT_TRUE(r.ok()) << c.line << ": " << r.error().message();
    EXPECT_EQ(r->shell, c.shell) << c.line;
    if (c.shell) {
      EXPECT_EQ(r->argv, (Argv{"/bin/sh", "-c", c.argv[0]})) << c.line;
    } else {
      EXPECT_EQ(r->argv, c.argv) << c.line;
    }
  }
}

TEST(PlanHookTest, Errors) {
  EXPECT_EQ(PlanHook("", kCtx).error().message(), "hook: empty command");
  EXPECT_EQ(PlanHook("  \t", kCtx).error().message(), "hook: empty command");
  EXPECT_EQ(PlanHook("echo 'abc", kCtx).error().message(),
            "hook 'echo 'abc': unterminated single quote");
  EXPECT_EQ(PlanHook("echo \"abc", kCtx).error().message(),
            "hook 'echo \"abc': unterminated double quote");
  EXPECT_EQ(PlanHook("echo abc\\", kCtx).error().message(),
            "hook 'echo abc\\': ends with a backslash");
}

class RunHookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tundra_hooks_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST_F(RunHookTest, DirectExecGetsTheSubstitutedWords) {
  // No shell: the argv reaches the program word by word (a shell would glob the brackets).
  const std::string out = dir_ + "/out";
  ASSERT_TRUE(RunHook("/bin/sh -c 'printf \"%s|\" \"$@\" > " + out + "' x %i '%k' %e", kCtx).ok());
  EXPECT_EQ(Read("out"), "wg7|xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=|[fd18::1]:51820|");
}

TEST_F(RunHookTest, ShellLinesRunInTheShell) {
  ASSERT_TRUE(RunHook("echo up %i > " + dir_ + "/a; echo second >> " + dir_ + "/a", kCtx).ok());
  EXPECT_EQ(Read("a"), "up wg7\nsecond\n");
}

TEST_F(RunHookTest, PathSearchAndStdinIsDevNull) {
  ASSERT_TRUE(RunHook("cp /dev/stdin " + dir_ + "/in", kCtx).ok());
  EXPECT_EQ(Read("in"), "");
}

TEST_F(RunHookTest, FailuresNameTheLineAndTheStatus) {
  auto s = RunHook("false", kCtx);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "hook 'false': exited with status 1");
  s = RunHook("sh -c 'exit 7'", kCtx);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "hook 'sh -c 'exit 7'': exited with status 7");
  s = RunHook("kill -TERM $$", kCtx);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "hook 'kill -TERM $$': killed by signal 15 (Terminated)");
  s = RunHook("/nonexistent/tundra-hook arg", kCtx);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ENOENT);
  EXPECT_NE(s.error().message().find("hook '/nonexistent/tundra-hook arg': cannot run"),
            std::string::npos)
      << s.error().message();
}

TEST_F(RunHookTest, TimeLimitKillsTheWholeGroup) {
  // The shell starts a child sleeper; both must be gone after the kill (the marker file is
  // written only if the grandchild survives its 2 s sleep).
  const auto start = std::chrono::steady_clock::now();
  auto s = RunHook("sleep 2 && touch " + dir_ + "/survived & sleep 30", kCtx,
                   std::chrono::milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ETIMEDOUT);
  EXPECT_NE(s.error().message().find("did not finish within 300 ms (killed)"), std::string::npos)
      << s.error().message();
  EXPECT_LT(took, std::chrono::seconds(10));
  ::sleep(3);
  struct stat st;
  EXPECT_NE(::stat((dir_ + "/survived").c_str(), &st), 0) << "the hook's child outlived the kill";
}

TEST(HookTimeLimitTest, IsBounded) {
  EXPECT_GT(kHookTimeLimit.count(), 0);
  EXPECT_LE(kHookTimeLimit, std::chrono::seconds(300));
}

}  // namespace
}  // namespace tundra::cli
