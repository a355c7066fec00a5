#include "daemon/sysctl_service.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/string_view.h"
#include "core/ipc/table_limits.h"
#include "core/protocol/codec.h"
#include "daemon/log.h"

namespace sysv::daemon {
namespace {

namespace wire = core::wire;

const char* NameOf(core::Sysctl file) {
  static constexpr const char* kNames[] = {"?",      "shmmax", "shmall", "shmmni",      "sem",         "msgmax",
                                           "msgmnb", "msgmni", "shm_next_id", "sem_next_id", "msg_next_id"};
  return kNames[static_cast<uint32_t>(file)];
}

}  // namespace

SysctlService::SysctlService(core::NamespaceLimits& limits, core::IpcRegistry& shm, core::IpcRegistry& sem,
                             core::IpcRegistry& msg, core::UserQuota* quota)
    : limits_(limits), shm_(shm), sem_(sem), msg_(msg), quota_(quota) {}

core::NextIds SysctlService::NextIds() const { return {shm_.next_id(), sem_.next_id(), msg_.next_id()}; }

void SysctlService::Apply(const core::NextIds& next) {
  shm_.set_max_objects(limits_.shm.shmmni);
  sem_.set_max_objects(limits_.sem.semmni);
  msg_.set_max_objects(limits_.msg.msgmni);
  shm_.set_next_id(next.shm);
  sem_.set_next_id(next.sem);
  msg_.set_next_id(next.msg);
  // Every limit clients read from the tables' headers, IPC_INFO's
  // included, before the writer is answered.
  core::PublishTableLimits(limits_, shm_, sem_, msg_);
  if (quota_ != nullptr) quota_->set_msgmnb(limits_.msg.msgmnb);
}

Reply SysctlService::Handle(uint32_t request_id, const wire::SysctlRequest& request, const core::Credentials& creds) {
  Reply reply;
  wire::SysctlReply body{};
  const auto action = static_cast<wire::SysctlAction>(request.action);
  if (!core::IsSysctl(request.file) || request.action > static_cast<uint32_t>(wire::SysctlAction::kWrite) ||
      request.length > wire::kSysctlMaxText) {
    body.status.error = EINVAL;
    reply.message = wire::EncodeReply<wire::Op::kSysctl>(request_id, body);
    return reply;
  }
  const auto file = static_cast<core::Sysctl>(request.file);
  core::NextIds next = NextIds();
  if (action != wire::SysctlAction::kRead) body.status.error = core::SysctlWriteError(file, creds);
  if (body.status.error == 0 && action == wire::SysctlAction::kWrite) {
    const core::SysctlWriteResult written =
        core::WriteSysctl(file, absl::string_view(request.text, request.length), limits_, next);
    // Values stored before an error stay (core/ipc/sysctl.h): apply either way.
    Apply(next);
    body.status.error = written.error;
    body.taken = static_cast<uint32_t>(written.taken);
    SYSV_LOG(kInfo, "pid %d (uid %u) wrote %s: %s", creds.pid, creds.uid, NameOf(file),
             written.error == 0 ? core::ReadSysctl(file, limits_, next) : std::strerror(written.error));
  }
  const std::string text = core::ReadSysctl(file, limits_, next);
  body.length = static_cast<uint32_t>(std::min(text.size(), sizeof(body.text)));
  std::memcpy(body.text, text.data(), body.length);
  reply.message = wire::EncodeReply<wire::Op::kSysctl>(request_id, body);
  return reply;
}

}  // namespace sysv::daemon
