#include "backends/linux/content_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

absl::StatusOr<backend::UniqueFd> OpenContentFile(std::string_view content, int flags) {
  const bool read_only = (flags & O_ACCMODE) == O_RDONLY;
  backend::UniqueFd memfd(memfd_create("sysvipc-proc", MFD_CLOEXEC | (read_only ? MFD_ALLOW_SEALING : 0)));
  if (!memfd) return core::ErrnoStatus(errno, "memfd_create");
  size_t written = 0;
  while (written < content.size()) {
    // The system call: a preloaded library's write() wrapper (libsysv's
    // own) is not for this.
    const ssize_t n = syscall(SYS_write, memfd.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::ErrnoStatus(n < 0 ? errno : EIO, "write of a content file");
    written += static_cast<size_t>(n);
  }
  if (read_only &&
      fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return core::ErrnoStatus(errno, "F_ADD_SEALS");
  }
  // A memfd is made read-write: the caller's access mode is a new open of
  // it, by the system call itself, past any interposer of open().
  char self_path[48];
  std::snprintf(self_path, sizeof(self_path), "/proc/self/fd/%d", memfd.get());
  backend::UniqueFd fd(static_cast<int>(
      syscall(SYS_openat, AT_FDCWD, self_path, (flags & (O_ACCMODE | O_CLOEXEC | O_NONBLOCK)))));
  if (!fd) return core::ErrnoStatus(errno, "reopen of a content file");
  return fd;
}

bool ForEachOpenDescriptor(absl::FunctionRef<void(int fd)> visit) {
  backend::UniqueFd dir(
      static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
  if (!dir) return false;
  alignas(8) char buffer[4096];
  long n;
  while ((n = syscall(SYS_getdents64, dir.get(), buffer, sizeof(buffer))) > 0) {
    for (long pos = 0; pos < n;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + pos);
      pos += entry->d_reclen;
      char* end = nullptr;
      const long fd = std::strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end != '\0' || fd == dir.get()) continue;
      visit(static_cast<int>(fd));
    }
  }
  // The directory's own close, past any interposer of close().
  syscall(SYS_close, dir.release());
  return n == 0;
}

}  // namespace sysv::linux_backend
