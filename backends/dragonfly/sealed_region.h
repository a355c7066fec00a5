// Sealed regions and the fd keeper (backends/linux/sealed_region.h,
// fd_keeper.h) under DragonFly's names: DragonFly has no memfd_create and
// no file seals, so there is nothing a keeper could hold that a region file
// would not do. Every name exists so that the daemon compiles; each says
// ENOSYS, and the daemon keeps segments as region files: their storage is
// taken back after a client's change (once FileChangeWatch exists here, a
// kqueue EVFILT_VNODE watch), and DragonFly's own security driver (issue
// #17), like Linux's, is what makes segments objects no client can resize.
#ifndef SYSV_BACKENDS_DRAGONFLY_SEALED_REGION_H_
#define SYSV_BACKENDS_DRAGONFLY_SEALED_REGION_H_

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/common/unique_fd.h"
#include "core/ipc/errno_status.h"

namespace sysv::dragonfly_backend {

inline absl::StatusOr<backend::UniqueFd> CreateSealedRegion(const char*, uint64_t) {
  return core::ErrnoStatus(ENOSYS, "DragonFly has no sealed anonymous files");
}
inline bool IsSealedRegion(int) { return false; }
// Only sealed regions are reopened by descriptor (region files by name).
inline absl::StatusOr<backend::UniqueFd> ReopenReadOnly(int) {
  return core::ErrnoStatus(ENOSYS, "no reopen by descriptor on DragonFly");
}

class FdKeeper {
 public:
  static constexpr char kFlag[] = "--fd_keeper";
  static constexpr int kListenFd = 3;
  static constexpr size_t kMaxUnanswered = 64;
  static absl::StatusOr<FdKeeper> ConnectOrStart(const std::string&) {
    return core::ErrnoStatus(ENOSYS, "no fd keeper on DragonFly (no sealed regions to keep)");
  }
  absl::Status Put(absl::string_view, int) { return core::ErrnoStatus(ENOSYS, "no fd keeper"); }
  absl::Status Drop(absl::string_view) { return core::ErrnoStatus(ENOSYS, "no fd keeper"); }
  absl::StatusOr<std::vector<std::pair<std::string, backend::UniqueFd>>> List() {
    return core::ErrnoStatus(ENOSYS, "no fd keeper");
  }
  absl::Status ReadAnswers(size_t) { return core::ErrnoStatus(ENOSYS, "no fd keeper"); }
  void Ring() {}
  std::vector<std::pair<std::string, int>> TakeRefused() { return {}; }
  int fd() const { return -1; }
};
inline bool PeerGone(int) { return true; }
inline int RunFdKeeper(int) { return 1; }

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_SEALED_REGION_H_
