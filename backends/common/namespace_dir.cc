#include "backends/common/namespace_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/common/environment.h"
#include "backends/common/namespace_layout.h"
#include "backends/common/raw_syscalls.h"
#include "core/ipc/errno_status.h"

namespace sysv::backend {
namespace {

// Everything here runs in the client under its runtime lock, and asks the
// kernel directly: see raw_syscalls.h (fakeroot).

using core::ErrnoStatus;

std::string Refusal(const std::string& path, const struct stat& st, const std::string& rule) {
  return absl::StrFormat("refusing namespace directory %s: owned by uid %u, mode %04o; %s", path, st.st_uid,
                         st.st_mode & 07777, rule);
}

}  // namespace

NamespaceDir ResolveNamespace() {
  if (const char* dir = OurVariable(kDirEnv); dir != nullptr) return {dir, /*per_user=*/false};
  if (const char* runtime = OurVariable(kRuntimeDirEnv); runtime != nullptr) {
    return {absl::StrCat(runtime, "/sysvipc"), /*per_user=*/true};
  }
  struct stat st;
  const char* base = (RawFstatAt(AT_FDCWD, "/dev/shm", &st, 0) == 0 && S_ISDIR(st.st_mode)) ? "/dev/shm" : "/tmp";
  return {absl::StrCat(base, "/sysvipc-", RawGeteuid()), /*per_user=*/true};
}

absl::StatusOr<VerifiedDir> OpenNamespaceDir(const NamespaceDir& dir) {
  VerifiedDir verified;
  verified.fd.reset(open(dir.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!verified.fd) {
    const int err = errno;
    // O_NOFOLLOW makes a symlink ELOOP; O_DIRECTORY makes a file ENOTDIR.
    if (err == ELOOP || err == ENOTDIR) {
      return ErrnoStatus(EPERM, absl::StrFormat("refusing namespace directory %s: %s", dir.path,
                                                err == ELOOP ? "it is a symlink" : "it is not a directory"));
    }
    return ErrnoStatus(err, absl::StrFormat("cannot open namespace directory %s: %s", dir.path, std::strerror(err)));
  }
  struct stat st;
  if (RawFstat(verified.fd.get(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrFormat("cannot stat %s: %s", dir.path, std::strerror(errno)));
  }
  const uid_t euid = RawGeteuid();
  const bool owner_ok = st.st_uid == euid || (!dir.per_user && st.st_uid == 0);
  if (!owner_ok) {
    return ErrnoStatus(EPERM, Refusal(dir.path, st,
                                      dir.per_user
                                          ? absl::StrCat("a per-user namespace must belong to uid ", euid,
                                                         " (this user); another user may have made it first")
                                          : absl::StrCat("it must belong to uid ", euid, " (this user) or root")));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return ErrnoStatus(EPERM, Refusal(dir.path, st,
                                      "group or others may write to it and it is not sticky "
                                      "(they could replace the socket, lock or state)"));
  }
  verified.owner = st.st_uid;
  verified.mode = st.st_mode & 07777;
  return verified;
}

absl::StatusOr<VerifiedDir> CreateNamespaceDir(const NamespaceDir& dir, mode_t named_mode) {
  const mode_t mode = dir.per_user ? 0700 : named_mode;
  bool made = false;
  if (mkdir(dir.path.c_str(), mode) == 0) {
    made = true;
  } else if (errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrFormat("cannot create namespace directory %s: %s", dir.path,
                                              std::strerror(errno)));
  }
  absl::StatusOr<VerifiedDir> verified = OpenNamespaceDir(dir);
  if (!verified.ok()) return verified;
  // mkdir() applied the umask: a directory just made gets exactly its mode.
  // One that existed is only ever narrowed, and only if ours: a per-user
  // directory that an older libsysv made 0755 becomes private.
  const mode_t wanted = made ? mode : dir.per_user ? (verified->mode & 07700) : verified->mode;
  if (wanted != verified->mode && verified->owner == RawGeteuid()) {
    if (fchmod(verified->fd.get(), wanted) != 0) {
      return ErrnoStatus(errno, absl::StrFormat("cannot chmod %s: %s", dir.path, std::strerror(errno)));
    }
    verified->mode = wanted;
  }
  return verified;
}

mode_t SocketMode(const NamespaceDir& dir) { return dir.per_user ? 0600 : 0666; }

absl::StatusOr<UniqueFd> OpenOwnEntry(int dir_fd, const char* name, const std::string& path, int flags,
                                      mode_t mode) {
  UniqueFd fd(openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) {
    const int err = errno;
    // O_NOFOLLOW makes a symlink ELOOP; with O_DIRECTORY it may be ENOTDIR,
    // and with O_CREAT in a sticky directory EACCES (protected_symlinks).
    struct stat st;
    const bool symlink = err != ENOENT && RawFstatAt(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    if (symlink) return ErrnoStatus(EPERM, absl::StrFormat("refusing %s: it is a symlink, which is never followed", path));
    return ErrnoStatus(err, absl::StrFormat("cannot open %s: %s", path, std::strerror(err)));
  }
  struct stat st;
  if (RawFstat(fd.get(), &st) != 0) return ErrnoStatus(errno, absl::StrFormat("cannot stat %s: %s", path, std::strerror(errno)));
  const bool directory = (flags & O_DIRECTORY) != 0;
  const bool type_ok = directory ? S_ISDIR(st.st_mode) : (S_ISREG(st.st_mode) && st.st_nlink == 1);
  if (!type_ok || st.st_uid != RawGeteuid()) {
    return ErrnoStatus(EPERM, absl::StrFormat("refusing %s: a %s of uid %u with %u links; it must be a %s of uid %u "
                                              "(another user may have made it first)",
                                              path, S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : "special file",
                                              st.st_uid, static_cast<unsigned>(st.st_nlink),
                                              directory ? "directory" : "regular file with one link", RawGeteuid()));
  }
  return fd;
}

}  // namespace sysv::backend
