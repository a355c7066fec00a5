// The DragonFly BSD x86_64 binary layouts and constants that the portable
// parts of this backend decode or build as bytes, so that they compile and
// are tested on Linux, where these structs do not exist.
//
// Each value names the header it comes from (paths in DragonFly's source
// tree; installed under /usr/include). dragonfly_abi_check.cc, built only for
// DragonFly (and syntax-checked here by tools in README.md), static_asserts
// every one of them against the real headers with offsetof/sizeof, so a
// DragonFly release that changed one would fail to compile rather than
// misread credentials.
//
// Only x86_64 is described: it is DragonFly's only architecture.
#ifndef SYSV_BACKENDS_DRAGONFLY_DRAGONFLY_ABI_H_
#define SYSV_BACKENDS_DRAGONFLY_DRAGONFLY_ABI_H_

#include <cstddef>
#include <cstdint>

namespace sysv::dragonfly_backend::abi {

// --- sys/sys/socket.h: control messages ------------------------------------

inline constexpr int kSolSocket = 0xffff;  // SOL_SOCKET (Linux: 1)
inline constexpr int kScmRights = 0x01;    // SCM_RIGHTS
inline constexpr int kScmCreds = 0x03;     // SCM_CREDS (no Linux equivalent)

// __ALIGNBYTES, sys/cpu/x86_64/include/alignbytes.h: sizeof(long) - 1.
inline constexpr size_t kAlignBytes = 7;
constexpr size_t CmsgAlign(size_t n) {  // _CMSG_ALIGN
  return (n + kAlignBytes) & ~kAlignBytes;
}

// struct cmsghdr { socklen_t cmsg_len; int cmsg_level; int cmsg_type; }:
// 12 bytes, where Linux's is 16 (its cmsg_len is a size_t).
inline constexpr size_t kCmsghdrSize = 12;
inline constexpr size_t kCmsgLenOffset = 0;    // uint32_t (socklen_t)
inline constexpr size_t kCmsgLevelOffset = 4;  // int32_t
inline constexpr size_t kCmsgTypeOffset = 8;   // int32_t
// CMSG_DATA(cmsg) - (unsigned char*)cmsg, CMSG_LEN(n), CMSG_SPACE(n).
inline constexpr size_t kCmsgDataOffset = CmsgAlign(kCmsghdrSize);  // 16
constexpr size_t CmsgLen(size_t n) { return kCmsgDataOffset + n; }
constexpr size_t CmsgSpace(size_t n) { return kCmsgDataOffset + CmsgAlign(n); }

// struct cmsgcred, filled in by the kernel for an SCM_CREDS message
// (sys/kern/uipc_usrreq.c:unp_internalize()):
//   pid_t cmcred_pid; uid_t cmcred_uid (real); uid_t cmcred_euid;
//   gid_t cmcred_gid (real); short cmcred_ngroups;
//   gid_t cmcred_groups[CMGROUP_MAX] (cmcred_groups[0] is the effective gid).
inline constexpr int kCmgroupMax = 16;  // CMGROUP_MAX
inline constexpr size_t kCmsgcredSize = 84;
inline constexpr size_t kCmcredPidOffset = 0;
inline constexpr size_t kCmcredUidOffset = 4;
inline constexpr size_t kCmcredEuidOffset = 8;
inline constexpr size_t kCmcredGidOffset = 12;
inline constexpr size_t kCmcredNgroupsOffset = 16;  // int16_t
inline constexpr size_t kCmcredGroupsOffset = 20;

// --- sys/sys/ucred.h, sys/sys/un.h: LOCAL_PEERCRED ---------------------------

// getsockopt(fd, 0, LOCAL_PEERCRED, &xucred, &len): level 0, as DragonFly's
// own lib/libc/gen/getpeereid.c passes it (there is no SOL_LOCAL).
inline constexpr int kSolLocal = 0;
inline constexpr int kLocalPeercred = 0x001;  // LOCAL_PEERCRED, sys/sys/un.h

// struct xucred { u_int cr_version; uid_t cr_uid (effective);
//   short cr_ngroups; gid_t cr_groups[NGROUPS]; void *_cr_unused1; }:
// cr_groups[0] is the effective gid (#define cr_gid cr_groups[0]). No pid.
inline constexpr uint32_t kXucredVersion = 0;  // XUCRED_VERSION
inline constexpr int kNgroups = 16;  // NGROUPS = NGROUPS_MAX, sys/sys/syslimits.h
inline constexpr size_t kXucredSize = 88;
inline constexpr size_t kXucredVersionOffset = 0;
inline constexpr size_t kXucredUidOffset = 4;
inline constexpr size_t kXucredNgroupsOffset = 8;  // int16_t
inline constexpr size_t kXucredGroupsOffset = 12;

// --- sys/sys/kinfo.h, sys/sys/sysctl.h: one process's kinfo_proc ----------

// sysctl name {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid}.
inline constexpr int kCtlKern = 1;       // CTL_KERN
inline constexpr int kKernProc = 14;     // KERN_PROC
inline constexpr int kKernProcPid = 1;   // KERN_PROC_PID

// The fields of struct kinfo_proc we read; the struct is larger (its size is
// checked by the DragonFly shim, which alone sees the real type).
//   enum procstat kp_stat;          (int)
//   struct timeval kp_start;        (time_t tv_sec; suseconds_t tv_usec:
//                                    both 64-bit), p->p_start, the fork
//                                    time by microtime() (kern_fork.c)
//   pid_t kp_pid;
inline constexpr size_t kKpStatOffset = 12;
inline constexpr size_t kKpStartSecOffset = 96;
inline constexpr size_t kKpStartUsecOffset = 104;
inline constexpr size_t kKpPidOffset = 220;
// The bytes a record must have for the fields above.
inline constexpr size_t kKinfoProcMinSize = kKpPidOffset + 4;

// Further fields, read by ParseKinfoOwner(): `uid_t kp_uid` (the effective
// uid; kp_ruid is the real one) and `pid_t kp_ppid`.
inline constexpr size_t kKpUidOffset = 132;
inline constexpr size_t kKpPpidOffset = 224;

// With KERN_PROC_FLAG_LWP or'ed into KERN_PROC_PID, sysctl answers one
// record per LWP (sys/kern/kern_proc.c:sysctl_out_proc()), each with that
// LWP in the trailing `struct kinfo_lwp kp_lwp`, whose first fields are
// `pid_t kl_pid; lwpid_t kl_tid;` (both int). Without the flag kl_tid is -1.
inline constexpr int kKernProcFlagLwp = 0x10;  // KERN_PROC_FLAG_LWP
inline constexpr size_t kKpLwpPidOffset = 664;
inline constexpr size_t kKpLwpTidOffset = 668;
// The bytes a record must have for kp_lwp.kl_tid too.
inline constexpr size_t kKinfoLwpMinSize = kKpLwpTidOffset + 4;

// PID_MAX, sys/sys/proc.h: pids are 1..999999, so a pid fits in 20 bits.
inline constexpr int kPidMax = 999999;

// enum procstat, sys/sys/proc_common.h.
inline constexpr int kSidl = 1;     // being created by fork
inline constexpr int kSactive = 2;
inline constexpr int kSstop = 3;
inline constexpr int kSzomb = 4;    // never reported: see process_watch.h
inline constexpr int kScore = 5;    // dumping core

}  // namespace sysv::dragonfly_backend::abi

#endif  // SYSV_BACKENDS_DRAGONFLY_DRAGONFLY_ABI_H_
