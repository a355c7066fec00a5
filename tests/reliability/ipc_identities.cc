#include "tests/reliability/ipc_identities.h"

#include <fcntl.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sysv::testing {

const std::vector<Identity>& Identities() {
  static const auto* identities = new std::vector<Identity>{
      User("creator", kCreator, kCreatorGroup),
      User("owner", kOwner, 3009),
      User("group-by-egid", 2003, kObjectGroup),
      User("group-by-supplementary", 2004, 3010, {3012, kObjectGroup}),
      User("creator-group", 2005, kCreatorGroup),
      User("other", 2006, 3011),
      // The effective ids decide, never the real ones.
      Identity{"real-owner-effective-other", kOwner, 2006, 3011, 3011, {}},
      Identity{"real-other-effective-owner", 2006, kOwner, 3011, 3011, {}},
      Identity{"real-group-effective-other", 2007, 2007, kObjectGroup, 3011, {}},
      User("root", 0, 0),
  };
  return *identities;
}

std::string HeldAccess(const char* kind, int id) {
  // A region file ends in "/state/<kind>/<index>.<seq>"; a sealed object
  // (a memfd: segments and sets on Linux) reads "/memfd:sysvipc-<kind>-<index>.<seq> (deleted)".
  const std::string name = absl::StrCat(id & 0x7fff, ".", id >> 15);
  const std::string file_suffix = absl::StrCat("/state/", kind, "/", name);
  const std::string memfd_suffix = absl::StrCat("/memfd:sysvipc-", kind, "-", name, " (deleted)");
  auto names_object = [&](const std::string& target) {
    return absl::EndsWith(target, file_suffix) || absl::EndsWith(target, memfd_suffix);
  };
  std::string access = "none";
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    std::error_code link_error;
    const std::string target = std::filesystem::read_symlink(entry.path(), link_error).string();
    if (link_error || !names_object(target)) continue;
    const int fd = std::atoi(entry.path().filename().c_str());
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0) continue;
    if ((flags & O_ACCMODE) != O_RDONLY) return "rw";
    access = "ro";
  }
  // Mappings too: a semaphore set's descriptor is closed once it is mapped.
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (!names_object(line)) continue;
    // "start-end perms offset dev inode path": perms is "rw-s" or "r--s".
    const size_t perms = line.find(' ');
    if (perms == std::string::npos || perms + 2 >= line.size()) continue;
    if (line[perms + 2] == 'w') return "rw";
    access = "ro";
  }
  return access;
}

}  // namespace sysv::testing
