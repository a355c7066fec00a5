#include "tests/reliability/as_user.h"

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sysv::testing {

Identity User(std::string name, uid_t uid, gid_t gid, std::vector<gid_t> groups) {
  return Identity{std::move(name), uid, uid, gid, gid, std::move(groups)};
}

int RunAs(const Identity& who, const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // Groups and gids first: once the uids change, root's power is gone.
    if (setgroups(who.groups.size(), who.groups.data()) != 0 ||
        setresgid(who.rgid, who.egid, who.egid) != 0 ||
        setresuid(who.ruid, who.euid, who.euid) != 0) {
      _exit(kCannotSwitchIdentity);
    }
    _exit(body());
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int RunAsForValue(const Identity& who, const std::function<int()>& body) {
  int value = -1;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return -1;
  const int status = RunAs(who, [&] {
    const int made = body();
    return write(pipe_fds[1], &made, sizeof(made)) == sizeof(made) ? 0 : 1;
  });
  if (status != 0 || read(pipe_fds[0], &value, sizeof(value)) != sizeof(value)) value = -1;
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  return value;
}

const std::string& CannotSwitchUsersReason() {
  static const std::string* reason = [] {
    if (geteuid() != 0) return new std::string(absl::StrCat("not root (euid ", geteuid(), ")"));
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return new std::string("pipe failed");
    const pid_t pid = fork();
    if (pid == 0) {
      close(pipe_fds[0]);
      const gid_t group = 3002;
      int err = 0;
      if (setgroups(1, &group) != 0 || setresgid(3001, 3001, 3001) != 0 ||
          setresuid(2001, 2001, 2001) != 0) {
        err = errno;
      }
      (void)!write(pipe_fds[1], &err, sizeof(err));
      _exit(0);
    }
    close(pipe_fds[1]);
    int err = -1;
    if (read(pipe_fds[0], &err, sizeof(err)) != sizeof(err)) err = -1;
    close(pipe_fds[0]);
    waitpid(pid, nullptr, 0);
    if (err == 0) return new std::string();
    return new std::string(absl::StrCat("cannot become uid 2001/gid 3001 with group 3002 (",
                                        err > 0 ? std::strerror(err) : "probe failed",
                                        "): this needs root in a namespace that maps those ids"));
  }();
  return *reason;
}

bool RootRequired() {
  const char* require = std::getenv("SYSV_REQUIRE_ROOT");
  return require != nullptr && std::string(require) == "1";
}

}  // namespace sysv::testing
