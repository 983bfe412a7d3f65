#include "tundra/cli/hooks.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "tundra/base/syscall.h"
#include "tundra/base/unique_fd.h"

extern char** environ;

namespace tundra::cli {
namespace {

constexpr const char* kShell = "/bin/sh";
// The longest part of a line an error quotes.
constexpr size_t kQuotedLineMax = 120;

std::string Quoted(std::string_view line) {
  if (line.size() <= kQuotedLineMax) return fmt::format("'{}'", line);
  return fmt::format("'{}...'", line.substr(0, kQuotedLineMax));
}

bool IsShellMeta(char c) { return std::strchr("|&;<>()*?[]{}~", c) != nullptr && c != '\0'; }

// True when the first word (up to a blank, outside quotes) is NAME=...
bool StartsWithAssignment(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos) return false;
  const size_t start = i;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_'))
    ++i;
  return i > start && i < line.size() && line[i] == '=' &&
         !std::isdigit(static_cast<unsigned char>(line[start]));
}

bool NeedsShell(std::string_view line) {
  if (StartsWithAssignment(line)) return true;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == '\'') {
      if (c == '\'') quote = 0;
      continue;
    }
    if (c == '\\') {
      ++i;  // the next character is literal (in double quotes too, near enough)
      continue;
    }
    if (c == '$' || c == '`') return true;
    if (quote == '"') {
      if (c == '"') quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    if (IsShellMeta(c)) return true;
  }
  return false;
}

}  // namespace

std::string SubstituteHook(std::string_view line, const HookContext& ctx) {
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '%' || i + 1 == line.size()) {
      out += line[i];
      continue;
    }
    switch (line[i + 1]) {
      case 'i':
        out += ctx.ifname;
        break;
      case 'k':
        out += ctx.peer_key;
        break;
      case 'e':
        out += ctx.endpoint;
        break;
      case '%':
        out += '%';
        break;
      default:
        out += '%';
        continue;  // not ours: kept, and the next character read as usual
    }
    ++i;
  }
  return out;
}

Result<HookCommand> PlanHook(std::string_view line, const HookContext& ctx) {
  if (line.find_first_not_of(" \t") == std::string_view::npos) {
    return InvalidArgument("hook: empty command");
  }
  HookCommand cmd;
  if (NeedsShell(line)) {
    cmd.shell = true;
    cmd.argv = {kShell, "-c", SubstituteHook(line, ctx)};
    return cmd;
  }
  // Words with quoting; each word's text is substituted once the word is complete, with the
  // %-sequences that were quoted substituted too (as the shell would after wg-quick's textual
  // replacement).
  std::string word;
  bool in_word = false;
  char quote = 0;
  auto finish = [&] {
    if (in_word) cmd.argv.push_back(SubstituteHook(word, ctx));
    word.clear();
    in_word = false;
  };
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word += c;
      }
      continue;
    }
    if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < line.size() && std::strchr("\\\"$`", line[i + 1])) {
        word += line[++i];
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t') {
      finish();
      continue;
    }
    in_word = true;
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '\\') {
      if (i + 1 == line.size()) {
        return InvalidArgument(fmt::format("hook {}: ends with a backslash", Quoted(line)));
      }
      word += line[++i];
    } else {
      word += c;
    }
  }
  if (quote != 0) {
    return InvalidArgument(fmt::format("hook {}: unterminated {} quote", Quoted(line),
                                       quote == '\'' ? "single" : "double"));
  }
  finish();
  return cmd;
}

namespace {

// Waits for `pid` for at most `limit`; false on timeout. The status goes to *status.
Result<bool> WaitWithLimit(pid_t pid, std::chrono::milliseconds limit, int* status) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + limit;
  const int raw = int(::syscall(SYS_pidfd_open, pid, 0));
  UniqueFd pidfd(raw >= 0 ? raw : -1);
  for (;;) {
    const pid_t r = RetryOnEintr(::waitpid, pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0) return ErrnoError("waitpid");
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    if (pidfd.valid()) {
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, int(std::min<int64_t>(left.count(), 1000)));
    } else {
      // No pidfd (kernel < 5.3): poll the child every 10 ms.
      const timespec ts{0, 10'000'000};
      ::nanosleep(&ts, nullptr);
    }
  }
}

}  // namespace

Status RunHook(std::string_view line, const HookContext& ctx, std::chrono::milliseconds limit) {
  TUNDRA_ASSIGN_OR_RETURN(HookCommand cmd, PlanHook(line, ctx));
  std::vector<char*> argv;
  for (std::string& a : cmd.argv) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // Its own process group (killed as a whole on timeout), every signal unblocked and at its
  // default (the daemon blocks signals for its signalfd; a child must not inherit that).
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0)
    return ErrnoError(fmt::format("hook {}: cannot run {}", Quoted(line), argv[0]), err);

  int status = 0;
  auto finished = WaitWithLimit(pid, limit, &status);
  if (!finished.ok() || !*finished) {
    ::kill(-pid, SIGKILL);
    RetryOnEintr(::waitpid, pid, &status, 0);
    if (!finished.ok())
      return std::move(finished).error().Wrap(fmt::format("hook {}", Quoted(line)));
    const std::string within = limit.count() % 1000 == 0 ? fmt::format("{} s", limit.count() / 1000)
                                                         : fmt::format("{} ms", limit.count());
    return MakeError(
        ETIMEDOUT, fmt::format("hook {}: did not finish within {} (killed)", Quoted(line), within));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return OkStatus();
  if (WIFEXITED(status)) {
    return MakeError(
        ECHILD, fmt::format("hook {}: exited with status {}", Quoted(line), WEXITSTATUS(status)));
  }
  return MakeError(ECHILD, fmt::format("hook {}: killed by signal {} ({})", Quoted(line),
                                       WTERMSIG(status), strsignal(WTERMSIG(status))));
}

}  // namespace tundra::cli
