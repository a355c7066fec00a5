// The credential-changing functions of the C library, wrapped so that the
// credential cache (credential_cache.h) learns of every change. Each wrapper
// calls the next definition (the C library's) inside a CredentialChange,
// which invalidates the cache afterwards, whatever the result, and tells a
// fork meanwhile that a change is in progress.
#include <dlfcn.h>
#include <grp.h>
#include <sys/types.h>
#include <unistd.h>

#include "compat/credential_cache.h"
#include "compat/libc_signature.h"

namespace {

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// Calls `real` with `args` inside a CredentialChange.
template <typename Fn, typename... Args>
int Changing(Fn real, Args... args) {
  const sysv::compat::CredentialChange change;
  return real(args...);
}

}  // namespace

#define SYSV_EXPORT extern "C" __attribute__((visibility("default")))

SYSV_EXPORT int setuid(uid_t uid) {
  static auto real = Next<int (*)(uid_t)>("setuid");
  return Changing(real, uid);
}
SYSV_EXPORT int seteuid(uid_t uid) {
  static auto real = Next<int (*)(uid_t)>("seteuid");
  return Changing(real, uid);
}
SYSV_EXPORT int setreuid(uid_t ruid, uid_t euid) {
  static auto real = Next<int (*)(uid_t, uid_t)>("setreuid");
  return Changing(real, ruid, euid);
}
SYSV_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid) {
  static auto real = Next<int (*)(uid_t, uid_t, uid_t)>("setresuid");
  return Changing(real, ruid, euid, suid);
}
SYSV_EXPORT int setgid(gid_t gid) {
  static auto real = Next<int (*)(gid_t)>("setgid");
  return Changing(real, gid);
}
SYSV_EXPORT int setegid(gid_t gid) {
  static auto real = Next<int (*)(gid_t)>("setegid");
  return Changing(real, gid);
}
SYSV_EXPORT int setregid(gid_t rgid, gid_t egid) {
  static auto real = Next<int (*)(gid_t, gid_t)>("setregid");
  return Changing(real, rgid, egid);
}
SYSV_EXPORT int setresgid(gid_t rgid, gid_t egid, gid_t sgid) {
  static auto real = Next<int (*)(gid_t, gid_t, gid_t)>("setresgid");
  return Changing(real, rgid, egid, sgid);
}
using GroupCount = sysv::compat::LibcSignature<decltype(::setgroups)>::Param<0>;  // size_t or int
SYSV_EXPORT int setgroups(GroupCount size, const gid_t* list) {
  static auto real = Next<int (*)(GroupCount, const gid_t*)>("setgroups");
  return Changing(real, size, list);
}
SYSV_EXPORT int initgroups(const char* user, gid_t group) {
  static auto real = Next<int (*)(const char*, gid_t)>("initgroups");
  return Changing(real, user, group);
}
