// Checks every value of dragonfly_abi.h against DragonFly's real headers.
// DragonFly only (BUILD: target_compatible_with //build_defs:dragonfly_os);
// it has no code, only static_asserts, so compiling it is the whole check.
#include <sys/types.h>
#include <sys/param.h>
#include <sys/socket.h>
#include <sys/sysctl.h>
#include <sys/time.h>
#include <sys/ucred.h>
#include <sys/un.h>
#include <sys/user.h>

#include <cstddef>
#include <cstdint>

#include "backends/dragonfly/dragonfly_abi.h"

namespace sysv::dragonfly_backend::abi {
namespace {

// sys/sys/socket.h
static_assert(kSolSocket == SOL_SOCKET);
static_assert(kScmRights == SCM_RIGHTS);
static_assert(kScmCreds == SCM_CREDS);
static_assert(kAlignBytes == __ALIGNBYTES);
static_assert(kCmsghdrSize == sizeof(struct cmsghdr));
static_assert(kCmsgLenOffset == offsetof(struct cmsghdr, cmsg_len));
static_assert(kCmsgLevelOffset == offsetof(struct cmsghdr, cmsg_level));
static_assert(kCmsgTypeOffset == offsetof(struct cmsghdr, cmsg_type));
static_assert(sizeof(socklen_t) == 4);
static_assert(CmsgLen(0) == CMSG_LEN(0));
static_assert(CmsgLen(sizeof(int) * 3) == CMSG_LEN(sizeof(int) * 3));
static_assert(CmsgSpace(sizeof(int) * 3) == CMSG_SPACE(sizeof(int) * 3));
static_assert(CmsgLen(sizeof(struct cmsgcred)) ==
              CMSG_LEN(sizeof(struct cmsgcred)));
static_assert(CmsgSpace(sizeof(struct cmsgcred)) ==
              CMSG_SPACE(sizeof(struct cmsgcred)));

static_assert(kCmgroupMax == CMGROUP_MAX);
static_assert(kCmsgcredSize == sizeof(struct cmsgcred));
static_assert(kCmcredPidOffset == offsetof(struct cmsgcred, cmcred_pid));
static_assert(kCmcredUidOffset == offsetof(struct cmsgcred, cmcred_uid));
static_assert(kCmcredEuidOffset == offsetof(struct cmsgcred, cmcred_euid));
static_assert(kCmcredGidOffset == offsetof(struct cmsgcred, cmcred_gid));
static_assert(kCmcredNgroupsOffset ==
              offsetof(struct cmsgcred, cmcred_ngroups));
static_assert(kCmcredGroupsOffset == offsetof(struct cmsgcred, cmcred_groups));
static_assert(sizeof(pid_t) == 4 && sizeof(uid_t) == 4 && sizeof(gid_t) == 4);

// sys/sys/ucred.h, sys/sys/un.h
static_assert(kLocalPeercred == LOCAL_PEERCRED);
static_assert(kXucredVersion == XUCRED_VERSION);
static_assert(kNgroups == NGROUPS);
static_assert(kXucredSize == sizeof(struct xucred));
static_assert(kXucredVersionOffset == offsetof(struct xucred, cr_version));
static_assert(kXucredUidOffset == offsetof(struct xucred, cr_uid));
static_assert(kXucredNgroupsOffset == offsetof(struct xucred, cr_ngroups));
static_assert(kXucredGroupsOffset == offsetof(struct xucred, cr_groups));

// sys/sys/sysctl.h, sys/sys/kinfo.h (through sys/user.h, as kinfo.h asks)
static_assert(kCtlKern == CTL_KERN);
static_assert(kKernProc == KERN_PROC);
static_assert(kKernProcPid == KERN_PROC_PID);
static_assert(kKpStatOffset == offsetof(struct kinfo_proc, kp_stat));
static_assert(sizeof(((struct kinfo_proc*)nullptr)->kp_stat) == 4);
static_assert(kKpStartSecOffset ==
              offsetof(struct kinfo_proc, kp_start) +
                  offsetof(struct timeval, tv_sec));
static_assert(kKpStartUsecOffset ==
              offsetof(struct kinfo_proc, kp_start) +
                  offsetof(struct timeval, tv_usec));
static_assert(sizeof(time_t) == 8 && sizeof(suseconds_t) == 8);
static_assert(kKpPidOffset == offsetof(struct kinfo_proc, kp_pid));
static_assert(kKinfoProcMinSize <= sizeof(struct kinfo_proc));
static_assert(kKpUidOffset == offsetof(struct kinfo_proc, kp_uid));
static_assert(kKpPpidOffset == offsetof(struct kinfo_proc, kp_ppid));
static_assert(sizeof(uid_t) == 4);
static_assert(kKernProcFlagLwp == KERN_PROC_FLAG_LWP);
static_assert(kKpLwpPidOffset ==
              offsetof(struct kinfo_proc, kp_lwp) + offsetof(struct kinfo_lwp, kl_pid));
static_assert(kKpLwpTidOffset ==
              offsetof(struct kinfo_proc, kp_lwp) + offsetof(struct kinfo_lwp, kl_tid));
static_assert(sizeof(lwpid_t) == 4 && sizeof(pid_t) == 4);
static_assert(kKinfoLwpMinSize <= sizeof(struct kinfo_proc));
static_assert(kPidMax == PID_MAX);
static_assert(kSidl == SIDL && kSactive == SACTIVE && kSstop == SSTOP &&
              kSzomb == SZOMB && kScore == SCORE);

}  // namespace
}  // namespace sysv::dragonfly_backend::abi
