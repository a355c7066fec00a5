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

// Drops the cached credentials (the next use reads them from the kernel).
void InvalidateCredentials();

// Brackets a change of this process's credentials (the hooks): while one
// lives, the kernel may already have changed them and the cache not yet been
// told; its end drops the cache.
class CredentialChange {
 public:
  CredentialChange();
  ~CredentialChange();
  CredentialChange(const CredentialChange&) = delete;
  CredentialChange& operator=(const CredentialChange&) = delete;
};

// In a forked child (only the forking thread runs), with its pid: fork
// copies every credential and changes only the pid, so the parent's cached
// credentials are the child's, with `pid`, and its first call reads nothing
// from the kernel. Dropped instead when another thread of the parent was
// changing credentials at the fork: that thread is not in the child to drop
// them when its change is done.
void CarryCredentialsIntoChild(int32_t pid);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_CREDENTIAL_CACHE_H_
