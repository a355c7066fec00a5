// The daemon's on-disk namespace: the directory, its lock, the state
// directory, and the mapped object tables.
//
// Everything the daemon knows that must outlive it is in these files, so a
// daemon that is stopped or killed finds every object again when it starts.
#ifndef SYSV_DAEMON_NAMESPACE_STATE_H_
#define SYSV_DAEMON_NAMESPACE_STATE_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "backends/common/namespace_dir.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "core/ipc/limits.h"
#include "core/ipc/object_table.h"
#include "core/ipc/user_quota.h"

namespace sysv::daemon {

class NamespaceState {
 public:
  // Creates the namespace directory if needed (0700 for the per-user
  // default, else 0755: other users may reach the socket; the state
  // directory inside is 0700) and verifies it (backends/common/
  // namespace_dir.h: ours or root's, not writable by others unless sticky;
  // EPERM otherwise), takes its lock (failing with EADDRINUSE, and the
  // holder's pid in the message, when another daemon serves it), and opens
  // or creates the state, with one per-user quota ledger (limits.user) for
  // the registries made over the three tables to charge and rebuild from
  // them at start. Everything is opened relative to the verified directory
  // and never through a symlink (ELOOP); a lock file or state directory that
  // is not our own is refused (EPERM).
  static absl::StatusOr<std::unique_ptr<NamespaceState>> Open(const backend::NamespaceDir& dir,
                                                              const core::NamespaceLimits& limits);

  const std::string& dir() const { return dir_; }
  // The verified namespace directory, where the socket goes.
  int dir_fd() const { return dir_fd_.get(); }
  // The socket's mode: private for the per-user default, else shared
  // (backend::SocketMode).
  mode_t socket_mode() const { return socket_mode_; }
  int shm_dir_fd() const { return shm_dir_.get(); }
  int sem_dir_fd() const { return sem_dir_.get(); }
  int msg_dir_fd() const { return msg_dir_.get(); }
  int ledger_dir_fd() const { return ledger_dir_.get(); }
  // The shm table for the daemon (read-write) and a read-only descriptor of
  // it to hand to clients.
  core::ObjectTable& shm_table() { return shm_.table(); }
  int shm_table_readonly_fd() const { return shm_.readonly_fd(); }
  core::ObjectTable& sem_table() { return sem_.table(); }
  int sem_table_readonly_fd() const { return sem_.readonly_fd(); }
  core::ObjectTable& msg_table() { return msg_.table(); }
  int msg_table_readonly_fd() const { return msg_.readonly_fd(); }
  // The per-user quota ledger the registries of all three kinds share.
  core::UserQuota* user_quota() { return user_quota_.get(); }
  bool recovered() const { return recovered_; }

 private:
  // One mapped object table and a read-only descriptor of it for clients.
  class Table {
   public:
    absl::Status Open(int state_dir_fd, const char* name, core::IpcKind kind, uint64_t namespace_id,
                      bool* recovered);
    core::ObjectTable& table() { return *table_; }
    int readonly_fd() const { return readonly_fd_.get(); }

   private:
    backend::UniqueFd readonly_fd_;
    std::optional<platform::MappedRegion> map_;
    std::optional<core::ObjectTable> table_;
  };

  NamespaceState() = default;

  std::string dir_;
  backend::UniqueFd dir_fd_;
  mode_t socket_mode_ = 0600;
  backend::UniqueFd lock_fd_;
  backend::UniqueFd shm_dir_;
  backend::UniqueFd sem_dir_;
  backend::UniqueFd msg_dir_;
  backend::UniqueFd ledger_dir_;
  Table shm_;
  Table sem_;
  Table msg_;
  // Heap-held: the services' registries point to it.
  std::unique_ptr<core::UserQuota> user_quota_;
  bool recovered_ = false;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_NAMESPACE_STATE_H_
