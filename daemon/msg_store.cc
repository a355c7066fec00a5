#include "daemon/msg_store.h"

#include <fcntl.h>

#include <algorithm>
#include <map>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {

MsgStore::MsgStore(int msg_dir_fd, SealedObjects* sealed, size_t mapped_capacity)
    : msg_dir_fd_(msg_dir_fd), sealed_(sealed), maps_(mapped_capacity) {}

void MsgStore::RemoveRegion(const std::string& name) {
  absl::Status status = sealed_->Remove(SealedObjects::kQueues, msg_dir_fd_, name);
  if (!status.ok()) SYSV_LOG(kWarning, "removing message queue region %s: %s", name, status.ToString());
}

bool MsgStore::HoldsBytes(const void* context, uint64_t bytes) {
  const auto* record = static_cast<const Record*>(context);
  return bytes <= core::MsgQueue::FileSize(record->blocks);
}

MsgStore::Record* MsgStore::FindRecord(int32_t index, uint32_t seq) {
  auto it = live_.find(index);
  if (it == live_.end() || it->second->seq != seq) return nullptr;
  return it->second.get();
}

absl::StatusOr<MsgStore::Cache::Mapping*> MsgStore::Map(int32_t index, const Record& record, bool repair) {
  absl::StatusOr<SealedObjects::ObjectFd> fd =
      sealed_->Open(SealedObjects::kQueues, msg_dir_fd_, RegionName(index, record.seq, record.generation));
  if (!fd.ok()) return fd.status();
  // The blocks the daemon's record says, whatever size a client left a
  // region file at; a sealed region keeps its size.
  absl::StatusOr<bool> was_short =
      fd->file ? RestoreRegionSize(fd->fd, core::MsgQueue::FileSize(record.blocks)) : false;
  if (!was_short.ok()) return was_short.status();
  absl::StatusOr<backend::MappedRegion> plain =
      backend::MappedRegion::MapGrowable(fd->fd, core::MsgQueue::MappingSize(), true);
  if (!plain.ok()) return plain.status();
  absl::StatusOr<backend::GuardedMapping> map = backend::GuardedMapping::Guard(*std::move(plain));
  if (!map.ok()) return map.status();
  const core::MsgQueue::CapacityCheck capacity{&MsgStore::HoldsBytes, &record};
  absl::StatusOr<std::unique_ptr<core::MsgQueue>> queue =
      core::MsgQueue::Open(map->data(), &platform::DaemonRegionPlatform(), capacity);
  if (repair || (!queue.ok() && *was_short)) {
    SYSV_LOG(kWarning, "message queue %d.%u: its file was cut short; its messages are lost", index, record.seq);
    queue = core::MsgQueue::Format(map->data(), record.blocks, record.layout.qbytes, record.layout.ctime,
                                   &platform::DaemonRegionPlatform(), capacity);
  }
  if (!queue.ok()) return queue.status();
  return &maps_.Insert(index, Cache::Mapping{*std::move(map), *std::move(queue)});
}

absl::Status MsgStore::Create(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) {
  const std::string name = backend::SegmentFileName(index, seq);
  auto record = std::make_unique<Record>();
  record->seq = seq;
  // msgget's msg_qbytes is MSGMNB: the capacity of a sealed region (see the
  // header comment).
  record->blocks = core::MsgQueue::BlocksFor(qbytes);
  record->layout = Layout{qbytes, ctime};
  absl::StatusOr<SealedObjects::ObjectFd> fd =
      sealed_->Create(SealedObjects::kQueues, msg_dir_fd_, name, core::MsgQueue::FileSize(record->blocks));
  if (!fd.ok()) return fd.status();
  // The daemon writes the header (formatting it) and reads only blocks that
  // clients wrote: allocating a region file's header now turns a full file
  // system into msgget's ENOMEM instead of a SIGBUS in the daemon. The
  // arena stays sparse (a queue's worst case is far larger than its usual
  // use). A sealed region needs none of it (SemStore::Create says why).
  if (const int err = fd->file ? platform::AllocateFileSpace(fd->fd, static_cast<off_t>(core::MsgQueue::FileSize(0)))
                               : 0;
      err != 0) {
    RemoveRegion(name);
    return core::ErrnoStatus(ENOMEM, absl::StrCat("cannot allocate a message queue file: ", std::strerror(err)));
  }
  // Written, not mapped (WriteNewRegion says why): the 64 MiB mapping of
  // every new queue, its first fault and its munmap at IPC_RMID were most of
  // what a queue cost beyond a set (issue #14's profile).
  absl::Status written = WriteNewRegion(fd->fd, core::MsgQueue::FormattedBytes(), [&](void* base) {
    return core::MsgQueue::FormatHeader(base, record->blocks, qbytes, ctime, &platform::DaemonRegionPlatform());
  });
  if (!written.ok()) {
    RemoveRegion(name);
    SYSV_LOG(kError, "cannot write new message queue %d.%u: %s", index, seq, written.ToString());
    return core::ErrnoStatus(ENOMEM, absl::StrCat("cannot write message queue ", name, ": ", written.message()));
  }
  live_[index] = std::move(record);
  return absl::OkStatus();
}

void MsgStore::Destroy(int32_t index, uint32_t seq) {
  const Record* record = FindRecord(index, seq);
  // A queue no client was given and the daemon never mapped since its
  // create has nobody to wake and no mapping to mark removed: its region
  // just goes, unmapped.
  const bool used = record != nullptr && (record->opened || record->mapped);
  if (core::MsgQueue* queue = used ? Find(index, seq) : nullptr) queue->Remove();
  const std::string name = RegionName(index, seq, record != nullptr ? record->generation : 0);
  // The mapping goes before the record its capacity check points at.
  maps_.Erase(index);
  live_.erase(index);
  RemoveRegion(name);
}

core::MsgQueue::Stat MsgStore::StatOf(int32_t index, uint32_t seq) {
  if (core::MsgQueue* queue = Find(index, seq)) return queue->ReadStat();
  return {};
}

absl::Status MsgStore::SetQbytes(int32_t index, uint32_t seq, uint64_t qbytes, int64_t ctime) {
  Record* record = FindRecord(index, seq);
  core::MsgQueue* queue = Find(index, seq);
  if (record == nullptr || queue == nullptr) return core::ErrnoStatus(EIDRM, "the queue has no region");
  const uint32_t blocks = core::MsgQueue::BlocksFor(qbytes);
  const std::string name = RegionName(index, seq, record->generation);
  if (blocks > record->blocks && sealed_->Find(SealedObjects::kQueues, name) >= 0) {
    // A sealed region cannot grow: the queue moves to a bigger one, which
    // also sets msg_qbytes and wakes the waiters.
    absl::Status moved = Move(index, *record, *queue, blocks, qbytes, ctime);
    if (moved.ok()) {
      record->layout = Layout{qbytes, ctime};
      return absl::OkStatus();
    }
    // msg_qbytes is raised all the same (the kernel's IPC_SET cannot fail
    // here); the arena stays, and a sender that finds no free block waits
    // as for a full queue until a later raise moves it.
    SYSV_LOG(kWarning, "message queue %d.%u: cannot move it to a region for msg_qbytes %d; the arena stays: %s",
             index, seq, qbytes, moved.ToString());
  } else if (blocks > record->blocks) {
    // The file grows first; the header learns of it after, so nobody uses
    // a block the file does not hold yet.
    absl::StatusOr<backend::UniqueFd> fd = backend::OpenRegionFile(msg_dir_fd_, name, true);
    if (!fd.ok()) return fd.status();
    if (absl::Status status = backend::GrowRegionFile(fd->get(), core::MsgQueue::FileSize(blocks)); !status.ok()) {
      return core::ErrnoStatus(ENOMEM, absl::StrCat("cannot grow the queue: ", status.message()));
    }
    record->blocks = blocks;
  }
  record->layout = Layout{qbytes, ctime};
  queue->SetQbytes(qbytes, record->blocks, ctime);
  return absl::OkStatus();
}

absl::Status MsgStore::Move(int32_t index, Record& record, core::MsgQueue& queue, uint32_t blocks, uint64_t qbytes,
                            int64_t ctime) {
  const std::string old_name = RegionName(index, record.seq, record.generation);
  const std::string name = RegionName(index, record.seq, record.generation + 1);
  absl::StatusOr<SealedObjects::ObjectFd> fd =
      sealed_->Create(SealedObjects::kQueues, msg_dir_fd_, name, core::MsgQueue::FileSize(blocks));
  if (!fd.ok()) return fd.status();
  if (fd->file) {
    // No room for another sealed region: a region file would let its
    // writers cut it again.
    RemoveRegion(name);
    return core::ErrnoStatus(ENOMEM, "no sealed region to move to");
  }
  // The copy writes the header and the arena's used blocks, at most the
  // old capacity: allocated now, a full memory file system is this error
  // instead of a SIGBUS in the daemon. The rest stays unallocated.
  absl::StatusOr<backend::MappedRegion> plain =
      backend::MappedRegion::MapGrowable(fd->fd, core::MsgQueue::MappingSize(), true);
  absl::StatusOr<backend::GuardedMapping> map =
      plain.ok() ? backend::GuardedMapping::Guard(*std::move(plain)) : plain.status();
  if (const int err = platform::AllocateFileSpace(fd->fd, static_cast<off_t>(core::MsgQueue::FileSize(record.blocks)));
      err != 0 || !map.ok()) {
    RemoveRegion(name);
    return core::ErrnoStatus(ENOMEM, absl::StrCat("cannot make the region to move to: ",
                                                  err != 0 ? std::strerror(err) : map.status().message()));
  }
  if (!queue.MoveTo(map->data(), blocks, qbytes, ctime)) {
    RemoveRegion(name);
    return core::ErrnoStatus(EAGAIN, "the queue's locks are held");
  }
  // From here on the new region is the queue: the old one is marked moved.
  record.generation += 1;
  record.blocks = blocks;
  absl::StatusOr<std::unique_ptr<core::MsgQueue>> moved = core::MsgQueue::Open(
      map->data(), &platform::DaemonRegionPlatform(), core::MsgQueue::CapacityCheck{&MsgStore::HoldsBytes, &record});
  maps_.Erase(index);
  if (moved.ok()) {
    maps_.Insert(index, Cache::Mapping{*std::move(map), *std::move(moved)});
  } else {
    SYSV_LOG(kError, "message queue %d.%u: its new region does not open: %s", index, record.seq,
             moved.status().ToString());
  }
  // Clients that map the old region keep its memory until they find the
  // mark; the keeper and the daemon let go of it now.
  RemoveRegion(old_name);
  SYSV_LOG(kInfo, "message queue %d.%u moved to region %s (%u arena blocks) for msg_qbytes %d", index, record.seq,
           name, blocks, qbytes);
  return absl::OkStatus();
}

void MsgStore::Totals(uint64_t* messages, uint64_t* bytes) {
  *messages = 0;
  *bytes = 0;
  ForEach([&](int32_t, uint32_t, core::MsgQueue& queue) {
    const core::MsgQueue::Stat stat = queue.ReadStat();
    *messages += stat.qnum;
    *bytes += stat.cbytes;
  });
}

core::MsgQueue* MsgStore::Find(int32_t index, uint32_t seq) {
  Record* record = FindRecord(index, seq);
  if (record == nullptr) return nullptr;
  Cache::Mapping* mapping = maps_.Find(index);
  // A faulted mapping is private zeros: map the file again, repaired.
  const bool faulted = mapping != nullptr && mapping->region.faulted();
  if (faulted) {
    maps_.Erase(index);
    mapping = nullptr;
  }
  if (mapping == nullptr) {
    record->mapped = true;
    absl::StatusOr<Cache::Mapping*> mapped = Map(index, *record, /*repair=*/faulted);
    if (!mapped.ok()) {
      SYSV_LOG(kError, "cannot map message queue %d.%u: %s", index, seq, mapped.status().ToString());
      return nullptr;
    }
    mapping = *mapped;
  }
  return mapping->view.get();
}

void MsgStore::RepairFaulted() {
  std::vector<std::pair<int32_t, uint32_t>> faulted;
  for (const auto& [index, record] : live_) {
    const Cache::Mapping* mapping = maps_.Find(index);
    if (mapping != nullptr && mapping->region.faulted()) faulted.emplace_back(index, record->seq);
  }
  for (const auto& [index, seq] : faulted) (void)Find(index, seq);
}

void MsgStore::ForEach(const std::function<void(int32_t index, uint32_t seq, core::MsgQueue& queue)>& fn) {
  // A copy: mapping one queue may unmap another, never add or remove one.
  std::vector<std::pair<int32_t, uint32_t>> opened;
  for (const auto& [index, record] : live_) {
    if (record->opened) opened.emplace_back(index, record->seq);
  }
  for (const auto& [index, seq] : opened) {
    if (core::MsgQueue* queue = Find(index, seq)) fn(index, seq, *queue);
  }
}

absl::StatusOr<backend::UniqueFd> MsgStore::OpenForClient(int32_t index, uint32_t seq, bool writable) {
  // Marked before the open: a descriptor that reaches the client must never
  // go unmarked, and a failed open costs only a visit at exit time.
  Record* record = FindRecord(index, seq);
  if (record == nullptr) return core::ErrnoStatus(EIDRM, "no such queue");
  record->opened = true;
  // Mapped (Find) or not, a region file may have been cut short since the
  // daemon last looked: Map() restores it, and formats what is left again.
  const std::string name = RegionName(index, seq, record->generation);
  absl::StatusOr<SealedObjects::ObjectFd> own = sealed_->Open(SealedObjects::kQueues, msg_dir_fd_, name);
  if (!own.ok()) return own.status();
  absl::StatusOr<bool> was_short =
      own->file ? RestoreRegionSize(own->fd, core::MsgQueue::FileSize(record->blocks)) : false;
  if (!was_short.ok()) return was_short.status();
  if (*was_short) {
    maps_.Erase(index);
    if (absl::StatusOr<Cache::Mapping*> mapped = Map(index, *record, /*repair=*/true); !mapped.ok()) {
      return core::ErrnoStatus(EIDRM, absl::StrCat("the queue's region cannot be repaired: ", mapped.status().message()));
    }
  } else if (Find(index, seq) == nullptr) {
    return core::ErrnoStatus(EIDRM, "the queue's region cannot be mapped");
  }
  return sealed_->OpenForClient(SealedObjects::kQueues, msg_dir_fd_, name, writable);
}

absl::Status MsgStore::RecoverQueue(int32_t index, uint32_t seq, uint32_t generation, int fd, const Layout& layout) {
  absl::StatusOr<uint64_t> size = backend::FileSize(fd);
  if (!size.ok()) return size.status();
  auto record = std::make_unique<Record>();
  record->seq = seq;
  record->generation = generation;
  record->layout = layout;
  // The arena a raised msg_qbytes grew (IPC_SET), as the file shows, and
  // never less than the table's msg_qbytes needs: a file a client cut short
  // gets its blocks back in Map(). A file grown past the largest arena
  // counts as the largest. A sealed region's size is the daemon's own and
  // its capacity, whatever msg_qbytes was raised to.
  const uint64_t header = core::MsgQueue::FileSize(0);
  const uint64_t in_file = *size > header ? (*size - header) / core::kMsgBlockSize : 0;
  const uint32_t file_blocks = static_cast<uint32_t>(std::min<uint64_t>(in_file, core::kMsgMaxArenaBlocks));
  const bool sealed = sealed_->Find(SealedObjects::kQueues, RegionName(index, seq, generation)) >= 0;
  record->blocks = sealed ? file_blocks : std::max(core::MsgQueue::BlocksFor(layout.qbytes), file_blocks);
  // Clients of the daemon before this one may hold descriptors.
  record->opened = true;
  record->mapped = true;
  if (absl::StatusOr<Cache::Mapping*> mapped = Map(index, *record, /*repair=*/false); !mapped.ok()) {
    return mapped.status();
  }
  live_[index] = std::move(record);
  return absl::OkStatus();
}

void MsgStore::Recover(const std::function<std::optional<Layout>(int32_t index, uint32_t seq)>& live) {
  // The sealed regions the keeper gave back first: a queue has one region,
  // sealed or a file, and the file of a sealed queue is a crash's leftover.
  // A daemon killed during a move leaves two generations of one queue.
  std::map<std::pair<int32_t, uint32_t>, std::vector<std::pair<uint32_t, std::string>>> queues;
  for (const std::string& name : sealed_->Names(SealedObjects::kQueues)) {
    int32_t index = 0;
    uint32_t seq = 0;
    uint32_t generation = 0;
    if (ParseRegionFileName(name, &index, &seq, &generation) && live(index, seq).has_value()) {
      queues[{index, seq}].emplace_back(generation, name);
    } else {
      SYSV_LOG(kWarning, "removing sealed message queue region %s: no live queue names it", name);
      (void)sealed_->Drop(SealedObjects::kQueues, name);
    }
  }
  for (auto& [id, generations] : queues) {
    const auto [index, seq] = id;
    const std::string winner = PickRecovered(generations);
    uint32_t generation = 0;
    for (const auto& [g, name] : generations) {
      if (name == winner) {
        generation = g;
      } else {
        SYSV_LOG(kWarning, "removing sealed message queue region %s: region %s holds the queue", name, winner);
        (void)sealed_->Drop(SealedObjects::kQueues, name);
      }
    }
    absl::Status status =
        RecoverQueue(index, seq, generation, sealed_->Find(SealedObjects::kQueues, winner), *live(index, seq));
    if (!status.ok()) {
      SYSV_LOG(kWarning, "removing sealed message queue region %s: %s", winner, status.ToString());
      (void)sealed_->Drop(SealedObjects::kQueues, winner);
    }
  }
  RecoverRegionFiles(
      msg_dir_fd_, "message queue",
      [&](int32_t index, uint32_t seq) {
        return live(index, seq).has_value() && live_.find(index) == live_.end();
      },
      [&](int32_t index, uint32_t seq) -> absl::Status {
        absl::StatusOr<backend::UniqueFd> fd =
            backend::OpenRegionFile(msg_dir_fd_, backend::SegmentFileName(index, seq), true);
        if (!fd.ok()) return fd.status();
        return RecoverQueue(index, seq, 0, fd->get(), *live(index, seq));
      });
}

std::string MsgStore::PickRecovered(const std::vector<std::pair<uint32_t, std::string>>& generations) {
  std::vector<std::pair<uint32_t, std::string>> sorted = generations;
  std::sort(sorted.begin(), sorted.end());
  // The oldest region not marked moved: a move marks the old region only
  // once the new one holds the whole copy, so a newer region next to an
  // unmarked older one is an unfinished copy.
  for (size_t i = 0; i + 1 < sorted.size(); ++i) {
    const int fd = sealed_->Find(SealedObjects::kQueues, sorted[i].second);
    absl::StatusOr<backend::MappedRegion> header =
        backend::MappedRegion::Map(fd, sizeof(core::MsgQueueHeader), /*writable=*/false);
    if (!header.ok()) continue;  // unreadable: not the queue
    const auto* h = static_cast<const core::MsgQueueHeader*>(header->data());
    if (h->removed.load(std::memory_order_acquire) != core::kMsgRegionMoved) return sorted[i].second;
  }
  return sorted.back().second;
}

void MsgStore::Trim(const std::string& name) {
  int32_t index = 0;
  uint32_t seq = 0;
  if (!ParseRegionFileName(name, &index, &seq)) return;
  const Record* record = FindRecord(index, seq);
  if (record == nullptr) return;
  TrimRegionFile(msg_dir_fd_, name, core::MsgQueue::FileSize(record->blocks), /*grow_shorter=*/false);
}

}  // namespace sysv::daemon
