#include "backends/linux/held_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {

absl::StatusOr<std::vector<HeldFile>> ProcessHeldFiles(pid_t pid, size_t max_descriptors) {
  if (pid <= 0) return core::ErrnoStatus(EINVAL, absl::StrCat("bad pid ", pid));
  const std::string path = absl::StrCat("/proc/", pid, "/fd");
  const int dir_fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    const int err = errno == ENOENT ? ESRCH : errno;
    return core::ErrnoStatus(err, absl::StrCat("open ", path));
  }
  DIR* dir = fdopendir(dir_fd);
  if (dir == nullptr) {
    const int err = errno;
    close(dir_fd);
    return core::ErrnoStatus(err, absl::StrCat("fdopendir ", path));
  }
  std::vector<HeldFile> files;
  errno = 0;
  while (struct dirent* entry = readdir(dir)) {
    if (files.size() >= max_descriptors) break;
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd)) continue;  // "." and ".."
    // Following the link reaches the file itself (its device and inode);
    // the link's own mode says how it was opened (fs/proc/fd.c:
    // S_IWUSR for FMODE_WRITE).
    struct stat target {};
    struct stat link {};
    if (fstatat(dir_fd, entry->d_name, &target, 0) != 0 ||
        fstatat(dir_fd, entry->d_name, &link, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;  // closed meanwhile
    }
    files.push_back(HeldFile{static_cast<uint64_t>(target.st_dev), static_cast<uint64_t>(target.st_ino),
                             (link.st_mode & S_IWUSR) != 0});
  }
  const int err = errno;
  closedir(dir);
  if (err != 0 && files.empty()) return core::ErrnoStatus(err, absl::StrCat("readdir ", path));
  return files;
}

}  // namespace sysv::linux_backend
