// Fields of the C library's IPC structures whose names differ between C
// libraries: glibc's `__key` and `__msg_cbytes` are `key` and `msg_cbytes`
// in the BSDs' (DragonFly's). Chosen by what the struct has, so that no
// system is named.
#ifndef SYSV_TOOLS_BENCH_IPC_FIELDS_H_
#define SYSV_TOOLS_BENCH_IPC_FIELDS_H_

#include <sys/ipc.h>
#include <sys/types.h>

namespace sysv::bench {

// The key of an ipc_perm.
template <typename Perm>
key_t PermKey(const Perm& perm) {
  if constexpr (requires { perm.__key; }) {
    return perm.__key;
  } else {
    return perm.key;
  }
}

// The bytes queued, of a msqid_ds.
template <typename Ds>
unsigned long QueueBytes(const Ds& ds) {
  if constexpr (requires { ds.__msg_cbytes; }) {
    return static_cast<unsigned long>(ds.__msg_cbytes);
  } else {
    return static_cast<unsigned long>(ds.msg_cbytes);
  }
}

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_IPC_FIELDS_H_
