// The caller's credentials for the fast paths, without a system call per
// call.
//
// The kernel judges every IPC call with the caller's credentials at that
// moment. Reading them costs four system calls, more than a whole semop on
// mapped memory, so the fast paths use a cache that is dropped whenever the
// process changes its credentials: libsysv interposes the set*id and
// setgroups family (credential_hooks.cc) and bumps a generation. A process
// that changes credentials with raw system calls keeps its old cached
// answer on the fast paths; calls that reach the daemon always present the
// current credentials (the daemon reads them from the kernel).
#ifndef SYSV_COMPAT_CREDENTIAL_CACHE_H_
#define SYSV_COMPAT_CREDENTIAL_CACHE_H_

#include "absl/status/statusor.h"
#include "core/ipc/credentials.h"

namespace sysv::compat {

// The current credentials, cached until the next credential change.
absl::StatusOr<const core::Credentials*> CachedCredentials();

// Called (by the hooks) after any change of this process's credentials,
// and in a forked child (its pid changed).
void InvalidateCredentials();

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_CREDENTIAL_CACHE_H_
