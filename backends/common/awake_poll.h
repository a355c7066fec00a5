// Waiting for a socket awake: what ReceiveMessageAwake() in each backend's
// channel does before its read (backends/linux/channel.h says why a client
// inside a System V call waits for the daemon this way).
#ifndef SYSV_BACKENDS_COMMON_AWAKE_POLL_H_
#define SYSV_BACKENDS_COMMON_AWAKE_POLL_H_

#include "absl/time/time.h"

namespace sysv::backend {

// Whether `fd` reports anything now (readable, EOF, an error, a bad
// descriptor): one poll() with a zero timeout, which neither allocates nor
// consumes anything. Preserves nothing of errno.
bool ReportsAnything(int fd);

// Returns once `fd` reports anything (readable, EOF, an error, a bad
// descriptor) or `awake_for` has passed, whichever is first, polling with
// a zero timeout and sched_yield() between polls: the thread stays
// runnable and gives its CPU to the peer if it waits for one. Preserves
// nothing of errno.
void AwaitAwake(int fd, absl::Duration awake_for);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_AWAKE_POLL_H_
