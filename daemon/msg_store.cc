#include "daemon/msg_store.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "backends/linux/region_platform.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {

MsgStore::MsgStore(int msg_dir_fd) : msg_dir_fd_(msg_dir_fd) {}

bool MsgStore::HoldsBytes(const void* context, uint64_t bytes) {
  const auto* mapped = static_cast<const Mapped*>(context);
  return bytes <= core::MsgQueue::FileSize(mapped->blocks);
}

absl::Status MsgStore::Map(int32_t index, uint32_t seq) {
  const std::string name = backend::SegmentFileName(index, seq);
  absl::StatusOr<backend::UniqueFd> fd = backend::OpenRegionFile(msg_dir_fd_, name, true);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<uint64_t> size = backend::FileSize(fd->get());
  if (!size.ok()) return size.status();
  if (*size < core::MsgQueue::FileSize(1) || *size > core::MsgQueue::MappingSize()) {
    return core::ErrnoStatus(EINVAL, "a message queue file of an impossible size");
  }
  auto mapped = std::make_unique<Mapped>();
  mapped->seq = seq;
  mapped->blocks = static_cast<uint32_t>((*size - core::MsgQueue::FileSize(0)) / core::kMsgBlockSize);
  absl::StatusOr<backend::MappedRegion> map =
      backend::MappedRegion::MapGrowable(fd->get(), core::MsgQueue::MappingSize(), true);
  if (!map.ok()) return map.status();
  mapped->map = *std::move(map);
  absl::StatusOr<std::unique_ptr<core::MsgQueue>> queue = core::MsgQueue::Open(
      mapped->map.data(), &linux_backend::LinuxDaemonRegionPlatform(), {&MsgStore::HoldsBytes, mapped.get()});
  if (!queue.ok()) return queue.status();
  mapped->queue = *std::move(queue);
  queues_[index] = std::move(mapped);
  return absl::OkStatus();
}

absl::Status MsgStore::Create(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) {
  const std::string name = backend::SegmentFileName(index, seq);
  (void)backend::UnlinkRegionFile(msg_dir_fd_, name);  // a crash's leftover
  auto mapped = std::make_unique<Mapped>();
  mapped->seq = seq;
  mapped->blocks = core::MsgQueue::BlocksFor(qbytes);
  absl::StatusOr<backend::UniqueFd> fd =
      backend::CreateRegionFile(msg_dir_fd_, name, core::MsgQueue::FileSize(mapped->blocks), 0600);
  if (!fd.ok()) return fd.status();
  // The daemon writes the header (formatting it) and reads only blocks that
  // clients wrote: allocating the header now turns a full file system into
  // msgget's ENOMEM instead of a SIGBUS in the daemon. The arena stays
  // sparse (a queue's worst case is far larger than its usual use).
  if (const int err = posix_fallocate(fd->get(), 0, static_cast<off_t>(core::MsgQueue::FileSize(0))); err != 0) {
    (void)backend::UnlinkRegionFile(msg_dir_fd_, name);
    return core::ErrnoStatus(ENOMEM, absl::StrCat("cannot allocate a message queue file: ", std::strerror(err)));
  }
  absl::StatusOr<backend::MappedRegion> map =
      backend::MappedRegion::MapGrowable(fd->get(), core::MsgQueue::MappingSize(), true);
  absl::StatusOr<std::unique_ptr<core::MsgQueue>> queue =
      map.ok() ? core::MsgQueue::Format(map->data(), mapped->blocks, qbytes, ctime,
                                        &linux_backend::LinuxDaemonRegionPlatform(),
                                        {&MsgStore::HoldsBytes, mapped.get()})
               : absl::StatusOr<std::unique_ptr<core::MsgQueue>>(map.status());
  if (!queue.ok()) {
    (void)backend::UnlinkRegionFile(msg_dir_fd_, name);
    return queue.status();
  }
  mapped->map = *std::move(map);
  mapped->queue = *std::move(queue);
  queues_[index] = std::move(mapped);
  return absl::OkStatus();
}

void MsgStore::Destroy(int32_t index, uint32_t seq) {
  if (core::MsgQueue* queue = Find(index, seq)) queue->Remove();
  queues_.erase(index);
  absl::Status status = backend::UnlinkRegionFile(msg_dir_fd_, backend::SegmentFileName(index, seq));
  if (!status.ok()) SYSV_LOG(kWarning, "removing message queue %d.%u: %s", index, seq, status.ToString());
}

core::MsgQueue::Stat MsgStore::StatOf(int32_t index, uint32_t seq) {
  if (core::MsgQueue* queue = Find(index, seq)) return queue->ReadStat();
  return {};
}

absl::Status MsgStore::SetQbytes(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) {
  auto it = queues_.find(index);
  if (it == queues_.end() || it->second->seq != seq || !it->second->queue) {
    return core::ErrnoStatus(EIDRM, "the queue has no region");
  }
  Mapped& mapped = *it->second;
  const uint32_t blocks = core::MsgQueue::BlocksFor(qbytes);
  if (blocks > mapped.blocks) {
    // The file grows first; the header learns of it after, so nobody uses
    // a block the file does not hold yet.
    absl::StatusOr<backend::UniqueFd> fd =
        backend::OpenRegionFile(msg_dir_fd_, backend::SegmentFileName(index, seq), true);
    if (!fd.ok()) return fd.status();
    if (absl::Status status = backend::GrowRegionFile(fd->get(), core::MsgQueue::FileSize(blocks)); !status.ok()) {
      return core::ErrnoStatus(ENOMEM, absl::StrCat("cannot grow the queue: ", status.message()));
    }
    mapped.blocks = blocks;
  }
  mapped.queue->SetQbytes(qbytes, mapped.blocks, ctime);
  return absl::OkStatus();
}

void MsgStore::Totals(uint64_t* messages, uint64_t* bytes) {
  *messages = 0;
  *bytes = 0;
  for (auto& [index, mapped] : queues_) {
    if (!mapped->queue) continue;
    const core::MsgQueue::Stat stat = mapped->queue->ReadStat();
    *messages += stat.qnum;
    *bytes += stat.cbytes;
  }
}

core::MsgQueue* MsgStore::Find(int32_t index, uint32_t seq) {
  auto it = queues_.find(index);
  if (it == queues_.end() || it->second->seq != seq || !it->second->queue) return nullptr;
  return it->second->queue.get();
}

void MsgStore::ForEach(const std::function<void(int32_t index, uint32_t seq, core::MsgQueue& queue)>& fn) {
  for (auto& [index, mapped] : queues_) {
    if (mapped->queue) fn(index, mapped->seq, *mapped->queue);
  }
}

absl::StatusOr<backend::UniqueFd> MsgStore::OpenForClient(int32_t index, uint32_t seq) {
  return backend::OpenRegionFile(msg_dir_fd_, backend::SegmentFileName(index, seq), true);
}

void MsgStore::Recover(const std::function<bool(int32_t index, uint32_t seq)>& is_live) {
  RecoverRegionFiles(msg_dir_fd_, "message queue", is_live,
                     [this](int32_t index, uint32_t seq) { return Map(index, seq); });
}

}  // namespace sysv::daemon
