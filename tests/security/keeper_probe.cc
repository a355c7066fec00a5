#include "tests/security/keeper_probe.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace sysv::testing {

pid_t KeeperPid(const std::string& socket_path) {
  std::ifstream unix_sockets("/proc/net/unix");
  std::string line, inode;
  while (std::getline(unix_sockets, line)) {
    if (line.size() < socket_path.size() || line.compare(line.size() - socket_path.size(), socket_path.size(), socket_path) != 0) {
      continue;
    }
    std::istringstream fields(line);
    std::string field;
    for (int i = 0; i < 7 && fields >> field; ++i) {
    }
    inode = field;  // the seventh column
  }
  if (inode.empty()) return -1;
  const std::string wanted = "socket:[" + inode + "]";
  DIR* proc = opendir("/proc");
  pid_t found = -1;
  while (struct dirent* entry = proc != nullptr ? readdir(proc) : nullptr) {
    const pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    const std::string fd_dir = "/proc/" + std::string(entry->d_name) + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    while (struct dirent* fd = fds != nullptr ? readdir(fds) : nullptr) {
      char link[128] = {};
      if (readlink((fd_dir + "/" + fd->d_name).c_str(), link, sizeof(link) - 1) > 0 && wanted == link) found = pid;
    }
    if (fds != nullptr) closedir(fds);
  }
  if (proc != nullptr) closedir(proc);
  return found;
}

// Whether `pid` runs as an fd keeper: its command line names the keeper's
// flag. Between its fork and its exec the new keeper is a copy of the
// daemon, listening already and holding every descriptor the daemon holds.
bool RunsAsKeeper(pid_t pid) {
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline");
  const std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  return args.find("--fd_keeper") != std::string::npos;
}

// The sealed regions (memfds the daemon names "sysvipc-...") `pid` holds.
size_t RegionsHeldBy(pid_t pid) {
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* fds = opendir(fd_dir.c_str());
  size_t held = 0;
  while (struct dirent* fd = fds != nullptr ? readdir(fds) : nullptr) {
    char link[256] = {};
    const std::string prefix = "/memfd:sysvipc-";
    if (readlink((fd_dir + "/" + fd->d_name).c_str(), link, sizeof(link) - 1) > 0 &&
        std::string(link).compare(0, prefix.size(), prefix) == 0) {
      ++held;
    }
  }
  if (fds != nullptr) closedir(fds);
  return held;
}

pid_t KillKeeperAndAwaitReplacement(const std::string& socket_path, size_t regions) {
  const pid_t keeper = KeeperPid(socket_path);
  if (keeper <= 0 || kill(keeper, SIGKILL) != 0) return -1;
  // The new keeper listens before the daemon has handed it the regions (its
  // Put()s follow the start), and before it is a keeper at all: the
  // daemon's fork and the double fork's intermediate child hold its socket
  // first. So whoever listens is looked up anew each time, and counts once
  // it runs as the keeper and holds the regions: a daemon killed earlier
  // loses them, which is not what these tests are about.
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const pid_t listening = KeeperPid(socket_path);
    if (listening > 0 && listening != keeper && RunsAsKeeper(listening) && RegionsHeldBy(listening) >= regions) {
      return listening;
    }
  }
  return -1;
}

}  // namespace sysv::testing
