// The parameter and result types of a C library function as this system's
// headers declare it, for the wrappers libsysv exports under the C
// library's own names: their definitions must match the declarations,
// and C libraries disagree (semop's count is size_t in glibc, unsigned in
// DragonFly's libc; msgrcv returns ssize_t in one, int in the other;
// setgroups counts in size_t or int). Taken from decltype(::name), so no
// wrapper names a system.
#ifndef SYSV_COMPAT_LIBC_SIGNATURE_H_
#define SYSV_COMPAT_LIBC_SIGNATURE_H_

#include <cstddef>
#include <tuple>

namespace sysv::compat {

template <typename Function>
struct LibcSignature;

template <typename R, typename... Args>
struct LibcSignature<R(Args...)> {
  using Result = R;
  template <size_t N>
  using Param = std::tuple_element_t<N, std::tuple<Args...>>;
};

// glibc declares its functions __THROW, noexcept in C++.
template <typename R, typename... Args>
struct LibcSignature<R(Args...) noexcept> : LibcSignature<R(Args...)> {};

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_LIBC_SIGNATURE_H_
