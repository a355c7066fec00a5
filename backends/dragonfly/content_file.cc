#include "backends/dragonfly/content_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {
namespace {

int RawOpen(const std::string& path, int flags, mode_t mode = 0) {
  return static_cast<int>(syscall(SYS_openat, AT_FDCWD, path.c_str(), flags, mode));
}

}  // namespace

absl::StatusOr<backend::UniqueFd> OpenContentFile(std::string_view content, int flags) {
  const bool read_only = (flags & O_ACCMODE) == O_RDONLY;
  // A name no one can guess (so no one can take it first and make every
  // open fail), made 0600 with O_EXCL by mkostemp(3).
  std::string path = "/tmp/.sysvipc-content.XXXXXX";
  backend::UniqueFd writable(mkostemp(path.data(), O_CLOEXEC));
  if (!writable) return core::ErrnoStatus(errno, absl::StrCat("mkostemp ", path));
  // From here the name goes whatever happens.
  struct Unlink {
    const std::string& path;
    ~Unlink() { (void)unlink(path.c_str()); }
  } unlink_at_end{path};
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = pwrite(writable.get(), content.data() + written, content.size() - written,
                             static_cast<off_t>(written));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::ErrnoStatus(n < 0 ? errno : EIO, "pwrite of a content file");
    written += static_cast<size_t>(n);
  }
  if (read_only && fchmod(writable.get(), 0400) != 0) return core::ErrnoStatus(errno, "fchmod 0400");
  backend::UniqueFd fd(RawOpen(path, (flags & (O_ACCMODE | O_CLOEXEC | O_NONBLOCK)) | O_NOFOLLOW));
  if (!fd) return core::ErrnoStatus(errno, absl::StrCat("reopen ", path));
  return fd;
}

bool ForEachOpenDescriptor(absl::FunctionRef<void(int fd)> visit) {
  constexpr int kBatch = 256;
  const int limit = getdtablesize();
  struct pollfd fds[kBatch];
  for (int first = 0; first < limit; first += kBatch) {
    const int count = std::min(kBatch, limit - first);
    for (int i = 0; i < count; ++i) fds[i] = {first + i, 0, 0};
    int n;
    do {
      n = poll(fds, static_cast<nfds_t>(count), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return false;
    // An unopened number polls POLLNVAL; an open one, with no events
    // asked, nothing or POLLHUP/POLLERR.
    for (int i = 0; i < count; ++i) {
      if ((fds[i].revents & POLLNVAL) == 0) visit(fds[i].fd);
    }
  }
  return true;
}

}  // namespace sysv::dragonfly_backend
