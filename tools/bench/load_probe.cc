#include "tools/bench/load_probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "backends/common/namespace_layout.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"

namespace sysv::bench {
namespace {

// The "kB" value of a /proc/<pid>/status line such as "VmRSS:   1234 kB".
bool StatusValue(absl::string_view line, absl::string_view name, int64_t* out) {
  if (!absl::ConsumePrefix(&line, name)) return false;
  line = absl::StripAsciiWhitespace(line);
  absl::ConsumeSuffix(&line, "kB");
  return absl::SimpleAtoi(absl::StripAsciiWhitespace(line), out);
}

// The pid the daemon wrote in its lock file in `dir` (not a symlink).
absl::StatusOr<pid_t> LockFilePid(const std::string& dir) {
  const std::string path = backend::LockPath(dir);
  backend::UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return core::ErrnoStatus(errno, absl::StrCat("open ", path));
  char text[32] = {};
  const ssize_t got = read(fd.get(), text, sizeof(text) - 1);
  int pid = 0;
  if (got <= 0 || !absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 0) {
    return core::ErrnoStatus(EIO, absl::StrCat("no pid in ", path));
  }
  return pid;
}

}  // namespace

absl::StatusOr<ProcessFigures> ProbeProcess(pid_t pid) {
  ProcessFigures figures;
  const std::string base = absl::StrCat("/proc/", pid);
  std::FILE* status = std::fopen(absl::StrCat(base, "/status").c_str(), "re");
  if (status == nullptr) return core::ErrnoStatus(errno, absl::StrCat("open ", base, "/status"));
  char line[256];
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    StatusValue(line, "VmRSS:", &figures.rss_kib);
    StatusValue(line, "VmHWM:", &figures.hwm_kib);
    StatusValue(line, "VmSize:", &figures.vm_size_kib);
  }
  std::fclose(status);

  std::FILE* maps = std::fopen(absl::StrCat(base, "/maps").c_str(), "re");
  if (maps == nullptr) return core::ErrnoStatus(errno, absl::StrCat("open ", base, "/maps"));
  // Counting newlines: a line is longer than any buffer we would pick when
  // a path is long.
  for (int c; (c = std::fgetc(maps)) != EOF;) figures.maps += c == '\n';
  std::fclose(maps);

  DIR* fds = opendir(absl::StrCat(base, "/fd").c_str());
  if (fds == nullptr) return core::ErrnoStatus(errno, absl::StrCat("open ", base, "/fd"));
  while (struct dirent* entry = readdir(fds)) figures.fds += entry->d_name[0] != '.';
  closedir(fds);
  return figures;
}

absl::StatusOr<pid_t> DaemonPid(const std::string& dir) {
  backend::UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return core::ErrnoStatus(errno, "socket");
  struct sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  const std::string path = backend::SocketPath(dir);
  if (path.size() >= sizeof(address.sun_path)) return core::ErrnoStatus(ENAMETOOLONG, path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (connect(fd.get(), reinterpret_cast<const struct sockaddr*>(&address), sizeof(address)) != 0) {
    return core::ErrnoStatus(errno, absl::StrCat("connect ", path));
  }
  absl::StatusOr<core::Credentials> peer = platform::PeerCredentials(fd.get());
  if (!peer.ok()) return peer.status();
  if (peer->pid > 0) return peer->pid;
  // DragonFly's LOCAL_PEERCRED carries no pid: then the one the daemon
  // that answered wrote in its lock file (it holds the lock while it runs).
  return LockFilePid(dir);
}

std::string LoadAverage() {
  absl::StatusOr<std::array<double, 3>> loads = platform::LoadAverages();
  if (!loads.ok()) return "unknown";
  return absl::StrFormat("%.2f %.2f %.2f", (*loads)[0], (*loads)[1], (*loads)[2]);
}

}  // namespace sysv::bench
