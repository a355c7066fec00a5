// The attach-count scenario run against each side of the differential in
// the guest: the guest kernel's own SysV shm, the driver used directly, and
// (in libsysv_guest_test) libsysv over a daemon. Every step that changes
// mappings the way ipc/shm.c counts them (first attach, a mprotect split,
// partial munmaps, fork, exec, kill -9, exit) is followed by a reading of
// nattch and of who lpid names; the traces of two sides must be equal.
#ifndef SYSV_TESTS_DRIVER_NATTCH_SCENARIO_H_
#define SYSV_TESTS_DRIVER_NATTCH_SCENARIO_H_

#include <sys/shm.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sysv::guest {

// One segment of 4 pages, created by the side.
class ShmSide {
 public:
  virtual ~ShmSide() = default;
  virtual std::string Name() const = 0;
  // A new shared read-write mapping of the whole segment, or nullptr.
  virtual char* Attach() = 0;
  // nattch and lpid as the side reports them (-1 when it cannot).
  virtual int64_t Nattch() = 0;
  virtual int64_t Lpid() = 0;
};

// The shmget/shmat/shmctl of one implementation: the kernel's, or libsysv's
// sysv_ functions.
struct ShmCalls {
  const char* name;
  int (*get)(key_t key, size_t size, int flags);
  void* (*at)(int id, const void* addr, int flags);
  int (*ctl)(int id, int cmd, shmid_ds* buf);
};

// A private 4-page segment made through `calls`, removed on destruction.
class CallsSide : public ShmSide {
 public:
  explicit CallsSide(const ShmCalls& calls);
  ~CallsSide() override;
  std::string Name() const override { return calls_.name; }
  char* Attach() override;
  int64_t Nattch() override;
  int64_t Lpid() override;

 private:
  ShmCalls calls_;
  int id_;
};

struct Step {
  std::string what;
  int64_t nattch;
  std::string lpid;  // "self", "child" or the raw value
};

// Runs the scenario on a 4-page segment of `side`. `self_exe` is re-executed
// as "<self_exe> hold <fd>" for the exec step.
std::vector<Step> RunNattchScenario(ShmSide& side, const std::string& self_exe);

// The child mode for the exec step: writes one byte to `fd`, then sleeps
// until killed.
int HoldMain(int fd);

// Compares two traces step by step (one check per step and field).
void CompareTraces(const std::vector<Step>& want, const std::vector<Step>& got,
                   const std::string& label);

}  // namespace sysv::guest

#endif  // SYSV_TESTS_DRIVER_NATTCH_SCENARIO_H_
