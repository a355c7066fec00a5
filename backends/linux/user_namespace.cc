#include "backends/linux/user_namespace.h"

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

// Each line: "inside-first outside-first count". The caller sees the
// inside ids.
absl::Status ReadMap(const std::string& path, std::vector<core::Credentials::IdRange>& out) {
  std::ifstream file(path);
  if (!file) return core::ErrnoStatus(ESRCH, absl::StrCat("cannot read ", path));
  out.clear();
  uint64_t inside = 0, outside = 0, count = 0;
  bool initial = false;
  while (file >> inside >> outside >> count) {
    if (inside == 0 && outside == 0 && count == 4294967295ull) initial = true;
    out.push_back({static_cast<uint32_t>(inside), static_cast<uint32_t>(count)});
  }
  if (initial) out.clear();
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadIdMaps(pid_t pid, core::Credentials& creds) {
  if (absl::Status status = ReadMap(absl::StrCat("/proc/", pid, "/uid_map"), creds.uid_map);
      !status.ok()) {
    return status;
  }
  return ReadMap(absl::StrCat("/proc/", pid, "/gid_map"), creds.gid_map);
}

}  // namespace sysv::linux_backend
