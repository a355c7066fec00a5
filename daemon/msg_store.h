// Message queue regions as files in the state directory: the daemon's
// implementation of core::MsgRegistry::Backing. The daemon keeps every live
// queue mapped, for IPC_STAT, IPC_SET, IPC_RMID and the exit-time cleanup
// of its clients' waiter records.
#ifndef SYSV_DAEMON_MSG_STORE_H_
#define SYSV_DAEMON_MSG_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/common/posix_region_file.h"
#include "backends/common/unique_fd.h"
#include "core/msg/msg_queue.h"
#include "core/msg/msg_registry.h"

namespace sysv::daemon {

class MsgStore : public core::MsgRegistry::Backing {
 public:
  explicit MsgStore(int msg_dir_fd);

  absl::Status Create(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) override;
  void Destroy(int32_t index, uint32_t seq) override;
  core::MsgQueue::Stat StatOf(int32_t index, uint32_t seq) override;
  absl::Status SetQbytes(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) override;
  void Totals(uint64_t* messages, uint64_t* bytes) override;

  // Maps the regions of the live queues (daemon start), and removes region
  // files no live queue names.
  void Recover(const std::function<bool(int32_t index, uint32_t seq)>& is_live);

  // A read-write descriptor of queue (index, seq)'s region for a client.
  absl::StatusOr<backend::UniqueFd> OpenForClient(int32_t index, uint32_t seq);
  // The mapped queue, or nullptr.
  core::MsgQueue* Find(int32_t index, uint32_t seq);
  // Calls fn for every live queue.
  void ForEach(const std::function<void(int32_t index, uint32_t seq, core::MsgQueue& queue)>& fn);

 private:
  struct Mapped {
    uint32_t seq = 0;
    // Arena blocks the daemon made the file hold: the daemon trusts its own
    // record, not the region's header, which clients can write.
    uint32_t blocks = 0;
    backend::MappedRegion map;
    std::unique_ptr<core::MsgQueue> queue;
  };
  static bool HoldsBytes(const void* context, uint64_t bytes);
  absl::Status Map(int32_t index, uint32_t seq);

  int msg_dir_fd_;
  absl::flat_hash_map<int32_t, std::unique_ptr<Mapped>> queues_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_MSG_STORE_H_
