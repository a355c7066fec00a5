// Semaphore set regions as files in the state directory: the daemon's
// implementation of core::SemRegistry::Backing. The daemon keeps every live
// set mapped, for IPC_STAT, IPC_RMID and the exit-time undo of its clients.
#ifndef SYSV_DAEMON_SEM_STORE_H_
#define SYSV_DAEMON_SEM_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/linux/region_file.h"
#include "core/sem/sem_registry.h"
#include "core/sem/sem_set.h"

namespace sysv::daemon {

class SemStore : public core::SemRegistry::Backing {
 public:
  explicit SemStore(int sem_dir_fd);

  absl::Status Create(int32_t index, uint32_t seq, int32_t nsems, int64_t ctime) override;
  void Destroy(int32_t index, uint32_t seq) override;
  Times TimesOf(int32_t index, uint32_t seq) override;
  void SetCtime(int32_t index, uint32_t seq, int64_t ctime) override;

  // Maps the regions of the live sets (daemon start), and removes region
  // files no live set names.
  void Recover(const std::function<bool(int32_t index, uint32_t seq)>& is_live);

  // A descriptor of set (index, seq)'s region for a client.
  absl::StatusOr<backend::UniqueFd> OpenForClient(int32_t index, uint32_t seq, bool writable);
  // The mapped set, or nullptr.
  core::SemSet* Find(int32_t index, uint32_t seq);
  // Calls fn for every live set.
  void ForEach(const std::function<void(int32_t index, core::SemSet& set)>& fn);

 private:
  struct Mapped {
    uint32_t seq = 0;
    linux_backend::MappedRegion map;
    std::optional<core::SemSet> set;
  };
  absl::Status Map(int32_t index, uint32_t seq);

  int sem_dir_fd_;
  absl::flat_hash_map<int32_t, std::unique_ptr<Mapped>> sets_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SEM_STORE_H_
