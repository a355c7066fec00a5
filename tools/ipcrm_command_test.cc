// Differential tests: RunIpcrm(KernelIpcApi()) against util-linux's
// /usr/bin/ipcrm. Each side removes its own twin of an object, so both see
// the same situation; messages, exit status and the removal itself are
// compared. `ipcrm -a` removes every object in the namespace, so those tests
// run only in a private IPC namespace (never in the one shared with other
// tests).
#include "tools/ipcrm_command.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/ipc_api.h"
#include "tools/ipc_test_support.h"

namespace sysv::tools {
namespace {

using ::sysv::tools::testing::CommandResult;
using ::sysv::tools::testing::EnterPrivateIpcNamespace;
using ::sysv::tools::testing::FailingIpcApi;
using ::sysv::tools::testing::InPrivateIpcNamespace;
using ::sysv::tools::testing::MaskDigits;
using ::sysv::tools::testing::MsgGuard;
using ::sysv::tools::testing::RunOurs;
using ::sysv::tools::testing::RunOursAsUser;
using ::sysv::tools::testing::RunProgram;
using ::sysv::tools::testing::SemGuard;
using ::sysv::tools::testing::ShmGuard;
using ::sysv::tools::testing::SyscallFailsWithErrno;
using ::sysv::tools::testing::SyscallSucceeds;
using ::sysv::tools::testing::UnusedKey;

constexpr char kIpcrm[] = "/usr/bin/ipcrm";

CommandResult Ours(const std::vector<std::string>& args) {
  return RunOurs(&RunIpcrm, KernelIpcApi(), kIpcrm, args);
}

CommandResult UtilLinux(const std::vector<std::string>& args) {
  return RunProgram(kIpcrm, args);
}

void ExpectSame(const std::vector<std::string>& args) {
  SCOPED_TRACE(absl::StrCat("ipcrm ", absl::StrJoin(args, " ")));
  const CommandResult expected = UtilLinux(args);
  EXPECT_EQ(Ours(args), expected);
}

std::string Str(int id) { return absl::StrCat(id); }

ShmGuard NewShm(key_t key = IPC_PRIVATE, int mode = 0600) {
  return ShmGuard(shmget(key, 4096, IPC_CREAT | IPC_EXCL | mode));
}
SemGuard NewSem(key_t key = IPC_PRIVATE, int mode = 0600) {
  return SemGuard(semget(key, 2, IPC_CREAT | IPC_EXCL | mode));
}
MsgGuard NewMsg(key_t key = IPC_PRIVATE, int mode = 0600) {
  return MsgGuard(msgget(key, IPC_CREAT | IPC_EXCL | mode));
}

bool ShmExists(int id) {
  struct shmid_ds ds {};
  return shmctl(id, IPC_STAT, &ds) == 0;
}
bool SemExists(int id) { return semctl(id, 0, GETVAL) >= 0; }
bool MsgExists(int id) {
  struct msqid_ds ds {};
  return msgctl(id, IPC_STAT, &ds) == 0;
}

// The id of an object that existed and was removed: invalid from then on.
int RemovedShmId() {
  ShmGuard shm = NewShm();
  const int id = shm.id();
  shmctl(shm.release(), IPC_RMID, nullptr);
  return id;
}

class IpcrmCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { EnterPrivateIpcNamespace(); }
};

TEST_F(IpcrmCommandTest, RemovesSharedMemoryById) {
  ShmGuard ours = NewShm();
  ShmGuard theirs = NewShm();
  ASSERT_THAT(ours.id(), SyscallSucceeds());
  ASSERT_THAT(theirs.id(), SyscallSucceeds());
  const CommandResult result = Ours({"-m", Str(ours.id())});
  EXPECT_EQ(result, UtilLinux({"-m", Str(theirs.id())}));
  EXPECT_EQ(result, (CommandResult{0, "", ""}));
  EXPECT_FALSE(ShmExists(ours.id()));
  EXPECT_FALSE(ShmExists(theirs.id()));
}

TEST_F(IpcrmCommandTest, RemovesQueuesAndSemaphoresById) {
  MsgGuard msg_ours = NewMsg(), msg_theirs = NewMsg();
  SemGuard sem_ours = NewSem(), sem_theirs = NewSem();
  ASSERT_THAT(msg_ours.id(), SyscallSucceeds());
  ASSERT_THAT(msg_theirs.id(), SyscallSucceeds());
  ASSERT_THAT(sem_ours.id(), SyscallSucceeds());
  ASSERT_THAT(sem_theirs.id(), SyscallSucceeds());
  const CommandResult result =
      Ours({"-q", Str(msg_ours.id()), "--semaphore-id", Str(sem_ours.id())});
  EXPECT_EQ(result, UtilLinux({"-q", Str(msg_theirs.id()), "--semaphore-id",
                               Str(sem_theirs.id())}));
  EXPECT_EQ(result.status, 0);
  EXPECT_FALSE(MsgExists(msg_ours.id()));
  EXPECT_FALSE(MsgExists(msg_theirs.id()));
  EXPECT_FALSE(SemExists(sem_ours.id()));
  EXPECT_FALSE(SemExists(sem_theirs.id()));
}

TEST_F(IpcrmCommandTest, RemovesByKeyInHexDecimalAndOctal) {
  const key_t shm_key = UnusedKey(), shm_key2 = UnusedKey();
  const key_t msg_key = UnusedKey(), msg_key2 = UnusedKey();
  const key_t sem_key = UnusedKey(), sem_key2 = UnusedKey();
  ShmGuard shm = NewShm(shm_key), shm2 = NewShm(shm_key2);
  MsgGuard msg = NewMsg(msg_key), msg2 = NewMsg(msg_key2);
  SemGuard sem = NewSem(sem_key), sem2 = NewSem(sem_key2);
  for (int id : {shm.id(), shm2.id(), msg.id(), msg2.id(), sem.id(),
                 sem2.id()}) {
    ASSERT_THAT(id, SyscallSucceeds());
  }
  const auto args = [](key_t s, key_t m, key_t e) {
    return std::vector<std::string>{
        "-M", absl::StrFormat("0x%x", static_cast<uint32_t>(s)),
        "--queue-key", absl::StrCat(static_cast<uint32_t>(m)),
        "-S", absl::StrFormat("0%o", static_cast<uint32_t>(e))};
  };
  const CommandResult result = Ours(args(shm_key, msg_key, sem_key));
  EXPECT_EQ(result, (CommandResult{0, "", ""}));
  EXPECT_EQ(result, UtilLinux(args(shm_key2, msg_key2, sem_key2)));
  EXPECT_FALSE(ShmExists(shm.id()));
  EXPECT_FALSE(ShmExists(shm2.id()));
  EXPECT_FALSE(MsgExists(msg.id()));
  EXPECT_FALSE(MsgExists(msg2.id()));
  EXPECT_FALSE(SemExists(sem.id()));
  EXPECT_FALSE(SemExists(sem2.id()));
}

TEST_F(IpcrmCommandTest, LegacySyntaxRemovesAndSaysSo) {
  ShmGuard a = NewShm(), b = NewShm(), c = NewShm(), d = NewShm();
  for (int id : {a.id(), b.id(), c.id(), d.id()}) {
    ASSERT_THAT(id, SyscallSucceeds());
  }
  const CommandResult result = Ours({"shm", Str(a.id()), Str(b.id())});
  EXPECT_EQ(result, (CommandResult{0, "resource(s) deleted\n", ""}));
  EXPECT_EQ(result, UtilLinux({"shm", Str(c.id()), Str(d.id())}));
  for (int id : {a.id(), b.id(), c.id(), d.id()}) EXPECT_FALSE(ShmExists(id));

  MsgGuard q1 = NewMsg(), q2 = NewMsg();
  SemGuard s1 = NewSem(), s2 = NewSem();
  EXPECT_EQ(Ours({"msg", Str(q1.id())}), UtilLinux({"msg", Str(q2.id())}));
  EXPECT_EQ(Ours({"sem", Str(s1.id())}), UtilLinux({"sem", Str(s2.id())}));
  EXPECT_FALSE(MsgExists(q1.id()));
  EXPECT_FALSE(SemExists(s2.id()));
}

TEST_F(IpcrmCommandTest, VerboseSaysWhatItRemoves) {
  ShmGuard shm = NewShm(), shm2 = NewShm();
  MsgGuard msg = NewMsg(), msg2 = NewMsg();
  SemGuard sem = NewSem(), sem2 = NewSem();
  const auto expected = [](int m, int q, int s) {
    return CommandResult{
        0,
        absl::StrCat("removing shared memory segment id `", m,
                     "'\nremoving message queue id `", q,
                     "'\nremoving semaphore id `", s, "'\n"),
        ""};
  };
  EXPECT_EQ(Ours({"-v", "-m", Str(shm.id()), "-q", Str(msg.id()), "-s",
                  Str(sem.id())}),
            expected(shm.id(), msg.id(), sem.id()));
  EXPECT_EQ(UtilLinux({"--verbose", "-m", Str(shm2.id()), "-q", Str(msg2.id()),
                       "-s", Str(sem2.id())}),
            expected(shm2.id(), msg2.id(), sem2.id()));
}

TEST_F(IpcrmCommandTest, ErrorsMatchUtilLinux) {
  const std::string gone = Str(RemovedShmId());
  const std::string gone2 = Str(RemovedShmId());
  const std::string unused_key =
      absl::StrFormat("0x%x", static_cast<uint32_t>(UnusedKey()));
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"-m", gone},
           {"-q", gone},
           {"-s", gone},
           {"-m", gone, "-q", gone2, "-s", "-1"},
           {"-v", "-m", gone},
           {"-m", "-1"},
           {"-M", unused_key},
           {"-Q", unused_key},
           {"-S", unused_key},
           {"-Q", "0"},
           {"-M", "0x100000000"},
           {"-M", "0x"},
           {"-M", "zz"},
           {"-M", ""},
           {"-M", "99999999999999999999999"},
           {"-S", "abc"},
           {"-m", "abc"},
           {"-m", "99999999999"},
           {"-m"},
           {"--shmem-id"},
           {"shm"},
           {"shm", gone, "x", gone2},
           {"msg", "-5"},
           {"sem", "1x"},
           {"--all=bad"},
           {"--all="},
           {"foo"},
           {"-m", gone, "foo"},
           {"bar", "-x"},
           {"--sh", "1"},
           {"--sem=4"},
           {"--v"},
           {"--verbose=1"},
           {"-m", gone, "-h"},
           {"--help"},
       }) {
    ExpectSame(args);
  }
}

TEST_F(IpcrmCommandTest, PermissionDeniedForAnotherUsersObject) {
  const key_t key = UnusedKey();
  ShmGuard shm = NewShm(key, 0600);
  ASSERT_THAT(shm.id(), SyscallSucceeds());
  const std::vector<std::string> by_id = {"-m", Str(shm.id())};
  const std::vector<std::string> by_key = {
      "-M", absl::StrFormat("0x%x", static_cast<uint32_t>(key))};
  for (const std::vector<std::string>& args : {by_id, by_key}) {
    int identity_errno = 0;
    const CommandResult ours = RunOursAsUser(&RunIpcrm, KernelIpcApi(), kIpcrm,
                                             args, 65534, 65534,
                                             &identity_errno);
    if (identity_errno != 0) {
      GTEST_SKIP() << "cannot become uid 65534 here: "
                   << std::strerror(identity_errno);
    }
    EXPECT_EQ(ours, RunProgram(kIpcrm, args, 65534, 65534));
    EXPECT_EQ(ours.status, 1);
  }
  int identity_errno = 0;
  EXPECT_EQ(RunOursAsUser(&RunIpcrm, KernelIpcApi(), kIpcrm, by_id, 65534,
                          65534, &identity_errno)
                .err,
            absl::StrCat("ipcrm: permission denied for id (", shm.id(), ")\n"));
  EXPECT_TRUE(ShmExists(shm.id()));
}

// -a removes everything in the namespace: only in a private one.
class IpcrmAllTest : public IpcrmCommandTest {
 protected:
  void SetUp() override {
    if (const int error = EnterPrivateIpcNamespace(); error != 0) {
      GTEST_SKIP() << "no private IPC namespace (unshare(CLONE_NEWIPC): "
                   << std::strerror(error)
                   << "); ipcrm -a would remove other tests' objects";
    }
  }
};

struct ObjectSet {
  ShmGuard shm1 = NewShm(), shm2 = NewShm();
  SemGuard sem = NewSem();
  MsgGuard msg = NewMsg();
};

TEST_F(IpcrmAllTest, RemovesEverything) {
  {
    ObjectSet ours;
    const CommandResult result = Ours({"-a"});
    EXPECT_EQ(result, (CommandResult{0, "", ""}));
    EXPECT_FALSE(ShmExists(ours.shm1.id()));
    EXPECT_FALSE(ShmExists(ours.shm2.id()));
    EXPECT_FALSE(SemExists(ours.sem.id()));
    EXPECT_FALSE(MsgExists(ours.msg.id()));
  }
  ObjectSet theirs;
  EXPECT_EQ(UtilLinux({"-a"}), (CommandResult{0, "", ""}));
  EXPECT_FALSE(ShmExists(theirs.shm1.id()));
}

TEST_F(IpcrmAllTest, VerboseRemovesInUtilLinuxOrder) {
  CommandResult ours;
  {
    ObjectSet objects;
    ours = Ours({"-v", "--all"});
    EXPECT_EQ(ours.out,
              absl::StrCat("removing shared memory segment id `",
                           objects.shm1.id(),
                           "'\nremoving shared memory segment id `",
                           objects.shm2.id(), "'\nremoving semaphore id `",
                           objects.sem.id(), "'\nremoving message queue id `",
                           objects.msg.id(), "'\n"));
  }
  ObjectSet objects;
  const CommandResult theirs = UtilLinux({"-v", "--all"});
  EXPECT_EQ(ours.status, theirs.status);
  EXPECT_EQ(MaskDigits(ours.out), MaskDigits(theirs.out));
  EXPECT_EQ(ours.err, theirs.err);
}

TEST_F(IpcrmAllTest, RemovesOneCategory) {
  for (const char* category : {"shm", "msg", "sem"}) {
    SCOPED_TRACE(category);
    for (const bool util_linux : {false, true}) {
      ObjectSet objects;
      const std::vector<std::string> args = {
          util_linux ? absl::StrCat("--all=", category)
                     : absl::StrCat("-a", category)};
      EXPECT_EQ(util_linux ? UtilLinux(args) : Ours(args),
                (CommandResult{0, "", ""}));
      EXPECT_EQ(ShmExists(objects.shm1.id()), std::strcmp(category, "shm") != 0);
      EXPECT_EQ(MsgExists(objects.msg.id()), std::strcmp(category, "msg") != 0);
      EXPECT_EQ(SemExists(objects.sem.id()), std::strcmp(category, "sem") != 0);
    }
  }
}

TEST_F(IpcrmAllTest, RemovesAllBeforeReportingAnOperand) {
  {
    ObjectSet objects;
    // util-linux removes them and complains; ours finds none and complains.
    ExpectSame({"-a", "leftover"});
    EXPECT_FALSE(ShmExists(objects.shm1.id()));
  }
  ObjectSet objects;
  const CommandResult ours = Ours({"-a", "leftover"});
  EXPECT_EQ(ours.status, 1);
  EXPECT_EQ(ours.err,
            "ipcrm: unknown argument: leftover\n"
            "Try 'ipcrm --help' for more information.\n");
  EXPECT_FALSE(ShmExists(objects.shm1.id()));
}

TEST(IpcrmWithoutIpcTest, ReportsFailuresAsUtilLinuxDoes) {
  const auto run = [](const std::vector<std::string>& args) {
    return RunOurs(&RunIpcrm, FailingIpcApi(), "ipcrm", args);
  };
  EXPECT_EQ(run({"-a"}),
            (CommandResult{1, "", "ipcrm: kernel not configured for shared memory\n"}));
  EXPECT_EQ(run({"--all=msg"}),
            (CommandResult{1, "", "ipcrm: kernel not configured for message queues\n"}));
  EXPECT_EQ(run({"-m", "5", "-q", "6"}),
            (CommandResult{1, "", "ipcrm: id failed: Function not implemented\n"}));
  EXPECT_EQ(run({"-M", "0x10"}),
            (CommandResult{1, "", "ipcrm: key failed: Function not implemented\n"}));
  EXPECT_EQ(run({"sem", "5"}),
            (CommandResult{1, "", "ipcrm: id failed: Function not implemented\n"}));
  EXPECT_EQ(run({}), (CommandResult{0, "", ""}));
}

}  // namespace
}  // namespace sysv::tools
