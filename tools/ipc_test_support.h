// Test support for the util-linux compatible commands: running our commands
// and util-linux's binaries on the same objects, RAII guards for kernel IPC
// objects, a private IPC namespace, and gVisor-style syscall matchers.
#ifndef SYSV_TOOLS_IPC_TEST_SUPPORT_H_
#define SYSV_TOOLS_IPC_TEST_SUPPORT_H_

#include <sys/types.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "tools/ipc_api.h"

namespace sysv::tools::testing {

// What a command printed and returned.
struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;

  friend bool operator==(const CommandResult& a, const CommandResult& b) {
    return a.status == b.status && a.out == b.out && a.err == b.err;
  }
  friend void PrintTo(const CommandResult& r, std::ostream* os) {
    *os << "{status=" << r.status << "\n--- stdout ---\n"
        << r.out << "--- stderr ---\n"
        << r.err << "--------------}";
  }
};

using CommandFunction = int (*)(const IpcApi&, int, char**, std::FILE*,
                                std::FILE*);

// Runs `command` with argv {argv0, args...} on `api`, capturing both streams
// (through memfds, so the bytes are exactly what was written).
CommandResult RunOurs(CommandFunction command, const IpcApi& api,
                      const std::string& argv0,
                      const std::vector<std::string>& args);

// Runs the program at `path` with argv {path, args...} in the C locale
// (LC_ALL=C), capturing both streams and the exit status (128 + signal if it
// was killed). `as_uid`/`as_gid`, when not -1, are set in the child first;
// status 126 with "setresuid/setresgid failed" on stderr if that fails.
CommandResult RunProgram(const std::string& path,
                         const std::vector<std::string>& args,
                         int as_uid = -1, int as_gid = -1);

// Runs `body` in a forked child after setgroups({}), setresgid(gid) and
// setresuid(uid), and returns what it returned; nullopt if changing identity
// failed (the body did not run), with the errno in *identity_errno.
std::optional<int> RunAsOtherUser(uid_t uid, gid_t gid,
                                  const std::function<int()>& body,
                                  int* identity_errno);

// RunOurs in a forked child that runs as uid/gid (see RunAsOtherUser);
// status -1 if changing identity failed.
CommandResult RunOursAsUser(CommandFunction command, const IpcApi& api,
                            const std::string& argv0,
                            const std::vector<std::string>& args, uid_t uid,
                            gid_t gid, int* identity_errno);

// Moves this process into a new IPC namespace, once; later calls return the
// first result. 0 on success, else unshare()'s errno (EPERM without
// CAP_SYS_ADMIN). In a private namespace no other test's objects appear, so
// whole outputs can be compared; must be called while single-threaded.
// SYSV_TEST_SHARED_IPC_NAMESPACE=1 in the environment makes it fail with
// EPERM, to exercise the tests' shared-namespace mode.
int EnterPrivateIpcNamespace();
bool InPrivateIpcNamespace();

// Keeps the lines of an ipcs report except table rows whose id is not in
// `ids`: a row starting "0x" has its id in the second column, a row starting
// with a digit in the first.
std::string KeepRowsFor(const std::string& report, const std::set<int>& ids);

// Replaces every run of digits by "#".
std::string MaskDigits(const std::string& text);

// A key that no object in this namespace has (checked with *get), and which
// this process keeps unused.
key_t UnusedKey();

// Guards that IPC_RMID their object when destroyed (ignoring errors, since a
// test may have removed it). release() gives up ownership.
class ShmGuard {
 public:
  explicit ShmGuard(int id = -1) : id_(id) {}
  ShmGuard(ShmGuard&& other) noexcept : id_(other.release()) {}
  ShmGuard& operator=(ShmGuard&& other) noexcept;
  ~ShmGuard();
  int id() const { return id_; }
  int release();

 private:
  int id_;
};

class SemGuard {
 public:
  explicit SemGuard(int id = -1) : id_(id) {}
  SemGuard(SemGuard&& other) noexcept : id_(other.release()) {}
  SemGuard& operator=(SemGuard&& other) noexcept;
  ~SemGuard();
  int id() const { return id_; }
  int release();

 private:
  int id_;
};

class MsgGuard {
 public:
  explicit MsgGuard(int id = -1) : id_(id) {}
  MsgGuard(MsgGuard&& other) noexcept : id_(other.release()) {}
  MsgGuard& operator=(MsgGuard&& other) noexcept;
  ~MsgGuard();
  int id() const { return id_; }
  int release();

 private:
  int id_;
};

// Detaches an attachment when destroyed.
class ShmAttachment {
 public:
  ShmAttachment() = default;
  explicit ShmAttachment(void* address) : address_(address) {}
  ShmAttachment(ShmAttachment&& other) noexcept;
  ShmAttachment& operator=(ShmAttachment&& other) noexcept;
  ~ShmAttachment();
  void* address() const { return address_; }

 private:
  void* address_ = nullptr;
};

// An IpcApi whose every call fails with ENOSYS: a libsysv without a daemon,
// or a kernel without SysV IPC.
const IpcApi& FailingIpcApi();

// gVisor-style matchers for calls that return -1 and set errno. They read
// errno when the matcher runs, right after the call in EXPECT_THAT.
MATCHER(SyscallSucceeds, "succeeds") {
  const int error = errno;
  if (arg == -1) {
    *result_listener << "failed with errno " << error << " ("
                     << std::strerror(error) << ")";
    return false;
  }
  return true;
}

MATCHER_P(SyscallFailsWithErrno, expected,
          std::string("fails with errno ") + std::strerror(expected)) {
  const int error = errno;
  if (arg != -1) {
    *result_listener << "succeeded with " << arg;
    return false;
  }
  if (error != expected) {
    *result_listener << "failed with errno " << error << " ("
                     << std::strerror(error) << ")";
    return false;
  }
  return true;
}

}  // namespace sysv::tools::testing

#endif  // SYSV_TOOLS_IPC_TEST_SUPPORT_H_
