// Segment contents as region files in the state directory: the daemon's
// implementation of core::ShmRegistry::Backing, and the descriptors it hands
// to clients after the permission check.
//
// With the security driver (/dev/sysvipc, issue #16) the contents live in
// the driver's objects instead, and each segment's file is a small marker
// that records the driver's id of its object, so that a restarted daemon
// finds the object again: the marker is never handed out and never mapped.
//
// Without the driver, where the platform has sealed regions
// (platform::CreateSealedRegion: files no holder can resize, so a writer
// can no longer cut a segment under the other attachers), segments are
// sealed regions, which have no name in any directory: the fd keeper
// (platform::FdKeeper) holds each one under its segment's file name and
// hands them back to a restarted daemon (daemon/sealed_objects.h, shared
// with semaphore sets). Segments the daemon could not make sealed (no
// keeper, no descriptor to spare) and those found from an older daemon are
// region files, with the take-back (TrimRegionFile) as before.
#ifndef SYSV_DAEMON_SHM_STORE_H_
#define SYSV_DAEMON_SHM_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "core/shm/shm_registry.h"
#include "daemon/sealed_objects.h"

namespace sysv::daemon {

class ShmStore : public core::ShmRegistry::Backing {
 public:
  // `driver`: the security driver in use, or nullptr for region files.
  // `sealed`: the sealed regions of every kind (outlives the store).
  ShmStore(int shm_dir_fd, platform::SecurityDriver* driver, SealedObjects* sealed)
      : shm_dir_fd_(shm_dir_fd), driver_(driver), sealed_(sealed) {}

  absl::Status Create(int32_t index, uint32_t seq, uint64_t bytes) override;
  void Destroy(int32_t index, uint32_t seq) override;
  uint64_t ResidentPages(int32_t index, uint32_t seq) override;
  // From /sys/kernel/mm/hugepages and /proc/sys/vm/hugetlb_shm_group.
  std::optional<HugePages> HugePagesOf(int size_log) override;
  uint32_t HugetlbShmGroup() override;

  // A new descriptor of segment (index, seq), read-write or read-only.
  absl::StatusOr<backend::UniqueFd> OpenForClient(int32_t index, uint32_t seq, bool writable);

  // With the driver: the driver's facts of segment (index, seq) (ENOENT
  // when its object is gone). FAILED_PRECONDITION without the driver.
  absl::StatusOr<platform::SecurityDriver::Facts> DriverFacts(int32_t index, uint32_t seq);
  // With the driver: marks segment (index, seq)'s object removed (IPC_RMID),
  // so that the driver reports its last detach; true if it went at once.
  absl::StatusOr<bool> MarkRemoved(int32_t index, uint32_t seq);
  // With the driver: SHM_LOCK/SHM_UNLOCK of the object, charged to `uid`.
  absl::Status Lock(int32_t index, uint32_t seq, bool lock, uint32_t uid, uint64_t memlock_limit);
  platform::SecurityDriver* driver() const { return driver_; }

  // The segment files there now, by device and inode: how a descriptor a
  // process holds (platform::ProcessHeldFiles) is recognised.
  struct SegmentName {
    int32_t index = 0;
    uint32_t seq = 0;
  };
  using SegmentFileMap = absl::flat_hash_map<std::pair<uint64_t, uint64_t>, SegmentName>;
  SegmentFileMap SegmentFiles();

  // Removes segment files that no live table entry names (a daemon killed
  // between creating a file and recording it). `is_live(index, seq)` decides.
  // Returns how many were removed.
  int RemoveOrphans(const std::function<bool(int32_t index, uint32_t seq)>& is_live);

  // Segment file `name` back to `size` bytes and no blocks past them
  // (daemon/region_dir.h TrimRegionFile): a segment has no layout, so a
  // file cut short gets its size back too (the cut part reads as zeros).
  void Trim(const std::string& name, uint64_t size);
  int dir_fd() const { return shm_dir_fd_; }

 private:
  // Calls fn(name, index, seq) for every file in the directory; index is -1
  // for a name that is not "<index>.<seq>".
  void ForEachSegmentFile(const std::function<void(const std::string& name, int32_t index, uint32_t seq)>& fn);

  // The one place a segment's object file is made (sealed region or
  // region file), `bytes` long, named `name`.
  absl::Status CreateSegmentFile(const std::string& name, uint64_t bytes);
  // The sealed region of segment `name`, or -1 (a region file, or none).
  int SealedFd(const std::string& name) const;

  // The driver's id recorded in segment (index, seq)'s marker.
  absl::StatusOr<uint32_t> DriverId(int32_t index, uint32_t seq);
  // Removes the driver object a marker names, if any (ENOENT is fine).
  void RemoveDriverObject(const std::string& name);

  int shm_dir_fd_;
  platform::SecurityDriver* driver_;
  SealedObjects* sealed_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SHM_STORE_H_
