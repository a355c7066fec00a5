#include "daemon/client_registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "backends/common/namespace_layout.h"
#include "backends/linux/process_watch.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {
namespace {

using backend::UniqueFd;

// A mapping of `size` bytes of a ledger file (at least that long now),
// guarded against the file being cut short later.
absl::StatusOr<backend::GuardedMapping> MapGuarded(int fd, uint64_t size, bool writable) {
  absl::StatusOr<linux_backend::MappedRegion> map = linux_backend::MappedRegion::Map(fd, size, writable);
  if (!map.ok()) return map.status();
  return backend::GuardedMapping::Guard(*std::move(map));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientProcess>> ClientRegistry::Adopt(int32_t pid,
                                                                     uint64_t start_time,
                                                                     bool create) {
  auto process = std::make_unique<ClientProcess>();
  process->pid = pid;
  process->start_time = start_time;
  absl::StatusOr<UniqueFd> pidfd = linux_backend::OpenPidfd(pid);
  if (!pidfd.ok()) return pidfd.status();
  process->pidfd = *std::move(pidfd);

  const std::string name = backend::LedgerFileName(pid, start_time);
  const size_t size = core::AttachLedgerSize(ledger_capacity_);
  absl::StatusOr<UniqueFd> fd =
      create ? linux_backend::CreateRegionFile(ledger_dir_fd_, name, size, 0600)
             : linux_backend::OpenRegionFile(ledger_dir_fd_, name, /*writable=*/true);
  if (!fd.ok()) return fd.status();
  // The daemon formats a new ledger through its mapping; on a full file
  // system a write to an unallocated page is SIGBUS, which would kill the
  // daemon. Allocating first makes registration fail with ENOMEM instead.
  if (create) {
    if (const int err = posix_fallocate(fd->get(), 0, static_cast<off_t>(size)); err != 0) {
      (void)linux_backend::UnlinkRegionFile(ledger_dir_fd_, name);
      return core::ErrnoStatus(err == ENOSPC ? ENOMEM : err,
                               absl::StrFormat("cannot allocate ledger %s: %s", name, std::strerror(err)));
    }
  }
  // Mapped at the size its layout needs, never at whatever size the file
  // has now: Map() refuses a shorter file (a ledger its process cut short
  // before a daemon restart is unreadable, as a scribbled one is), and the
  // guard covers a cut after this check.
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
  if (absl::Status status = watch_(process->pidfd.get(), pid); !status.ok()) return status;
  return process;
}

ClientProcess* ClientRegistry::Find(int32_t pid) {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : it->second.get();
}

absl::StatusOr<ClientProcess*> ClientRegistry::Register(
    int32_t pid, bool fresh_image,
    const std::function<void(const core::AttachLedger&, int32_t pid)>& on_stale_ledger,
    const std::function<void(const ClientProcess&)>& on_exit) {
  if (auto it = processes_.find(pid); it != processes_.end()) {
    ClientProcess* process = it->second.get();
    if (linux_backend::ProcessAlive(pid, process->start_time)) {
      if (fresh_image) {
        // exec dropped every attachment: fold them, then start over.
        on_stale_ledger(*process->ledger, pid);
        absl::StatusOr<core::AttachLedger> ledger = core::AttachLedger::Format(
            process->ledger_map.data(), process->ledger_map.size(), ledger_capacity_, pid);
        if (!ledger.ok()) return ledger.status();
        process->ledger.emplace(*ledger);
      }
      return process;
    }
    // The pid was reused before its pidfd reported the exit.
    Retire(pid, on_exit);
  }
  absl::StatusOr<uint64_t> start_time = linux_backend::ProcessStartTime(pid);
  if (!start_time.ok()) return start_time.status();
  // A ledger may exist from before a daemon restart that Recover() missed.
  (void)linux_backend::UnlinkRegionFile(ledger_dir_fd_, backend::LedgerFileName(pid, *start_time));
  absl::StatusOr<std::unique_ptr<ClientProcess>> process = Adopt(pid, *start_time, /*create=*/true);
  if (!process.ok()) return process.status();
  ClientProcess* raw = process->get();
  processes_[pid] = *std::move(process);
  return raw;
}

void ClientRegistry::Retire(int32_t pid, const std::function<void(const ClientProcess&)>& on_exit) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  std::unique_ptr<ClientProcess> process = std::move(it->second);
  processes_.erase(it);
  unwatch_(process->pidfd.get());
  // Out of the census before folding, so the fold sees no live attachments.
  on_exit(*process);
  if (process->ledger_map.faulted()) {
    SYSV_LOG(kWarning, "pid %d cut its attach ledger short; its attachments were counted as none", pid);
  }
  (void)linux_backend::UnlinkRegionFile(ledger_dir_fd_,
                                        backend::LedgerFileName(pid, process->start_time));
}

void ClientRegistry::Recover(const std::function<void(const ClientProcess&)>& on_exit) {
  for (const std::string& name : ListDirectory(ledger_dir_fd_)) {
    std::vector<std::string> parts = absl::StrSplit(name, '.');
    int32_t pid = 0;
    uint64_t start_time = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &pid) ||
        !absl::SimpleAtoi(parts[1], &start_time) || pid <= 0) {
      SYSV_LOG(kWarning, "removing unrecognised ledger file %s", name);
      (void)linux_backend::UnlinkRegionFile(ledger_dir_fd_, name);
      continue;
    }
    if (linux_backend::ProcessAlive(pid, start_time)) {
      absl::StatusOr<std::unique_ptr<ClientProcess>> process = Adopt(pid, start_time, false);
      if (process.ok()) {
        (*process)->sets_unknown = true;
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
    absl::StatusOr<UniqueFd> ledger_fd = linux_backend::OpenRegionFile(ledger_dir_fd_, name, false);
    if (ledger_fd.ok()) {
      absl::StatusOr<uint64_t> size = linux_backend::FileSize(ledger_fd->get());
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
    (void)linux_backend::UnlinkRegionFile(ledger_dir_fd_, name);
  }
}

core::ShmRegistry::CensusResult ClientRegistry::Count(int32_t index, uint32_t seq) {
  core::ShmRegistry::CensusResult result;
  for (const auto& [pid, process] : processes_) {
    const core::LedgerSummary summary = process->ledger->Summarize(index, seq);
    result.nattch += summary.nattch;
    if (summary.last_attach_ns > result.last_attach_ns) {
      result.last_attach_ns = summary.last_attach_ns;
      result.last_attach_pid = pid;
    }
    if (summary.last_detach_ns > result.last_detach_ns) {
      result.last_detach_ns = summary.last_detach_ns;
      result.last_detach_pid = pid;
    }
  }
  return result;
}

}  // namespace sysv::daemon
