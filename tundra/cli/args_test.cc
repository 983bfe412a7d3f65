#include "tundra/cli/args.h"

#include <gtest/gtest.h>

namespace tundra::cli {
namespace {

ArgParser MakeParser() {
  ArgParser p("tundra dev add", "NAME", "Create a device.");
  p.Option("mode", "MODE", "tun or tap")
      .Flag("multi-queue", "multiqueue")
      .Flag("foreground", "fg", 'f');
  return p;
}

TEST(ArgParserTest, ParsesOptionsFlagsAndPositionals) {
  std::vector<std::string> a = {"--mode", "tap", "tap0", "--multi-queue"};
  auto r = MakeParser().Parse(a, 1, 1);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->Get("mode"), "tap");
  EXPECT_TRUE(r->Has("multi-queue"));
  EXPECT_EQ(r->positional(), std::vector<std::string>{"tap0"});
}

TEST(ArgParserTest, InlineValuesAndShortFlags) {
  std::vector<std::string> a = {"--mode=tun", "-f", "x"};
  auto r = MakeParser().Parse(a, 1, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Get("mode"), "tun");
  EXPECT_TRUE(r->Has("foreground"));
}

TEST(ArgParserTest, RepeatedOptionsKeepEveryValue) {
  std::vector<std::string> a = {"--mode", "a b", "x", "--mode=c"};
  auto r = MakeParser().Parse(a, 1, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Get("mode"), "c");  // Get: the last
  EXPECT_EQ(r->GetAll("mode"), (std::vector<std::string>{"a b", "c"}));
  EXPECT_TRUE(r->GetAll("multi-queue").empty());
}

TEST(ArgParserTest, ErrorsNameTheCommandAndArgument) {
  std::vector<std::string> unknown = {"--colour", "x"};
  auto r = MakeParser().Parse(unknown, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "tundra dev add: unknown option '--colour' (see --help)");

  std::vector<std::string> missing_value = {"x", "--mode"};
  r = MakeParser().Parse(missing_value, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("'--mode' needs a value"), std::string::npos);

  std::vector<std::string> none;
  r = MakeParser().Parse(none, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("missing argument NAME"), std::string::npos);

  std::vector<std::string> extra = {"a", "b"};
  r = MakeParser().Parse(extra, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("unexpected argument 'b'"), std::string::npos);

  std::vector<std::string> flag_value = {"--multi-queue=yes", "x"};
  r = MakeParser().Parse(flag_value, 1, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("takes no value"), std::string::npos);
}

TEST(ArgParserTest, HelpShortCircuits) {
  std::vector<std::string> a = {"--help", "--bogus"};
  auto r = MakeParser().Parse(a, 1, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->help_requested());
  EXPECT_NE(MakeParser().Usage().find("--multi-queue"), std::string::npos);
}

}  // namespace
}  // namespace tundra::cli
