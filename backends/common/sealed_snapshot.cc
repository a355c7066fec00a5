#include "backends/common/sealed_snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/ipc/errno_status.h"

namespace sysv::backend {
namespace {

std::atomic<uint64_t> next_snapshot{0};

}  // namespace

absl::StatusOr<UniqueFd> ReadOnlySnapshot(const char* name, absl::Span<const unsigned char> bytes) {
  // Unique per process and call; O_EXCL refuses a name someone else made.
  const std::string path = absl::StrCat("/", name, ".", getpid(), ".", next_snapshot.fetch_add(1));
  UniqueFd writable(shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0400));
  if (!writable) return core::ErrnoStatus(errno, absl::StrCat("shm_open ", path));
  UniqueFd readonly(shm_open(path.c_str(), O_RDONLY | O_CLOEXEC, 0));
  const int open_errno = errno;
  (void)shm_unlink(path.c_str());
  if (!readonly) return core::ErrnoStatus(open_errno, absl::StrCat("shm_open ", path, " read-only"));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = write(writable.get(), bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::ErrnoStatus(n < 0 ? errno : EIO, "write of a snapshot");
    written += static_cast<size_t>(n);
  }
  return readonly;
}

}  // namespace sysv::backend
