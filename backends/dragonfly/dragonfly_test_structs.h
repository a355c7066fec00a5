// Test copies of the DragonFly structs that the portable code decodes from
// bytes, declared again from the text of DragonFly's headers with the same
// field types on LP64, for building synthetic input on Linux. testonly.
//
// They are laid out by the compiler independently of dragonfly_abi.h, and
// the static_asserts below compare the two, so a wrong offset in
// dragonfly_abi.h fails here on Linux too (dragonfly_abi_check.cc compares
// dragonfly_abi.h with the real headers on DragonFly).
#ifndef SYSV_BACKENDS_DRAGONFLY_DRAGONFLY_TEST_STRUCTS_H_
#define SYSV_BACKENDS_DRAGONFLY_DRAGONFLY_TEST_STRUCTS_H_

#include <cstddef>
#include <cstdint>

#include "backends/dragonfly/dragonfly_abi.h"

namespace sysv::dragonfly_backend::testing {

// sys/sys/ucred.h
struct TestXucred {
  uint32_t cr_version;   // u_int
  uint32_t cr_uid;       // uid_t
  int16_t cr_ngroups;    // short
  uint32_t cr_groups[16];  // gid_t[NGROUPS]
  void* cr_unused1;
};
static_assert(sizeof(TestXucred) == abi::kXucredSize);
static_assert(offsetof(TestXucred, cr_version) == abi::kXucredVersionOffset);
static_assert(offsetof(TestXucred, cr_uid) == abi::kXucredUidOffset);
static_assert(offsetof(TestXucred, cr_ngroups) == abi::kXucredNgroupsOffset);
static_assert(offsetof(TestXucred, cr_groups) == abi::kXucredGroupsOffset);

// sys/sys/socket.h
struct TestCmsgcred {
  int32_t cmcred_pid;      // pid_t
  uint32_t cmcred_uid;     // uid_t
  uint32_t cmcred_euid;    // uid_t
  uint32_t cmcred_gid;     // gid_t
  int16_t cmcred_ngroups;  // short
  uint32_t cmcred_groups[16];  // gid_t[CMGROUP_MAX]
};
static_assert(sizeof(TestCmsgcred) == abi::kCmsgcredSize);
static_assert(offsetof(TestCmsgcred, cmcred_pid) == abi::kCmcredPidOffset);
static_assert(offsetof(TestCmsgcred, cmcred_uid) == abi::kCmcredUidOffset);
static_assert(offsetof(TestCmsgcred, cmcred_euid) == abi::kCmcredEuidOffset);
static_assert(offsetof(TestCmsgcred, cmcred_gid) == abi::kCmcredGidOffset);
static_assert(offsetof(TestCmsgcred, cmcred_ngroups) ==
              abi::kCmcredNgroupsOffset);
static_assert(offsetof(TestCmsgcred, cmcred_groups) == abi::kCmcredGroupsOffset);

// sys/sys/socket.h
struct TestCmsghdr {
  uint32_t cmsg_len;  // socklen_t
  int32_t cmsg_level;
  int32_t cmsg_type;
};
static_assert(sizeof(TestCmsghdr) == abi::kCmsghdrSize);
static_assert(offsetof(TestCmsghdr, cmsg_len) == abi::kCmsgLenOffset);
static_assert(offsetof(TestCmsghdr, cmsg_level) == abi::kCmsgLevelOffset);
static_assert(offsetof(TestCmsghdr, cmsg_type) == abi::kCmsgTypeOffset);
// _CMSG_ALIGN(sizeof(struct cmsghdr)) with __ALIGNBYTES = sizeof(long) - 1.
static_assert(abi::kCmsgDataOffset ==
              ((sizeof(TestCmsghdr) + sizeof(long) - 1) & ~(sizeof(long) - 1)));

}  // namespace sysv::dragonfly_backend::testing

#endif  // SYSV_BACKENDS_DRAGONFLY_DRAGONFLY_TEST_STRUCTS_H_
