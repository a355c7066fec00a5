// Differential tests: RunIpcmk(KernelIpcApi()) against util-linux's
// /usr/bin/ipcmk. Both create objects with random keys; the test reads the
// ids they print, checks the objects with IPC_STAT and removes them.
#include "tools/ipcmk_command.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/ipc_api.h"
#include "tools/ipc_test_support.h"

namespace sysv::tools {
namespace {

using ::sysv::tools::testing::CommandResult;
using ::sysv::tools::testing::EnterPrivateIpcNamespace;
using ::sysv::tools::testing::FailingIpcApi;
using ::sysv::tools::testing::MaskDigits;
using ::sysv::tools::testing::MsgGuard;
using ::sysv::tools::testing::RunOurs;
using ::sysv::tools::testing::RunProgram;
using ::sysv::tools::testing::SemGuard;
using ::sysv::tools::testing::ShmGuard;
using ::sysv::tools::testing::SyscallSucceeds;

constexpr char kIpcmk[] = "/usr/bin/ipcmk";

CommandResult Ours(const std::vector<std::string>& args) {
  return RunOurs(&RunIpcmk, KernelIpcApi(), kIpcmk, args);
}

CommandResult UtilLinux(const std::vector<std::string>& args) {
  return RunProgram(kIpcmk, args);
}

// The objects an ipcmk run reported, owned by guards.
struct Created {
  ShmGuard shm;
  MsgGuard msg;
  SemGuard sem;
  std::vector<std::string> order;  // "shm", "msg", "sem" as printed.
};

Created Adopt(const CommandResult& result) {
  Created created;
  for (absl::string_view line :
       absl::StrSplit(result.out, '\n', absl::SkipEmpty())) {
    int id = -1;
    if (absl::ConsumePrefix(&line, "Shared memory id: ") &&
        absl::SimpleAtoi(line, &id)) {
      created.shm = ShmGuard(id);
      created.order.push_back("shm");
    } else if (absl::ConsumePrefix(&line, "Message queue id: ") &&
               absl::SimpleAtoi(line, &id)) {
      created.msg = MsgGuard(id);
      created.order.push_back("msg");
    } else if (absl::ConsumePrefix(&line, "Semaphore id: ") &&
               absl::SimpleAtoi(line, &id)) {
      created.sem = SemGuard(id);
      created.order.push_back("sem");
    } else {
      ADD_FAILURE() << "unexpected line: " << line;
    }
  }
  return created;
}

struct shmid_ds StatShm(int id) {
  struct shmid_ds ds {};
  EXPECT_THAT(shmctl(id, IPC_STAT, &ds), SyscallSucceeds());
  return ds;
}

struct msqid_ds StatMsg(int id) {
  struct msqid_ds ds {};
  EXPECT_THAT(msgctl(id, IPC_STAT, &ds), SyscallSucceeds());
  return ds;
}

struct semid_ds StatSem(int id) {
  struct semid_ds ds {};
  union {
    int val;
    struct semid_ds* buf;
  } arg;
  arg.buf = &ds;
  EXPECT_THAT(semctl(id, 0, IPC_STAT, arg), SyscallSucceeds());
  return ds;
}

class IpcmkCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { EnterPrivateIpcNamespace(); }
};

TEST_F(IpcmkCommandTest, SegmentSizesAreParsedAsUtilLinuxParsesThem) {
  const struct {
    const char* text;
    uint64_t bytes;
  } kCases[] = {
      {"1", 1},          {"4096", 4096},    {"1K", 1024},
      {"1k", 1024},      {"1KiB", 1024},    {"1Kib", 1024},
      {"1KB", 1000},     {"1kB", 1000},     {"2M", 2 << 20},
      {"0x10", 16},      {"010", 8},        {" 1K", 1024},
      {"1.5K", 1536},    {"1.05K", 1075},   {"1.00001K", 1024},
      {"00.5K", 512},    {"1.K", 1024},     {"0.5MB", 500000},
      {"1.0K", 1024},    {"3.25KiB", 3327},  // Per-digit rounding.
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.text);
    const CommandResult ours = Ours({"-M", c.text});
    const CommandResult theirs = UtilLinux({"-M", c.text});
    const Created ours_created = Adopt(ours);
    const Created theirs_created = Adopt(theirs);
    EXPECT_EQ(ours.status, 0) << ours.err;
    EXPECT_EQ(MaskDigits(ours.out), "Shared memory id: #\n");
    EXPECT_EQ(MaskDigits(ours.out), MaskDigits(theirs.out));
    ASSERT_GE(ours_created.shm.id(), 0);
    ASSERT_GE(theirs_created.shm.id(), 0);
    EXPECT_EQ(StatShm(ours_created.shm.id()).shm_segsz, c.bytes);
    EXPECT_EQ(StatShm(theirs_created.shm.id()).shm_segsz, c.bytes);
  }
}

TEST_F(IpcmkCommandTest, CreatesEachKindInUtilLinuxOrderWithTheMode) {
  const std::vector<std::string> args = {"-S", "3", "-Q", "-M", "10",
                                         "-p", "600"};
  const CommandResult ours = Ours(args);
  const CommandResult theirs = UtilLinux(args);
  const Created ours_created = Adopt(ours);
  const Created theirs_created = Adopt(theirs);
  EXPECT_EQ(ours.status, 0) << ours.err;
  EXPECT_EQ(MaskDigits(ours.out), MaskDigits(theirs.out));
  EXPECT_EQ(ours_created.order, (std::vector<std::string>{"shm", "msg", "sem"}));
  for (const Created* created : {&ours_created, &theirs_created}) {
    const struct shmid_ds shm = StatShm(created->shm.id());
    EXPECT_EQ(shm.shm_segsz, 10u);
    EXPECT_EQ(shm.shm_perm.mode & 0777, 0600u);
    EXPECT_EQ(StatMsg(created->msg.id()).msg_perm.mode & 0777, 0600u);
    const struct semid_ds sem = StatSem(created->sem.id());
    EXPECT_EQ(sem.sem_nsems, 3u);
    EXPECT_EQ(sem.sem_perm.mode & 0777, 0600u);
  }
}

TEST_F(IpcmkCommandTest, DefaultModeIs0644AndKeysAreNotPrivate) {
  const Created created = Adopt(Ours({"--queue", "--semaphore", "1"}));
  const struct msqid_ds msg = StatMsg(created.msg.id());
  EXPECT_EQ(msg.msg_perm.mode & 0777, 0644u);
  EXPECT_EQ(StatSem(created.sem.id()).sem_perm.mode & 0777, 0644u);
  // A random key; IPC_PRIVATE has odds of 2^-32.
  EXPECT_NE(msg.msg_perm.__key, IPC_PRIVATE);
}

TEST_F(IpcmkCommandTest, ErrorsMatchUtilLinux) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {},
           {"foo"},
           {"-x"},
           {"-M"},
           {"--mode"},
           {"-M", "abc"},
           {"-M", "-1"},
           {"-M", "1X"},
           {"-M", "1Y"},
           {"-M", "1,5K"},
           {"-M", "1e3"},
           {"-M", "1.0"},
           {"-M", "1."},
           {"-M", "1.5"},
           {"-M", "1K "},
           {"-M", ""},
           {"-M", "99999999999999999999"},
           {"-M", "1.9999999999999999999999K"},
           {"--shmem=abc"},
           {"-M", "0"},
           {"-M", "0", "-Q"},
           {"-S", "0"},
           {"-S", "-1"},
           {"-S", "abc"},
           {"-S", "99999999999"},
           {"-Q", "-p", "abc"},
           {"-Q", "-p", "8"},
           {"-Q", "-p", ""},
           {"--s", "2"},
       }) {
    SCOPED_TRACE(absl::StrCat("ipcmk ", absl::StrJoin(args, " ")));
    const CommandResult ours = Ours(args);
    const CommandResult theirs = UtilLinux(args);
    // Nothing is created in these cases; adopt anything that was, to clean
    // up and to fail.
    EXPECT_THAT(Adopt(ours).order, ::testing::IsEmpty());
    EXPECT_THAT(Adopt(theirs).order, ::testing::IsEmpty());
    EXPECT_EQ(ours, theirs);
  }
}

TEST_F(IpcmkCommandTest, HelpMatchesUtilLinux) {
  EXPECT_EQ(Ours({"--help"}), UtilLinux({"--help"}));
  // Options act in order: -h ends the run before anything is created.
  EXPECT_EQ(Ours({"-Q", "-h"}), UtilLinux({"-Q", "-h"}));
}

TEST(IpcmkWithoutIpcTest, ReportsTheFailedCall) {
  const auto run = [](const std::vector<std::string>& args) {
    return RunOurs(&RunIpcmk, FailingIpcApi(), "ipcmk", args);
  };
  EXPECT_EQ(run({"-Q"}),
            (CommandResult{1, "",
                           "ipcmk: create message queue failed: Function not "
                           "implemented\n"}));
  EXPECT_EQ(run({"-M", "1K", "-Q"}),
            (CommandResult{1, "",
                           "ipcmk: create share memory failed: Function not "
                           "implemented\n"}));
  EXPECT_EQ(run({"-S", "1"}),
            (CommandResult{1, "",
                           "ipcmk: create semaphore failed: Function not "
                           "implemented\n"}));
}

}  // namespace
}  // namespace sysv::tools
