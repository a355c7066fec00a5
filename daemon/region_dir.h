// The state directory of one object kind ("index.seq" region files), as the
// daemon finds it when it starts.
#ifndef SYSV_DAEMON_REGION_DIR_H_
#define SYSV_DAEMON_REGION_DIR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sysv::daemon {

// The names in directory `dir_fd` (but "." and ".." and other dot names),
// read through a duplicate so that `dir_fd` keeps its offset. Empty when
// the directory cannot be read.
std::vector<std::string> ListDirectory(int dir_fd);

// Calls `map` for every region file in `dir_fd` that names a live object
// (`is_live`), and removes the others (objects removed while the daemon was
// down, or files a crash left half made). `what` names the kind in logs.
void RecoverRegionFiles(int dir_fd, const char* what, const std::function<bool(int32_t index, uint32_t seq)>& is_live,
                        const std::function<absl::Status(int32_t index, uint32_t seq)>& map);

// Gives region file `fd` back the `size` bytes its layout needs, if a
// client holding a writable descriptor cut it short (the cut part reads as
// zeros afterwards). Returns whether it was short; the errno of fstat or
// ftruncate otherwise. Mapping more than the file holds is what would fault.
absl::StatusOr<bool> RestoreRegionSize(int fd, uint64_t size);

// "<index>.<seq>", the name of every object's region file, or
// "<index>.<seq>.<generation>", a message queue's region after it moved to
// a bigger one (RegionName()): false for any other name. `generation` (if
// given) is 0 for the first form.
bool ParseRegionFileName(const std::string& name, int32_t* index, uint32_t* seq, uint32_t* generation = nullptr);
// The name of object (index, seq)'s region of `generation`: "<index>.<seq>"
// for generation 0, "<index>.<seq>.<generation>" after.
std::string RegionName(int32_t index, uint32_t seq, uint32_t generation);

// Takes back what a client did to file `name` in `dir_fd` through the
// read-write descriptor it holds (platform::FileChangeWatch saw a change):
// the file is cut back to `size` bytes, blocks allocated past them are
// freed, and, if `grow_shorter`, a shorter file gets its size back (regions
// with a layout leave that to their store, which repairs the content too).
// So a descriptor never holds more storage than its object is charged for,
// for longer than the daemon takes to see the change. Logged; errors too.
void TrimRegionFile(int dir_fd, const std::string& name, uint64_t size, bool grow_shorter);

// Writes the first `bytes` of a new object's region `fd` (all zeros until
// then) with pwrite, up to the last byte that is not zero: `format` fills a
// buffer of `bytes` zeros, aligned to 64 bytes as a mapping is (region
// locks are alignas(64)). A store's create maps nothing: mapping, faulting
// in and unmapping each new object was the largest part of the daemon's
// work per create and IPC_RMID (issue #14's profile); the daemon maps an
// object when it first uses it. Results: OK; `format`'s error; the errno of
// pwrite.
absl::Status WriteNewRegion(int fd, size_t bytes, const std::function<absl::Status(void* base)>& format);

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_REGION_DIR_H_
