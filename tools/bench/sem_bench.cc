// Uncontended semop, the kernel's and libsysv's side by side in one run:
// P then V on one semaphore, repeated; prints ns per semop and the ratio.
//
//   bazel run //tools/bench:sem_bench -- [iterations]
//
// Starts a private sysvipcd (in a temporary namespace) for libsysv.
#include <sys/sem.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "compat/daemon_launcher.h"
#include "sysv/sysv.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename Semop>
double NanosPerOp(Semop&& semop, int id, long iterations) {
  struct sembuf p = {0, -1, 0};
  struct sembuf v = {0, 1, 0};
  const auto start = Clock::now();
  for (long i = 0; i < iterations; ++i) {
    semop(id, &v, 1);
    semop(id, &p, 1);
  }
  const auto elapsed = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  return elapsed / (2.0 * static_cast<double>(iterations));
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 200000;
  char dir[] = "/dev/shm/sysvipc-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  setenv("SYSVIPC_DIR", dir, 1);
  if (!sysv::compat::StartDaemon(dir).ok()) {
    std::fprintf(stderr, "cannot start sysvipcd\n");
    return 1;
  }
  const int kernel_id = semget(IPC_PRIVATE, 1, 0600);
  const int libsysv_id = sysv_semget(IPC_PRIVATE, 1, 0600);
  if (kernel_id < 0 || libsysv_id < 0) return 1;
  // Warm up both, then alternate three rounds.
  NanosPerOp(semop, kernel_id, iterations / 10);
  NanosPerOp(sysv_semop, libsysv_id, iterations / 10);
  double best_kernel = 1e18, best_libsysv = 1e18;
  for (int round = 0; round < 3; ++round) {
    best_kernel = std::min(best_kernel, NanosPerOp(semop, kernel_id, iterations));
    best_libsysv = std::min(best_libsysv, NanosPerOp(sysv_semop, libsysv_id, iterations));
  }
  std::printf("uncontended semop: kernel %.1f ns, libsysv %.1f ns, ratio (kernel/libsysv) %.2fx\n", best_kernel,
              best_libsysv, best_kernel / best_libsysv);
  semctl(kernel_id, 0, IPC_RMID);
  sysv_semctl(libsysv_id, 0, IPC_RMID);
  (void)!std::system((std::string("kill $(cat ") + dir + "/sysvipcd.lock) 2>/dev/null").c_str());
  return 0;
}
