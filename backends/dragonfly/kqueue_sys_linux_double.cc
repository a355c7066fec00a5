// kqueue_sys.h on epoll and pidfds, for tests: see
// kqueue_sys_linux_double.h. testonly; never linked into a product.
#include "backends/dragonfly/kqueue_sys_linux_double.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backends/dragonfly/kqueue_sys.h"

namespace sysv::dragonfly_backend {
namespace {

struct Registration {
  uintptr_t ident = 0;
  int16_t filter = 0;
  uint64_t udata = 0;
  uint64_t cookie = 0;  // epoll_event.data; fresh on every EV_ADD
  int pidfd = -1;       // kFilterProc: a pidfd; kFilterTimer: a timerfd;
                        // kFilterSignal: a signalfd; owned
  bool oneshot = false; // kFilterTimer: EV_ONESHOT
  int wd = -1;          // kFilterVnode: its watch in the queue's inotify
  uint32_t notes = 0;   // kFilterVnode: the kNote* watched
  uint32_t pending = 0; // kFilterVnode: kNote* seen and not yet reported
  int64_t size = 0;     // kFilterVnode: the file's size at the last report
};

using Key = std::pair<uintptr_t, int16_t>;

// epoll_event.data of the queue's inotify instance (registration cookies
// count up from 1).
constexpr uint64_t kInotifyCookie = UINT64_MAX;

struct Queue {
  std::map<Key, Registration> registrations;
  // cookie -> key of the registration it currently belongs to.
  std::unordered_map<uint64_t, Key> cookies;
  uint64_t next_cookie = 1;
  // kFilterVnode: one inotify instance per queue, as DragonFly has one
  // kqueue for all its vnode notes (an instance per note would exhaust
  // fs.inotify.max_user_instances, 128 per user by default, with a
  // daemon's region files), and the registrations of each watch (two
  // descriptors of one file share the inode's watch).
  int inotify = -1;
  std::map<int, std::vector<Key>> watches;
  std::set<Key> vnodes_pending;  // registrations with pending notes
};

std::mutex g_mutex;
std::map<int, Queue>* g_queues = new std::map<int, Queue>();  // never freed
std::atomic<int> g_interruptions{0};

int Fail(int errnum) {
  errno = errnum;
  return -1;
}

bool IsOpen(int fd) { return fd >= 0 && fcntl(fd, F_GETFD) >= 0; }

// Takes a vnode registration off its inotify watch; the last one removes it.
void Unwatch(Queue& queue, const Registration& registration) {
  auto it = queue.watches.find(registration.wd);
  if (it == queue.watches.end()) return;
  std::vector<Key>& keys = it->second;
  keys.erase(std::remove(keys.begin(), keys.end(), Key{registration.ident, registration.filter}), keys.end());
  if (keys.empty()) {
    inotify_rm_watch(queue.inotify, registration.wd);
    queue.watches.erase(it);
  }
}

void Forget(Queue& queue, int epoll_fd, Registration& registration) {
  queue.cookies.erase(registration.cookie);
  if (registration.filter == kFilterVnode) {
    Unwatch(queue, registration);
    queue.vnodes_pending.erase({registration.ident, registration.filter});
  }
  if (registration.pidfd >= 0) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, registration.pidfd, nullptr);
    close(registration.pidfd);
  }
  queue.registrations.erase({registration.ident, registration.filter});
}

int AddRead(Queue& queue, int epoll_fd, const KEvent& change) {
  const int fd = static_cast<int>(change.ident);
  if (!IsOpen(fd)) return Fail(EBADF);
  const std::pair<uintptr_t, int16_t> key{change.ident, kFilterRead};
  auto it = queue.registrations.find(key);
  const bool existed = it != queue.registrations.end();
  Registration fresh;
  Registration& registration = existed ? it->second : fresh;
  // A fresh cookie even for an existing key, so that what an older epoll
  // entry of the same number still reports is recognised as stale.
  const uint64_t cookie = queue.next_cookie++;
  struct epoll_event event = {};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.u64 = cookie;
  int rc = -1;
  if (existed) rc = epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event);
  if (rc != 0) rc = epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
  if (rc != 0) return -1;  // EPERM (regular file), ENOMEM, ENOSPC
  if (existed) queue.cookies.erase(registration.cookie);
  registration.ident = change.ident;
  registration.filter = kFilterRead;
  registration.udata = change.udata;
  registration.cookie = cookie;
  queue.cookies[cookie] = key;
  if (!existed) queue.registrations.emplace(key, registration);
  return 0;
}

int DeleteRead(Queue& queue, int epoll_fd, const KEvent& change) {
  const int fd = static_cast<int>(change.ident);
  auto it = queue.registrations.find({change.ident, kFilterRead});
  if (!IsOpen(fd)) {
    // DragonFly dropped the knote when the descriptor was closed.
    if (it != queue.registrations.end()) Forget(queue, epoll_fd, it->second);
    return Fail(EBADF);
  }
  if (it == queue.registrations.end()) return Fail(ENOENT);
  const int rc = epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
  Forget(queue, epoll_fd, it->second);
  // ENOENT: the number now names another file than the one registered,
  // whose knote DragonFly would have dropped at close().
  return rc == 0 ? 0 : Fail(ENOENT);
}

// Registers `fd` (a pidfd, timerfd or signalfd the double made for the
// note; owned from now on, closed on failure) under `change`'s key.
int RegisterOwned(Queue& queue, int epoll_fd, const KEvent& change, int fd, bool oneshot) {
  Registration registration;
  registration.ident = change.ident;
  registration.filter = change.filter;
  registration.udata = change.udata;
  registration.cookie = queue.next_cookie++;
  registration.pidfd = fd;
  registration.oneshot = oneshot;
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = registration.cookie;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    const int errnum = errno;
    close(fd);
    return Fail(errnum);
  }
  queue.cookies[registration.cookie] = {change.ident, change.filter};
  queue.registrations.emplace(std::make_pair(change.ident, change.filter), registration);
  return 0;
}

int AddProc(Queue& queue, int epoll_fd, const KEvent& change) {
  const std::pair<uintptr_t, int16_t> key{change.ident, kFilterProc};
  if (auto it = queue.registrations.find(key); it != queue.registrations.end()) {
    it->second.udata = change.udata;
    return 0;
  }
  const long pid = static_cast<long>(change.ident);
  if (pid <= 0) return Fail(ESRCH);
  // Works for a zombie too (readable at once), and fails with ESRCH once the
  // process has been reaped: DragonFly's filt_procattach() with zpfind().
  const long pidfd = syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return -1;
  return RegisterOwned(queue, epoll_fd, change, static_cast<int>(pidfd), /*oneshot=*/true);
}

// EV_DELETE of a registration not keyed by a descriptor (a pid, a timer).
int DeleteKeyed(Queue& queue, int epoll_fd, const KEvent& change) {
  auto it = queue.registrations.find({change.ident, change.filter});
  if (it == queue.registrations.end()) return Fail(ENOENT);
  Forget(queue, epoll_fd, it->second);
  return 0;
}

// EVFILT_TIMER as filt_timerattach() has it: `data` milliseconds, then
// every `data` ms unless EV_ONESHOT; adding an existing timer restarts it.
int AddTimer(Queue& queue, int epoll_fd, const KEvent& change) {
  if (change.data <= 0) return Fail(EINVAL);
  const std::pair<uintptr_t, int16_t> key{change.ident, kFilterTimer};
  if (auto it = queue.registrations.find(key); it != queue.registrations.end()) {
    Forget(queue, epoll_fd, it->second);
  }
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (timer < 0) return -1;
  struct itimerspec spec = {};
  spec.it_value.tv_sec = change.data / 1000;
  spec.it_value.tv_nsec = (change.data % 1000) * 1'000'000;
  if ((change.flags & kFlagOneshot) == 0) spec.it_interval = spec.it_value;
  if (timerfd_settime(timer, 0, &spec, nullptr) != 0) {
    const int errnum = errno;
    close(timer);
    return Fail(errnum);
  }
  return RegisterOwned(queue, epoll_fd, change, timer, (change.flags & kFlagOneshot) != 0);
}

// EVFILT_SIGNAL as filt_sigattach() has it: an attempt to deliver signal
// `ident` to the process fires the note, whatever the signal's disposition
// (the double sees a signal only while it is blocked: a signalfd).
int AddSignal(Queue& queue, int epoll_fd, const KEvent& change) {
  const std::pair<uintptr_t, int16_t> key{change.ident, kFilterSignal};
  if (auto it = queue.registrations.find(key); it != queue.registrations.end()) {
    it->second.udata = change.udata;
    return 0;
  }
  sigset_t mask;
  sigemptyset(&mask);
  if (sigaddset(&mask, static_cast<int>(change.ident)) != 0) return Fail(EINVAL);
  const int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) return -1;
  return RegisterOwned(queue, epoll_fd, change, fd, /*oneshot=*/false);
}

// EVFILT_VNODE over inotify: see kqueue_sys_linux_double.h.
int AddVnode(Queue& queue, int epoll_fd, const KEvent& change) {
  const int fd = static_cast<int>(change.ident);
  struct stat st;
  if (fstat(fd, &st) != 0) return Fail(EBADF);
  if ((change.flags & kFlagClear) == 0) return Fail(EINVAL);
  const std::pair<uintptr_t, int16_t> key{change.ident, kFilterVnode};
  if (auto it = queue.registrations.find(key); it != queue.registrations.end()) {
    Forget(queue, epoll_fd, it->second);
  }
  uint32_t mask = 0;
  if ((change.fflags & (kNoteWrite | kNoteExtend)) != 0) {
    mask |= S_ISDIR(st.st_mode) ? (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO) : IN_MODIFY;
  }
  if ((change.fflags & kNoteAttrib) != 0) mask |= IN_ATTRIB;
  if ((change.fflags & kNoteDelete) != 0) mask |= IN_DELETE_SELF | IN_ATTRIB;
  if (mask == 0) return Fail(EINVAL);
  if (queue.inotify < 0) {
    const int inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify < 0) return -1;
    struct epoll_event event = {};
    event.events = EPOLLIN;
    event.data.u64 = kInotifyCookie;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, inotify, &event) != 0) {
      const int errnum = errno;
      close(inotify);
      return Fail(errnum);
    }
    queue.inotify = inotify;
  }
  char path[48];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  // IN_MASK_ADD: another registration may watch the same inode.
  const int wd = inotify_add_watch(queue.inotify, path, mask | IN_MASK_ADD);
  if (wd < 0) return -1;
  Registration registration;
  registration.ident = change.ident;
  registration.filter = kFilterVnode;
  registration.udata = change.udata;
  registration.cookie = queue.next_cookie++;
  registration.wd = wd;
  registration.notes = change.fflags;
  registration.size = st.st_size;
  queue.watches[wd].push_back(key);
  queue.registrations.emplace(key, registration);
  return 0;
}

// Drains the queue's inotify instance into its registrations' pending
// notes, as filt_tmpfsvnode() accumulates its hints.
void DrainInotify(Queue& queue) {
  alignas(struct inotify_event) char buffer[4096];
  for (;;) {
    const ssize_t n = read(queue.inotify, buffer, sizeof(buffer));
    if (n <= 0) break;
    for (ssize_t pos = 0; pos + static_cast<ssize_t>(sizeof(struct inotify_event)) <= n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + pos);
      pos += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
      uint32_t notes = 0;
      if ((event->mask & (IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) != 0) notes |= kNoteWrite;
      if ((event->mask & IN_ATTRIB) != 0) notes |= kNoteAttrib;
      if ((event->mask & IN_DELETE_SELF) != 0) notes |= kNoteDelete;
      if ((event->mask & IN_Q_OVERFLOW) != 0) {
        for (auto& [key, registration] : queue.registrations) {
          if (registration.filter != kFilterVnode) continue;
          registration.pending |= kNoteWrite | kNoteExtend | kNoteAttrib | kNoteDelete;
          queue.vnodes_pending.insert(key);
        }
        continue;
      }
      auto it = queue.watches.find(event->wd);
      if (it == queue.watches.end()) continue;
      for (const Key& key : it->second) {
        Registration& registration = queue.registrations.at(key);
        registration.pending |= notes;
        if (notes != 0) queue.vnodes_pending.insert(key);
        // The kernel dropped the watch (file gone): its number may return.
        if ((event->mask & IN_IGNORED) != 0) registration.wd = -1;
      }
      if ((event->mask & IN_IGNORED) != 0) queue.watches.erase(it);
    }
  }
}

// The kNote* pending on `registration` that it asks for (and clears them).
uint32_t VnodeNotes(Registration& registration) {
  uint32_t notes = registration.pending;
  registration.pending = 0;
  struct stat st;
  if (fstat(static_cast<int>(registration.ident), &st) == 0) {
    if ((notes & kNoteWrite) != 0 && st.st_size > registration.size) notes |= kNoteExtend;
    if ((notes & kNoteAttrib) != 0 && st.st_nlink == 0) notes |= kNoteDelete;
    registration.size = st.st_size;
  }
  return notes & registration.notes;
}

int ApplyChange(Queue& queue, int epoll_fd, const KEvent& change) {
  const bool add = (change.flags & kFlagAdd) != 0;
  const bool remove = (change.flags & kFlagDelete) != 0;
  if (add == remove) return Fail(EINVAL);  // the double knows only these two
  switch (change.filter) {
    case kFilterRead:
      return add ? AddRead(queue, epoll_fd, change)
                 : DeleteRead(queue, epoll_fd, change);
    case kFilterProc:
      if (add && change.fflags != kNoteExit) return Fail(EINVAL);
      return add ? AddProc(queue, epoll_fd, change)
                 : DeleteKeyed(queue, epoll_fd, change);
    case kFilterTimer:
      return add ? AddTimer(queue, epoll_fd, change)
                 : DeleteKeyed(queue, epoll_fd, change);
    case kFilterSignal:
      return add ? AddSignal(queue, epoll_fd, change)
                 : DeleteKeyed(queue, epoll_fd, change);
    case kFilterVnode:
      return add ? AddVnode(queue, epoll_fd, change)
                 : DeleteKeyed(queue, epoll_fd, change);
    default:
      return Fail(EINVAL);
  }
}

int TimeoutMillis(const struct timespec* timeout) {
  if (timeout == nullptr) return -1;
  const int64_t nanos = int64_t{timeout->tv_sec} * 1'000'000'000 + timeout->tv_nsec;
  const int64_t millis = (nanos + 999'999) / 1'000'000;  // never shorter
  return millis > INT32_MAX ? INT32_MAX : static_cast<int>(millis);
}

}  // namespace

// Closes the descriptors the double made for a queue's registrations.
void ReleaseOwned(Queue& queue) {
  for (auto& [key, registration] : queue.registrations) {
    if (registration.pidfd >= 0) close(registration.pidfd);
  }
  if (queue.inotify >= 0) close(queue.inotify);
}

// A queue closed with close(), not KqueueClose(), as a process handle is
// (process_handle.h hands the kqueue out as a plain descriptor): DragonFly
// frees its knotes with it, the double must free their pidfds. Called
// under g_mutex.
void ReleaseClosedQueues() {
  for (auto it = g_queues->begin(); it != g_queues->end();) {
    char link[64] = {};
    char path[48];
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", it->first);
    const ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n > 0 && std::strcmp(link, "anon_inode:[eventpoll]") == 0) {
      ++it;
      continue;
    }
    ReleaseOwned(it->second);
    it = g_queues->erase(it);
  }
}

int KqueueOpen() {
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return -1;
  std::lock_guard<std::mutex> lock(g_mutex);
  // The number may be that of a queue closed without KqueueClose().
  if (auto stale = g_queues->find(epoll_fd); stale != g_queues->end()) ReleaseOwned(stale->second);
  ReleaseClosedQueues();
  (*g_queues)[epoll_fd] = Queue();
  return epoll_fd;
}

int KqueueClose(int kq) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_queues->find(kq);
    if (it != g_queues->end()) {
      ReleaseOwned(it->second);
      g_queues->erase(it);
    }
  }
  return close(kq);
}

int Kevent(int kq, const KEvent* changes, int nchanges, KEvent* events,
           int nevents, const struct timespec* timeout) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_queues->find(kq);
    if (it == g_queues->end()) return Fail(EBADF);
    for (int i = 0; i < nchanges; ++i) {
      if (ApplyChange(it->second, kq, changes[i]) != 0) return -1;
    }
  }
  if (nevents <= 0) return 0;
  if (nevents > kMaxEventsPerCall) nevents = kMaxEventsPerCall;
  for (;;) {
    for (int pending = g_interruptions.load(); pending > 0;) {
      if (g_interruptions.compare_exchange_weak(pending, pending - 1)) {
        return Fail(EINTR);
      }
    }
    bool vnode_pending;
    {
      std::lock_guard<std::mutex> lock(g_mutex);
      auto queue_it = g_queues->find(kq);
      if (queue_it == g_queues->end()) return Fail(EBADF);
      vnode_pending = !queue_it->second.vnodes_pending.empty();
    }
    struct epoll_event ready[kMaxEventsPerCall];
    // The lock is not held while waiting; the queue is looked up again.
    // Vnode notes left over from a call with too little room are ready now.
    const int count = epoll_wait(kq, ready, nevents, vnode_pending ? 0 : TimeoutMillis(timeout));
    if (count < 0) return -1;  // EINTR, EBADF
    std::lock_guard<std::mutex> lock(g_mutex);
    auto queue_it = g_queues->find(kq);
    if (queue_it == g_queues->end()) return Fail(EBADF);
    Queue& queue = queue_it->second;
    int stored = 0;
    for (int i = 0; i < count; ++i) {
      if (ready[i].data.u64 == kInotifyCookie) {
        DrainInotify(queue);  // reported below, after the others
        continue;
      }
      auto cookie_it = queue.cookies.find(ready[i].data.u64);
      if (cookie_it == queue.cookies.end()) continue;  // a stale entry
      Registration& registration = queue.registrations.at(cookie_it->second);
      KEvent& out = events[stored++];
      out = KEvent();
      out.ident = registration.ident;
      out.filter = registration.filter;
      out.udata = registration.udata;
      if (registration.filter == kFilterRead) {
        out.flags = kFlagAdd;
        if ((ready[i].events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) != 0) {
          out.flags |= kFlagEof;
        }
      } else if (registration.filter == kFilterSignal) {
        // The deliveries since the last report (EV_CLEAR is implied).
        struct signalfd_siginfo info;
        intptr_t count = 0;
        while (read(registration.pidfd, &info, sizeof(info)) == sizeof(info)) ++count;
        if (count == 0) {
          --stored;
          continue;
        }
        out.flags = kFlagAdd | kFlagClear;
        out.data = count;
      } else if (registration.filter == kFilterTimer) {
        // The expirations since the last report (EV_CLEAR is implied).
        uint64_t expirations = 0;
        if (read(registration.pidfd, &expirations, sizeof(expirations)) != sizeof(expirations)) {
          --stored;  // already consumed: nothing to report
          continue;
        }
        out.flags = kFlagAdd | kFlagClear | (registration.oneshot ? kFlagOneshot : 0);
        out.data = static_cast<intptr_t>(expirations);
        if (registration.oneshot) Forget(queue, kq, registration);
      } else {
        // filt_proc(): EV_CLEAR is set at attach, EV_EOF | EV_ONESHOT at
        // exit, and the one-shot note is deleted once reported.
        out.flags = kFlagAdd | kFlagClear | kFlagOneshot | kFlagEof;
        out.fflags = kNoteExit;
        Forget(queue, kq, registration);
      }
    }
    while (stored < nevents && !queue.vnodes_pending.empty()) {
      Registration& registration = queue.registrations.at(*queue.vnodes_pending.begin());
      queue.vnodes_pending.erase(queue.vnodes_pending.begin());
      const uint32_t notes = VnodeNotes(registration);
      if (notes == 0) continue;  // only changes nobody asked for
      KEvent& out = events[stored++];
      out = KEvent();
      out.ident = registration.ident;
      out.filter = kFilterVnode;
      out.udata = registration.udata;
      out.flags = kFlagAdd | kFlagClear;
      out.fflags = notes;
    }
    // Only stale entries, or changes nobody asked for, were ready: a real
    // kevent() would still be waiting.
    if (stored > 0 || (count == 0 && !vnode_pending)) return stored;
  }
}

namespace testing {

void InjectKeventInterruptions(int count) { g_interruptions.store(count); }

}  // namespace testing
}  // namespace sysv::dragonfly_backend
