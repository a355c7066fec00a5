#include "core/ipc/credentials.h"

#include <algorithm>
#include <utility>

namespace sysv::core {

bool Credentials::InGroup(uint32_t group) const {
  return group == gid || std::find(groups.begin(), groups.end(), group) != groups.end();
}

namespace {

bool InRanges(const std::vector<Credentials::IdRange>& ranges, uint32_t id) {
  if (id == UINT32_MAX) return false;  // never a valid id
  if (ranges.empty()) return true;
  for (const Credentials::IdRange& range : ranges) {
    if (id >= range.first && id - range.first < range.count) return true;
  }
  return false;
}

}  // namespace

bool Credentials::MapsUid(uint32_t id) const { return InRanges(uid_map, id); }
bool Credentials::MapsGid(uint32_t id) const { return InRanges(gid_map, id); }

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
  creds.cap_sys_resource = root;
  creds.cap_checkpoint_restore = root;
  return creds;
}

}  // namespace sysv::core
