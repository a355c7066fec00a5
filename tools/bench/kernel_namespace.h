// Where the benchmark measures the kernel: a private IPC namespace of its
// own when the process may make one (root, or CAP_SYS_ADMIN in its user
// namespace). There, other users' objects do not change the figures, the
// 10,000-segment run fits (shmmni is raised inside the namespace only), and
// whatever the benchmark leaves behind on any path dies with the namespace.
// Otherwise the host's namespace is used, with its limits, and only the
// scenarios' own IPC_RMID removes what they made: always on DragonFly,
// which has no IPC namespaces.
#ifndef SYSV_TOOLS_BENCH_KERNEL_NAMESPACE_H_
#define SYSV_TOOLS_BENCH_KERNEL_NAMESPACE_H_

#include <string>

namespace sysv::bench {

struct KernelNamespace {
  bool is_private = false;
  // Why not, or what could not be set: for the report.
  std::string note;
};

// Enters a fresh IPC namespace (platform::EnterPrivateIpcNamespace) and
// sets its shmmni.
// Call it before any kernel IPC object is made and before any fork.
KernelNamespace EnterPrivateKernelNamespace(int shmmni);

// In that namespace, raises semmni and msgmni to `count` (the others of
// kernel.sem kept). Returns the names of those not raised (" semmni
// msgmni"), "" when both were.
std::string RaiseKernelObjectLimits(int count);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_KERNEL_NAMESPACE_H_
