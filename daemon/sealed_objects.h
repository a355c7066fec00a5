// The objects' files no descriptor holder can resize, for every kind
// (segments, semaphore sets, message queues at their capacity): sealed regions
// (platform::CreateSealedRegion) held by the fd keeper (platform::FdKeeper)
// so that a restarted daemon gets them back. One creation function, one
// recover-from-keeper path and one keeper replacement for all kinds; each
// store asks for its own kind's objects by file name ("<index>.<seq>").
//
// Where no keeper can be had (DragonFly: no memfd; a keeper that cannot be
// started), nothing is sealed: Create answers an error and the store makes
// a region file, with the take-back (daemon/region_dir.h) as before.
#ifndef SYSV_DAEMON_SEALED_OBJECTS_H_
#define SYSV_DAEMON_SEALED_OBJECTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"

namespace sysv::daemon {

class SealedObjects {
 public:
  // The kinds, as the keeper's names begin ("shm/3.1", "sem/0.7", "msg/2.4").
  static constexpr char kSegments[] = "shm";
  static constexpr char kSets[] = "sem";
  static constexpr char kQueues[] = "msg";

  // Objects become sealed regions kept by the fd keeper at `keeper_path`
  // (started if none answers), and the ones it holds from before a restart
  // are taken back (anything else it holds is dropped). An error leaves
  // every object a region file.
  absl::Status UseKeeper(std::string keeper_path);
  // The keeper connection to watch (readable or hung up when the keeper is
  // gone), or -1.
  int keeper_fd() const { return keeper_ ? keeper_->fd() : -1; }
  // The keeper's connection is readable: reads its answers, logging any
  // object it refused to hold. Whether the keeper is still there (false: it
  // is gone; call OnKeeperGone).
  bool OnKeeperReadable();
  // The keeper went away: starts another and hands it every sealed object
  // (what the daemon holds is all there is). Without a keeper, new objects
  // are region files, and the sealed ones die with the daemon.
  void OnKeeperGone();

  // The daemon's read-write descriptor of an object's file: a sealed
  // region's own (owned here, valid until Drop; `file` empty) or a region
  // file's (owned by `file`).
  struct ObjectFd {
    int fd = -1;
    backend::UniqueFd file;
  };
  // The one place an object's file is made, `bytes` zeros: a sealed region
  // for object `name` of `kind`, given to the keeper (sent, not awaited:
  // platform::FdKeeper::Put); where there is no keeper, no room for another
  // (max_sealed_) or the region cannot be made or sent, a region file `name`
  // in `dir_fd` (mode 0600, replacing a stale one). Results: the
  // descriptor; the errno of
  // platform::CreateRegionFile.
  absl::StatusOr<ObjectFd> Create(absl::string_view kind, int dir_fd, const std::string& name, uint64_t bytes);
  // The daemon's read-write descriptor of object `name` of `kind`: its
  // sealed region, or region file `name` in `dir_fd` opened now.
  absl::StatusOr<ObjectFd> Open(absl::string_view kind, int dir_fd, const std::string& name) const;
  // Removes object `name` of `kind`: its sealed region (here and at the
  // keeper), else region file `name` in `dir_fd`.
  absl::Status Remove(absl::string_view kind, int dir_fd, const std::string& name);
  // A descriptor of object `name` of `kind` for a client (see the static
  // overload), or of its region file in `dir_fd`.
  absl::StatusOr<backend::UniqueFd> OpenForClient(absl::string_view kind, int dir_fd, const std::string& name,
                                                  bool writable) const;
  // The sealed region of object `name` of `kind`, or -1 (none: a region
  // file, or no such object).
  int Find(absl::string_view kind, const std::string& name) const;
  // Forgets object `name` of `kind` here and at the keeper. Whether it was
  // a sealed region.
  bool Drop(absl::string_view kind, const std::string& name);
  // The names of every sealed object of `kind`.
  std::vector<std::string> Names(absl::string_view kind) const;

  // The work a removal leaves for after its reply (the server calls it
  // once a reply is sent): the keeper is told of the removals, and their
  // descriptors are closed (which frees their pages). A restart loses
  // nothing by the wait: a removed object is gone from the table, and what
  // the keeper still holds of it is dropped by the next daemon's recovery.
  void AfterReply();

  // A descriptor of sealed region `fd` for a client: a read-only holder
  // gets a description of its own that cannot be mapped writable; a writer
  // may share the daemon's (its seals bind every description alike).
  static absl::StatusOr<backend::UniqueFd> OpenForClient(int fd, bool writable);

 private:
  static std::string Key(absl::string_view kind, absl::string_view name);
  // Sends the keeper the drops Drop left for after the reply.
  void SendDrops();

  // Removed objects' descriptors and keeper names, until AfterReply.
  std::vector<backend::UniqueFd> retired_;
  std::vector<std::string> drops_;
  // A removed region's pages live as long as the keeper's copy, which a
  // keeper with a doorbell closes only when it next serves its queue (half
  // a window of requests or FdKeeper::kDrainEvery later). Past this many
  // bytes in use, the drops ring for it at once (ring_for_drops_).
  static constexpr uint64_t kReleaseAtOnceBytes = uint64_t{1} << 20;
  bool ring_for_drops_ = false;

  // The most sealed objects held at once: each keeps a descriptor open here
  // (and one at the keeper) for its whole life, so past 3/4 of
  // RLIMIT_NOFILE new objects are region files, which hold none, and the
  // clients' connections (daemon/main.cc, ConnectionLimit) and the files
  // opened on demand still get descriptors, instead of msgget, semget and
  // accept failing with EMFILE. Set by UseKeeper.
  size_t max_sealed_ = 0;
  bool warned_no_room_ = false;
  std::string keeper_path_;
  std::optional<platform::FdKeeper> keeper_;
  // By "<kind>/<name>": the daemon's own descriptors; the keeper holds
  // duplicates under the same names (or is about to drop them: drops_).
  absl::flat_hash_map<std::string, backend::UniqueFd> sealed_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SEALED_OBJECTS_H_
