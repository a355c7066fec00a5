// The four shared memory calls as a table, so one scenario runs against the
// kernel and against libsysv.
#ifndef SYSV_TESTS_TESTING_SHM_API_H_
#define SYSV_TESTS_TESTING_SHM_API_H_

#include <sys/shm.h>

namespace sysv::testing {

struct ShmApi {
  const char* name;
  int (*shmget)(key_t key, size_t size, int shmflg);
  void* (*shmat)(int shmid, const void* shmaddr, int shmflg);
  int (*shmdt)(const void* shmaddr);
  int (*shmctl)(int shmid, int cmd, struct shmid_ds* buf);
};

// The C library's system calls.
const ShmApi& KernelShm();
// libsysv's sysv_ functions.
const ShmApi& LibsysvShm();

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_SHM_API_H_
