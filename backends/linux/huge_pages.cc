#include "backends/linux/huge_pages.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace sysv::linux_backend {
namespace {

// A number from a one-line file, or nullopt.
std::optional<uint64_t> ReadNumber(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return std::nullopt;
  unsigned long long value = 0;
  const bool ok = std::fscanf(file, "%llu", &value) == 1;
  std::fclose(file);
  if (!ok) return std::nullopt;
  return value;
}

// The default huge page size, as /proc/meminfo's Hugepagesize says; 0 if
// it says none.
uint64_t DefaultHugePageSize() {
  FILE* meminfo = std::fopen("/proc/meminfo", "r");
  if (meminfo == nullptr) return 0;
  char line[256];
  unsigned long long kb = 0;
  while (std::fgets(line, sizeof(line), meminfo) != nullptr) {
    if (std::sscanf(line, "Hugepagesize: %llu kB", &kb) == 1) break;
  }
  std::fclose(meminfo);
  return uint64_t{kb} * 1024;
}

}  // namespace

std::optional<HugePagePool> HugePagePoolOf(int size_log) {
  uint64_t page_size = 0;
  if (size_log == 0) {
    page_size = DefaultHugePageSize();
  } else if (size_log > 0 && size_log < 64) {
    page_size = uint64_t{1} << size_log;
  }
  if (page_size == 0) return std::nullopt;
  const std::string dir = "/sys/kernel/mm/hugepages/hugepages-" + std::to_string(page_size / 1024) + "kB";
  std::optional<uint64_t> free_pages = ReadNumber(dir + "/free_hugepages");
  std::optional<uint64_t> reserved = ReadNumber(dir + "/resv_hugepages");
  if (!free_pages) return std::nullopt;  // the system has no huge pages of that size
  return HugePagePool{page_size, *free_pages - std::min(*free_pages, reserved.value_or(0))};
}

uint32_t HugetlbShmGroup() {
  return static_cast<uint32_t>(ReadNumber("/proc/sys/vm/hugetlb_shm_group").value_or(0));
}

}  // namespace sysv::linux_backend
