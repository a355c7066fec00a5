// A mutex that both ThreadSanitizer and clang's -Wthread-safety can see.
//
// Why not absl::Mutex: Debian's Abseil is built without TSan, so the
// happens-before edges inside absl::Mutex are invisible to TSan and every
// access it guards is reported as a race. std::mutex is a pthread mutex,
// which TSan intercepts; this wrapper adds the capability annotations that
// libstdc++'s std::mutex lacks. It is also a plain pthread mutex across
// fork(), which the atfork handlers rely on (see compat/runtime.h).
#ifndef SYSV_COMPAT_ANNOTATED_MUTEX_H_
#define SYSV_COMPAT_ANNOTATED_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace sysv::compat {

class ABSL_LOCKABLE AnnotatedMutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Documents (to the analysis) that the caller holds the lock.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE AnnotatedMutexLock {
 public:
  explicit AnnotatedMutexLock(AnnotatedMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~AnnotatedMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  AnnotatedMutexLock(const AnnotatedMutexLock&) = delete;
  AnnotatedMutexLock& operator=(const AnnotatedMutexLock&) = delete;

 private:
  AnnotatedMutex* mu_;
};

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_ANNOTATED_MUTEX_H_
