// Leveled logging to stderr for sysvipcd.
//
// Our Abseil (20220623) predates absl/log, so this is a deliberately small
// stand-in: one line per message, prefixed with the level and the time.
#ifndef SYSV_DAEMON_LOG_H_
#define SYSV_DAEMON_LOG_H_

#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace sysv::daemon {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning", "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);
void LogLine(LogLevel level, absl::string_view message);

template <typename... Args>
void Log(LogLevel level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (level < GetLogLevel()) return;
  LogLine(level, absl::StrFormat(format, args...));
}

#define SYSV_LOG(level, ...) ::sysv::daemon::Log(::sysv::daemon::LogLevel::level, __VA_ARGS__)

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_LOG_H_
