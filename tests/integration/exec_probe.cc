// Helper program for exec_test: an unmodified SysV program (standard names,
// run with libsysv preloaded) that attaches a segment and then execs.
//
//   exec_probe ID FD   attach segment ID, report "attached" on FD, try to
//                      exec a missing file (must fail and keep the
//                      attachment), report "still" on FD, then exec
//                      /bin/sleep 5 (which drops the attachment).
#include <sys/shm.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const int id = std::atoi(argv[1]);
  const int fd = std::atoi(argv[2]);
  void* p = shmat(id, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) {
    std::perror("shmat");
    return 1;
  }
  (void)!write(fd, "attached\n", 9);
  char dummy[2];
  (void)!read(0, dummy, 1);  // the parent looks, then lets us go on
  char* const missing[] = {const_cast<char*>("/nonexistent/program"), nullptr};
  execv(missing[0], missing);  // fails: the attachment must survive
  (void)!write(fd, "still\n", 6);
  (void)!read(0, dummy, 1);
  execl("/bin/sleep", "sleep", "5", static_cast<char*>(nullptr));
  std::perror("execl");
  return 1;
}
