// The System V IPC constants of the Linux ABI, named for the core.
//
// The core never includes an OS header, so it cannot use <sys/ipc.h>. These
// are Linux's values (the reference semantics); compat/ static_asserts that
// they equal the platform's own where the platform is Linux, and translates
// where it is not.
#ifndef SYSV_CORE_IPC_IPC_CONSTANTS_H_
#define SYSV_CORE_IPC_IPC_CONSTANTS_H_

#include <cstdint>

namespace sysv::core {

using Key = int32_t;  // key_t
inline constexpr Key kIpcPrivate = 0;

// Flags of *get (low 9 bits are the permission bits).
inline constexpr int kIpcCreat = 01000;
inline constexpr int kIpcExcl = 02000;
inline constexpr int kIpcNowait = 04000;
inline constexpr int kPermissionBits = 0777;  // S_IRWXUGO

// Access requested of ipcperms(): the "owner" bits; the rule shifts them.
inline constexpr int kAccessRead = 0400;   // S_IRUGO's owner bit
inline constexpr int kAccessWrite = 0200;  // S_IWUGO's owner bit

// Commands common to every *ctl.
inline constexpr int kIpcRmid = 0;
inline constexpr int kIpcSet = 1;
inline constexpr int kIpcStat = 2;
inline constexpr int kIpcInfo = 3;

// shmget flags.
inline constexpr int kShmHugetlb = 04000;
inline constexpr int kShmNoreserve = 010000;
// SHM_HUGETLB's huge page size, as log2(bytes), in bits 26..31 of the flags.
inline constexpr int kShmHugeShift = 26;
inline constexpr int kShmHugeMask = 0x3f;
// shmat flags.
inline constexpr int kShmRdonly = 010000;
inline constexpr int kShmRnd = 020000;
inline constexpr int kShmRemap = 040000;
inline constexpr int kShmExec = 0100000;
// shmctl commands.
inline constexpr int kShmLock = 11;
inline constexpr int kShmUnlock = 12;
inline constexpr int kShmStat = 13;
inline constexpr int kShmInfo = 14;
inline constexpr int kShmStatAny = 15;
// Bits of shm_perm.mode beyond the permission bits.
inline constexpr uint32_t kShmDest = 01000;
inline constexpr uint32_t kShmLocked = 02000;

// SHMLBA on x86-64 and most Linux targets: the page size.
inline constexpr uint64_t kShmLba = 4096;
inline constexpr uint64_t kPageSize = 4096;

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_IPC_CONSTANTS_H_
