// Leveled logging with fmt formatting, to stderr (default) or syslog (a daemon in the
// background: the journal picks it up).
//
//   TUNDRA_LOG(kInfo, "peer {} created", id);
//   TUNDRA_LOG_RATELIMITED(kDebug, "packet dropped: {}", reason);  // net_dbg_ratelimited
//
// The level comes from SetLogLevel() (the daemon: --log-level or LOG_LEVEL=silent|error|warn|
// info|verbose|debug). Arguments are not evaluated when the level is disabled. Anything that can
// repeat per packet goes through TUNDRA_LOG_RATELIMITED (10 lines a second per call site).
#pragma once

#include <fmt/core.h>

#include <atomic>
#include <optional>
#include <string_view>

namespace tundra {

enum class LogLevel { kSilent = 0, kError = 1, kWarn = 2, kInfo = 3, kVerbose = 4, kDebug = 5 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "silent", "error", "warn", "info", "verbose", "debug" (as wireguard-go's LOG_LEVEL).
std::optional<LogLevel> ParseLogLevel(std::string_view s);
// Prefix printed before every line (e.g. the interface name). Not thread-safe to change later.
void SetLogPrefix(std::string_view prefix);

// Where log lines go. Write gets the level and the line without a timestamp or newline
// ("wg0: peer 1 is up"); it is called from any thread.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(LogLevel level, std::string_view line) = 0;
};
// stderr: "2026-12-02 05:10:00.123 wg0 INFO: ...", one write() per line.
LogSink& StderrLogSink();
// syslog(3), facility daemon, tagged "tundra[PID]"; error/warn/info/verbose+debug become
// LOG_ERR/LOG_WARNING/LOG_INFO/LOG_DEBUG.
LogSink& SyslogLogSink();
// Sets the sink (nullptr: stderr); at start-up, before other threads log. Returns the old one.
LogSink* SetLogSink(LogSink* sink);

namespace internal {
extern std::atomic<int> g_log_level;
void LogLine(LogLevel level, std::string_view text);
// True at most `burst` times per second per call site (state passed by the macro).
bool RateLimitAllows(std::atomic<int64_t>& window_start_ns, std::atomic<int>& count);
}  // namespace internal

inline bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) <= internal::g_log_level.load(std::memory_order_relaxed);
}

}  // namespace tundra

#define TUNDRA_LOG(level, ...)                                                          \
  do {                                                                                  \
    if (::tundra::LogEnabled(::tundra::LogLevel::level)) {                              \
      ::tundra::internal::LogLine(::tundra::LogLevel::level, fmt::format(__VA_ARGS__)); \
    }                                                                                   \
  } while (0)

#define TUNDRA_LOG_RATELIMITED(level, ...)                                                \
  do {                                                                                    \
    if (::tundra::LogEnabled(::tundra::LogLevel::level)) {                                \
      static std::atomic<int64_t> tundra_rl_window_{0};                                   \
      static std::atomic<int> tundra_rl_count_{0};                                        \
      if (::tundra::internal::RateLimitAllows(tundra_rl_window_, tundra_rl_count_)) {     \
        ::tundra::internal::LogLine(::tundra::LogLevel::level, fmt::format(__VA_ARGS__)); \
      }                                                                                   \
    }                                                                                     \
  } while (0)
