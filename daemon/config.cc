#include "daemon/config.h"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/ipc/errno_status.h"

namespace sysv::daemon {
namespace {

using core::ErrnoStatus;

template <typename T>
absl::Status Parse(absl::string_view name, absl::string_view value, T* out) {
  if (!absl::SimpleAtoi(value, out)) {
    return ErrnoStatus(EINVAL, absl::StrFormat("limit %s: '%s' is not a valid number", name, value));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SetLimit(core::NamespaceLimits& out, absl::string_view name, absl::string_view value) {
  // Work on a copy: a value that fails validation must not stick.
  core::NamespaceLimits limits = out;
  absl::Status status;
  if (name == "shmmax") status = Parse(name, value, &limits.shm.shmmax);
  else if (name == "shmall") status = Parse(name, value, &limits.shm.shmall);
  else if (name == "shmmni") status = Parse(name, value, &limits.shm.shmmni);
  else if (name == "semmsl") status = Parse(name, value, &limits.sem.semmsl);
  else if (name == "semmns") status = Parse(name, value, &limits.sem.semmns);
  else if (name == "semopm") status = Parse(name, value, &limits.sem.semopm);
  else if (name == "semmni") status = Parse(name, value, &limits.sem.semmni);
  else if (name == "semvmx") status = Parse(name, value, &limits.sem.semvmx);
  else if (name == "msgmax") status = Parse(name, value, &limits.msg.msgmax);
  else if (name == "msgmnb") status = Parse(name, value, &limits.msg.msgmnb);
  else if (name == "msgmni") status = Parse(name, value, &limits.msg.msgmni);
  else if (name == "user_objects") status = Parse(name, value, &limits.user.objects);
  else if (name == "user_bytes") status = Parse(name, value, &limits.user.bytes);
  else if (name == "user_connections") status = Parse(name, value, &limits.user.connections);
  else if (name == "user_processes") status = Parse(name, value, &limits.user.processes);
  else if (name == "user_waits") status = Parse(name, value, &limits.user.waits);
  else return ErrnoStatus(EINVAL, absl::StrFormat("unknown limit '%s'", name));
  if (!status.ok()) return status;
  if (absl::Status valid = limits.Validate(); !valid.ok()) return valid;
  out = limits;
  return absl::OkStatus();
}

absl::Status ApplyConfigText(core::NamespaceLimits& out, absl::string_view text) {
  // All lines or none.
  core::NamespaceLimits limits = out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return ErrnoStatus(EINVAL, absl::StrFormat("line %d: expected 'name = value'", line_number));
    }
    absl::Status status = SetLimit(limits, absl::StripAsciiWhitespace(parts[0]),
                                   absl::StripAsciiWhitespace(parts[1]));
    if (!status.ok()) {
      return ErrnoStatus(EINVAL, absl::StrFormat("line %d: %s", line_number, status.message()));
    }
  }
  out = limits;
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParsePollWindow(absl::string_view text) {
  absl::Duration window;
  // A bound keeps a typo ("50s") from making a daemon that burns a CPU for
  // most of every second after each request.
  if (!absl::ParseDuration(text, &window) || window < absl::ZeroDuration() || window > kMaxPollWindow) {
    return ErrnoStatus(EINVAL, absl::StrFormat("--poll_window must be a duration from 0 to %s (e.g. 50us), not '%s'",
                                               absl::FormatDuration(kMaxPollWindow), text));
  }
  return window;
}

absl::Status ApplyConfigFile(core::NamespaceLimits& limits, const std::string& path) {
  std::ifstream file(path);
  if (!file) return ErrnoStatus(ENOENT, absl::StrFormat("cannot read config file %s", path));
  std::stringstream text;
  text << file.rdbuf();
  absl::Status status = ApplyConfigText(limits, text.str());
  if (!status.ok()) return ErrnoStatus(EINVAL, absl::StrFormat("%s: %s", path, status.message()));
  return absl::OkStatus();
}

}  // namespace sysv::daemon
