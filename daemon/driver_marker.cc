#include "daemon/driver_marker.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/ipc/errno_status.h"
#include "daemon/log.h"

namespace sysv::daemon {
namespace {

// "<id>\n" of a uint32_t fits.
constexpr size_t kMarkerBytes = 16;

}  // namespace

absl::Status WriteDriverMarker(int dir_fd, const std::string& name, uint32_t id) {
  absl::StatusOr<backend::UniqueFd> marker = platform::CreateRegionFile(dir_fd, name, 0, 0600);
  if (!marker.ok()) return marker.status();
  const std::string text = absl::StrCat(id, "\n");
  if (pwrite(marker->get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return core::ErrnoStatus(EIO, absl::StrCat("cannot record driver object ", id, " in ", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ReadDriverMarker(int dir_fd, const std::string& name) {
  absl::StatusOr<backend::UniqueFd> fd = platform::OpenRegionFile(dir_fd, name, /*writable=*/false);
  if (!fd.ok()) return fd.status();
  char text[kMarkerBytes] = {};
  const ssize_t got = pread(fd->get(), text, sizeof(text), 0);
  uint32_t id = 0;
  if (got <= 0 || !absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(text, got)), &id) ||
      id == 0) {
    return core::ErrnoStatus(EIDRM, absl::StrCat(name, " names no driver object"));
  }
  return id;
}

absl::StatusOr<backend::UniqueFd> OpenMarkedObject(platform::SecurityDriver& driver, int dir_fd,
                                                   const std::string& name, bool writable) {
  absl::StatusOr<uint32_t> id = ReadDriverMarker(dir_fd, name);
  if (!id.ok()) return id.status();
  return driver.OpenObject(*id, writable);
}

void RemoveMarkedObject(platform::SecurityDriver& driver, int dir_fd, const std::string& name) {
  absl::StatusOr<uint32_t> id = ReadDriverMarker(dir_fd, name);
  if (!id.ok()) return;
  absl::StatusOr<bool> gone = driver.Remove(*id);
  // ENOENT: gone already (its last detach reported); EIDRM: marked before.
  const int err = gone.ok() ? 0 : core::ErrnoOf(gone.status());
  if (err != 0 && err != ENOENT && err != EIDRM) {
    SYSV_LOG(kWarning, "removing driver object %u of %s: %s", *id, name, gone.status().ToString());
  }
}

}  // namespace sysv::daemon
