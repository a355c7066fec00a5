// Uncontended semop, the kernel's and libsysv's side by side in one run:
// P then V on one semaphore, repeated; prints ns per semop and the ratio.
//
//   bazel run //tools/bench:sem_bench -- [iterations]
//
// Starts a private sysvipcd (in a temporary namespace) for libsysv.
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <algorithm>

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

// Two processes hand a token back and forth through two semaphores: round
// trips per second.
template <typename Semop>
double PingPongPerSecond(Semop&& semop, int id, long rounds) {
  const pid_t child = fork();
  if (child == 0) {
    struct sembuf take = {1, -1, 0};
    struct sembuf give = {0, 1, 0};
    for (long i = 0; i < rounds; ++i) {
      semop(id, &take, 1);
      semop(id, &give, 1);
    }
    _exit(0);
  }
  struct sembuf give = {1, 1, 0};
  struct sembuf take = {0, -1, 0};
  const auto start = Clock::now();
  for (long i = 0; i < rounds; ++i) {
    semop(id, &give, 1);
    semop(id, &take, 1);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  waitpid(child, nullptr, 0);
  return static_cast<double>(rounds) / seconds;
}

// N processes take and release semaphore 0 as a mutex: acquisitions per
// second in all.
template <typename Semop>
double MutexPerSecond(Semop&& semop, int id, int processes, long per_process) {
  std::vector<pid_t> children;
  const auto start = Clock::now();
  for (int p = 0; p < processes; ++p) {
    const pid_t child = fork();
    if (child == 0) {
      struct sembuf lock = {0, -1, 0};
      struct sembuf unlock = {0, 1, 0};
      for (long i = 0; i < per_process; ++i) {
        semop(id, &lock, 1);
        semop(id, &unlock, 1);
      }
      _exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) waitpid(child, nullptr, 0);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(processes * per_process) / seconds;
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

  const int kernel_pp = semget(IPC_PRIVATE, 2, 0600);
  const int libsysv_pp = sysv_semget(IPC_PRIVATE, 2, 0600);
  const long rounds = iterations / 10;
  double kernel_rt = 0, libsysv_rt = 0;
  for (int round = 0; round < 3; ++round) {
    kernel_rt = std::max(kernel_rt, PingPongPerSecond(semop, kernel_pp, rounds));
    libsysv_rt = std::max(libsysv_rt, PingPongPerSecond(sysv_semop, libsysv_pp, rounds));
  }
  std::printf("ping-pong round trips/s: kernel %.0f, libsysv %.0f, ratio (libsysv/kernel) %.2fx\n", kernel_rt,
              libsysv_rt, libsysv_rt / kernel_rt);
  semctl(kernel_pp, 0, IPC_RMID);
  sysv_semctl(libsysv_pp, 0, IPC_RMID);

  for (int processes : {2, 4, 8}) {
    const int kernel_mutex = semget(IPC_PRIVATE, 1, 0600);
    const int libsysv_mutex = sysv_semget(IPC_PRIVATE, 1, 0600);
    semctl(kernel_mutex, 0, SETVAL, 1);
    sysv_semctl(libsysv_mutex, 0, SETVAL, 1);
    const long per_process = iterations / 10 / processes;
    double kernel_ops = 0, libsysv_ops = 0;
    for (int round = 0; round < 3; ++round) {
      kernel_ops = std::max(kernel_ops, MutexPerSecond(semop, kernel_mutex, processes, per_process));
      libsysv_ops = std::max(libsysv_ops, MutexPerSecond(sysv_semop, libsysv_mutex, processes, per_process));
    }
    std::printf("mutex, %d processes, acquisitions/s: kernel %.0f, libsysv %.0f, ratio %.2fx\n", processes,
                kernel_ops, libsysv_ops, libsysv_ops / kernel_ops);
    semctl(kernel_mutex, 0, IPC_RMID);
    sysv_semctl(libsysv_mutex, 0, IPC_RMID);
  }
  semctl(kernel_id, 0, IPC_RMID);
  sysv_semctl(libsysv_id, 0, IPC_RMID);
  (void)!std::system((std::string("kill $(cat ") + dir + "/sysvipcd.lock) 2>/dev/null").c_str());
  return 0;
}
