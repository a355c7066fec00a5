// Where a namespace lives, and whether it may be trusted.
//
// Where: SYSVIPC_DIR, else a per-user directory on a memory file system
// (like the kernel's shm, contents do not outlive a reboot, and writing them
// never waits on a disk).
//
// Trust (DESIGN.md, "Trust model", rule 1; issue 12): whoever controls the
// namespace directory controls everything in it (the socket clients talk
// to, the lock, the log, the state), so client and daemon use a directory
// only if its owner is one they trust and nobody else can change what is in
// it, and then reach its contents through the verified descriptor, never
// following a symlink. The rules:
//   - it is a directory, and its last path component is not a symlink;
//   - its owner is this process's euid; or, for a directory named by
//     SYSVIPC_DIR or --dir (not the per-user default), root: a shared
//     namespace is root's directory served by root's daemon;
//   - group and others cannot write to it, unless the sticky bit is set
//     (then they can add names but not remove or replace ours; everything
//     the daemon opens there is checked to be its own, and the client checks
//     who answers on the socket).
// The per-user default is created 0700 (mkdir is atomic: it fails if anyone
// made the name first) and checked like any other afterwards, so a directory
// another user made in /dev/shm ahead of us is refused, not used.
#ifndef SYSV_BACKENDS_COMMON_NAMESPACE_DIR_H_
#define SYSV_BACKENDS_COMMON_NAMESPACE_DIR_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"

namespace sysv::backend {

struct NamespaceDir {
  std::string path;
  // The per-user default (nothing named the directory): it must be the
  // euid's own, never root's on another user's behalf, and is private (0700).
  bool per_user = false;
};

// $SYSVIPC_DIR if set; else the per-user default $XDG_RUNTIME_DIR/sysvipc;
// else /dev/shm/sysvipc-<euid> (or /tmp/sysvipc-<euid> where /dev/shm is
// absent). In a secure-execution process both variables are ignored
// (backends/common/environment.h), which leaves /dev/shm/sysvipc-<euid>.
NamespaceDir ResolveNamespace();

// An open, verified namespace directory.
struct VerifiedDir {
  UniqueFd fd;  // O_DIRECTORY, read-only, close-on-exec
  uid_t owner = 0;
  mode_t mode = 0;  // permission bits, sticky included
};

// Opens `dir.path` and checks it against the rules above. Results:
//   the directory;
//   ENOENT   it does not exist;
//   EPERM    refused: its last component is a symlink or not a directory,
//            or it has the wrong owner or mode; the message names the path,
//            the owner, the mode and the rule, as tmux and ssh-agent do;
//   EACCES and other errno of open().
absl::StatusOr<VerifiedDir> OpenNamespaceDir(const NamespaceDir& dir);

// OpenNamespaceDir(), creating the directory first if it does not exist:
// mode 0700 for the per-user default, else `named_mode` (0755: the socket of
// a named namespace may be shared), whatever the umask. A per-user directory
// of ours that grants group or others any access (made by an older libsysv)
// is narrowed to 0700. Results as OpenNamespaceDir's, and mkdir's errno.
absl::StatusOr<VerifiedDir> CreateNamespaceDir(const NamespaceDir& dir, mode_t named_mode = 0755);

// The mode of the socket of a namespace. The per-user default is private,
// and so is its socket (0600: nobody else has any business there, and the
// 0700 directory already keeps them out). A named namespace (SYSVIPC_DIR,
// --dir) may be shared: its socket is 0666 and the directory's own mode
// decides who reaches it (root's 0755 directory: everyone), while who may
// do what to an object is decided by the object's IPC permissions, as the
// kernel decides it, not by who may connect.
mode_t SocketMode(const NamespaceDir& dir);

// Opens `name` in `dir_fd` (a verified namespace directory, or one inside
// it; `path` names it in messages) with `flags`, O_NOFOLLOW and O_CLOEXEC
// added (and `mode` with O_CREAT), and checks that what it opened is ours:
// owned by the euid, and a directory if `flags` has O_DIRECTORY, else a
// regular file with one link. In a sticky directory another user may have
// made the name first, as a symlink, a hard link or a file of his. Results:
//   the descriptor;
//   EPERM  refused: a symlink (never followed), or not ours, or of another
//          type; the message names `path`, its owner and what is wrong;
//   ENOENT and the other errno of openat.
absl::StatusOr<UniqueFd> OpenOwnEntry(int dir_fd, const char* name, const std::string& path, int flags,
                                      mode_t mode = 0);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_NAMESPACE_DIR_H_
