#include "tundra/base/log.h"

#include <syslog.h>
#include <unistd.h>

#include <string>

#include "tundra/base/clock.h"

namespace tundra {
namespace internal {
std::atomic<int> g_log_level{static_cast<int>(LogLevel::kError)};
}  // namespace internal

namespace {
std::string g_prefix;  // set once at start-up
constexpr int kRateLimitBurst = 10;
constexpr const char* kLevelNames[] = {"", "ERROR", "WARN", "INFO", "VERBOSE", "DEBUG"};

class StderrSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view line) override {
    WallTime now = Clock::Real().WallNow();
    time_t secs = static_cast<time_t>(now.sec);
    struct tm tm;
    localtime_r(&secs, &tm);
    // The prefix ends the line's first word; the level name goes after it.
    std::string_view head, rest = line;
    if (!g_prefix.empty() && line.substr(0, g_prefix.size() + 2) == g_prefix + ": ") {
      head = line.substr(0, g_prefix.size());
      rest = line.substr(g_prefix.size() + 2);
    }
    std::string out = fmt::format(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {}{}{}: {}\n", tm.tm_year + 1900, tm.tm_mon + 1,
        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.nsec / 1'000'000, head,
        head.empty() ? "" : " ", kLevelNames[static_cast<int>(level)], rest);
    // One write() per line so concurrent threads do not interleave inside a line.
    ssize_t r = ::write(STDERR_FILENO, out.data(), out.size());
    (void)r;
  }
};

class SyslogSink final : public LogSink {
 public:
  SyslogSink() { ::openlog("tundra", LOG_PID | LOG_NDELAY, LOG_DAEMON); }
  void Write(LogLevel level, std::string_view line) override {
    int priority = LOG_DEBUG;
    switch (level) {
      case LogLevel::kError:
        priority = LOG_ERR;
        break;
      case LogLevel::kWarn:
        priority = LOG_WARNING;
        break;
      case LogLevel::kInfo:
        priority = LOG_INFO;
        break;
      default:
        break;
    }
    ::syslog(priority, "%.*s", int(line.size()), line.data());
  }
};

std::atomic<LogSink*> g_sink{nullptr};
}  // namespace

LogSink& StderrLogSink() {
  static StderrSink sink;
  return sink;
}

LogSink& SyslogLogSink() {
  static SyslogSink sink;
  return sink;
}

LogSink* SetLogSink(LogSink* sink) { return g_sink.exchange(sink); }

void SetLogLevel(LogLevel level) {
  internal::g_log_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

LogLevel GetLogLevel() {
  return static_cast<LogLevel>(internal::g_log_level.load(std::memory_order_relaxed));
}

std::optional<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "silent") return LogLevel::kSilent;
  if (s == "error") return LogLevel::kError;
  if (s == "warn" || s == "warning") return LogLevel::kWarn;
  if (s == "info") return LogLevel::kInfo;
  if (s == "verbose") return LogLevel::kVerbose;
  if (s == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

void SetLogPrefix(std::string_view prefix) { g_prefix = std::string(prefix); }

namespace internal {

void LogLine(LogLevel level, std::string_view text) {
  LogSink* sink = g_sink.load(std::memory_order_acquire);
  if (sink == nullptr) sink = &StderrLogSink();
  if (g_prefix.empty()) {
    sink->Write(level, text);
  } else {
    sink->Write(level, fmt::format("{}: {}", g_prefix, text));
  }
}

bool RateLimitAllows(std::atomic<int64_t>& window_start_ns, std::atomic<int>& count) {
  int64_t now = BootClock::now().time_since_epoch().count();
  int64_t start = window_start_ns.load(std::memory_order_relaxed);
  if (now - start > 1'000'000'000) {
    if (window_start_ns.compare_exchange_strong(start, now, std::memory_order_relaxed)) {
      count.store(0, std::memory_order_relaxed);
    }
  }
  return count.fetch_add(1, std::memory_order_relaxed) < kRateLimitBurst;
}

}  // namespace internal
}  // namespace tundra
