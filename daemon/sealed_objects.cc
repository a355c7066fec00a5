#include "daemon/sealed_objects.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"
#include "daemon/region_dir.h"

namespace sysv::daemon {

std::string SealedObjects::Key(absl::string_view kind, absl::string_view name) {
  return absl::StrCat(kind, "/", name);
}

absl::Status SealedObjects::UseKeeper(std::string keeper_path) {
  keeper_path_ = std::move(keeper_path);
  absl::StatusOr<platform::FdKeeper> keeper = platform::FdKeeper::ConnectOrStart(keeper_path_);
  if (!keeper.ok()) return keeper.status();
  absl::StatusOr<std::vector<std::pair<std::string, backend::UniqueFd>>> kept = keeper->List();
  if (!kept.ok()) return kept.status();
  for (auto& [key, fd] : *kept) {
    // Only what the daemon put there: a sealed region under a known kind
    // and an object's file name. The stores drop the ones no live object
    // names.
    int32_t index = 0;
    uint32_t seq = 0;
    const bool known = absl::StartsWith(key, Key(kSegments, "")) || absl::StartsWith(key, Key(kSets, "")) ||
                       absl::StartsWith(key, Key(kQueues, ""));
    const size_t slash = key.find('/');
    if (known && ParseRegionFileName(key.substr(slash + 1), &index, &seq) && platform::IsSealedRegion(fd.get())) {
      sealed_[key] = std::move(fd);
    } else {
      (void)keeper->Drop(key);
    }
  }
  keeper_ = *std::move(keeper);
  struct rlimit nofile {};
  max_sealed_ = getrlimit(RLIMIT_NOFILE, &nofile) != 0 ? 0
                : nofile.rlim_cur == RLIM_INFINITY    ? SIZE_MAX
                                                      : static_cast<size_t>(nofile.rlim_cur / 4 * 3);
  SYSV_LOG(kInfo, "segments, semaphore sets and message queues are sealed regions (fd keeper at %s; %u kept from before)",
           keeper_path_, static_cast<uint32_t>(sealed_.size()));
  return absl::OkStatus();
}

bool SealedObjects::OnKeeperReadable() {
  if (!keeper_) return false;
  absl::Status status = keeper_->ReadAnswers(platform::FdKeeper::kMaxUnanswered);
  for (const auto& [key, err] : keeper_->TakeRefused()) {
    // The object stays (the client has its id), sealed, and the daemon
    // holds it; only a daemon killed before it is removed loses it.
    SYSV_LOG(kError, "the fd keeper refused %s (%s): it lives only as long as this daemon", key,
             std::strerror(err));
  }
  return status.ok() && !platform::PeerGone(keeper_->fd());
}

void SealedObjects::OnKeeperGone() {
  keeper_.reset();
  // The new keeper gets only what lives (sealed_): nothing to drop there.
  drops_.clear();
  // A keeper killed a moment ago can still accept on its listening socket
  // while it dies (its connection to us closes before its listener does)
  // and then reset the connection: connect again, and once the dead one's
  // socket refuses, a new keeper is started.
  absl::StatusOr<platform::FdKeeper> keeper;
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    keeper = platform::FdKeeper::ConnectOrStart(keeper_path_);
    status = keeper.status();
    for (auto it = sealed_.begin(); status.ok() && it != sealed_.end(); ++it) {
      status = keeper->Put(it->first, it->second.get());
    }
    if (status.ok()) {
      // Taken into its table at once, not up to FdKeeper::kDrainEvery
      // later: a replacement is rare, and whoever checks the keeper then
      // (the cut-attack tests do) sees it whole.
      keeper->Ring();
      break;
    }
  }
  if (!status.ok()) {
    SYSV_LOG(kError, "the fd keeper is gone and cannot be replaced (%s): new objects are region files, "
             "and %u sealed ones live only as long as this daemon", status.ToString(),
             static_cast<uint32_t>(sealed_.size()));
    return;
  }
  keeper_ = *std::move(keeper);
  SYSV_LOG(kWarning, "the fd keeper was gone: a new one holds the %u sealed objects",
           static_cast<uint32_t>(sealed_.size()));
}

absl::StatusOr<SealedObjects::ObjectFd> SealedObjects::Create(absl::string_view kind, int dir_fd,
                                                              const std::string& name, uint64_t bytes) {
  ObjectFd object;
  if (keeper_ && sealed_.size() + retired_.size() >= max_sealed_) {
    if (!warned_no_room_) {
      SYSV_LOG(kWarning, "%s and the objects made while %u sealed ones use 3/4 of RLIMIT_NOFILE are region files",
               Key(kind, name), static_cast<uint32_t>(sealed_.size()));
    }
    warned_no_room_ = true;
  } else if (keeper_) {
    const std::string key = Key(kind, name);
    // A drop left for after a reply goes first: the keeper then never holds
    // two objects' regions under one name, whatever names come back.
    SendDrops();
    absl::StatusOr<backend::UniqueFd> sealed =
        platform::CreateSealedRegion(absl::StrCat("sysvipc-", kind, "-", name).c_str(), bytes);
    absl::Status kept = sealed.ok() ? keeper_->Put(key, sealed->get()) : sealed.status();
    if (kept.ok()) {
      object.fd = sealed->get();
      sealed_[key] = *std::move(sealed);
      return object;
    }
    // A region file still serves: only the window its take-back leaves
    // (a writer cutting it) comes back, for this object.
    SYSV_LOG(kWarning, "%s is a region file: no sealed region (%s)", key, kept.ToString());
  }
  // A file a crash left between create and record is stale: replace it.
  // Only here: a sealed object has no file, so its create does no file
  // system work at all (and a daemon's start removes every leftover).
  (void)platform::UnlinkRegionFile(dir_fd, name);
  absl::StatusOr<backend::UniqueFd> file = platform::CreateRegionFile(dir_fd, name, bytes, 0600);
  if (!file.ok()) return file.status();
  object.file = *std::move(file);
  object.fd = object.file.get();
  return object;
}

absl::StatusOr<SealedObjects::ObjectFd> SealedObjects::Open(absl::string_view kind, int dir_fd,
                                                            const std::string& name) const {
  ObjectFd object;
  object.fd = Find(kind, name);
  if (object.fd >= 0) return object;
  absl::StatusOr<backend::UniqueFd> file = platform::OpenRegionFile(dir_fd, name, true);
  if (!file.ok()) return file.status();
  object.file = *std::move(file);
  object.fd = object.file.get();
  return object;
}

absl::Status SealedObjects::Remove(absl::string_view kind, int dir_fd, const std::string& name) {
  if (Drop(kind, name)) return absl::OkStatus();
  return platform::UnlinkRegionFile(dir_fd, name);
}

absl::StatusOr<backend::UniqueFd> SealedObjects::OpenForClient(absl::string_view kind, int dir_fd,
                                                               const std::string& name, bool writable) const {
  if (const int sealed = Find(kind, name); sealed >= 0) return OpenForClient(sealed, writable);
  return platform::OpenRegionFile(dir_fd, name, writable);
}

int SealedObjects::Find(absl::string_view kind, const std::string& name) const {
  auto it = sealed_.find(Key(kind, name));
  return it == sealed_.end() ? -1 : it->second.get();
}

bool SealedObjects::Drop(absl::string_view kind, const std::string& name) {
  const std::string key = Key(kind, name);
  auto it = sealed_.find(key);
  if (it == sealed_.end()) return false;
  // Closing a region frees its pages, and the keeper's drop wakes it: both
  // wait for the reply (AfterReply).
  struct stat st {};
  if (keeper_ && fstat(it->second.get(), &st) == 0 && static_cast<uint64_t>(st.st_blocks) * 512 >= kReleaseAtOnceBytes) {
    ring_for_drops_ = true;
  }
  retired_.push_back(std::move(it->second));
  sealed_.erase(it);
  if (keeper_) drops_.push_back(key);
  return true;
}

void SealedObjects::SendDrops() {
  for (const std::string& key : drops_) {
    if (!keeper_) break;
    if (absl::Status status = keeper_->Drop(key); !status.ok()) {
      SYSV_LOG(kWarning, "the fd keeper did not drop %s: %s", key, status.ToString());
    }
  }
  drops_.clear();
  if (ring_for_drops_ && keeper_) keeper_->Ring();
  ring_for_drops_ = false;
}

void SealedObjects::AfterReply() {
  SendDrops();
  retired_.clear();
}

std::vector<std::string> SealedObjects::Names(absl::string_view kind) const {
  const std::string prefix = Key(kind, "");
  std::vector<std::string> names;
  for (const auto& [key, fd] : sealed_) {
    if (absl::StartsWith(key, prefix)) names.push_back(key.substr(prefix.size()));
  }
  return names;
}

absl::StatusOr<backend::UniqueFd> SealedObjects::OpenForClient(int fd, bool writable) {
  if (!writable) return platform::ReopenReadOnly(fd);
  backend::UniqueFd dup(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) return core::ErrnoStatus(errno, "dup a sealed region");
  return dup;
}

}  // namespace sysv::daemon
