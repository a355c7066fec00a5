// `sysvipc ipcs` (and ipcrm -a) over libsysv, with a real daemon: objects of
// each kind, made by this process, listed with their fields.
//
// Each case runs twice: over libsysv's IpcApi as `sysvipc` builds it, and
// over the same table with its shmctl/semctl/msgctl cut down to what
// DragonFly's C library has (IPC_STAT, IPC_SET, IPC_RMID and, for sets, the
// value commands: no *_STAT, *_STAT_ANY or *_INFO, which are EINVAL as
// DragonFly's kernel answers). The listing must not notice the difference:
// that is what makes ipcs work on a DragonFly build, tested here under both
// configurations.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sysv/sysv.h"
#include "tests/testing/test_daemon.h"
#include "tools/ipc_api.h"
#include "tools/ipc_objects.h"
#include "tools/ipcrm_command.h"
#include "tools/ipcs_command.h"
#include "tools/libsysv_api.h"

namespace sysv {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using tools::IpcApi;

// What DragonFly's kernel answers for a command it does not have
// (sysv_shm.c, sysv_sem.c, sysv_msg.c: "default: error = EINVAL").
int Refused() {
  errno = EINVAL;
  return -1;
}

bool DragonFlyHas(int cmd) { return cmd == IPC_RMID || cmd == IPC_SET || cmd == IPC_STAT; }

int DragonFlyShmctl(int shmid, int cmd, struct shmid_ds* buf) {
  return DragonFlyHas(cmd) ? sysv_shmctl(shmid, cmd, buf) : Refused();
}

int DragonFlyMsgctl(int msqid, int cmd, struct msqid_ds* buf) {
  return DragonFlyHas(cmd) ? sysv_msgctl(msqid, cmd, buf) : Refused();
}

int DragonFlySemctl(int semid, int semnum, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  void* arg = va_arg(args, void*);
  va_end(args);
  const bool value_command = cmd == GETPID || cmd == GETVAL || cmd == GETALL || cmd == GETNCNT ||
                             cmd == GETZCNT || cmd == SETVAL || cmd == SETALL;
  return DragonFlyHas(cmd) || value_command ? sysv_semctl(semid, semnum, cmd, arg) : Refused();
}

const IpcApi& DragonFlyShapedApi() {
  static const IpcApi api = [] {
    IpcApi shaped = tools::LibsysvIpcApi();
    shaped.shmctl = &DragonFlyShmctl;
    shaped.semctl = &DragonFlySemctl;
    shaped.msgctl = &DragonFlyMsgctl;
    return shaped;
  }();
  return api;
}

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(std::FILE* file) {
  std::string text;
  std::rewind(file);
  char chunk[4096];
  for (size_t n; (n = std::fread(chunk, 1, sizeof(chunk), file)) > 0;) text.append(chunk, n);
  std::fclose(file);
  return text;
}

template <typename Command>
Result RunCommand(Command command, const IpcApi& api, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  Result result;
  result.status = command(api, static_cast<int>(args.size()), argv.data(), out, err);
  result.out = ReadAll(out);
  result.err = ReadAll(err);
  return result;
}

class IpcsListingTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<testing::TestDaemon>(testing::FreshNamespaceDir("ipcs"));
    daemon_->Start();
  }
  const IpcApi& api() const { return GetParam() ? DragonFlyShapedApi() : tools::LibsysvIpcApi(); }

  std::unique_ptr<testing::TestDaemon> daemon_;
};

// Keys of their own for every test: this process's libsysv keeps the
// tables of an earlier test's daemon mapped, and would find an old key there.
key_t FreshKey() {
  static key_t next = 0x4500a000;
  return ++next;
}

struct Message {
  long type;
  char text[32];
};

TEST_P(IpcsListingTest, ListsEveryKindWithItsFields) {
  const key_t shm_key = FreshKey(), sem_key = FreshKey(), msg_key = FreshKey();
  const int shmid = sysv_shmget(shm_key, 12345, IPC_CREAT | 0640);
  ASSERT_GE(shmid, 0) << std::strerror(errno);
  void* at = sysv_shmat(shmid, nullptr, 0);
  ASSERT_NE(at, reinterpret_cast<void*>(-1)) << std::strerror(errno);
  const int semid = sysv_semget(sem_key, 3, IPC_CREAT | 0600);
  ASSERT_GE(semid, 0) << std::strerror(errno);
  ASSERT_EQ(sysv_semctl(semid, 1, SETVAL, 7), 0) << std::strerror(errno);
  const int msqid = sysv_msgget(msg_key, IPC_CREAT | 0620);
  ASSERT_GE(msqid, 0) << std::strerror(errno);
  Message message{1, "ten bytes"};
  ASSERT_EQ(sysv_msgsnd(msqid, &message, 10, 0), 0) << std::strerror(errno);
  ASSERT_EQ(sysv_msgsnd(msqid, &message, 20, 0), 0) << std::strerror(errno);

  const std::vector<tools::ShmSegment> segments = tools::ListShmSegments(api(), -1);
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_EQ(segments[0].perm.id, shmid);
  EXPECT_EQ(segments[0].perm.key, shm_key);
  EXPECT_EQ(segments[0].perm.uid, getuid());
  EXPECT_EQ(segments[0].perm.cgid, getgid());
  EXPECT_EQ(segments[0].perm.mode & 0777, 0640u);
  EXPECT_EQ(segments[0].segsz, 12345u);
  EXPECT_EQ(segments[0].nattch, 1u);
  EXPECT_EQ(segments[0].cpid, getpid());
  EXPECT_EQ(segments[0].lpid, getpid());

  const tools::SemListing sets = tools::ListSemSets(api(), semid);
  ASSERT_EQ(sets.failed_call, nullptr) << sets.failed_call << ": " << std::strerror(sets.failed_errno);
  ASSERT_EQ(sets.sets.size(), 1u);
  EXPECT_EQ(sets.sets[0].perm.key, sem_key);
  EXPECT_EQ(sets.sets[0].perm.mode & 0777, 0600u);
  EXPECT_EQ(sets.sets[0].nsems, 3u);
  ASSERT_EQ(sets.sets[0].elements.size(), 3u);
  EXPECT_EQ(sets.sets[0].elements[1].value, 7);
  EXPECT_EQ(sets.sets[0].elements[1].pid, getpid());

  const std::vector<tools::MsgQueue> queues = tools::ListMsgQueues(api(), -1);
  ASSERT_EQ(queues.size(), 1u);
  EXPECT_EQ(queues[0].perm.id, msqid);
  EXPECT_EQ(queues[0].perm.key, msg_key);
  EXPECT_EQ(queues[0].perm.mode & 0777, 0620u);
  EXPECT_EQ(queues[0].qnum, 2u);
  EXPECT_EQ(queues[0].cbytes, 30u);
  EXPECT_EQ(queues[0].lspid, getpid());

  // The report itself: one row per object, util-linux's columns.
  const Result ipcs = RunCommand(&tools::RunIpcs, api(), {"ipcs"});
  EXPECT_EQ(ipcs.status, 0) << ipcs.err;
  EXPECT_THAT(ipcs.out, HasSubstr(absl::StrFormat("0x%08x %-10d root       640        12345      1", shm_key, shmid)));
  EXPECT_THAT(ipcs.out, HasSubstr(absl::StrFormat("0x%08x %-10d root       600        3", sem_key, semid)));
  EXPECT_THAT(ipcs.out, HasSubstr(absl::StrFormat("0x%08x %-10d root       620        30           2", msg_key, msqid)));
  const Result values = RunCommand(&tools::RunIpcs, api(), {"ipcs", "-s", "-i", std::to_string(semid)});
  EXPECT_EQ(values.status, 0) << values.err;
  EXPECT_THAT(values.out, HasSubstr(absl::StrFormat("1          7          0          0          %d", getpid())));

  // Limits and counts come from the *_INFO commands.
  const Result limits = RunCommand(&tools::RunIpcs, api(), {"ipcs", "-l"});
  EXPECT_EQ(limits.status, 0) << limits.err;
  EXPECT_THAT(limits.out, HasSubstr("max number of segments = "));
  EXPECT_THAT(limits.out, HasSubstr("max queues system wide = "));
  EXPECT_THAT(limits.out, HasSubstr("max number of arrays = "));
  const Result usage = RunCommand(&tools::RunIpcs, api(), {"ipcs", "-u"});
  EXPECT_EQ(usage.status, 0) << usage.err;
  EXPECT_THAT(usage.out, HasSubstr("segments allocated 1"));
  EXPECT_THAT(usage.out, HasSubstr("allocated queues = 1"));
  EXPECT_THAT(usage.out, HasSubstr("used arrays = 1"));

  ASSERT_EQ(sysv_shmdt(at), 0);
}

TEST_P(IpcsListingTest, IpcrmAllRemovesEveryKind) {
  const key_t shm_key = FreshKey(), sem_key = FreshKey(), msg_key = FreshKey();
  ASSERT_GE(sysv_shmget(shm_key, 4096, IPC_CREAT | 0600), 0) << std::strerror(errno);
  ASSERT_GE(sysv_semget(sem_key, 1, IPC_CREAT | 0600), 0) << std::strerror(errno);
  ASSERT_GE(sysv_msgget(msg_key, IPC_CREAT | 0600), 0) << std::strerror(errno);

  const Result ipcrm = RunCommand(&tools::RunIpcrm, api(), {"ipcrm", "-a"});
  EXPECT_EQ(ipcrm.status, 0) << ipcrm.err;
  EXPECT_THAT(tools::ListShmSegments(api(), -1), IsEmpty());
  EXPECT_THAT(tools::ListSemSets(api(), -1).sets, IsEmpty());
  EXPECT_THAT(tools::ListMsgQueues(api(), -1), IsEmpty());
  // Gone from the daemon too, not just from the listing.
  EXPECT_EQ(sysv_shmget(shm_key, 0, 0), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(sysv_msgget(msg_key, 0), -1);
  EXPECT_EQ(errno, ENOENT);
}

INSTANTIATE_TEST_SUITE_P(CommandSets, IpcsListingTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "DragonFlyCommands" : "CLibraryCommands";
                         });

}  // namespace
}  // namespace sysv
