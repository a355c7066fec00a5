// The daemon's side of the security driver, /dev/sysvipc (issue #16 on
// Linux, #17 on DragonFly): open, ioctl, read and poll over the one ABI in
// driver/sysvipc_driver_abi.h, so this file serves both OSes; each
// backend's platform.h names it under sysv::platform.
//
// DriverMode is --driver=auto|on|off: auto uses the device when it can be
// opened, on fails the daemon's start when it cannot, off never opens it.
#ifndef SYSV_BACKENDS_COMMON_SECURITY_DRIVER_H_
#define SYSV_BACKENDS_COMMON_SECURITY_DRIVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/common/unique_fd.h"

namespace sysv::backend {

enum class DriverMode { kAuto, kOn, kOff };

// "auto", "on" or "off"; EINVAL otherwise.
absl::StatusOr<DriverMode> ParseDriverMode(absl::string_view text);

class SecurityDriver {
 public:
  // An object the driver created: its id and a read-write descriptor.
  struct Created {
    uint32_t id = 0;
    UniqueFd fd;
  };
  // What the driver counted (ipc/shm.c's shm_nattch, shm_atim, shm_dtim,
  // shm_lprid) and knows of the object.
  struct Facts {
    uint64_t size = 0;
    uint64_t nattch = 0;
    int64_t atime = 0;  // seconds
    int64_t dtime = 0;
    int32_t lpid = 0;   // in the daemon's pid namespace, 0 if outside it
    uint64_t resident_pages = 0;
    bool removed = false;
    bool locked = false;
  };

  // Opens `path` (SYSVIPC_DEVICE_PATH normally) and checks the ABI version.
  // Errors carry open()'s errno (ENOENT: no module; EACCES/EPERM: not root;
  // EBUSY: another daemon holds it) or EPROTO for another ABI version.
  static absl::StatusOr<std::unique_ptr<SecurityDriver>> Open(const std::string& path);

  // Each call is one ioctl; errors carry the driver's errno exactly
  // (ENOENT: no such object; EIDRM: removed already; ENOMEM: memlock).
  absl::StatusOr<Created> Create(uint64_t size, bool noreserve, bool hugetlb);
  absl::StatusOr<UniqueFd> OpenObject(uint32_t id, bool writable);
  absl::StatusOr<Facts> Stat(uint32_t id);
  // Marks the object removed; true if it went at once (no mapping left),
  // false if read() will report its last detach.
  absl::StatusOr<bool> Remove(uint32_t id);
  // SHM_LOCK (lock) or SHM_UNLOCK charged to `uid` against `memlock_limit`
  // bytes (UINT64_MAX: unlimited).
  absl::Status Lock(uint32_t id, bool lock, uint32_t uid, uint64_t memlock_limit);
  // Ids of objects whose last detach after removal was reported since the
  // last call; never blocks (empty when none).
  std::vector<uint32_t> TakeLastDetaches();

  // Readable when TakeLastDetaches() has something: for the event loop.
  int event_fd() const { return fd_.get(); }
  uint32_t abi_version() const { return abi_version_; }

 private:
  SecurityDriver(UniqueFd fd, uint32_t abi_version) : fd_(std::move(fd)), abi_version_(abi_version) {}
  UniqueFd fd_;
  uint32_t abi_version_;
};

// What the daemon runs with, per `mode`: the driver, or nullptr for region
// files. kOn fails with the open's error; kAuto falls back only when the
// device is absent or not ours (ENOENT, ENXIO, ENODEV, EACCES, EPERM, EBUSY)
// and reports why in `why_not`.
absl::StatusOr<std::unique_ptr<SecurityDriver>> OpenSecurityDriverFor(DriverMode mode,
                                                                      std::string* why_not);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_SECURITY_DRIVER_H_
