// exec drops attachments, as the kernel's exec does; a failed exec keeps
// them. The program is unmodified (standard names) and runs with libsysv.so
// preloaded, as users run it.
#include <fcntl.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::RunfilePath;

shmid_ds Stat(int id) {
  shmid_ds ds{};
  EXPECT_EQ(sysv_shmctl(id, IPC_STAT, &ds), 0) << std::strerror(errno);
  return ds;
}

std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  return line;
}

TEST(ExecTest, ExecDropsAttachmentsAndAFailedExecKeepsThem) {
  testing::TestDaemon daemon(testing::FreshNamespaceDir("exec"));
  daemon.Start();
  const int id = sysv_shmget(IPC_PRIVATE, 4096, 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);

  int report[2], go[2];
  ASSERT_EQ(pipe(report), 0);
  ASSERT_EQ(pipe(go), 0);
  const std::string probe = RunfilePath("tests/integration/exec_probe");
  const std::string preload = RunfilePath("compat/libsysv.so");
  const pid_t child = fork();
  if (child == 0) {
    dup2(go[0], 0);
    setenv("LD_PRELOAD", preload.c_str(), 1);
    // Under --config=asan, libsysv.so brings the ASan runtime along; the
    // probe is instrumented too, so the load order is harmless.
    setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
    const std::string id_text = absl::StrCat(id);
    const std::string fd_text = absl::StrCat(report[1]);
    execl(probe.c_str(), probe.c_str(), id_text.c_str(), fd_text.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(report[1]);
  ASSERT_EQ(ReadLine(report[0]), "attached");
  EXPECT_EQ(Stat(id).shm_nattch, 1u);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  ASSERT_EQ(ReadLine(report[0]), "still");
  EXPECT_EQ(Stat(id).shm_nattch, 1u) << "a failed exec must keep the attachment";
  ASSERT_EQ(write(go[1], "x", 1), 1);
  // The probe is now /bin/sleep: same pid, no attachment.
  shmid_ds ds{};
  for (int i = 0; i < 400; ++i) {
    ds = Stat(id);
    if (ds.shm_nattch == 0) break;
    usleep(5000);
  }
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_lpid, child);
  EXPECT_NE(ds.shm_dtime, 0);
  EXPECT_EQ(kill(child, 0), 0) << "the exec'd image should still be running";
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(sysv_shmctl(id, IPC_RMID, nullptr), 0);
}

}  // namespace
}  // namespace sysv
