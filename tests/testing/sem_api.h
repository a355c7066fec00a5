// The semaphore calls as a table, so one scenario runs against the kernel
// and against libsysv.
#ifndef SYSV_TESTS_TESTING_SEM_API_H_
#define SYSV_TESTS_TESTING_SEM_API_H_

#include <sys/sem.h>
#include <time.h>

namespace sysv::testing {

struct SemApi {
  const char* name;
  int (*semget)(key_t key, int nsems, int semflg);
  int (*semop)(int semid, struct sembuf* sops, size_t nsops);
  int (*semtimedop)(int semid, struct sembuf* sops, size_t nsops, const struct timespec* timeout);
  int (*semctl)(int semid, int semnum, int cmd, ...);
};

const SemApi& KernelSem();
const SemApi& LibsysvSem();

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_SEM_API_H_
