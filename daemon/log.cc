#include "daemon/log.h"

#include <atomic>
#include <cstdio>
#include <cstdint>
#include <ctime>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sysv::daemon {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
LogLevel GetLogLevel() { return g_level.load(std::memory_order_relaxed); }

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  if (text == "debug") *level = LogLevel::kDebug;
  else if (text == "info") *level = LogLevel::kInfo;
  else if (text == "warning") *level = LogLevel::kWarning;
  else if (text == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

void LogLine(LogLevel level, absl::string_view message) {
  // Clients can make the daemon log (every bad request, refused connection
  // or stray descriptor is a warning), and an auto-started daemon's log
  // lives in the namespace directory, on the file system of the state: a
  // client sending garbage as fast as it can must not fill it. At most
  // kBurst lines per kWindow; the rest are counted and reported once the
  // next window opens.
  constexpr int kBurst = 50;
  constexpr absl::Duration kWindow = absl::Seconds(10);
  static absl::Mutex mu;
  static absl::Time window_start = absl::InfinitePast();
  static int in_window = 0;
  static int64_t suppressed = 0;
  const absl::Time now = absl::Now();
  int64_t report_suppressed = 0;
  {
    absl::MutexLock lock(&mu);
    if (now - window_start >= kWindow) {
      window_start = now;
      in_window = 0;
      report_suppressed = suppressed;
      suppressed = 0;
    }
    if (in_window >= kBurst) {
      ++suppressed;
      return;
    }
    ++in_window;
  }
  const std::string when = absl::FormatTime("%Y-%m-%d %H:%M:%E3S", now, absl::LocalTimeZone());
  if (report_suppressed > 0) {
    std::fprintf(stderr, "%s sysvipcd WARNING: %lld log lines suppressed (more than %d in %s)\n", when.c_str(),
                 static_cast<long long>(report_suppressed), kBurst, absl::FormatDuration(kWindow).c_str());
  }
  // One fprintf per line so concurrent writers do not interleave mid-line.
  std::fprintf(stderr, "%s sysvipcd %s: %.*s\n", when.c_str(), LevelName(level),
               static_cast<int>(message.size()), message.data());
}

}  // namespace sysv::daemon
