// AtomicRef<T>: atomic loads and stores on a plain integer that lives in a
// shared region (a field other processes also reach), as std::atomic_ref.
//
// Why not std::atomic_ref everywhere: libc++ before 19 does not have it, and
// that is the library DragonFly's base system and our DragonFly compile check
// (backends/dragonfly/check_dragonfly_compile.sh, libc++ 14) use. Where the
// standard library has it, AtomicRef is std::atomic_ref; elsewhere it is the
// compiler's __atomic builtins, which is what libstdc++'s and libc++'s
// atomic_ref are made of (same instructions, same memory model). Only the
// two operations core needs are offered.
#ifndef SYSV_CORE_ATOMIC_REF_H_
#define SYSV_CORE_ATOMIC_REF_H_

#include <atomic>
#include <type_traits>

namespace sysv::core {

// The builtins' version, defined everywhere so that it is tested on Linux
// too (core/atomic_ref_test.cc).
template <typename T>
class BuiltinAtomicRef {
  static_assert(std::is_integral_v<T>, "AtomicRef is for the integer fields of shared regions");
  static_assert(__atomic_always_lock_free(sizeof(T), 0), "another process must see the same atomics");

 public:
  explicit BuiltinAtomicRef(T& object) : object_(&object) {}

  T load(std::memory_order order = std::memory_order_seq_cst) const {
    return __atomic_load_n(object_, Builtin(order));
  }
  void store(T value, std::memory_order order = std::memory_order_seq_cst) const {
    __atomic_store_n(object_, value, Builtin(order));
  }

 private:
  // std::memory_order's enumerators are defined as the builtins' __ATOMIC_*
  // values in both standard libraries; say so rather than assume it.
  static constexpr int Builtin(std::memory_order order) { return static_cast<int>(order); }
  static_assert(static_cast<int>(std::memory_order_relaxed) == __ATOMIC_RELAXED &&
                static_cast<int>(std::memory_order_acquire) == __ATOMIC_ACQUIRE &&
                static_cast<int>(std::memory_order_release) == __ATOMIC_RELEASE &&
                static_cast<int>(std::memory_order_seq_cst) == __ATOMIC_SEQ_CST);

  T* object_;
};

#if defined(__cpp_lib_atomic_ref)
template <typename T>
using AtomicRef = std::atomic_ref<T>;
#else
template <typename T>
using AtomicRef = BuiltinAtomicRef<T>;
#endif

}  // namespace sysv::core

#endif  // SYSV_CORE_ATOMIC_REF_H_
