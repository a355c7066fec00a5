#include "core/ipc/limits.h"

#include <cerrno>

#include "absl/strings/str_format.h"
#include "core/ipc/errno_status.h"

namespace sysv::core {
namespace {

absl::Status CheckCount(const char* name, int64_t value, int64_t max) {
  if (value < 0 || value > max) {
    return ErrnoStatus(EINVAL, absl::StrFormat("limit %s=%d is outside [0, %d]", name, value, max));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status NamespaceLimits::Validate() const {
  for (absl::Status status : {
           CheckCount("shmmni", shm.shmmni, kIpcMni),
           CheckCount("semmni", sem.semmni, kIpcMni),
           CheckCount("semmsl", sem.semmsl, INT32_MAX),
           CheckCount("semmns", sem.semmns, INT32_MAX),
           CheckCount("semopm", sem.semopm, INT32_MAX),
           CheckCount("semvmx", sem.semvmx, 32767),
           CheckCount("semaem", sem.semaem, 32767),
           CheckCount("msgmni", msg.msgmni, kIpcMni),
           CheckCount("msgmax", msg.msgmax, INT32_MAX),
           CheckCount("msgmnb", msg.msgmnb, INT32_MAX),
       }) {
    if (!status.ok()) return status;
  }
  if (shm.shmmin != 1) {
    return ErrnoStatus(EINVAL, "limit shmmin is fixed at 1, as in Linux");
  }
  return absl::OkStatus();
}

}  // namespace sysv::core
