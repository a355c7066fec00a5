#include "daemon/client_registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {
namespace {

using backend::UniqueFd;

// A mapping of `size` bytes of a ledger file (at least that long now),
// guarded against the file being cut short later.
absl::StatusOr<backend::GuardedMapping> MapGuarded(int fd, uint64_t size, bool writable) {
  absl::StatusOr<platform::MappedRegion> map = platform::MappedRegion::Map(fd, size, writable);
  if (!map.ok()) return map.status();
  return backend::GuardedMapping::Guard(*std::move(map));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientProcess>> ClientRegistry::Adopt(int32_t pid, uint64_t start_time,
                                                                     int process_fd, bool create,
                                                                     uint32_t entries) {
  auto process = std::make_unique<ClientProcess>();
  process->pid = pid;
  process->start_time = start_time;
  if (process_fd >= 0) {
    process->process_fd = UniqueFd(fcntl(process_fd, F_DUPFD_CLOEXEC, 0));
    if (!process->process_fd) return core::ErrnoStatus(errno, "dup of a process descriptor");
  } else {
    absl::StatusOr<UniqueFd> opened = platform::OpenProcessHandle(pid);
    if (!opened.ok()) return opened.status();
    process->process_fd = *std::move(opened);
    // Opened by pid: alive after the open with that start time, so the
    // process_fd names that instance.
    if (!platform::ProcessAlive(pid, start_time)) {
      return core::ErrnoStatus(ESRCH, absl::StrFormat("process %d started at %d is gone", pid, start_time));
    }
  }

  const std::string name = backend::LedgerFileName(pid, start_time);
  absl::StatusOr<UniqueFd> fd =
      create ? platform::CreateRegionFile(ledger_dir_fd_, name, core::AttachLedgerSize(entries), 0600)
             : platform::OpenRegionFile(ledger_dir_fd_, name, /*writable=*/true);
  if (!fd.ok()) return fd.status();
  size_t size = core::AttachLedgerSize(entries);
  if (!create) {
    // Re-adopted at the size it has (never more than the layout): its
    // process may have counted entries anywhere in it. A file cut shorter
    // than its header is refused by Map() below, as a scribbled one is.
    absl::StatusOr<uint64_t> file_size = platform::FileSize(fd->get());
    if (!file_size.ok()) return file_size.status();
    const uint64_t held = *file_size < core::AttachLedgerHeader::kSize
                              ? 0
                              : (*file_size - core::AttachLedgerHeader::kSize) / sizeof(core::AttachLedgerEntry);
    size = core::AttachLedgerSize(static_cast<uint32_t>(std::min<uint64_t>(held, ledger_capacity_)));
  }
  // The daemon formats a new ledger through its mapping; on a full file
  // system a write to an unallocated page is SIGBUS, which would kill the
  // daemon. Allocating first makes registration fail with ENOMEM instead.
  // One page, for a fresh image: entries come with grants (MakeRoom).
  if (create) {
    if (const int err = platform::AllocateFileSpace(fd->get(), static_cast<off_t>(size)); err != 0) {
      (void)platform::UnlinkRegionFile(ledger_dir_fd_, name);
      return core::ErrnoStatus(err == ENOSPC ? ENOMEM : err,
                               absl::StrFormat("cannot allocate ledger %s: %s", name, std::strerror(err)));
    }
  }
  // Mapped at the size chosen above, never at whatever size the file has
  // later: Map() refuses a shorter file, and the guard covers a cut after
  // this check.
  absl::StatusOr<backend::GuardedMapping> map = MapGuarded(fd->get(), size, /*writable=*/true);
  if (!map.ok()) return map.status();
  process->ledger_fd = *std::move(fd);
  process->ledger_map = *std::move(map);
  absl::StatusOr<core::AttachLedger> ledger =
      create ? core::AttachLedger::Format(process->ledger_map.data(), process->ledger_map.size(),
                                          ledger_capacity_, pid)
             : core::AttachLedger::Open(process->ledger_map.data(), process->ledger_map.size());
  if (!ledger.ok()) return ledger.status();
  process->ledger.emplace(*ledger);
  if (absl::Status status = watch_(process->process_fd.get(), pid); !status.ok()) return status;
  return process;
}

core::ShmGrants ClientRegistry::InheritedGrants(const Registrant& who) {
  absl::StatusOr<platform::ProcStat> stat = platform::ReadProcStat(who.pid);
  if (!stat.ok() || stat->start_time != who.start_time) return {};
  auto parent = processes_.find(stat->ppid);
  if (parent == processes_.end() || platform::ProcessHandleExited(parent->second->process_fd.get())) return {};
  // Still running, so still the pid's process, and the child's parent now.
  // Either it forked the child, or it reaped the child's dead parent (a
  // subreaper or init): the same user's holdings only.
  absl::StatusOr<uid_t> parent_uid = platform::ProcessEffectiveUid(stat->ppid);
  if (!parent_uid.ok() || *parent_uid != who.uid) return {};
  return parent->second->shm_grants;
}

ClientProcess* ClientRegistry::Find(int32_t pid, uint64_t start_time) {
  auto it = processes_.find(pid);
  if (it == processes_.end() || it->second->start_time != start_time) return nullptr;
  return it->second.get();
}

absl::StatusOr<ClientProcess*> ClientRegistry::Register(
    const Registrant& who, bool fresh_image,
    const std::function<void(const ClientProcess&)>& on_stale_ledger,
    const std::function<void(const ClientProcess&)>& on_exit) {
  const int32_t pid = who.pid;
  // The connection's own process must still be running: a channel kept by
  // another process after it died speaks for no one.
  if (platform::ProcessHandleExited(who.process_fd)) {
    return core::ErrnoStatus(ESRCH, absl::StrFormat("the process %d that connected has exited", pid));
  }
  if (auto it = processes_.find(pid); it != processes_.end()) {
    ClientProcess* process = it->second.get();
    if (process->start_time != who.start_time) {
      // Another instance's record. Both cannot be alive under one pid; if the
      // record's is, the registrant is not (checked above, but it may have
      // died since): refuse rather than hand over a live process's ledger.
      if (!platform::ProcessHandleExited(process->process_fd.get())) {
        return core::ErrnoStatus(ESRCH, absl::StrFormat("pid %d names another process", pid));
      }
      // The pid was reused before its process_fd reported the exit.
      Retire(pid, on_exit);
    } else {
      if (fresh_image) {
        // exec dropped every attachment and descriptor: fold them, then
        // start over.
        on_stale_ledger(*process);
        const core::ShmGrants dropped = std::move(process->shm_grants);
        process->shm_grants.Clear();
        AnnounceGrants(dropped);
        absl::StatusOr<core::AttachLedger> ledger = core::AttachLedger::Format(
            process->ledger_map.data(), process->ledger_map.size(), ledger_capacity_, pid);
        if (!ledger.ok()) return ledger.status();
        process->ledger.emplace(*ledger);
      }
      return process;
    }
  }
  if (auto held = records_per_user_.find(who.uid); share_ != 0 && held != records_per_user_.end() &&
                                                    held->second >= share_) {
    return core::ErrnoStatus(EAGAIN, absl::StrFormat("user %u holds his share of %u process records", who.uid, share_));
  }
  // A ledger may exist from before a daemon restart that Recover() missed.
  (void)platform::UnlinkRegionFile(ledger_dir_fd_, backend::LedgerFileName(pid, who.start_time));
  // A forked child's ledger holds, from the start, the entries of the
  // segments it inherits: it counts its copies of the attachments at once.
  core::ShmGrants inherited = fresh_image ? core::ShmGrants() : InheritedGrants(who);
  uint32_t entries = 0;
  inherited.ForEachIndex(
      [&](int32_t index) { entries = std::max(entries, core::AttachLedgerEntriesFor(index, ledger_capacity_)); });
  // Charged before the file exists, so that a user over his quota takes
  // nothing (ENOMEM); given back if it is not made after all.
  ClientProcess payer;
  payer.ledger_payer = who.uid;
  if (absl::Status charged = ChargeLedger(payer, core::AttachLedgerSize(entries)); !charged.ok()) return charged;
  absl::StatusOr<std::unique_ptr<ClientProcess>> process =
      Adopt(pid, who.start_time, who.process_fd, /*create=*/true, entries);
  if (!process.ok()) {
    ReleaseLedger(payer);
    return process.status();
  }
  (*process)->uid = who.uid;
  (*process)->ledger_payer = payer.ledger_payer;
  (*process)->ledger_charged = payer.ledger_charged;
  (*process)->shm_grants = std::move(inherited);
  ++records_per_user_[who.uid];
  ClientProcess* raw = process->get();
  processes_[pid] = *std::move(process);
  AnnounceGrants(raw->shm_grants);
  return raw;
}

void ClientRegistry::Retire(int32_t pid, const std::function<void(const ClientProcess&)>& on_exit) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  std::unique_ptr<ClientProcess> process = std::move(it->second);
  processes_.erase(it);
  if (auto held = records_per_user_.find(process->uid); held != records_per_user_.end() && --held->second == 0) {
    records_per_user_.erase(held);
  }
  unwatch_(process->process_fd.get());
  ReleaseLedger(*process);
  // Out of the census before folding, so the fold sees no live attachments.
  on_exit(*process);
  if (process->ledger_map.faulted()) {
    SYSV_LOG(kWarning, "pid %d cut its attach ledger short; its attachments were counted as none", pid);
  }
  (void)platform::UnlinkRegionFile(ledger_dir_fd_,
                                        backend::LedgerFileName(pid, process->start_time));
  AnnounceGrants(process->shm_grants);
}

void ClientRegistry::AnnounceGrants(const core::ShmGrants& grants) {
  if (grants_changed_) grants.ForEachIndex([&](int32_t index) { grants_changed_(index); });
}

int32_t ClientRegistry::HolderOf(int32_t index) {
  int32_t holder = 0;
  for (const auto& [pid, process] : processes_) {
    if (!process->shm_grants.At(index).has_value()) continue;
    if (holder != 0) return core::kManyHolders;
    holder = pid;
  }
  return holder;
}

namespace {

// The process a ledger file name ("<pid>.<start time>") is for, or false.
bool ParseLedgerName(const std::string& name, int32_t* pid, uint64_t* start_time) {
  std::vector<std::string> parts = absl::StrSplit(name, '.');
  return parts.size() == 2 && absl::SimpleAtoi(parts[0], pid) && absl::SimpleAtoi(parts[1], start_time) && *pid > 0;
}

}  // namespace

void ClientRegistry::Recover(const std::function<void(ClientProcess&)>& recover_grants,
                             const std::function<void(const ClientProcess&)>& on_exit) {
  for (const std::string& name : ListDirectory(ledger_dir_fd_)) {
    int32_t pid = 0;
    uint64_t start_time = 0;
    if (!ParseLedgerName(name, &pid, &start_time)) {
      SYSV_LOG(kWarning, "removing unrecognised ledger file %s", name);
      (void)platform::UnlinkRegionFile(ledger_dir_fd_, name);
      continue;
    }
    if (platform::ProcessAlive(pid, start_time)) {
      absl::StatusOr<std::unique_ptr<ClientProcess>> process =
          Adopt(pid, start_time, /*process_fd=*/-1, /*create=*/false, /*entries=*/0);
      if (process.ok()) {
        (*process)->sets_unknown = true;
        // Charged to the user it runs as now (who registered it is not
        // recorded), whatever it holds: it is alive.
        if (absl::StatusOr<uid_t> euid = platform::ProcessEffectiveUid(pid); euid.ok()) {
          (*process)->ledger_payer = *euid;
          (void)ChargeLedger(**process, (*process)->ledger_map.size(), /*even_over=*/true);
        }
        recover_grants(**process);
        // Its ledger held its grants' entries when the daemon stopped,
        // unless the process cut it since; what it grew meanwhile is taken
        // back to the size adopted.
        (*process)->shm_grants.ForEachIndex([&](int32_t index) {
          if (absl::Status room = MakeRoom(**process, index); !room.ok()) {
            SYSV_LOG(kWarning, "pid %d: no room in its ledger for segment index %d: %s", pid, index,
                     room.ToString());
          }
        });
        TrimRegionFile(ledger_dir_fd_, name, (*process)->ledger_map.size(), /*grow_shorter=*/true);
        processes_[pid] = *std::move(process);
        SYSV_LOG(kInfo, "re-adopted client process %d", pid);
        continue;
      }
      SYSV_LOG(kWarning, "cannot re-adopt client %d: %s", pid, process.status().ToString());
    }
    // Dead (or unreadable): do its exit-time work from what its ledger
    // says, then forget it.
    ClientProcess dead;
    dead.pid = pid;
    dead.start_time = start_time;
    dead.sets_unknown = true;
    absl::StatusOr<UniqueFd> ledger_fd = platform::OpenRegionFile(ledger_dir_fd_, name, false);
    if (ledger_fd.ok()) {
      absl::StatusOr<uint64_t> size = platform::FileSize(ledger_fd->get());
      if (size.ok() && *size > 0) {
        absl::StatusOr<backend::GuardedMapping> map = MapGuarded(ledger_fd->get(), *size, /*writable=*/false);
        if (map.ok()) {
          absl::StatusOr<core::AttachLedger> ledger = core::AttachLedger::Open(map->data(), map->size());
          if (ledger.ok()) dead.ledger.emplace(*ledger);
          dead.ledger_map = *std::move(map);
        }
      }
    }
    on_exit(dead);
    (void)platform::UnlinkRegionFile(ledger_dir_fd_, name);
  }
}

core::ShmRegistry::CensusResult ClientRegistry::Count(int32_t index, uint32_t seq) {
  core::ShmRegistry::CensusResult result;
  for (const auto& [pid, process] : processes_) {
    result.Add(pid, process->shm_grants.Summarize(*process->ledger, index, seq));
  }
  return result;
}

void ClientRegistry::Forget(int32_t index, uint32_t seq) {
  for (const auto& [pid, process] : processes_) process->shm_grants.Revoke(index, seq);
}

absl::Status ClientRegistry::MakeRoom(ClientProcess& process, int32_t index) {
  // A ledger its process cut short reads as empty until it exits: growing
  // it would not make it count again.
  if (!process.ledger || process.ledger_map.faulted() || index < 0) return absl::OkStatus();
  const size_t size = core::AttachLedgerSize(core::AttachLedgerEntriesFor(index, ledger_capacity_));
  if (size <= process.ledger_map.size()) return absl::OkStatus();
  // Charged first: over user_bytes, this grant fails (ENOMEM).
  const uint64_t added = size - process.ledger_map.size();
  if (absl::Status charged = ChargeLedger(process, added); !charged.ok()) return charged;
  // Allocated, so that neither the daemon's reads nor the client's writes
  // of the new entries can fault for want of space: that failure is this
  // grant's (ENOMEM), now.
  const std::string name = backend::LedgerFileName(process.pid, process.start_time);
  absl::Status grown;
  if (const int err = platform::AllocateAddedFileSpace(process.ledger_fd.get(),
                                                      static_cast<off_t>(process.ledger_map.size()),
                                                      static_cast<off_t>(size));
      err != 0) {
    grown = core::ErrnoStatus(err == ENOSPC ? ENOMEM : err,
                              absl::StrFormat("cannot grow ledger %s to %u bytes: %s", name, size, std::strerror(err)));
  }
  absl::StatusOr<backend::GuardedMapping> map =
      grown.ok() ? MapGuarded(process.ledger_fd.get(), size, /*writable=*/true) : grown;
  if (!map.ok()) {
    // Back to the size still mapped and charged: nobody may use what was
    // added.
    TrimRegionFile(ledger_dir_fd_, name, process.ledger_map.size(), /*grow_shorter=*/false);
    ReleaseLedger(process, added);
    return map.status();
  }
  // The view moves to the new mapping and publishes the new entries; the
  // old mapping goes after it.
  process.ledger.emplace(process.ledger->Extended(map->data(), map->size()));
  process.ledger_map = *std::move(map);
  return absl::OkStatus();
}

absl::Status ClientRegistry::ChargeLedger(ClientProcess& process, uint64_t bytes, bool even_over) {
  if (quota_ == nullptr || process.ledger_payer == ClientProcess::kUncounted) return absl::OkStatus();
  if (absl::Status charged = quota_->ChargeStorage(process.ledger_payer, bytes, even_over); !charged.ok()) {
    return charged;
  }
  process.ledger_charged += bytes;
  return absl::OkStatus();
}

void ClientRegistry::ReleaseLedger(ClientProcess& process, std::optional<uint64_t> bytes) {
  // As ChargeLedger(): nothing was counted without a quota or a payer.
  if (quota_ == nullptr || process.ledger_payer == ClientProcess::kUncounted) return;
  const uint64_t released = std::min(bytes.value_or(process.ledger_charged), process.ledger_charged);
  quota_->ReleaseStorage(process.ledger_payer, released);
  process.ledger_charged -= released;
}

void ClientRegistry::TakeBack(const std::string& name) {
  // Back to the size the daemon gave that process's ledger (found by the
  // name's pid: this runs at every registration and grow, which the watch
  // also reports, so no walk over every process).
  int32_t pid = 0;
  uint64_t start_time = 0;
  if (ParseLedgerName(name, &pid, &start_time)) {
    if (auto it = processes_.find(pid); it != processes_.end() && it->second->start_time == start_time) {
      TrimRegionFile(ledger_dir_fd_, name, it->second->ledger_map.size(), /*grow_shorter=*/true);
      return;
    }
  }
  // No record (being created or retired): the most a ledger may be.
  TrimRegionFile(ledger_dir_fd_, name, core::AttachLedgerSize(ledger_capacity_), /*grow_shorter=*/true);
}

}  // namespace sysv::daemon
