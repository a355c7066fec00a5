// exec drops every attachment, as the kernel's exec does: the preload build
// wraps the exec family so the attach ledger says so before the image goes,
// and says the opposite if the exec fails. (A process that execs by raw
// system call is caught by the daemon instead: the new image registers as a
// fresh image and its stale ledger is folded then.)
#include <dlfcn.h>
#include <stdarg.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "compat/runtime.h"

extern char** environ;

namespace {

using sysv::compat::Runtime;

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// Runs `exec` between the ledger's before/after hooks, keeping exec's errno.
template <typename Exec>
int Wrapped(Exec&& exec) {
  Runtime::Get().BeforeExec();
  const int result = exec();
  const int err = errno;
  Runtime::Get().AfterFailedExec();
  errno = err;
  return result;
}

std::vector<char*> CollectArgs(const char* arg0, va_list args, char*** envp_out) {
  std::vector<char*> argv = {const_cast<char*>(arg0)};
  while (argv.back() != nullptr) argv.push_back(va_arg(args, char*));
  if (envp_out != nullptr) *envp_out = va_arg(args, char**);
  return argv;
}

}  // namespace

#define SYSV_EXPORT extern "C" __attribute__((visibility("default")))

SYSV_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  static auto real = Next<int (*)(const char*, char* const[], char* const[])>("execve");
  return Wrapped([&] { return real(path, argv, envp); });
}

SYSV_EXPORT int execv(const char* path, char* const argv[]) { return execve(path, argv, environ); }

SYSV_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  static auto real = Next<int (*)(const char*, char* const[], char* const[])>("execvpe");
  return Wrapped([&] { return real(file, argv, envp); });
}

SYSV_EXPORT int execvp(const char* file, char* const argv[]) {
  static auto real = Next<int (*)(const char*, char* const[])>("execvp");
  return Wrapped([&] { return real(file, argv); });
}

SYSV_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
  static auto real = Next<int (*)(int, char* const[], char* const[])>("fexecve");
  return Wrapped([&] { return real(fd, argv, envp); });
}

SYSV_EXPORT int execl(const char* path, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  std::vector<char*> argv = CollectArgs(arg, args, nullptr);
  va_end(args);
  return execve(path, argv.data(), environ);
}

SYSV_EXPORT int execle(const char* path, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  char** envp = nullptr;
  std::vector<char*> argv = CollectArgs(arg, args, &envp);
  va_end(args);
  return execve(path, argv.data(), envp);
}

SYSV_EXPORT int execlp(const char* file, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  std::vector<char*> argv = CollectArgs(arg, args, nullptr);
  va_end(args);
  return execvp(file, argv.data());
}
