// Issue 12, part 4: libsysv's environment variables in a privileged process.
// User B runs a setuid-root program linked with libsysv, with SYSVIPCD naming
// a program of his own and SYSVIPC_DIR a directory of his choice. In a
// secure-execution process (AT_SECURE) none of our variables may count, and
// no daemon may be started: B's program never runs, and nothing is created
// where B pointed.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/reliability/as_user.h"
#include "tests/security/other_user_programs.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

using testing::Captured;
using testing::CopyProgram;
using testing::MakeRootDir;
using testing::RunAsCaptured;
using testing::User;

constexpr uid_t kUidB = 2103;

TEST(SecureEnvironmentTest, SetuidProgramIgnoresOurVariablesAndStartsNoDaemon) {
  SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
  const std::string tools = MakeRootDir("secure-tools", 0755);
  ASSERT_FALSE(tools.empty());
  const std::string program = CopyProgram(testing::RunfilePath("tests/security/setuid_client"), tools, 04755);
  ASSERT_FALSE(program.empty());
  // B's own corner: his "daemon" leaves a mark when it runs.
  const std::string home = MakeRootDir("secure-b", 0755);
  ASSERT_FALSE(home.empty());
  ASSERT_EQ(chown(home.c_str(), kUidB, kUidB), 0);
  const std::string evil = home + "/evil";
  const std::string mark = home + "/evil-ran";
  std::ofstream(evil) << "#!/bin/sh\nid > " << mark << "\n";
  ASSERT_EQ(chmod(evil.c_str(), 0755), 0);
  ASSERT_EQ(chown(evil.c_str(), kUidB, kUidB), 0);
  const std::string chosen_dir = home + "/ns";

  const Captured run = RunAsCaptured(User("b", kUidB, kUidB), [&] {
    setenv("SYSVIPCD", evil.c_str(), 1);
    setenv("SYSVIPC_DIR", chosen_dir.c_str(), 1);
    setenv("SYSVIPC_AUTOSTART", "1", 1);
    setenv("XDG_RUNTIME_DIR", home.c_str(), 1);
    execl(program.c_str(), program.c_str(), static_cast<char*>(nullptr));
    return 127;
  });
  std::filesystem::remove_all(tools);
  ASSERT_EQ(run.status, 0) << run.output;
  if (!absl::StrContains(run.output, "euid=0 secure=1")) {
    std::filesystem::remove_all(home);
    GTEST_SKIP() << "the setuid bit gave no secure execution here (no_new_privs or nosuid?): " << run.output;
  }
  EXPECT_FALSE(std::filesystem::exists(mark)) << "B's program ran: " << testing::FileContents(mark);
  EXPECT_FALSE(std::filesystem::exists(chosen_dir)) << "a directory was made where B chose";
  EXPECT_FALSE(std::filesystem::exists(home + "/sysvipc")) << "a directory was made in B's XDG_RUNTIME_DIR";
  // Whether shmget itself succeeded depends on whether a daemon serves
  // root's own default namespace (/dev/shm/sysvipc-0) just now: either is
  // right; only B's choices must count for nothing.
  std::filesystem::remove_all(home);
}

}  // namespace
}  // namespace sysv
