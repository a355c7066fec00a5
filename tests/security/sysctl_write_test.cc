// Issue #15 item 4, the write side: /proc/sys/kernel/{shmmax, shmall, shmmni,
// sem, msgmax, msgmnb, msgmni, *_next_id} in a process on libsysv read and
// set the namespace's limits and next ids, with the kernel's privilege
// rules, and a writer the kernel would refuse changes nothing, however he
// asks.
//
// The LTP cases (shmget02, msgget03, msgget04/shmget05) are run by one
// program, sysctl_probe, that uses the standard names: once on the kernel
// in a private IPC namespace (a forked child, root, unshare(CLONE_NEWIPC):
// the host's limits are not touched), once on libsysv (preloaded, against a
// real daemon), and the two outputs must be equal and say what LTP expects.
// The refused writer is user 3101: through open()/fopen() under libsysv,
// and through the wire protocol by hand (the daemon must judge him itself).
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/ipc/sysctl.h"
#include "core/protocol/wire.h"
#include "gtest/gtest.h"
#include "tests/reliability/as_user.h"
#include "tests/reliability/raw_client.h"
#include "tests/security/other_user_programs.h"
#include "tests/testing/test_daemon.h"

namespace sysv {
namespace {

namespace wire = core::wire;
using testing::RawClient;

// Ids 3100-3199 are this suite's (other suites use other ranges).
constexpr uid_t kWriter = 3101;
const testing::Identity kWriterUser = testing::User("writer", kWriter, kWriter);

enum class Where { kKernel, kLibsysv };

class SysctlWriteTest : public testing::SharedNamespaceTest {
 protected:
  SysctlWriteTest() : SharedNamespaceTest("sysctl") {}

  void SetUp() override {
    SYSV_SKIP_UNLESS_USERS_CAN_BE_SWITCHED();
    SharedNamespaceTest::SetUp();
    // Bazel's output tree is root's alone: copies every user can run.
    programs_ = testing::MakeRootDir("sysctl", 0755);
    ASSERT_FALSE(programs_.empty());
    probe_ = testing::CopyProgram(testing::RunfilePath("tests/security/sysctl_probe"), programs_);
    library_ = testing::CopyProgram(testing::RunfilePath("compat/libsysv.so"), programs_, 0644);
    ASSERT_FALSE(probe_.empty());
    ASSERT_FALSE(library_.empty());
  }

  // What `sysctl_probe what` prints (stdout and stderr), run on the kernel
  // in a fresh IPC namespace or on libsysv in the test daemon's, as root or
  // as `uid`.
  std::string Probe(Where where, const std::string& what, uid_t uid = 0) {
    int out[2];
    if (pipe(out) != 0) return "pipe failed";
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], 1);
      dup2(out[1], 2);
      close(out[0]);
      close(out[1]);
      if (where == Where::kKernel) {
        if (unshare(CLONE_NEWIPC) != 0) _exit(3);
        unsetenv("LD_PRELOAD");
      } else {
        setenv("LD_PRELOAD", library_.c_str(), 1);
        // Under --config=asan the probe and libsysv.so both bring the ASan
        // runtime, and the preload comes first (as in exec_test).
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
      }
      if (uid != 0 && (setgroups(0, nullptr) != 0 || setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0)) {
        _exit(4);
      }
      execl(probe_.c_str(), probe_.c_str(), what.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    std::string output;
    char buffer[4096];
    ssize_t n;
    while ((n = read(out[0], buffer, sizeof(buffer))) > 0) output.append(buffer, static_cast<size_t>(n));
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) output += "exit status " + std::to_string(status) + "\n";
    return output;
  }

  // Runs `what` on both and expects the same output; returns libsysv's.
  std::string SameAsKernel(const std::string& what, uid_t uid = 0) {
    const std::string kernel = Probe(Where::kKernel, what, uid);
    const std::string ours = Probe(Where::kLibsysv, what, uid);
    EXPECT_EQ(ours, kernel) << "libsysv and the kernel differ for " << what;
    return ours;
  }

  std::string programs_;
  std::string probe_;
  std::string library_;
};

// LTP shmget02: shmmax lowered to 8192, shmget(8193) fails with EINVAL.
TEST_F(SysctlWriteTest, LoweredShmmaxRefusesLargerSegmentsAsShmget02Expects) {
  const std::string out = SameAsKernel("shmmax");
  EXPECT_NE(out.find("write shmmax: ok\nshmmax: 8192\nshmget(8193): EINVAL\nshmget(8192): ok\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("write shmmax -1: write EINVAL\n"), std::string::npos) << out;
}

// LTP msgget03: msgmni lowered, the next msgget fails with ENOSPC.
TEST_F(SysctlWriteTest, LoweredMsgmniRefusesMoreQueuesAsMsgget03Expects) {
  const std::string out = SameAsKernel("msgmni");
  EXPECT_NE(out.find("msgmni: 3\nqueues made: 3, then ENOSPC\n"), std::string::npos) << out;
  EXPECT_NE(out.find("write sem semmni 32769: write ERANGE\n"), std::string::npos) << out;
}

// LTP msgget04 and shmget05: a written *_next_id is the next object's id,
// once; the file then reads -1.
TEST_F(SysctlWriteTest, WrittenNextIdIsTheNextIdAsMsgget04AndShmget05Expect) {
  const std::string out = SameAsKernel("next_id");
  EXPECT_NE(out.find("msgget id: 98321\nmsg_next_id after: -1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("shmget id: 65541\nshm_next_id after: -1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("sem_next_id kept: 7\nsemget id: 7\n"), std::string::npos) << out;
}

// A user who is not root opens no sysctl for writing (EACCES, as the
// kernel's 0644 and 0444 modes give him) and changes nothing.
TEST_F(SysctlWriteTest, NonRootWriterIsRefusedAndChangesNothing) {
  const std::string out = SameAsKernel("refused", kWriter);
  EXPECT_NE(out.find("shmmax: write open EACCES, fopen fopen EACCES, now 18446744073692774399\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("msg_next_id: write open EACCES, fopen fopen EACCES, now -1\n"), std::string::npos) << out;
}

// The same writer skips the library and asks the daemon himself: the
// daemon judges him by the credentials the kernel gives it.
TEST_F(SysctlWriteTest, NonRootWriteByHandIsRefusedByTheDaemon) {
  const int status = testing::RunAs(kWriterUser, [&] {
    RawClient client(dir_);
    if (!client.ok() || client.Register() != 0) return 1;
    int check = 10;
    for (uint32_t file = 1; file <= core::kSysctlCount; ++file, ++check) {
      for (wire::SysctlAction action : {wire::SysctlAction::kOpenForWrite, wire::SysctlAction::kWrite}) {
        wire::SysctlRequest request{};
        request.file = file;
        request.action = static_cast<uint32_t>(action);
        request.length = 1;
        request.text[0] = '1';
        const testing::RawReply raw = client.Call<wire::Op::kSysctl>(request);
        const auto reply = testing::DecodeRawReply<wire::Op::kSysctl>(raw, client.last_request_id());
        if (!reply) return 100 + check;
        if (reply->status.error != EACCES) return check;
      }
    }
    return 0;
  });
  EXPECT_EQ(status, 0) << "a refused check's number, or 1 if the writer could not connect";
  // Nothing changed: the namespace's values are still the defaults.
  const std::string out = Probe(Where::kLibsysv, "refused", kWriter);
  EXPECT_NE(out.find("shmmax: write open EACCES, fopen fopen EACCES, now 18446744073692774399\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("sem: write open EACCES, fopen fopen EACCES, now 32000\t1024000000\t500\t32000\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace sysv
