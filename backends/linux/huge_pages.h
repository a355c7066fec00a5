// What the system offers for SHM_HUGETLB segments: the huge page pools
// (/proc/meminfo's default size, /sys/kernel/mm/hugepages/) and who may use
// them without CAP_IPC_LOCK (/proc/sys/vm/hugetlb_shm_group). The daemon
// decides with these as the kernel's hugetlb_file_setup() does; the files
// are Linux's, so they live here, behind platform::HugePagePoolOf and
// platform::HugetlbShmGroup.
#ifndef SYSV_BACKENDS_LINUX_HUGE_PAGES_H_
#define SYSV_BACKENDS_LINUX_HUGE_PAGES_H_

#include <cstdint>
#include <optional>

namespace sysv::linux_backend {

struct HugePagePool {
  uint64_t page_size = 0;   // bytes
  uint64_t free_pages = 0;  // free and not reserved
};

// The pool of huge pages of 2^size_log bytes (0: the default size), or
// nullopt when the system has none of that size.
std::optional<HugePagePool> HugePagePoolOf(int size_log);

// The group whose members may make SHM_HUGETLB segments without
// CAP_IPC_LOCK (0: none named).
uint32_t HugetlbShmGroup();

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_HUGE_PAGES_H_
