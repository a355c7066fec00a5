#include "core/ipc/proc_format.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace sysv::core {
namespace {

// The expected lines are copied from this machine's kernel (6.18, x86-64):
// `cat /proc/sysvipc/*` after `ipcmk -M 100`, `ipcmk -S 2` and `ipcmk -Q`.

TEST(ProcFormatTest, ShmLikeTheKernel) {
  ShmProcRow row;
  row.perm.key = 593943375;
  row.perm.id = 63;
  row.perm.mode = 0644;
  row.segsz = 100;
  row.cpid = 7512;
  row.ctime = 1796637563;
  const ShmProcRow rows[] = {row};
  EXPECT_EQ(ShmProcText(rows),
            "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      "
            "atime      dtime      ctime                   rss                  swap\n"
            " 593943375         63   644                   100  7512     0      0     0     0     0     0          "
            "0          0 1796637563                     0                     0\n");
}

TEST(ProcFormatTest, ShmModeKeepsDestAndLockedBits) {
  ShmProcRow row;
  row.perm.mode = 01000 | 02000 | 0600;  // SHM_DEST | SHM_LOCKED
  const ShmProcRow rows[] = {row};
  EXPECT_NE(ShmProcText(rows).find("  3600 "), std::string::npos);
}

TEST(ProcFormatTest, SemLikeTheKernel) {
  SemProcRow row;
  row.perm.key = -142887348;
  row.perm.id = 0;
  row.perm.mode = 0644;
  row.nsems = 2;
  row.ctime = 1796637563;
  const SemProcRow rows[] = {row};
  EXPECT_EQ(SemProcText(rows),
            "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
            "-142887348          0   644          2     0     0     0     0          0 1796637563\n");
}

TEST(ProcFormatTest, MsgLikeTheKernel) {
  MsgProcRow row;
  row.perm.key = 26402115;
  row.perm.mode = 0644;
  row.ctime = 1796637563;
  const MsgProcRow rows[] = {row};
  EXPECT_EQ(MsgProcText(rows),
            "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      "
            "rtime      ctime\n"
            "  26402115          0   644           0          0     0     0     0     0     0     0          0     "
            "     0 1796637563\n");
}

TEST(ProcFormatTest, EmptyFilesAreTheHeaderAlone) {
  EXPECT_EQ(SemProcText({}), "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n");
}

TEST(ProcFormatTest, WideValuesPushTheColumnsAsPrintfDoes) {
  MsgProcRow row;
  row.perm.id = 2147483647;
  row.lspid = 4194304;  // wider than %5u
  row.perm.uid = 4294967294u;
  const MsgProcRow rows[] = {row};
  const std::string text = MsgProcText(rows);
  EXPECT_NE(text.find(" 2147483647  "), std::string::npos);
  EXPECT_NE(text.find(" 4194304 "), std::string::npos);
  EXPECT_NE(text.find(" 4294967294 "), std::string::npos);
}

TEST(ProcFormatTest, NegativePidsAndTimesPrintUnsigned) {
  ShmProcRow row;
  row.cpid = -1;
  row.atime = -1;
  const ShmProcRow rows[] = {row};
  const std::string text = ShmProcText(rows);
  EXPECT_NE(text.find(" 4294967295 "), std::string::npos);
  EXPECT_NE(text.find(" 18446744073709551615 "), std::string::npos);
}

TEST(ProcFormatTest, SysctlsLikeTheKernel) {
  const uint64_t shmmax[] = {18446744073692774399u};
  EXPECT_EQ(UnsignedSysctlText(shmmax), "18446744073692774399\n");
  const int64_t sem[] = {32000, 1024000000, 500, 32000};
  EXPECT_EQ(IntSysctlText(sem), "32000\t1024000000\t500\t32000\n");
  const int64_t next_id[] = {-1};
  EXPECT_EQ(IntSysctlText(next_id), "-1\n");
}

}  // namespace
}  // namespace sysv::core
