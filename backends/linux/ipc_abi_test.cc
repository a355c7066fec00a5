// glibc's System V IPC ABI (ipc_abi.h): its command table against glibc's
// own constants, what it refuses, and the structs it fills.
#include "backends/linux/ipc_abi.h"

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstring>

#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_registry.h"
#include "core/protocol/wire.h"
#include "core/sem/sem_registry.h"
#include "gtest/gtest.h"

namespace sysv::abi {
namespace {

TEST(GlibcIpcAbiTest, ShmctlCommandsAreTheCoreNumbers) {
  EXPECT_EQ(ShmctlCommand(IPC_RMID), core::kIpcRmid);
  EXPECT_EQ(ShmctlCommand(IPC_SET), core::kIpcSet);
  EXPECT_EQ(ShmctlCommand(IPC_STAT), core::kIpcStat);
  EXPECT_EQ(ShmctlCommand(IPC_INFO), core::kIpcInfo);
  EXPECT_EQ(ShmctlCommand(SHM_LOCK), core::kShmLock);
  EXPECT_EQ(ShmctlCommand(SHM_UNLOCK), core::kShmUnlock);
  EXPECT_EQ(ShmctlCommand(SHM_STAT), core::kShmStat);
  EXPECT_EQ(ShmctlCommand(SHM_INFO), core::kShmInfo);
  EXPECT_EQ(ShmctlCommand(SHM_STAT_ANY), core::kShmStatAny);
}

TEST(GlibcIpcAbiTest, SemctlCommandsAreTheCoreNumbers) {
  EXPECT_EQ(SemctlCommand(IPC_RMID), core::kIpcRmid);
  EXPECT_EQ(SemctlCommand(IPC_SET), core::kIpcSet);
  EXPECT_EQ(SemctlCommand(IPC_STAT), core::kIpcStat);
  EXPECT_EQ(SemctlCommand(IPC_INFO), core::kIpcInfo);
  EXPECT_EQ(SemctlCommand(GETPID), core::kGetPid);
  EXPECT_EQ(SemctlCommand(GETVAL), core::kGetVal);
  EXPECT_EQ(SemctlCommand(GETALL), core::kGetAll);
  EXPECT_EQ(SemctlCommand(GETNCNT), core::kGetNcnt);
  EXPECT_EQ(SemctlCommand(GETZCNT), core::kGetZcnt);
  EXPECT_EQ(SemctlCommand(SETVAL), core::kSetVal);
  EXPECT_EQ(SemctlCommand(SETALL), core::kSetAll);
  EXPECT_EQ(SemctlCommand(SEM_STAT), core::kSemStat);
  EXPECT_EQ(SemctlCommand(SEM_INFO), core::kSemInfo);
  EXPECT_EQ(SemctlCommand(SEM_STAT_ANY), core::kSemStatAny);
}

TEST(GlibcIpcAbiTest, MsgctlCommandsAreTheCoreNumbers) {
  EXPECT_EQ(MsgctlCommand(IPC_RMID), core::kIpcRmid);
  EXPECT_EQ(MsgctlCommand(IPC_SET), core::kIpcSet);
  EXPECT_EQ(MsgctlCommand(IPC_STAT), core::kIpcStat);
  EXPECT_EQ(MsgctlCommand(IPC_INFO), core::kIpcInfo);
  EXPECT_EQ(MsgctlCommand(MSG_STAT), core::kMsgStat);
  EXPECT_EQ(MsgctlCommand(MSG_INFO), core::kMsgInfo);
  EXPECT_EQ(MsgctlCommand(MSG_STAT_ANY), core::kMsgStatAny);
}

// Numbers Linux's ksys_*ctl() answer with "default: return -EINVAL".
TEST(GlibcIpcAbiTest, CommandsLinuxDoesNotHaveAreRefused) {
  for (int cmd : {4, 10, 16, 21, 99, IPC_STAT | 0x100, -1}) {
    EXPECT_EQ(ShmctlCommand(cmd), kNoSuchCommand) << cmd;
    EXPECT_EQ(MsgctlCommand(cmd), kNoSuchCommand) << cmd;
  }
  // semctl has 11..20, shmctl 11..15 and msgctl 11..13.
  for (int cmd : {4, 10, 21, 99, -1}) EXPECT_EQ(SemctlCommand(cmd), kNoSuchCommand) << cmd;
  EXPECT_EQ(MsgctlCommand(SHM_INFO), kNoSuchCommand);
}

TEST(GlibcIpcAbiTest, FlagsPassWhole) {
  EXPECT_EQ(ShmgetFlags(IPC_CREAT | SHM_HUGETLB | 0640), IPC_CREAT | SHM_HUGETLB | 0640);
  EXPECT_EQ(ShmatFlags(SHM_RDONLY | SHM_REMAP), SHM_RDONLY | SHM_REMAP);
  EXPECT_EQ(MsgrcvFlags(MSG_EXCEPT | MSG_COPY | IPC_NOWAIT), MSG_EXCEPT | MSG_COPY | IPC_NOWAIT);
}

TEST(GlibcIpcAbiTest, KeysAreTheProtocolsKeys) {
  for (key_t key : {0, 1, -1, 0x7fffffff, static_cast<key_t>(0xdeadbeef)}) {
    core::Key out = 12345;
    ASSERT_TRUE(ProtocolKey(key, &out));
    EXPECT_EQ(out, key);
  }
}

TEST(GlibcIpcAbiTest, FillIpcPermFillsGlibcsPrivateNames) {
  core::wire::WirePerm perm{};
  perm.key = -559038737;
  perm.uid = 4300;
  perm.gid = 4301;
  perm.cuid = 4302;
  perm.cgid = 4303;
  perm.mode = 01640;
  perm.seq = 7;
  struct ipc_perm out {};
  FillIpcPerm(perm, &out);
  EXPECT_EQ(out.__key, -559038737);
  EXPECT_EQ(out.uid, 4300u);
  EXPECT_EQ(out.gid, 4301u);
  EXPECT_EQ(out.cuid, 4302u);
  EXPECT_EQ(out.cgid, 4303u);
  EXPECT_EQ(out.mode, 01640);
  EXPECT_EQ(out.__seq, 7);
}

TEST(GlibcIpcAbiTest, InfoBytesAreGlibcsStructs) {
  core::wire::ShmCtlReply shm{};
  shm.shmmax = 1 << 20;
  shm.used_ids = 3;
  const InfoBytes limits = ShmInfoBytes(core::kIpcInfo, shm);
  ASSERT_EQ(limits.size, sizeof(struct shminfo));
  struct shminfo shminfo;
  std::memcpy(&shminfo, limits.data, sizeof(shminfo));
  EXPECT_EQ(shminfo.shmmax, 1u << 20);
  const InfoBytes usage = ShmInfoBytes(core::kShmInfo, shm);
  ASSERT_EQ(usage.size, sizeof(struct shm_info));
  struct shm_info info;
  std::memcpy(&info, usage.data, sizeof(info));
  EXPECT_EQ(info.used_ids, 3);
  EXPECT_EQ(ShmInfoBytes(core::kIpcStat, shm).size, 0u);

  core::wire::SemCtlReply sem{};
  sem.semmsl = 32000;
  const InfoBytes seminfo_bytes = SemInfoBytes(sem);
  ASSERT_EQ(seminfo_bytes.size, sizeof(struct seminfo));
  struct seminfo seminfo;
  std::memcpy(&seminfo, seminfo_bytes.data, sizeof(seminfo));
  EXPECT_EQ(seminfo.semmsl, 32000);

  core::wire::MsgCtlReply msg{};
  msg.msgmnb = 16384;
  const InfoBytes msginfo_bytes = MsgInfoBytes(msg);
  ASSERT_EQ(msginfo_bytes.size, sizeof(struct msginfo));
  struct msginfo msginfo;
  std::memcpy(&msginfo, msginfo_bytes.data, sizeof(msginfo));
  EXPECT_EQ(msginfo.msgmnb, 16384);
}

// What a tool reads back from an info command's bytes is what was written.
TEST(GlibcIpcAbiTest, InfoBytesReadBack) {
  core::wire::ShmCtlReply shm{};
  shm.shmmni = 4096;
  shm.used_ids = 5;
  shm.swap_successes = 9;
  EXPECT_EQ(ShmReplyOfInfo(core::kIpcInfo, ShmInfoBytes(core::kIpcInfo, shm).data).shmmni, 4096u);
  const core::wire::ShmCtlReply usage = ShmReplyOfInfo(core::kShmInfo, ShmInfoBytes(core::kShmInfo, shm).data);
  EXPECT_EQ(usage.used_ids, 5);
  EXPECT_EQ(usage.swap_successes, 9u);
  core::wire::SemCtlReply sem{};
  sem.semusz = 2;
  sem.semaem = 7;
  const core::wire::SemCtlReply sem_back = SemReplyOfInfo(SemInfoBytes(sem).data);
  EXPECT_EQ(sem_back.semusz, 2);
  EXPECT_EQ(sem_back.semaem, 7);
  core::wire::MsgCtlReply msg{};
  msg.msgpool = 3;
  msg.msgtql = 11;
  const core::wire::MsgCtlReply msg_back = MsgReplyOfInfo(MsgInfoBytes(msg).data);
  EXPECT_EQ(msg_back.msgpool, 3);
  EXPECT_EQ(msg_back.msgtql, 11);
}

TEST(GlibcIpcAbiTest, CallerCommandsAreTheTablesInverse) {
  EXPECT_EQ(ShmctlCallerCommand(core::kShmStatAny), SHM_STAT_ANY);
  EXPECT_EQ(SemctlCallerCommand(core::kGetNcnt), GETNCNT);
  EXPECT_EQ(MsgctlCallerCommand(core::kMsgInfo), MSG_INFO);
  EXPECT_EQ(MsgctlCallerCommand(core::kShmInfo + 100), kNoSuchCommand);
}

TEST(GlibcIpcAbiTest, KeyAndByteCountReadGlibcsPrivateNames) {
  struct msqid_ds ds {};
  ds.msg_perm.__key = 77;
  SetMsgCbytes(&ds, 4242);
  EXPECT_EQ(KeyOf(ds.msg_perm), 77);
  EXPECT_EQ(MsgCbytes(ds), 4242u);
}

TEST(GlibcIpcAbiTest, Name) { EXPECT_STREQ(kName, "glibc"); }

}  // namespace
}  // namespace sysv::abi
