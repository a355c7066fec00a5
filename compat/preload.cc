// The standard System V IPC names, exported by libsysv.so so that
// LD_PRELOAD=libsysv.so serves unmodified programs. Each forwards to its
// sysv_ counterpart. PreloadSymbols() lists them for dlopen_hooks.cc.
#include <stdarg.h>
#include <sys/sem.h>

#include "compat/libc_signature.h"
#include "compat/preload_symbols.h"
#include "sysv/sysv.h"

#define SYSV_EXPORT extern "C" __attribute__((visibility("default")))

// The types where C libraries' prototypes differ (libc_signature.h).
using SemopCount = sysv::compat::LibcSignature<decltype(::semop)>::Param<2>;
using MsgrcvResult = sysv::compat::LibcSignature<decltype(::msgrcv)>::Result;

SYSV_EXPORT int shmget(key_t key, size_t size, int shmflg) { return sysv_shmget(key, size, shmflg); }
SYSV_EXPORT void* shmat(int shmid, const void* shmaddr, int shmflg) {
  return sysv_shmat(shmid, shmaddr, shmflg);
}
SYSV_EXPORT int shmdt(const void* shmaddr) { return sysv_shmdt(shmaddr); }
SYSV_EXPORT int shmctl(int shmid, int cmd, struct shmid_ds* buf) { return sysv_shmctl(shmid, cmd, buf); }

SYSV_EXPORT int semget(key_t key, int nsems, int semflg) { return sysv_semget(key, nsems, semflg); }
SYSV_EXPORT int semop(int semid, struct sembuf* sops, SemopCount nsops) { return sysv_semop(semid, sops, nsops); }
SYSV_EXPORT int semtimedop(int semid, struct sembuf* sops, size_t nsops, const struct timespec* timeout) {
  return sysv_semtimedop(semid, sops, nsops, timeout);
}
SYSV_EXPORT int semctl(int semid, int semnum, int cmd, ...) {
  // The fourth argument (union semun) is passed as one machine word.
  va_list args;
  va_start(args, cmd);
  void* arg = va_arg(args, void*);
  va_end(args);
  return sysv_semctl(semid, semnum, cmd, arg);
}

SYSV_EXPORT int msgget(key_t key, int msgflg) { return sysv_msgget(key, msgflg); }
SYSV_EXPORT int msgsnd(int msqid, const void* msgp, size_t msgsz, int msgflg) {
  return sysv_msgsnd(msqid, msgp, msgsz, msgflg);
}
SYSV_EXPORT MsgrcvResult msgrcv(int msqid, void* msgp, size_t msgsz, long msgtyp, int msgflg) {
  // An int result (DragonFly's) holds every length: msgsz is capped at MSGMAX.
  return static_cast<MsgrcvResult>(sysv_msgrcv(msqid, msgp, msgsz, msgtyp, msgflg));
}
SYSV_EXPORT int msgctl(int msqid, int cmd, struct msqid_ds* buf) { return sysv_msgctl(msqid, cmd, buf); }

namespace sysv::compat {

absl::Span<const platform::Rebinding> PreloadSymbols() {
  static const platform::Rebinding kSymbols[] = {
      {"shmget", reinterpret_cast<void*>(&shmget)},
      {"shmat", reinterpret_cast<void*>(&shmat)},
      {"shmdt", reinterpret_cast<void*>(&shmdt)},
      {"shmctl", reinterpret_cast<void*>(&shmctl)},
      {"semget", reinterpret_cast<void*>(&semget)},
      {"semop", reinterpret_cast<void*>(&semop)},
      {"semtimedop", reinterpret_cast<void*>(&semtimedop)},
      {"semctl", reinterpret_cast<void*>(&semctl)},
      {"msgget", reinterpret_cast<void*>(&msgget)},
      {"msgsnd", reinterpret_cast<void*>(&msgsnd)},
      {"msgrcv", reinterpret_cast<void*>(&msgrcv)},
      {"msgctl", reinterpret_cast<void*>(&msgctl)},
  };
  return kSymbols;
}

}  // namespace sysv::compat
