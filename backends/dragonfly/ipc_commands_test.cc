// DragonFly's command table (ipc_commands.h), checked on Linux against
// DragonFly's numbers copied here from its headers, at DragonFly commit
// f875a8eec79e1ede24a447f231db7c2b058e68cd (lileding/DragonFlyBSD mirror):
// sys/sys/ipc.h, sys/sys/shm.h, sys/sys/sem.h, sys/sys/msg.h. (ipc_abi.h
// static_asserts ipc_commands.h against the real headers where they exist.)
#include "backends/dragonfly/ipc_commands.h"

#include <initializer_list>
#include <span>

#include "backends/common/ipc_command_table.h"
#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_queue.h"
#include "core/msg/msg_registry.h"
#include "core/sem/sem_registry.h"
#include "gtest/gtest.h"

namespace sysv::dragonfly_backend {
namespace {

using backend::kNoSuchCommand;
using backend::TranslateCommand;

// From DragonFly's headers (f875a8e), not from ipc_commands.h.
constexpr int kDflyIpcRmid = 0;   // sys/ipc.h
constexpr int kDflyIpcSet = 1;    // sys/ipc.h
constexpr int kDflyIpcStat = 2;   // sys/ipc.h
constexpr int kDflyGetNcnt = 3;   // sys/sem.h
constexpr int kDflyGetPid = 4;    // sys/sem.h
constexpr int kDflyGetVal = 5;    // sys/sem.h
constexpr int kDflyGetAll = 6;    // sys/sem.h
constexpr int kDflyGetZcnt = 7;   // sys/sem.h
constexpr int kDflySetVal = 8;    // sys/sem.h
constexpr int kDflySetAll = 9;    // sys/sem.h
constexpr int kDflySemStat = 10;  // sys/sem.h, __BSD_VISIBLE
constexpr int kDflyIpcCreat = 001000;
constexpr int kDflyIpcExcl = 002000;
constexpr int kDflyIpcNowait = 004000;
constexpr int kDflyShmRdonly = 010000;  // sys/shm.h
constexpr int kDflyShmRnd = 020000;     // sys/shm.h
constexpr int kDflySemUndo = 010000;    // sys/sem.h
constexpr int kDflyMsgNoError = 010000;  // sys/msg.h

TEST(DragonFlyIpcCommandsTest, ValuesAreDragonFlysHeaders) {
  EXPECT_EQ(kIpcRmid, kDflyIpcRmid);
  EXPECT_EQ(kIpcSet, kDflyIpcSet);
  EXPECT_EQ(kIpcStat, kDflyIpcStat);
  EXPECT_EQ(kGetNcnt, kDflyGetNcnt);
  EXPECT_EQ(kGetPid, kDflyGetPid);
  EXPECT_EQ(kGetVal, kDflyGetVal);
  EXPECT_EQ(kGetAll, kDflyGetAll);
  EXPECT_EQ(kGetZcnt, kDflyGetZcnt);
  EXPECT_EQ(kSetVal, kDflySetVal);
  EXPECT_EQ(kSetAll, kDflySetAll);
  EXPECT_EQ(kSemStat, kDflySemStat);
  EXPECT_EQ(kIpcCreat, kDflyIpcCreat);
  EXPECT_EQ(kIpcExcl, kDflyIpcExcl);
  EXPECT_EQ(kIpcNowait, kDflyIpcNowait);
  EXPECT_EQ(kShmRdonly, kDflyShmRdonly);
  EXPECT_EQ(kShmRnd, kDflyShmRnd);
  EXPECT_EQ(kSemUndo, kDflySemUndo);
  EXPECT_EQ(kMsgNoError, kDflyMsgNoError);
}

TEST(DragonFlyIpcCommandsTest, SemctlValueCommandsAreTranslated) {
  // DragonFly's GETNCNT is 3, Linux's IPC_INFO: it must mean GETNCNT.
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflyGetNcnt), core::kGetNcnt);
  EXPECT_NE(TranslateCommand(kSemctlCommands, kDflyGetNcnt), core::kIpcInfo);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflyGetPid), core::kGetPid);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflyGetVal), core::kGetVal);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflyGetAll), core::kGetAll);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflyGetZcnt), core::kGetZcnt);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflySetVal), core::kSetVal);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflySetAll), core::kSetAll);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflySemStat), core::kSemStat);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflyIpcRmid), core::kIpcRmid);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflyIpcSet), core::kIpcSet);
  EXPECT_EQ(TranslateCommand(kSemctlCommands, kDflyIpcStat), core::kIpcStat);
}

TEST(DragonFlyIpcCommandsTest, ShmctlAndMsgctlHaveTheThreeCommonCommands) {
  for (std::span<const backend::IpcCommand> table : std::initializer_list<std::span<const backend::IpcCommand>>{kShmctlCommands, kMsgctlCommands}) {
    EXPECT_EQ(TranslateCommand(table, kDflyIpcRmid), core::kIpcRmid);
    EXPECT_EQ(TranslateCommand(table, kDflyIpcSet), core::kIpcSet);
    EXPECT_EQ(TranslateCommand(table, kDflyIpcStat), core::kIpcStat);
  }
}

// What DragonFly's kernel answers with EINVAL ("default:"): Linux's extra
// commands, by their Linux numbers, mean nothing there.
TEST(DragonFlyIpcCommandsTest, LinuxOnlyCommandsAreRefused) {
  for (int cmd = 3; cmd <= 20; ++cmd) {
    EXPECT_EQ(TranslateCommand(kShmctlCommands, cmd), kNoSuchCommand) << cmd;  // IPC_INFO, SHM_*
    EXPECT_EQ(TranslateCommand(kMsgctlCommands, cmd), kNoSuchCommand) << cmd;  // IPC_INFO, MSG_*
  }
  for (int cmd = 11; cmd <= 20; ++cmd) {
    EXPECT_EQ(TranslateCommand(kSemctlCommands, cmd), kNoSuchCommand) << cmd;  // Linux's GETPID..SEM_STAT_ANY
  }
  EXPECT_EQ(TranslateCommand(kSemctlCommands, -1), kNoSuchCommand);
}

TEST(DragonFlyIpcCommandsTest, TablesAreOneToOne) {
  for (std::span<const backend::IpcCommand> table :
       std::initializer_list<std::span<const backend::IpcCommand>>{kShmctlCommands, kSemctlCommands,
                                                                   kMsgctlCommands}) {
    for (const backend::IpcCommand& entry : table) {
      EXPECT_EQ(backend::CallerCommand(table, entry.core), entry.caller);
      EXPECT_EQ(TranslateCommand(table, entry.caller), entry.core);
    }
  }
  EXPECT_EQ(backend::CallerCommand(kSemctlCommands, core::kSemInfo), kNoSuchCommand);
}

// Bits DragonFly's kernel ignores are dropped: the core would give them
// Linux's meaning.
TEST(DragonFlyIpcCommandsTest, FlagsDragonFlyIgnoresAreDropped) {
  EXPECT_EQ(kShmgetFlags & core::kShmHugetlb, 0);
  EXPECT_EQ(kShmgetFlags & core::kShmNoreserve, 0);
  EXPECT_EQ(kShmgetFlags & (kDflyIpcCreat | kDflyIpcExcl | 0777), kDflyIpcCreat | kDflyIpcExcl | 0777);
  EXPECT_EQ(kShmatFlags & (core::kShmRemap | core::kShmExec), 0);
  EXPECT_EQ(kShmatFlags, kDflyShmRdonly | kDflyShmRnd);
  EXPECT_EQ(kMsgrcvFlags & (core::kMsgExcept | core::kMsgCopy), 0);
  EXPECT_EQ(kMsgrcvFlags, kDflyIpcNowait | kDflyMsgNoError);
}

}  // namespace
}  // namespace sysv::dragonfly_backend
