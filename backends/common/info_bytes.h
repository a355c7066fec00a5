// The bytes a *ctl info command (IPC_INFO, SHM_INFO, ...) writes through the
// caller's pointer: a struct other than the one the prototype names, laid
// out by the caller's C library (backends/<os>/ipc_abi.h makes them), and
// copied out by compat/ as bytes, so that compat/ names no such struct.
#ifndef SYSV_BACKENDS_COMMON_INFO_BYTES_H_
#define SYSV_BACKENDS_COMMON_INFO_BYTES_H_

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace sysv::backend {

struct InfoBytes {
  alignas(8) unsigned char data[128];
  size_t size = 0;  // 0: the C library has no struct for the command
};

template <typename Struct>
InfoBytes BytesOf(const Struct& value) {
  static_assert(sizeof(Struct) <= sizeof(InfoBytes::data) && std::is_trivially_copyable_v<Struct>);
  InfoBytes bytes;
  std::memcpy(bytes.data, &value, sizeof(value));
  bytes.size = sizeof(value);
  return bytes;
}

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_INFO_BYTES_H_
