// The contract of platform::OpenContentFile and ForEachOpenDescriptor
// (backends/*/content_file.h), which compat/proc_files.cc serves the
// kernel's IPC files with, as a typed suite each backend instantiates with
// a struct naming its two functions:
//
//   struct LinuxContentFile {
//     static constexpr auto Open = &linux_backend::OpenContentFile;
//     static constexpr auto ForEach = &linux_backend::ForEachOpenDescriptor;
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Linux, ContentFileConformanceTest, LinuxContentFile);
#ifndef SYSV_BACKENDS_COMMON_TESTING_CONTENT_FILE_CONFORMANCE_H_
#define SYSV_BACKENDS_COMMON_TESTING_CONTENT_FILE_CONFORMANCE_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "backends/common/unique_fd.h"
#include "gtest/gtest.h"

namespace sysv::backend::testing {

template <typename Impl>
class ContentFileConformanceTest : public ::testing::Test {
 protected:
  static UniqueFd Open(const std::string& content, int flags) {
    auto fd = Impl::Open(content, flags);
    EXPECT_TRUE(fd.ok()) << fd.status();
    return fd.ok() ? std::move(*fd) : UniqueFd();
  }
  static bool Listed(int wanted) {
    bool seen = false;
    EXPECT_TRUE(Impl::ForEach([&](int fd) { seen = seen || fd == wanted; }));
    return seen;
  }
};

TYPED_TEST_SUITE_P(ContentFileConformanceTest);

// What the kernel's files give a reader: the text from offset 0, its length
// as st_size, and nothing that writes, grows or shrinks it.
TYPED_TEST_P(ContentFileConformanceTest, ReadOnlyFileHoldsTheTextForEver) {
  const std::string text = "32000\t1024000000\t500\t32000\n";
  UniqueFd fd = this->Open(text, O_RDONLY);
  ASSERT_TRUE(fd);
  EXPECT_EQ(fcntl(fd.get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  EXPECT_NE(fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "O_CLOEXEC not asked for";
  struct stat st;
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  EXPECT_EQ(st.st_size, static_cast<off_t>(text.size()));
  char buffer[64] = {};
  ASSERT_EQ(read(fd.get(), buffer, sizeof(buffer)), static_cast<ssize_t>(text.size()));
  EXPECT_EQ(std::string(buffer, text.size()), text);
  EXPECT_EQ(write(fd.get(), "x", 1), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_NE(ftruncate(fd.get(), 0), 0);
  EXPECT_EQ(pread(fd.get(), buffer, sizeof(buffer), 0), static_cast<ssize_t>(text.size()));
}

// A sysctl opened for writing: the caller's mode and flags, the text
// readable only where the mode lets it be.
TYPED_TEST_P(ContentFileConformanceTest, WritableFileHasTheCallersModeAndFlags) {
  UniqueFd rw = this->Open("4096\n", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  ASSERT_TRUE(rw);
  EXPECT_EQ(fcntl(rw.get(), F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
  EXPECT_EQ(fcntl(rw.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  char buffer[8] = {};
  EXPECT_EQ(read(rw.get(), buffer, sizeof(buffer)), 5);
  UniqueFd wo = this->Open("4096\n", O_WRONLY);
  ASSERT_TRUE(wo);
  EXPECT_EQ(fcntl(wo.get(), F_GETFL) & O_ACCMODE, O_WRONLY);
  EXPECT_EQ(read(wo.get(), buffer, sizeof(buffer)), -1);
  EXPECT_EQ(errno, EBADF);
}

TYPED_TEST_P(ContentFileConformanceTest, ListsOpenDescriptorsOnly) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_TRUE(this->Listed(pipe_fds[0]));
  EXPECT_TRUE(this->Listed(pipe_fds[1]));
  close(pipe_fds[1]);
  EXPECT_TRUE(this->Listed(pipe_fds[0]));
  EXPECT_FALSE(this->Listed(pipe_fds[1]));
  close(pipe_fds[0]);
  EXPECT_FALSE(this->Listed(pipe_fds[0]));
}

REGISTER_TYPED_TEST_SUITE_P(ContentFileConformanceTest, ReadOnlyFileHoldsTheTextForEver,
                            WritableFileHasTheCallersModeAndFlags, ListsOpenDescriptorsOnly);

}  // namespace sysv::backend::testing

#endif  // SYSV_BACKENDS_COMMON_TESTING_CONTENT_FILE_CONFORMANCE_H_
