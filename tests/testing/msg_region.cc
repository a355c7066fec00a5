#include "tests/testing/msg_region.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <utility>

#include "backends/platform.h"
#include "gtest/gtest.h"

namespace sysv::testing {
namespace {

bool Holds(const void* context, uint64_t bytes) { return bytes <= *static_cast<const uint64_t*>(context); }

}  // namespace

MsgRegion::MsgRegion(uint64_t qbytes) {
  const uint32_t blocks = core::MsgQueue::BlocksFor(qbytes);
  file_size_ = core::MsgQueue::FileSize(blocks);
  fd_ = memfd_create("msg-region", MFD_CLOEXEC);
  EXPECT_GE(fd_, 0);
  EXPECT_EQ(ftruncate(fd_, static_cast<off_t>(file_size_)), 0);
  base_ = mmap(nullptr, core::MsgQueue::MappingSize(), PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  EXPECT_NE(base_, MAP_FAILED);
  auto formatted = core::MsgQueue::Format(base_, blocks, qbytes, 1, &platform::ClientRegionPlatform(),
                                          {&Holds, &file_size_});
  EXPECT_TRUE(formatted.ok()) << formatted.status();
  if (formatted.ok()) queue = *std::move(formatted);
}

MsgRegion::~MsgRegion() {
  queue.reset();
  if (base_ != MAP_FAILED) munmap(base_, core::MsgQueue::MappingSize());
  if (fd_ >= 0) close(fd_);
}

std::unique_ptr<core::MsgQueue> MsgRegion::Open() const {
  auto opened = core::MsgQueue::Open(base_, &platform::ClientRegionPlatform(), {&Holds, &file_size_});
  EXPECT_TRUE(opened.ok()) << opened.status();
  return opened.ok() ? *std::move(opened) : nullptr;
}

}  // namespace sysv::testing
