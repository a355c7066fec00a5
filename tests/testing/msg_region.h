// A message queue region for tests that drive core::MsgQueue directly: a
// memfd of the size MsgQueue::BlocksFor(qbytes) asks for, mapped as every
// client maps it (MsgQueue::MappingSize()) and formatted, with the Linux
// platform (futexes, the robust mutex).
#ifndef SYSV_TESTS_TESTING_MSG_REGION_H_
#define SYSV_TESTS_TESTING_MSG_REGION_H_

#include <cstdint>
#include <memory>

#include "core/msg/msg_queue.h"

namespace sysv::testing {

class MsgRegion {
 public:
  explicit MsgRegion(uint64_t qbytes);
  ~MsgRegion();
  MsgRegion(const MsgRegion&) = delete;
  MsgRegion& operator=(const MsgRegion&) = delete;

  // Another client's view of the same mapping (as another process would
  // open it), with its own per-process state.
  std::unique_ptr<core::MsgQueue> Open() const;

  unsigned char* bytes() const { return static_cast<unsigned char*>(base_); }
  void* base() const { return base_; }

  // The view the region was formatted through.
  std::unique_ptr<core::MsgQueue> queue;

 private:
  uint64_t file_size_ = 0;
  int fd_ = -1;
  void* base_ = nullptr;
};

}  // namespace sysv::testing

#endif  // SYSV_TESTS_TESTING_MSG_REGION_H_
