// sysvipcd's configuration: namespace limits from a config file, then from
// flags, which win.
//
// The config file has one `name = value` per line; `#` starts a comment. The
// names are those of the flags (and of Linux's sysctls): shmmax, shmall,
// shmmni, semmsl, semmns, semopm, semmni, semvmx, msgmax, msgmnb,
// msgmni; and the daemon's own per-user quotas (core/ipc/user_quota.h), 0
// meaning unlimited, the default:
//   user_objects  objects of all three kinds one user may have created and
//                 not yet removed (ENOSPC beyond it, as for SHMMNI);
//   user_bytes    bytes of their segments (shm_segsz) and queues
//                 (msg_qbytes) together (ENOSPC on a get beyond it, as for
//                 SHMALL; EPERM on raising msg_qbytes beyond it, as for
//                 MSGMNB).
// The quotas count what the creator (cuid) made, for the object's whole
// life: IPC_SET of the owner does not move the charge.
// And each user's share of the daemon itself (0 unlimited), so that one user
// exhausting his share leaves the others served:
//   user_connections  connections open at once (default: a quarter of the
//                     daemon's connection limit, which its RLIMIT_NOFILE
//                     sets); beyond it a connection is answered with a
//                     refusal (EAGAIN, as fork() for RLIMIT_NPROC) and closed;
//   user_processes    live processes registered at once (same default);
//                     beyond it registration fails with EAGAIN;
//   user_waits        wait-for-zero operations of read-only callers the
//                     daemon holds for one user on one set (default 64; one
//                     per thread in any case); beyond it ENOMEM, as when the
//                     set has no room.
// Shares count by effective uid at connect time.
#ifndef SYSV_DAEMON_CONFIG_H_
#define SYSV_DAEMON_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/ipc/limits.h"

namespace sysv::daemon {

// Sets one limit by name. Errors (EINVAL): unknown name, malformed or
// out-of-range value; `limits` is then unchanged.
absl::Status SetLimit(core::NamespaceLimits& limits, absl::string_view name, absl::string_view value);

// Applies every line of `text` (the contents of a config file), or none.
absl::Status ApplyConfigText(core::NamespaceLimits& limits, absl::string_view text);

// Reads and applies the file at `path`.
absl::Status ApplyConfigFile(core::NamespaceLimits& limits, const std::string& path);

// The --poll_window flag: how long the event loop keeps polling for the next
// request after serving a batch, before it sleeps (EventLoop::SetPollWindow;
// backends/common/poll_window.h). A duration as Abseil spells it ("50us",
// "0.1ms", "0"); 0 turns polling off. Results: the duration; EINVAL for
// anything else, a negative one, or one above kMaxPollWindow.
//
// Off by default: measured on this project's loaded 2-CPU VM (load 11-16,
// other builds running), a 50 us window did not pay: a semget of an absent
// key took a median 74 us with it against 55 us without (libsysv's own
// reply window off; 5 alternating runs each, /tmp/spin/price.sh), 99 us
// with both windows on, and the daemon's CPU per call rose from 13-17 us to
// 17-33 us. On a busy machine the CPU it polls on is one another process
// wanted. An idle machine with spare CPUs is where to turn it on.
inline constexpr absl::Duration kDefaultPollWindow = absl::ZeroDuration();
inline constexpr absl::Duration kMaxPollWindow = absl::Milliseconds(10);
absl::StatusOr<absl::Duration> ParsePollWindow(absl::string_view text);

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_CONFIG_H_
