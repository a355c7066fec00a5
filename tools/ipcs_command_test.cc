// Differential tests: RunIpcs(KernelIpcApi()) against util-linux's
// /usr/bin/ipcs on the same kernel objects.
//
// The kernel's IPC namespace is shared with tests that run concurrently, so
// the suite first moves into a private IPC namespace (unshare(CLONE_NEWIPC),
// root here). There whole reports are compared byte for byte. Where that is
// not allowed, tables are compared on the rows of this test's own objects
// only, and -u summaries with their numbers masked: never on state that
// other tests can change under us.
#include "tools/ipcs_command.h"

#include <pwd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
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
using ::sysv::tools::testing::KeepRowsFor;
using ::sysv::tools::testing::MaskDigits;
using ::sysv::tools::testing::MsgGuard;
using ::sysv::tools::testing::RunAsOtherUser;
using ::sysv::tools::testing::RunOurs;
using ::sysv::tools::testing::RunProgram;
using ::sysv::tools::testing::SemGuard;
using ::sysv::tools::testing::ShmAttachment;
using ::sysv::tools::testing::ShmGuard;
using ::sysv::tools::testing::SyscallSucceeds;
using ::sysv::tools::testing::UnusedKey;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kIpcs[] = "/usr/bin/ipcs";

CommandResult Ours(const std::vector<std::string>& args) {
  return RunOurs(&RunIpcs, KernelIpcApi(), kIpcs, args);
}

CommandResult UtilLinux(const std::vector<std::string>& args) {
  return RunProgram(kIpcs, args);
}

// Best-effort IPC_SET of the owner: in a user namespace that does not map
// the ids the kernel answers EINVAL, and the object stays root's, which the
// comparisons handle just as well.
bool TryChownShm(int id, uid_t uid, gid_t gid) {
  struct shmid_ds ds {};
  if (shmctl(id, IPC_STAT, &ds) != 0) return false;
  ds.shm_perm.uid = uid;
  ds.shm_perm.gid = gid;
  return shmctl(id, IPC_SET, &ds) == 0;
}

void TryChownMsg(int id, uid_t uid, gid_t gid) {
  struct msqid_ds ds {};
  if (msgctl(id, IPC_STAT, &ds) != 0) return;
  ds.msg_perm.uid = uid;
  ds.msg_perm.gid = gid;
  msgctl(id, IPC_SET, &ds);
}

// A uid whose user name is longer than ipcs's 10 columns, if there is one.
uid_t LongNamedUid() {
  for (const char* name : {"systemd-timesync", "systemd-network"}) {
    if (const struct passwd* pw = getpwnam(name)) return pw->pw_uid;
  }
  return 1;
}

class IpcsCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { EnterPrivateIpcNamespace(); }

  void SetUp() override {
    // A segment with an attachment and touched pages.
    shm_attached_ = ShmGuard(shmget(UnusedKey(), 5000, IPC_CREAT | 0640));
    ASSERT_THAT(shm_attached_.id(), SyscallSucceeds());
    void* address = shmat(shm_attached_.id(), nullptr, 0);
    ASSERT_NE(address, reinterpret_cast<void*>(-1)) << std::strerror(errno);
    attachment_ = ShmAttachment(address);
    std::memset(address, 1, 5000);

    // A segment removed while attached: "dest", key 0.
    shm_dest_ = ShmGuard(shmget(IPC_PRIVATE, 100000, IPC_CREAT | 0600));
    ASSERT_THAT(shm_dest_.id(), SyscallSucceeds());
    address = shmat(shm_dest_.id(), nullptr, 0);
    ASSERT_NE(address, reinterpret_cast<void*>(-1)) << std::strerror(errno);
    dest_attachment_ = ShmAttachment(address);
    ASSERT_THAT(shmctl(shm_dest_.id(), IPC_RMID, nullptr), SyscallSucceeds());

    // A 1 MiB segment, locked if we may, owned by a long user name.
    shm_locked_ = ShmGuard(shmget(UnusedKey(), 1 << 20, IPC_CREAT | 0666));
    ASSERT_THAT(shm_locked_.id(), SyscallSucceeds());
    shmctl(shm_locked_.id(), SHM_LOCK, nullptr);
    TryChownShm(shm_locked_.id(), LongNamedUid(), 12345);

    // A segment of a uid without a passwd entry, attached and detached.
    shm_stranger_ = ShmGuard(shmget(UnusedKey(), 10, IPC_CREAT | 0666));
    ASSERT_THAT(shm_stranger_.id(), SyscallSucceeds());
    address = shmat(shm_stranger_.id(), nullptr, SHM_RDONLY);
    ASSERT_NE(address, reinterpret_cast<void*>(-1)) << std::strerror(errno);
    ASSERT_THAT(shmdt(address), SyscallSucceeds());
    stranger_owns_ = TryChownShm(shm_stranger_.id(), 4242, 65534);

    // A semaphore set that has seen a semop, and one that has not.
    sem_used_ = SemGuard(semget(UnusedKey(), 4, IPC_CREAT | 0600));
    ASSERT_THAT(sem_used_.id(), SyscallSucceeds());
    struct sembuf op = {1, 3, 0};
    ASSERT_THAT(semop(sem_used_.id(), &op, 1), SyscallSucceeds());
    sem_fresh_ = SemGuard(semget(IPC_PRIVATE, 1, IPC_CREAT | 0666));
    ASSERT_THAT(sem_fresh_.id(), SyscallSucceeds());

    // A queue with traffic (one 50-byte message left), and an idle one.
    msg_used_ = MsgGuard(msgget(UnusedKey(), IPC_CREAT | 0622));
    ASSERT_THAT(msg_used_.id(), SyscallSucceeds());
    struct {
      long type;
      char text[100];
    } message = {1, "hello"};
    ASSERT_THAT(msgsnd(msg_used_.id(), &message, 100, 0), SyscallSucceeds());
    ASSERT_THAT(msgsnd(msg_used_.id(), &message, 50, 0), SyscallSucceeds());
    ASSERT_THAT(msgrcv(msg_used_.id(), &message, 100, 0, 0),
                SyscallSucceeds());
    msg_idle_ = MsgGuard(msgget(IPC_PRIVATE, IPC_CREAT | 0600));
    ASSERT_THAT(msg_idle_.id(), SyscallSucceeds());
    TryChownMsg(msg_idle_.id(), LongNamedUid(), 0);

    ids_ = {shm_attached_.id(), shm_dest_.id(), shm_locked_.id(),
            shm_stranger_.id(), sem_used_.id(),  sem_fresh_.id(),
            msg_used_.id(),     msg_idle_.id()};
  }

  // A table report (listing): whole in a private namespace, else only the
  // rows of our objects. Checks that our objects are listed.
  void ExpectSameTable(const std::vector<std::string>& args) {
    SCOPED_TRACE(absl::StrCat("ipcs ", absl::StrJoin(args, " ")));
    const CommandResult expected = UtilLinux(args);
    const CommandResult actual = Ours(args);
    if (InPrivateIpcNamespace()) {
      EXPECT_EQ(actual, expected);
    } else {
      EXPECT_EQ(actual.status, expected.status);
      EXPECT_EQ(actual.err, expected.err);
      EXPECT_EQ(KeepRowsFor(actual.out, ids_), KeepRowsFor(expected.out, ids_));
    }
  }

  // A report on state no other test changes (limits, one object, errors).
  void ExpectSame(const std::vector<std::string>& args) {
    SCOPED_TRACE(absl::StrCat("ipcs ", absl::StrJoin(args, " ")));
    // util-linux first: its fork and exec attach and detach our segments
    // (updating lpid and the times) before it reads them; ours then reads
    // the same state.
    const CommandResult expected = UtilLinux(args);
    EXPECT_EQ(Ours(args), expected);
  }

  // A -u summary: counts of the whole namespace.
  void ExpectSameSummary(const std::vector<std::string>& args) {
    SCOPED_TRACE(absl::StrCat("ipcs ", absl::StrJoin(args, " ")));
    const CommandResult expected = UtilLinux(args);
    const CommandResult actual = Ours(args);
    if (InPrivateIpcNamespace()) {
      EXPECT_EQ(actual, expected);
    } else {
      EXPECT_EQ(actual.status, expected.status);
      EXPECT_EQ(MaskDigits(actual.out), MaskDigits(expected.out));
      EXPECT_EQ(actual.err, expected.err);
    }
  }

  // Destroyed in reverse order: attachments go before their segments.
  ShmGuard shm_attached_, shm_dest_, shm_locked_, shm_stranger_;
  ShmAttachment attachment_, dest_attachment_;
  SemGuard sem_used_, sem_fresh_;
  MsgGuard msg_used_, msg_idle_;
  std::set<int> ids_;
  bool stranger_owns_ = false;  // Whether uid 4242 owns shm_stranger_.
};

TEST_F(IpcsCommandTest, DefaultReportListsAllFacilities) {
  ExpectSameTable({});
  const CommandResult ours = Ours({});
  for (int id : ids_) {
    EXPECT_THAT(ours.out, HasSubstr(absl::StrFormat(" %-10d ", id)));
  }
}

TEST_F(IpcsCommandTest, AllIsTheDefault) { ExpectSameTable({"-a"}); }

TEST_F(IpcsCommandTest, SharedMemoryTable) {
  ExpectSameTable({"-m"});
  const CommandResult ours = Ours({"-m"});
  EXPECT_THAT(ours.out, HasSubstr("dest"));
  if (stranger_owns_) {
    // A uid without a passwd entry is shown as a number.
    EXPECT_THAT(ours.out, HasSubstr(absl::StrFormat(
                              " %-10d 4242       666 ", shm_stranger_.id())));
  }
}

TEST_F(IpcsCommandTest, SharedMemoryTimes) { ExpectSameTable({"-m", "-t"}); }

TEST_F(IpcsCommandTest, SharedMemoryPids) { ExpectSameTable({"-m", "-p"}); }

TEST_F(IpcsCommandTest, SharedMemoryCreators) {
  ExpectSameTable({"-m", "-c"});
}

TEST_F(IpcsCommandTest, SharedMemoryBytesAndHumanSizes) {
  ExpectSameTable({"-m", "-b"});
  ExpectSameTable({"-m", "--human"});
  ExpectSameTable({"--shmems", "--hu"});
}

TEST_F(IpcsCommandTest, SemaphoreTables) {
  ExpectSameTable({"-s"});
  ExpectSameTable({"-s", "-t"});
  ExpectSameTable({"-s", "-c"});
  ExpectSameTable({"-s", "-p"});  // util-linux prints no table at all.
}

TEST_F(IpcsCommandTest, MessageQueueTables) {
  ExpectSameTable({"-q"});
  ExpectSameTable({"-q", "-t"});
  ExpectSameTable({"-q", "-p"});
  ExpectSameTable({"-q", "-c"});
  ExpectSameTable({"-q", "--human"});
}

TEST_F(IpcsCommandTest, LastFormatOptionWins) {
  ExpectSameTable({"-t", "-c", "-p"});
  ExpectSameTable({"-m", "-q", "--time", "--creator"});
}

TEST_F(IpcsCommandTest, Limits) {
  ExpectSame({"-l"});
  ExpectSame({"-l", "-b"});
  ExpectSame({"-l", "--human"});
  ExpectSame({"-m", "-l"});
}

TEST_F(IpcsCommandTest, Summary) {
  ExpectSameSummary({"-u"});
  ExpectSameSummary({"-u", "-b"});
  ExpectSameSummary({"-u", "--human"});
}

TEST_F(IpcsCommandTest, SharedMemoryDetails) {
  ExpectSame({"-i", absl::StrCat(shm_attached_.id()), "-m"});
  ExpectSame({"-m", "-i", absl::StrCat(shm_dest_.id()), "--human"});
  ExpectSame({"-m", "-i", absl::StrCat(shm_locked_.id()), "-b"});
  ExpectSame({"-m", "--id", absl::StrCat(shm_stranger_.id())});
}

TEST_F(IpcsCommandTest, SemaphoreDetails) {
  ExpectSame({"-s", "-i", absl::StrCat(sem_used_.id())});
  ExpectSame({"-s", "-i", absl::StrCat(sem_fresh_.id())});
}

TEST_F(IpcsCommandTest, MessageQueueDetails) {
  ExpectSame({"-q", "-i", absl::StrCat(msg_used_.id())});
  ExpectSame({"-q", "-i", absl::StrCat(msg_used_.id()), "--human"});
  ExpectSame({"-q", "-i", absl::StrCat(msg_idle_.id())});
}

TEST_F(IpcsCommandTest, NegativeIdShowsTheFirstObject) {
  if (const int error = EnterPrivateIpcNamespace(); error != 0) {
    GTEST_SKIP() << "no private IPC namespace (unshare(CLONE_NEWIPC): "
                 << std::strerror(error)
                 << "); the first object of a shared one is not ours";
  }
  ExpectSame({"-m", "-i", "-1"});
  ExpectSame({"-q", "-i", "-7"});
  // util-linux crashes on `-s -i -1` (it prints values it never read); we
  // print the set without them.
  const CommandResult ours = Ours({"-s", "-i", "-1"});
  EXPECT_EQ(ours.status, 0);
  EXPECT_THAT(ours.out, HasSubstr("\nSemaphore Array semid=-1\n"));
  EXPECT_THAT(ours.out, HasSubstr("semnum     value      ncount     zcount     "
                                  "pid       \n\n"));
}

TEST_F(IpcsCommandTest, DetailsOfMissingIdWarnAndSucceed) {
  ShmGuard gone(shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600));
  ASSERT_THAT(gone.id(), SyscallSucceeds());
  const std::string id = absl::StrCat(gone.id());
  ASSERT_THAT(shmctl(gone.release(), IPC_RMID, nullptr), SyscallSucceeds());
  ExpectSame({"-m", "-i", id});
  const CommandResult ours = Ours({"-m", "-i", id});
  EXPECT_EQ(ours.status, 0);
  EXPECT_EQ(ours.err, absl::StrCat("ipcs: id ", id, " not found\n"));
}

TEST_F(IpcsCommandTest, CreatorGroupIsReportedWhenItDiffersFromTheUser) {
  // cgid is the creator's egid; util-linux's fallback path would print cuid
  // there, its /proc path (and we) the real cgid.
  int identity_errno = 0;
  const std::optional<int> id = RunAsOtherUser(
      0, 65534, [] { return shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0644); },
      &identity_errno);
  if (!id.has_value()) {
    GTEST_SKIP() << "cannot setresgid(65534) here: "
                 << std::strerror(identity_errno);
  }
  ShmGuard guard(*id);
  ASSERT_THAT(guard.id(), SyscallSucceeds());
  ids_.insert(guard.id());
  ExpectSameTable({"-m", "-c"});
  ExpectSame({"-m", "-i", absl::StrCat(guard.id())});
  EXPECT_THAT(Ours({"-m", "-i", absl::StrCat(guard.id())}).out,
              HasSubstr("cuid=0\tcgid=65534"));
}

TEST_F(IpcsCommandTest, AnotherUserSeesWhatUtilLinuxShowsThem) {
  // Several fixture objects are not readable by others (0600, 0622, 0640):
  // *_STAT fails with EACCES for them, while util-linux lists them from
  // /proc. Our side runs in a forked child, and a fork attaches (and its
  // exit detaches) every segment the parent has attached, changing nattch,
  // lpid and the times: detach ours first.
  attachment_ = ShmAttachment();
  dest_attachment_ = ShmAttachment();  // Destroys the "dest" segment.
  const std::vector<std::vector<std::string>> tables = {
      {}, {"-m", "-c"}, {"-q", "-t"}, {"-s", "-t"}};
  const std::vector<std::vector<std::string>> details = {
      {"-m", "-i", absl::StrCat(shm_attached_.id())},
      {"-q", "-i", absl::StrCat(msg_idle_.id())},
      {"-q", "-i", absl::StrCat(msg_used_.id())},
      // util-linux finds it, then fails reading the values.
      {"-s", "-i", absl::StrCat(sem_used_.id())},
  };
  const auto run = [](const std::vector<std::string>& args) {
    int identity_errno = 0;
    const CommandResult ours = testing::RunOursAsUser(
        &RunIpcs, KernelIpcApi(), kIpcs, args, 65534, 65534, &identity_errno);
    return std::make_pair(identity_errno, ours);
  };
  for (const auto& args : tables) {
    SCOPED_TRACE(absl::StrCat("ipcs ", absl::StrJoin(args, " ")));
    const auto [identity_errno, ours] = run(args);
    if (identity_errno != 0) {
      GTEST_SKIP() << "cannot become uid 65534 here: "
                   << std::strerror(identity_errno);
    }
    const CommandResult theirs = RunProgram(kIpcs, args, 65534, 65534);
    if (InPrivateIpcNamespace()) {
      EXPECT_EQ(ours, theirs);
    } else {
      EXPECT_EQ(KeepRowsFor(ours.out, ids_), KeepRowsFor(theirs.out, ids_));
    }
  }
  for (const auto& args : details) {
    SCOPED_TRACE(absl::StrCat("ipcs ", absl::StrJoin(args, " ")));
    const CommandResult theirs = RunProgram(kIpcs, args, 65534, 65534);
    EXPECT_EQ(run(args).second, theirs);
  }
  EXPECT_EQ(run(details.back()).second.err,
            "ipcs: semctl(GETVAL) failed: Permission denied\n");
}

TEST_F(IpcsCommandTest, UsageErrorsMatchUtilLinux) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"-x"},
           {"--s"},
           {"--s=3"},
           {"--foo"},
           {"--foo=bar"},
           {"--human=2"},
           {"-i"},
           {"--id"},
           {"-mi"},
           {"-i", "abc"},
           {"-i", ""},
           {"-i", "5x"},
           {"-i", "99999999999"},
           {"-i", "-2147483649"},
           {"-i", "5"},
           {"-m", "-s", "-i", "5"},
           {"-m", "-x", "-y"},
       }) {
    ExpectSame(args);
  }
}

TEST_F(IpcsCommandTest, OperandsAndDoubleDashAreIgnored) {
  ExpectSameTable({"-m", "--", "-q"});
  ExpectSameTable({"stray", "-s"});
}

TEST_F(IpcsCommandTest, HelpMatchesUtilLinuxPlusJson) {
  const CommandResult expected = UtilLinux({"--help"});
  CommandResult actual = Ours({"--help"});
  ASSERT_EQ(actual.status, 0);
  constexpr char kJsonLine[] =
      "     --json        print the objects as JSON (libsysv)\n";
  EXPECT_THAT(actual.out, HasSubstr(kJsonLine));
  actual.out = absl::StrReplaceAll(actual.out, {{kJsonLine, ""}});
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(Ours({"-h", "-x"}).status, 0);
}

TEST_F(IpcsCommandTest, VersionNamesLibsysv) {
  const CommandResult ours = Ours({"-V"});
  EXPECT_EQ(ours.status, 0);
  EXPECT_EQ(ours.out, "ipcs from libsysv (util-linux 2.38.1 compatible)\n");
}

TEST_F(IpcsCommandTest, JsonListsObjectsWithStableKeys) {
  struct shmid_ds ds {};
  ASSERT_THAT(shmctl(shm_attached_.id(), IPC_STAT, &ds), SyscallSucceeds());
  const CommandResult ours = Ours({"--json"});
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_THAT(ours.out, StartsWith("{\n\"shm\": [\n"));
  EXPECT_THAT(ours.out, HasSubstr("\n],\n\"sem\": [\n"));
  EXPECT_THAT(ours.out, HasSubstr("\n],\n\"msg\": [\n"));
  const std::string expected_shm = absl::StrCat(
      "{\"key\":", static_cast<uint32_t>(ds.shm_perm.__key),
      ",\"id\":", shm_attached_.id(),
      ",\"owner\":\"root\",\"perms\":\"640\",\"bytes\":5000,\"nattch\":1,"
      "\"status\":[],\"cuid\":0,\"cgid\":0,\"uid\":0,\"gid\":0,\"cpid\":",
      ds.shm_cpid, ",\"lpid\":", ds.shm_lpid, ",\"atime\":", ds.shm_atime,
      ",\"dtime\":0,\"ctime\":", ds.shm_ctime, "}");
  EXPECT_THAT(ours.out, HasSubstr(expected_shm));
  EXPECT_THAT(ours.out, HasSubstr(absl::StrCat(
                            "\"id\":", shm_dest_.id(), ",\"owner\":\"root\","
                            "\"perms\":\"600\",\"bytes\":100000,\"nattch\":1,"
                            "\"status\":[\"dest\"")));

  struct msqid_ds mds {};
  ASSERT_THAT(msgctl(msg_used_.id(), IPC_STAT, &mds), SyscallSucceeds());
  EXPECT_THAT(
      ours.out,
      HasSubstr(absl::StrCat(
          "\"id\":", msg_used_.id(),
          ",\"owner\":\"root\",\"perms\":\"622\",\"used_bytes\":50,"
          "\"messages\":1,\"qbytes\":",
          mds.msg_qbytes, ",\"cuid\":0,\"cgid\":0,\"uid\":0,\"gid\":0,"
          "\"lspid\":",
          mds.msg_lspid, ",\"lrpid\":", mds.msg_lrpid, ",\"stime\":",
          mds.msg_stime, ",\"rtime\":", mds.msg_rtime, ",\"ctime\":",
          mds.msg_ctime, "}")));
}

TEST_F(IpcsCommandTest, JsonOfOneSemaphoreSetHasItsValues) {
  struct semid_ds ds {};
  union {
    int val;
    struct semid_ds* buf;
  } arg;
  arg.buf = &ds;
  ASSERT_THAT(semctl(sem_used_.id(), 0, IPC_STAT, arg), SyscallSucceeds());
  const CommandResult ours =
      Ours({"-s", "--json", "-i", absl::StrCat(sem_used_.id())});
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_EQ(
      ours.out,
      absl::StrCat(
          "{\n\"sem\": [\n  {\"key\":",
          static_cast<uint32_t>(ds.sem_perm.__key), ",\"id\":", sem_used_.id(),
          ",\"owner\":\"root\",\"perms\":\"600\",\"nsems\":4,\"cuid\":0,"
          "\"cgid\":0,\"uid\":0,\"gid\":0,\"otime\":",
          ds.sem_otime, ",\"ctime\":", ds.sem_ctime,
          ",\"semaphores\":["
          "{\"semnum\":0,\"value\":0,\"ncount\":0,\"zcount\":0,\"pid\":0},"
          "{\"semnum\":1,\"value\":3,\"ncount\":0,\"zcount\":0,\"pid\":",
          getpid(),
          "},"
          "{\"semnum\":2,\"value\":0,\"ncount\":0,\"zcount\":0,\"pid\":0},"
          "{\"semnum\":3,\"value\":0,\"ncount\":0,\"zcount\":0,\"pid\":0}"
          "]}\n]\n}\n"));
}

TEST_F(IpcsCommandTest, JsonOfMissingIdIsAnEmptyArray) {
  ShmGuard gone(shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600));
  ASSERT_THAT(gone.id(), SyscallSucceeds());
  const std::string id = absl::StrCat(gone.id());
  ASSERT_THAT(shmctl(gone.release(), IPC_RMID, nullptr), SyscallSucceeds());
  const CommandResult ours = Ours({"-m", "-i", id, "--json"});
  EXPECT_EQ(ours.status, 0);
  EXPECT_EQ(ours.out, "{\n\"shm\": []\n}\n");
  EXPECT_EQ(ours.err, absl::StrCat("ipcs: id ", id, " not found\n"));
}

TEST_F(IpcsCommandTest, JsonRejectsLimitsAndSummary) {
  const CommandResult ours = Ours({"--json", "-l"});
  EXPECT_EQ(ours.status, 1);
  EXPECT_THAT(ours.out, IsEmpty());
  EXPECT_EQ(ours.err,
            "ipcs: --json cannot be combined with --limits or --summary\n"
            "Try 'ipcs --help' for more information.\n");
}

TEST(KeepRowsForTest, KeepsHeadersAndTheGivenRows) {
  const std::string report =
      "\n------ Shared Memory Segments --------\n"
      "key        shmid      owner\n"
      "0x00000001 5          root\n"
      "0x00000002 6          root\n"
      "\n------ Semaphore Operation/Change Times --------\n"
      "semid    owner\n"
      "5        root\n"
      "7        root\n\n";
  EXPECT_EQ(KeepRowsFor(report, {5}),
            "\n------ Shared Memory Segments --------\n"
            "key        shmid      owner\n"
            "0x00000001 5          root\n"
            "\n------ Semaphore Operation/Change Times --------\n"
            "semid    owner\n"
            "5        root\n\n");
  EXPECT_EQ(MaskDigits("used arrays = 12\npages 0\n"),
            "used arrays = #\npages #\n");
}

TEST(IpcsWithoutIpcTest, ReportsWhatUtilLinuxReportsWhenCallsFail) {
  // libsysv without a daemon fails every call; util-linux's wording for a
  // kernel without SysV IPC applies.
  const auto run = [](const std::vector<std::string>& args) {
    return RunOurs(&RunIpcs, FailingIpcApi(), "ipcs", args);
  };
  CommandResult result = run({"-u"});
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.out,
            "\nkernel not configured for message queues\n\n"
            "kernel not configured for shared memory\n\n"
            "kernel not configured for semaphores\n\n");
  result = run({"-l"});
  EXPECT_EQ(result.out,
            "\nunable to fetch message limits\n\n"
            "unable to fetch shared memory limits\n\n"
            "unable to fetch semaphore limits\n\n");
  result = run({"-m"});
  EXPECT_EQ(result.out,
            "\n------ Shared Memory Segments --------\n"
            "key        shmid      owner      perms      bytes      nattch     "
            "status      \n\n");
  result = run({"-s", "-i", "7"});
  EXPECT_EQ(result.status, 0);
  EXPECT_THAT(result.out, IsEmpty());
  EXPECT_EQ(result.err, "ipcs: id 7 not found\n");
}

TEST(IpcsWriteErrorTest, ReportsWriteErrors) {
  std::FILE* full = std::fopen("/dev/full", "w");
  ASSERT_NE(full, nullptr);
  std::FILE* err = std::tmpfile();
  ASSERT_NE(err, nullptr);
  char arg0[] = "ipcs";
  char arg1[] = "-l";
  char* argv[] = {arg0, arg1, nullptr};
  EXPECT_EQ(RunIpcs(FailingIpcApi(), 2, argv, full, err), 1);
  std::rewind(err);
  char buffer[256] = {};
  ASSERT_GT(std::fread(buffer, 1, sizeof(buffer) - 1, err), 0u);
  EXPECT_STREQ(buffer, "ipcs: write error: No space left on device\n");
  std::fclose(full);
  std::fclose(err);
}

}  // namespace
}  // namespace sysv::tools
