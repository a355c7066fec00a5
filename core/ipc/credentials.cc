#include "core/ipc/credentials.h"

#include <algorithm>
#include <utility>

namespace sysv::core {

bool Credentials::InGroup(uint32_t group) const {
  return group == gid || std::find(groups.begin(), groups.end(), group) != groups.end();
}

Credentials Credentials::ForIds(int32_t pid, uint32_t uid, uint32_t gid,
                                std::vector<uint32_t> groups) {
  Credentials creds;
  creds.pid = pid;
  creds.uid = uid;
  creds.gid = gid;
  creds.groups = std::move(groups);
  const bool root = uid == 0;
  creds.cap_ipc_owner = root;
  creds.cap_sys_admin = root;
  creds.cap_ipc_lock = root;
  return creds;
}

}  // namespace sysv::core
