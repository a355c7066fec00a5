// The waits the daemon holds for callers whose mapping is read-only, so
// that they cannot queue themselves: a semaphore reader's wait for zero
// (SemService::WaitZero) and a queue reader's msgrcv (MsgService::Receive).
// Each is a record in the object's region that the caller sleeps on and
// ends with a request of its own.
//
// They are bounded as the kernel bounds sleepers: at most one per thread (a
// thread sleeps in one call at a time; its new request ends the wait it
// left behind) and at most a share per user and object, so that one reader
// cannot fill an object's arena with records and leave its other users
// ENOMEM.
#ifndef SYSV_DAEMON_HELD_WAITS_H_
#define SYSV_DAEMON_HELD_WAITS_H_

#include <cstdint>
#include <functional>
#include <vector>

namespace sysv::daemon {

class HeldWaits {
 public:
  // Record `record` of object (`index`, `seq`), held for thread `tid` of
  // `pid`, a process of user `uid`.
  struct Wait {
    int32_t pid;
    int32_t tid;
    uint32_t uid;
    int32_t index;
    uint32_t seq;
    uint32_t record;
  };
  // Ends `wait` on its object (its record leaves the region, as after a
  // signal). Returns false when the object's lock is busy (nothing done).
  using EndFn = std::function<bool(const Wait& wait)>;
  // Whether thread `tid` of process `pid` still lives.
  using ThreadLivesFn = std::function<bool(int32_t pid, int32_t tid)>;

  HeldWaits(EndFn end, ThreadLivesFn thread_lives) : end_(std::move(end)), thread_lives_(std::move(thread_lives)) {}

  void Add(const Wait& wait) { waits_.push_back(wait); }

  // Ends and forgets the wait thread `tid` of `pid` left behind, if any.
  // False when its object's lock is busy (the wait is kept, to end later).
  bool EndThreadWait(int32_t pid, int32_t tid);

  // Whether `uid` may hold one more wait on object (`index`, `seq`) within
  // `share` (0: no bound); ends the waits of threads that are gone before
  // saying no.
  bool MayHold(uint32_t uid, int32_t index, uint32_t seq, uint32_t share);

  // Forgets, without ending them, `pid`'s wait in record `record` of object
  // `index` (its owner ends it), or all of `pid`'s (it exited: the exit
  // work drops its records).
  void Forget(int32_t pid, int32_t index, uint32_t record);
  void ForgetProcess(int32_t pid);

 private:
  uint32_t CountOn(uint32_t uid, int32_t index, uint32_t seq) const;

  std::vector<Wait> waits_;
  EndFn end_;
  ThreadLivesFn thread_lives_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_HELD_WAITS_H_
