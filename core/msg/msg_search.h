// How msgrcv picks a message: ipc/msg.c's search modes, convert_mode() and
// testmsg(), on a queue region's records (core/msg/msg_queue.cc).
#ifndef SYSV_CORE_MSG_MSG_SEARCH_H_
#define SYSV_CORE_MSG_MSG_SEARCH_H_

#include <cstdint>

#include "core/msg/msg_queue.h"

namespace sysv::core {

// ipc/msg.c's search modes.
enum MsgSearch : uint32_t {
  kSearchAny = 1,
  kSearchEqual = 2,
  kSearchNotEqual = 3,
  kSearchLessEqual = 4,
  kSearchNumber = 5,
};

// convert_mode()
inline MsgSearch ConvertMode(int64_t* msgtyp, int msgflg) {
  if (msgflg & kMsgCopy) return kSearchNumber;
  if (*msgtyp == 0) return kSearchAny;
  if (*msgtyp < 0) {
    *msgtyp = *msgtyp == INT64_MIN ? INT64_MAX : -*msgtyp;
    return kSearchLessEqual;
  }
  if (msgflg & kMsgExcept) return kSearchNotEqual;
  return kSearchEqual;
}

// testmsg()
inline bool TestMsg(int64_t mtype, int64_t type, uint32_t mode) {
  switch (mode) {
    case kSearchAny:
    case kSearchNumber:
      return true;
    case kSearchLessEqual:
      return mtype <= type;
    case kSearchEqual:
      return mtype == type;
    case kSearchNotEqual:
      return mtype != type;
  }
  return false;
}

}  // namespace sysv::core

#endif  // SYSV_CORE_MSG_MSG_SEARCH_H_
