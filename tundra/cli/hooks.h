// Hook commands (wg-quick's PreUp/PostUp/PreDown/PostDown, tundra's PeerUp/PeerDown): a config
// line, its %-substitutions, and running it with a time limit.
//
//   %i = interface name, %k = peer public key (base64), %e = peer endpoint, %% = '%'
//   (any other %x stays as written, as in wg-quick, which only replaces %i).
//
// How a line runs (docs/config.md, "Hooks"):
//   - A line that needs a shell runs as `/bin/sh -c LINE` (after the substitutions), so
//     `iptables -A ... ; ip6tables -A ...` or `echo %i >> /tmp/log` work as under wg-quick:
//     a line with one of  | & ; < > ( ) * ? [ ] { } ~  outside quotes, a $ or ` outside
//     'single quotes', or a first word that is an assignment (FOO=1 cmd).
//   - Any other line is split into words with simple quoting ('single', "double", backslash
//     escapes) and executed directly (PATH search), with the substitutions done per word: a
//     value can never split a word or become shell syntax.
//   Which way a line runs is decided on the line as written, before the substitutions.
//   stdin is /dev/null; stdout and stderr are the caller's. The command runs in its own
//   process group, which is killed (SIGKILL) when the time limit passes.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "tundra/base/result.h"

namespace tundra::cli {

struct HookContext {
  std::string ifname;    // %i
  std::string peer_key;  // %k (base64 public key)
  std::string endpoint;  // %e ("198.18.0.1:51820", "[fd18::1]:51820")
};

// A hook that has not finished after this long is killed and counts as failed.
inline constexpr std::chrono::seconds kHookTimeLimit{30};

// The line with %i, %k, %e and %% replaced.
std::string SubstituteHook(std::string_view line, const HookContext& ctx);

// What RunHook executes for a line.
struct HookCommand {
  bool shell = false;             // argv is {"/bin/sh", "-c", substituted line}
  std::vector<std::string> argv;  // argv[0] is looked up in PATH unless it has a '/'
};

// Splits (or hands to the shell) and substitutes. Errors: an empty line, an unterminated
// quote, a trailing backslash; they name the line.
Result<HookCommand> PlanHook(std::string_view line, const HookContext& ctx);

// Runs the line and waits for it. OK when it exits 0; otherwise the error names the line and
// how it ended ("exited with status 3", "killed by signal 9", "did not finish within 30 s").
Status RunHook(std::string_view line, const HookContext& ctx,
               std::chrono::milliseconds limit = kHookTimeLimit);

}  // namespace tundra::cli
