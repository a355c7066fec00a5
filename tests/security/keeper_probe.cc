#include "tests/security/keeper_probe.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
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

pid_t KillKeeperAndAwaitReplacement(const std::string& socket_path) {
  const pid_t keeper = KeeperPid(socket_path);
  if (keeper <= 0 || kill(keeper, SIGKILL) != 0) return -1;
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const pid_t replacement = KeeperPid(socket_path);
    if (replacement > 0 && replacement != keeper) return replacement;
  }
  return -1;
}

}  // namespace sysv::testing
