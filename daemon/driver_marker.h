// Where the security driver is in use, an object's region file in the state
// directory is a marker: a few bytes that record the driver's id of the
// object holding its memory ("<id>\n"), so that a restarted daemon finds the
// object again. Markers are the daemon's alone: never handed out, never
// mapped. ShmStore keeps its segments this way (semaphore sets and queues
// stay region files: not done yet).
#ifndef SYSV_DAEMON_DRIVER_MARKER_H_
#define SYSV_DAEMON_DRIVER_MARKER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"

namespace sysv::daemon {

// Creates the marker `name` in `dir_fd` (replacing any) naming driver
// object `id`. Errors: the file's creation or write (EIO for a short one).
absl::Status WriteDriverMarker(int dir_fd, const std::string& name, uint32_t id);

// The id marker `name` records. EIDRM for a missing id or unreadable text;
// the open's errno (ENOENT) for a missing marker.
absl::StatusOr<uint32_t> ReadDriverMarker(int dir_fd, const std::string& name);

// A new descriptor of the object marker `name` records (read-only unless
// `writable`); the driver's errno otherwise (ENOENT: the object is gone).
absl::StatusOr<backend::UniqueFd> OpenMarkedObject(platform::SecurityDriver& driver, int dir_fd,
                                                   const std::string& name, bool writable);

// Marks the object marker `name` records removed in the driver (its memory
// goes with its last mapping); nothing if there is no marker. Does not
// remove the marker itself.
void RemoveMarkedObject(platform::SecurityDriver& driver, int dir_fd, const std::string& name);

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_DRIVER_MARKER_H_
