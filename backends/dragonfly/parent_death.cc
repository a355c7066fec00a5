#include "backends/dragonfly/parent_death.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/status/statusor.h"
#include "backends/common/unique_fd.h"
#include "backends/dragonfly/kqueue_sys.h"
#include "backends/dragonfly/process_handle.h"

namespace sysv::dragonfly_backend {
namespace {

struct Watch {
  int handle;  // from OpenProcessHandle(parent); the thread closes it
  int signal;
};

// The watching thread: waits until the parent's handle is readable (it has
// exited), then signals its own process.
void* WatchParent(void* arg) {
  const Watch watch = *static_cast<Watch*>(arg);
  delete static_cast<Watch*>(arg);
  struct pollfd exited = {watch.handle, POLLIN, 0};
  int polled;
  while ((polled = poll(&exited, 1, -1)) < 0 && errno == EINTR) {
  }
  if (polled == 1) kill(getpid(), watch.signal);
  KqueueClose(watch.handle);
  return nullptr;
}

}  // namespace

bool DieWithParent(pid_t parent, int signal) {
  absl::StatusOr<backend::UniqueFd> handle = OpenProcessHandle(parent);
  // ESRCH: the parent is gone and reaped already; the comparison says so.
  // Checked after the note: a parent that exits from here on fires it.
  if (getppid() != parent) {
    if (handle.ok()) KqueueClose(handle->release());
    return false;
  }
  if (!handle.ok()) return true;
  auto* watch = new Watch{handle->release(), signal};
  pthread_t thread;
  if (pthread_create(&thread, nullptr, WatchParent, watch) != 0) {
    KqueueClose(watch->handle);
    delete watch;
    return true;
  }
  pthread_detach(thread);
  return true;
}

}  // namespace sysv::dragonfly_backend
