#include "tests/reliability/ipc_identities.h"

#include <fcntl.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

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

namespace {

// Whether `target` (a /proc/self/fd link or a /proc/self/maps line) names
// object `id`'s region of `kind`: a region file ends in
// "/state/<kind>/<index>.<seq>"; a sealed object (a memfd: every kind on
// Linux) reads "/memfd:sysvipc-<kind>-<index>.<seq> (deleted)".
bool NamesObject(const std::string& target, const char* kind, int id) {
  const std::string name = absl::StrCat(id & 0x7fff, ".", id >> 15);
  return absl::EndsWith(target, absl::StrCat("/state/", kind, "/", name)) ||
         absl::EndsWith(target, absl::StrCat("/memfd:sysvipc-", kind, "-", name, " (deleted)"));
}

// Calls `fn` with each descriptor of this process that names object `id`'s
// region until it returns true.
void ForEachHeldFd(const char* kind, int id, const std::function<bool(int fd)>& fn) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    std::error_code link_error;
    const std::string target = std::filesystem::read_symlink(entry.path(), link_error).string();
    if (link_error || !NamesObject(target, kind, id)) continue;
    if (fn(std::atoi(entry.path().filename().c_str()))) return;
  }
}

// Calls `fn` with each /proc/self/maps line of a shared mapping of object
// `id`'s region and whether it is writable, until it returns true.
void ForEachHeldMapping(const char* kind, int id, const std::function<bool(const std::string& line, bool writable)>& fn) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (!NamesObject(line, kind, id)) continue;
    // "start-end perms offset dev inode path": perms is "rw-s" or "r--s".
    const size_t perms = line.find(' ');
    if (perms == std::string::npos || perms + 2 >= line.size()) continue;
    if (fn(line, line[perms + 2] == 'w')) return;
  }
}

}  // namespace

std::string HeldAccess(const char* kind, int id) {
  std::string access = "none";
  ForEachHeldFd(kind, id, [&](int fd) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return false;
    access = (flags & O_ACCMODE) != O_RDONLY ? "rw" : "ro";
    return access == "rw";
  });
  if (access == "rw") return access;
  // Mappings too: a semaphore set's descriptor is closed once it is mapped.
  ForEachHeldMapping(kind, id, [&](const std::string&, bool writable) {
    access = writable ? "rw" : "ro";
    return writable;
  });
  return access;
}

int HeldRegionFd(const char* kind, int id) {
  int found = -1;
  ForEachHeldFd(kind, id, [&](int fd) {
    found = fd;
    return true;
  });
  return found;
}

void* HeldWritableMapping(const char* kind, int id) {
  void* found = nullptr;
  ForEachHeldMapping(kind, id, [&](const std::string& line, bool writable) {
    if (writable) found = reinterpret_cast<void*>(std::stoull(line.substr(0, line.find('-')), nullptr, 16));
    return writable;
  });
  return found;
}

}  // namespace sysv::testing
