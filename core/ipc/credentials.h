// Who is asking: the credentials of the calling process at the moment of a
// call, as the kernel reports them (never as a client claims them).
#ifndef SYSV_CORE_IPC_CREDENTIALS_H_
#define SYSV_CORE_IPC_CREDENTIALS_H_

#include <cstdint>
#include <vector>

namespace sysv::core {

struct Credentials {
  int32_t pid = 0;
  uint32_t uid = 0;  // effective uid (current_euid())
  uint32_t gid = 0;  // effective gid
  std::vector<uint32_t> groups;  // supplementary groups
  // Capabilities the kernel would test. libsysv grants them to euid 0 only.
  bool cap_ipc_owner = false;  // bypasses ipcperms()
  bool cap_sys_admin = false;  // IPC_SET/IPC_RMID on any object
  bool cap_ipc_lock = false;   // SHM_LOCK without owning the segment
  bool cap_sys_resource = false;  // msg_qbytes above MSGMNB
  bool cap_checkpoint_restore = false;  // writes *_next_id (core/ipc/sysctl.h)

  // The caller's user namespace, as /proc/<pid>/uid_map and gid_map give it:
  // ranges of ids valid there. Empty means the initial namespace, where every
  // id but (uid_t)-1 is valid.
  struct IdRange {
    uint32_t first = 0;
    uint32_t count = 0;
  };
  std::vector<IdRange> uid_map;
  std::vector<IdRange> gid_map;

  // make_kuid()/make_kgid() succeed: the id means something in the caller's
  // user namespace (IPC_SET refuses others with EINVAL).
  bool MapsUid(uint32_t id) const;
  bool MapsGid(uint32_t id) const;

  // in_group_p(): the effective gid or any supplementary group.
  bool InGroup(uint32_t group) const;

  // Credentials as the kernel derives capabilities for them: root has all.
  static Credentials ForIds(int32_t pid, uint32_t uid, uint32_t gid,
                            std::vector<uint32_t> groups);
};

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_CREDENTIALS_H_
