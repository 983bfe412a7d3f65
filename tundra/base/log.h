// Leveled logging to stderr with fmt formatting.
//
//   TUNDRA_LOG(kInfo, "peer {} created", id);
//   TUNDRA_LOG_RATELIMITED(kDebug, "packet dropped: {}", reason);  // net_dbg_ratelimited
//
// The level comes from SetLogLevel() (the daemon reads LOG_LEVEL=silent|error|info|verbose|debug).
// Arguments are not evaluated when the level is disabled.
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
