#include "tools/ipc_test_support.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <optional>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

extern char** environ;

namespace sysv::tools::testing {
namespace {

int NewMemfd(const char* name) {
  const int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    std::perror("memfd_create");
    std::abort();
  }
  return fd;
}

std::string ReadAll(int fd) {
  std::string data;
  if (lseek(fd, 0, SEEK_SET) < 0) return data;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

// Owns argv strings and the NULL-terminated pointer array.
class Argv {
 public:
  Argv(const std::string& argv0, const std::vector<std::string>& args) {
    strings_.push_back(argv0);
    strings_.insert(strings_.end(), args.begin(), args.end());
    for (std::string& s : strings_) pointers_.push_back(s.data());
    pointers_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(strings_.size()); }
  char** argv() { return pointers_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> pointers_;
};

int ExitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

int WaitFor(pid_t pid) {
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return ExitStatus(wait_status);
}

// In a forked child: drop supplementary groups, then become gid and uid.
// Returns 0 or the errno of the call that failed.
int BecomeUser(int uid, int gid) {
  if (uid == -1 && gid == -1) return 0;
  if (setgroups(0, nullptr) != 0) return errno;
  if (gid != -1 && setresgid(gid, gid, gid) != 0) return errno;
  if (uid != -1 && setresuid(uid, uid, uid) != 0) return errno;
  return 0;
}

int private_namespace_result = -1;  // -1: not tried yet.

}  // namespace

CommandResult RunOurs(CommandFunction command, const IpcApi& api,
                      const std::string& argv0,
                      const std::vector<std::string>& args) {
  const int out_fd = NewMemfd("ours-stdout");
  const int err_fd = NewMemfd("ours-stderr");
  std::FILE* out = fdopen(dup(out_fd), "w");
  std::FILE* err = fdopen(dup(err_fd), "w");
  Argv argv(argv0, args);
  CommandResult result;
  result.status = command(api, argv.argc(), argv.argv(), out, err);
  std::fclose(out);
  std::fclose(err);
  result.out = ReadAll(out_fd);
  result.err = ReadAll(err_fd);
  close(out_fd);
  close(err_fd);
  return result;
}

CommandResult RunProgram(const std::string& path,
                         const std::vector<std::string>& args, int as_uid,
                         int as_gid) {
  const int out_fd = NewMemfd("program-stdout");
  const int err_fd = NewMemfd("program-stderr");
  Argv argv(path, args);
  // The environment, with LC_ALL=C: util-linux's messages and its stale
  // errno in one message depend on the locale; ours are the C locale's.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LC_ALL=", 7) != 0) env_strings.push_back(*e);
  }
  env_strings.push_back("LC_ALL=C");
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    if (BecomeUser(as_uid, as_gid) != 0) {
      static constexpr char kMessage[] = "setresuid/setresgid failed\n";
      (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
      _exit(126);
    }
    execve(path.c_str(), argv.argv(), envp.data());
    _exit(127);
  }
  CommandResult result;
  result.status = pid < 0 ? -1 : WaitFor(pid);
  result.out = ReadAll(out_fd);
  result.err = ReadAll(err_fd);
  close(out_fd);
  close(err_fd);
  return result;
}

std::optional<int> RunAsOtherUser(uid_t uid, gid_t gid,
                                  const std::function<int()>& body,
                                  int* identity_errno) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *identity_errno = errno;
    return std::nullopt;
  }
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    int message[2] = {0, 0};  // {identity errno, body result}
    message[0] = BecomeUser(static_cast<int>(uid), static_cast<int>(gid));
    if (message[0] == 0) message[1] = body();
    (void)!write(pipe_fds[1], message, sizeof(message));
    _exit(0);
  }
  close(pipe_fds[1]);
  int message[2] = {-1, 0};
  ssize_t got = 0;
  if (pid > 0) {
    while ((got = read(pipe_fds[0], message, sizeof(message))) < 0 &&
           errno == EINTR) {
    }
    WaitFor(pid);
  }
  close(pipe_fds[0]);
  if (pid < 0 || got != static_cast<ssize_t>(sizeof(message))) {
    *identity_errno = ECHILD;
    return std::nullopt;
  }
  if (message[0] != 0) {
    *identity_errno = message[0];
    return std::nullopt;
  }
  *identity_errno = 0;
  return message[1];
}

CommandResult RunOursAsUser(CommandFunction command, const IpcApi& api,
                            const std::string& argv0,
                            const std::vector<std::string>& args, uid_t uid,
                            gid_t gid, int* identity_errno) {
  const int out_fd = NewMemfd("ours-stdout");
  const int err_fd = NewMemfd("ours-stderr");
  CommandResult result;
  const std::optional<int> status = RunAsOtherUser(
      uid, gid,
      [&]() {
        std::FILE* out = fdopen(dup(out_fd), "w");
        std::FILE* err = fdopen(dup(err_fd), "w");
        Argv argv(argv0, args);
        const int rc = command(api, argv.argc(), argv.argv(), out, err);
        std::fclose(out);
        std::fclose(err);
        return rc;
      },
      identity_errno);
  result.status = status.value_or(-1);
  result.out = ReadAll(out_fd);
  result.err = ReadAll(err_fd);
  close(out_fd);
  close(err_fd);
  return result;
}

int EnterPrivateIpcNamespace() {
  if (private_namespace_result == -1) {
    if (std::getenv("SYSV_TEST_SHARED_IPC_NAMESPACE") != nullptr) {
      private_namespace_result = EPERM;  // As if we lacked CAP_SYS_ADMIN.
    } else {
      private_namespace_result = unshare(CLONE_NEWIPC) == 0 ? 0 : errno;
    }
  }
  return private_namespace_result;
}

bool InPrivateIpcNamespace() { return private_namespace_result == 0; }

std::string KeepRowsFor(const std::string& report, const std::set<int>& ids) {
  std::string kept;
  for (absl::string_view line :
       absl::StrSplit(report, absl::ByString("\n"))) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    absl::string_view id_field;
    if (absl::StartsWith(line, "0x") && fields.size() >= 2) {
      id_field = fields[1];
    } else if (!line.empty() &&
               std::isdigit(static_cast<unsigned char>(line[0]))) {
      id_field = fields[0];
    }
    int id = 0;
    if (!id_field.empty() && absl::SimpleAtoi(id_field, &id) &&
        ids.count(id) == 0) {
      continue;
    }
    kept.append(line.data(), line.size());
    kept.push_back('\n');
  }
  // StrSplit yields an empty last piece for the final newline.
  if (!kept.empty()) kept.pop_back();
  return kept;
}

std::string MaskDigits(const std::string& text) {
  std::string masked;
  for (size_t i = 0; i < text.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (i == 0 || !std::isdigit(static_cast<unsigned char>(text[i - 1]))) {
        masked.push_back('#');
      }
    } else {
      masked.push_back(text[i]);
    }
  }
  return masked;
}

key_t UnusedKey() {
  static std::mt19937 generator{std::random_device{}()};
  for (;;) {
    const key_t key = static_cast<key_t>(generator());
    if (key == IPC_PRIVATE) continue;
    if (shmget(key, 0, 0) >= 0 || errno != ENOENT) continue;
    if (semget(key, 0, 0) >= 0 || errno != ENOENT) continue;
    if (msgget(key, 0) >= 0 || errno != ENOENT) continue;
    return key;
  }
}

ShmGuard& ShmGuard::operator=(ShmGuard&& other) noexcept {
  if (this != &other) {
    ShmGuard discard(id_);
    id_ = other.release();
  }
  return *this;
}
ShmGuard::~ShmGuard() {
  if (id_ >= 0) shmctl(id_, IPC_RMID, nullptr);
}
int ShmGuard::release() {
  const int id = id_;
  id_ = -1;
  return id;
}

SemGuard& SemGuard::operator=(SemGuard&& other) noexcept {
  if (this != &other) {
    SemGuard discard(id_);
    id_ = other.release();
  }
  return *this;
}
SemGuard::~SemGuard() {
  if (id_ >= 0) semctl(id_, 0, IPC_RMID);
}
int SemGuard::release() {
  const int id = id_;
  id_ = -1;
  return id;
}

MsgGuard& MsgGuard::operator=(MsgGuard&& other) noexcept {
  if (this != &other) {
    MsgGuard discard(id_);
    id_ = other.release();
  }
  return *this;
}
MsgGuard::~MsgGuard() {
  if (id_ >= 0) msgctl(id_, IPC_RMID, nullptr);
}
int MsgGuard::release() {
  const int id = id_;
  id_ = -1;
  return id;
}

ShmAttachment::ShmAttachment(ShmAttachment&& other) noexcept
    : address_(other.address_) {
  other.address_ = nullptr;
}
ShmAttachment& ShmAttachment::operator=(ShmAttachment&& other) noexcept {
  if (this != &other) {
    if (address_ != nullptr) shmdt(address_);
    address_ = other.address_;
    other.address_ = nullptr;
  }
  return *this;
}
ShmAttachment::~ShmAttachment() {
  if (address_ != nullptr) shmdt(address_);
}

namespace {

int FailShmget(key_t, size_t, int) {
  errno = ENOSYS;
  return -1;
}
void* FailShmat(int, const void*, int) {
  errno = ENOSYS;
  return reinterpret_cast<void*>(-1);
}
int FailShmdt(const void*) {
  errno = ENOSYS;
  return -1;
}
int FailShmctl(int, int, struct shmid_ds*) {
  errno = ENOSYS;
  return -1;
}
int FailSemget(key_t, int, int) {
  errno = ENOSYS;
  return -1;
}
int FailSemctl(int, int, int, ...) {
  errno = ENOSYS;
  return -1;
}
int FailMsgget(key_t, int) {
  errno = ENOSYS;
  return -1;
}
int FailMsgctl(int, int, struct msqid_ds*) {
  errno = ENOSYS;
  return -1;
}

}  // namespace

const IpcApi& FailingIpcApi() {
  static constexpr IpcApi kApi = {
      .shmget = &FailShmget,
      .shmat = &FailShmat,
      .shmdt = &FailShmdt,
      .shmctl = &FailShmctl,
      .semget = &FailSemget,
      .semctl = &FailSemctl,
      .msgget = &FailMsgget,
      .msgctl = &FailMsgctl,
  };
  return kApi;
}

}  // namespace sysv::tools::testing
