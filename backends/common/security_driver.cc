#include "backends/common/security_driver.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "backends/common/driver/sysvipc_driver_abi.h"
#include "core/ipc/errno_status.h"

namespace sysv::backend {
namespace {

using core::ErrnoStatus;

// One ioctl, retried on EINTR; the driver's errno on failure.
absl::Status Ioctl(int fd, unsigned long cmd, void* arg, const char* what) {
  int rc;
  do {
    rc = ioctl(fd, cmd, arg);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return absl::OkStatus();
  const int err = errno;
  return ErrnoStatus(err, absl::StrCat("/dev/sysvipc ", what, ": ", std::strerror(err)));
}

}  // namespace

absl::StatusOr<DriverMode> ParseDriverMode(absl::string_view text) {
  if (text == "auto") return DriverMode::kAuto;
  if (text == "on") return DriverMode::kOn;
  if (text == "off") return DriverMode::kOff;
  return ErrnoStatus(EINVAL, absl::StrCat("--driver must be auto, on or off, not '", text, "'"));
}

absl::StatusOr<std::unique_ptr<SecurityDriver>> SecurityDriver::Open(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    const int err = errno;
    return ErrnoStatus(err, absl::StrCat("cannot open ", path, ": ", std::strerror(err)));
  }
  sysvipc_version version{};
  if (absl::Status status = Ioctl(fd.get(), SYSVIPC_IOC_VERSION, &version, "version"); !status.ok()) {
    return status;
  }
  if (version.version != SYSVIPC_ABI_VERSION) {
    return ErrnoStatus(EPROTO, absl::StrCat(path, " speaks ABI ", version.version, ", this daemon ",
                                            SYSVIPC_ABI_VERSION));
  }
  return std::unique_ptr<SecurityDriver>(new SecurityDriver(std::move(fd), version.version));
}

absl::StatusOr<SecurityDriver::Created> SecurityDriver::Create(uint64_t size, bool noreserve,
                                                              bool hugetlb) {
  sysvipc_create req{};
  req.size = size;
  req.flags = (noreserve ? SYSVIPC_CREATE_NORESERVE : 0u) | (hugetlb ? SYSVIPC_CREATE_HUGETLB : 0u);
  if (absl::Status status = Ioctl(fd_.get(), SYSVIPC_IOC_CREATE, &req, "create"); !status.ok()) {
    return status;
  }
  Created created;
  created.id = req.id;
  created.fd = UniqueFd(req.fd);
  return created;
}

absl::StatusOr<UniqueFd> SecurityDriver::OpenObject(uint32_t id, bool writable) {
  sysvipc_open req{};
  req.id = id;
  req.flags = writable ? 0u : SYSVIPC_OPEN_READONLY;
  if (absl::Status status = Ioctl(fd_.get(), SYSVIPC_IOC_OPEN, &req, "open"); !status.ok()) {
    return status;
  }
  return UniqueFd(req.fd);
}

absl::StatusOr<SecurityDriver::Facts> SecurityDriver::Stat(uint32_t id) {
  sysvipc_stat req{};
  req.id = id;
  if (absl::Status status = Ioctl(fd_.get(), SYSVIPC_IOC_STAT, &req, "stat"); !status.ok()) {
    return status;
  }
  Facts facts;
  facts.size = req.size;
  facts.nattch = req.nattch;
  facts.atime = req.atime;
  facts.dtime = req.dtime;
  facts.lpid = req.lpid;
  facts.resident_pages = req.resident_pages;
  facts.removed = (req.flags & SYSVIPC_STAT_REMOVED) != 0;
  facts.locked = (req.flags & SYSVIPC_STAT_LOCKED) != 0;
  return facts;
}

absl::StatusOr<bool> SecurityDriver::Remove(uint32_t id) {
  sysvipc_remove req{};
  req.id = id;
  if (absl::Status status = Ioctl(fd_.get(), SYSVIPC_IOC_REMOVE, &req, "remove"); !status.ok()) {
    return status;
  }
  return req.gone != 0;
}

absl::Status SecurityDriver::Lock(uint32_t id, bool lock, uint32_t uid, uint64_t memlock_limit) {
  sysvipc_lock req{};
  req.id = id;
  req.op = lock ? SYSVIPC_LOCK_LOCK : SYSVIPC_LOCK_UNLOCK;
  req.uid = uid;
  req.memlock_limit = memlock_limit;
  return Ioctl(fd_.get(), SYSVIPC_IOC_LOCK, &req, lock ? "SHM_LOCK" : "SHM_UNLOCK");
}

std::vector<uint32_t> SecurityDriver::TakeLastDetaches() {
  std::vector<uint32_t> ids;
  sysvipc_event events[64];
  for (;;) {
    // The descriptor is O_NONBLOCK: EAGAIN ends the batch.
    const ssize_t got = read(fd_.get(), events, sizeof(events));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    for (size_t i = 0; i < static_cast<size_t>(got) / sizeof(events[0]); ++i) {
      if (events[i].kind == SYSVIPC_EVENT_LAST_DETACH) ids.push_back(events[i].id);
    }
    if (static_cast<size_t>(got) < sizeof(events)) break;
  }
  return ids;
}

absl::StatusOr<std::unique_ptr<SecurityDriver>> OpenSecurityDriverFor(DriverMode mode,
                                                                      std::string* why_not) {
  if (mode == DriverMode::kOff) {
    *why_not = "--driver=off";
    return std::unique_ptr<SecurityDriver>();
  }
  absl::StatusOr<std::unique_ptr<SecurityDriver>> driver = SecurityDriver::Open(SYSVIPC_DEVICE_PATH);
  if (driver.ok() || mode == DriverMode::kOn) return driver;
  const int err = core::ErrnoOf(driver.status());
  if (err == ENOENT || err == ENXIO || err == ENODEV || err == EACCES || err == EPERM || err == EBUSY) {
    *why_not = std::string(driver.status().message());
    return std::unique_ptr<SecurityDriver>();
  }
  return driver.status();
}

}  // namespace sysv::backend
