// The credential-changing functions of the C library, wrapped so that the
// credential cache (credential_cache.h) learns of every change. Each wrapper
// calls the next definition (the C library's) and invalidates the cache
// afterwards, whatever the result.
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

template <typename Result>
Result Invalidating(Result result) {
  sysv::compat::InvalidateCredentials();
  return result;
}

}  // namespace

#define SYSV_EXPORT extern "C" __attribute__((visibility("default")))

SYSV_EXPORT int setuid(uid_t uid) {
  static auto real = Next<int (*)(uid_t)>("setuid");
  return Invalidating(real(uid));
}
SYSV_EXPORT int seteuid(uid_t uid) {
  static auto real = Next<int (*)(uid_t)>("seteuid");
  return Invalidating(real(uid));
}
SYSV_EXPORT int setreuid(uid_t ruid, uid_t euid) {
  static auto real = Next<int (*)(uid_t, uid_t)>("setreuid");
  return Invalidating(real(ruid, euid));
}
SYSV_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid) {
  static auto real = Next<int (*)(uid_t, uid_t, uid_t)>("setresuid");
  return Invalidating(real(ruid, euid, suid));
}
SYSV_EXPORT int setgid(gid_t gid) {
  static auto real = Next<int (*)(gid_t)>("setgid");
  return Invalidating(real(gid));
}
SYSV_EXPORT int setegid(gid_t gid) {
  static auto real = Next<int (*)(gid_t)>("setegid");
  return Invalidating(real(gid));
}
SYSV_EXPORT int setregid(gid_t rgid, gid_t egid) {
  static auto real = Next<int (*)(gid_t, gid_t)>("setregid");
  return Invalidating(real(rgid, egid));
}
SYSV_EXPORT int setresgid(gid_t rgid, gid_t egid, gid_t sgid) {
  static auto real = Next<int (*)(gid_t, gid_t, gid_t)>("setresgid");
  return Invalidating(real(rgid, egid, sgid));
}
using GroupCount = sysv::compat::LibcSignature<decltype(::setgroups)>::Param<0>;  // size_t or int
SYSV_EXPORT int setgroups(GroupCount size, const gid_t* list) {
  static auto real = Next<int (*)(GroupCount, const gid_t*)>("setgroups");
  return Invalidating(real(size, list));
}
SYSV_EXPORT int initgroups(const char* user, gid_t group) {
  static auto real = Next<int (*)(const char*, gid_t)>("initgroups");
  return Invalidating(real(user, group));
}
