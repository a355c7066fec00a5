// A hint to the CPU that the caller is in a spin loop (x86 PAUSE, Arm
// YIELD): no OS call, so core/ may use it. About 23 ns an iteration on this
// project's x86-64 VM; spin budgets are counted in these iterations.
#ifndef SYSV_CORE_CPU_RELAX_H_
#define SYSV_CORE_CPU_RELAX_H_

namespace sysv::core {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace sysv::core

#endif  // SYSV_CORE_CPU_RELAX_H_
