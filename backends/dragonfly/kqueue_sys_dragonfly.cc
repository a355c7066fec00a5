// kqueue_sys.h over DragonFly's kqueue(2)/kevent(2). DragonFly only (BUILD:
// target_compatible_with //build_defs:dragonfly_os).
//
// Names and layouts checked against DragonFly's sys/sys/event.h (struct
// kevent, EVFILT_*, EV_*, NOTE_*; `int kqueue(void)` and `int kevent(int,
// const struct kevent *, int, struct kevent *, int, const struct timespec *)`
// in its !_KERNEL section); the static_asserts below make a drift a compile
// error.
#include <sys/types.h>
#include <sys/event.h>
#include <sys/time.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "backends/dragonfly/kqueue_sys.h"

namespace sysv::dragonfly_backend {
namespace {

static_assert(kFilterRead == EVFILT_READ);
static_assert(kFilterProc == EVFILT_PROC);
static_assert(kFilterVnode == EVFILT_VNODE);
static_assert(kFilterTimer == EVFILT_TIMER);
static_assert(kFilterSignal == EVFILT_SIGNAL);
static_assert(kFlagAdd == EV_ADD);
static_assert(kFlagDelete == EV_DELETE);
static_assert(kFlagOneshot == EV_ONESHOT);
static_assert(kFlagClear == EV_CLEAR);
static_assert(kFlagError == EV_ERROR);
static_assert(kFlagEof == EV_EOF);
static_assert(kNoteExit == NOTE_EXIT);
static_assert(kNoteDelete == NOTE_DELETE);
static_assert(kNoteWrite == NOTE_WRITE);
static_assert(kNoteExtend == NOTE_EXTEND);
static_assert(kNoteAttrib == NOTE_ATTRIB);
static_assert(sizeof(kevent::udata) == sizeof(uint64_t),
              "udata carries our 64-bit cookie unchanged");

struct kevent ToKernel(const KEvent& in) {
  struct kevent out;
  EV_SET(&out, in.ident, in.filter, in.flags, in.fflags, in.data,
         reinterpret_cast<void*>(static_cast<uintptr_t>(in.udata)));
  return out;
}

KEvent FromKernel(const struct kevent& in) {
  KEvent out;
  out.ident = in.ident;
  out.filter = in.filter;
  out.flags = in.flags;
  out.fflags = in.fflags;
  out.data = in.data;
  out.udata = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(in.udata));
  return out;
}

// Changes go in batches of this many (a stack array each).
constexpr int kChangeBatch = 16;

}  // namespace

int KqueueOpen() {
  const int kq = kqueue();
  if (kq < 0) return -1;
  if (fcntl(kq, F_SETFD, FD_CLOEXEC) != 0) {
    const int errnum = errno;
    close(kq);
    errno = errnum;
    return -1;
  }
  return kq;
}

int KqueueClose(int kq) { return close(kq); }

int Kevent(int kq, const KEvent* changes, int nchanges, KEvent* events,
           int nevents, const struct timespec* timeout) {
  // Changes are applied by calls with no event list, so that a failed change
  // is reported as -1/errno (kern_kevent() posts it as an EV_ERROR event
  // when there is room for one).
  for (int done = 0; done < nchanges;) {
    struct kevent batch[kChangeBatch];
    const int n = nchanges - done < kChangeBatch ? nchanges - done : kChangeBatch;
    for (int i = 0; i < n; ++i) batch[i] = ToKernel(changes[done + i]);
    if (kevent(kq, batch, n, nullptr, 0, nullptr) < 0) return -1;
    done += n;
  }
  if (nevents <= 0) return 0;
  if (nevents > kMaxEventsPerCall) nevents = kMaxEventsPerCall;
  struct kevent out[kMaxEventsPerCall];
  const int count = kevent(kq, nullptr, 0, out, nevents, timeout);
  if (count < 0) return -1;
  for (int i = 0; i < count; ++i) events[i] = FromKernel(out[i]);
  return count;
}

}  // namespace sysv::dragonfly_backend
