// libsysv.so can be dlopen()ed by a program that did not link it, and its
// thread-local storage stays small enough for that: its code uses the
// initial-exec TLS model (build_defs/copts.bzl), which puts the library's
// whole TLS block into glibc's small static reserve for late-loaded
// libraries.
#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace sysv {
namespace {

// glibc's reserve (glibc.rtld.optional_static_tls), shared with every
// other late-loaded library that needs it.
constexpr size_t kStaticTlsReserve = 512;

std::string LibraryPath() {
  const char* dir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return std::string(dir != nullptr ? dir : ".") + "/" + (workspace != nullptr ? workspace : "libsysv") +
         "/compat/libsysv.so";
}

// The TLS block size of the loaded object whose name ends in libsysv.so.
int FindTls(struct dl_phdr_info* info, size_t, void* data) {
  const char* name = info->dlpi_name;
  const size_t length = std::strlen(name);
  constexpr char kSuffix[] = "libsysv.so";
  if (length < sizeof(kSuffix) - 1 || std::strcmp(name + length - (sizeof(kSuffix) - 1), kSuffix) != 0) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type == PT_TLS) *static_cast<size_t*>(data) = info->dlpi_phdr[i].p_memsz;
  }
  return 1;
}

TEST(DlopenTest, LoadsLateWithASmallTlsBlock) {
  void* handle = dlopen(LibraryPath().c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  EXPECT_NE(dlsym(handle, "sysv_msgsnd"), nullptr);
  size_t tls = SIZE_MAX;
  dl_iterate_phdr(&FindTls, &tls);
  ASSERT_NE(tls, SIZE_MAX) << "libsysv.so not found among the loaded objects";
  // Well inside the reserve, which other libraries share.
  EXPECT_LE(tls, kStaticTlsReserve * 3 / 4) << "libsysv.so's TLS block grew: move large per-thread buffers to the heap";
}

}  // namespace
}  // namespace sysv
