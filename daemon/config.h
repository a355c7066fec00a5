// sysvipcd's configuration: namespace limits from a config file, then from
// flags, which win.
//
// The config file has one `name = value` per line; `#` starts a comment. The
// names are those of the flags (and of Linux's sysctls): shmmax, shmall,
// shmmni, semmsl, semmns, semopm, semmni, semvmx, msgmax, msgmnb,
// msgmni.
#ifndef SYSV_DAEMON_CONFIG_H_
#define SYSV_DAEMON_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/ipc/limits.h"

namespace sysv::daemon {

// Sets one limit by name. Errors (EINVAL): unknown name, malformed or
// out-of-range value; `limits` is then unchanged.
absl::Status SetLimit(core::NamespaceLimits& limits, absl::string_view name, absl::string_view value);

// Applies every line of `text` (the contents of a config file), or none.
absl::Status ApplyConfigText(core::NamespaceLimits& limits, absl::string_view text);

// Reads and applies the file at `path`.
absl::Status ApplyConfigFile(core::NamespaceLimits& limits, const std::string& path);

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_CONFIG_H_
