// Tests of the exact-errno status helpers.
#include "core/ipc/errno_status.h"

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace sysv::core {
namespace {

TEST(ErrnoStatusTest, OkStatusHasErrnoZero) { EXPECT_EQ(ErrnoOf(absl::OkStatus()), 0); }

TEST(ErrnoStatusTest, ErrnoSurvivesWhereTheCodeIsShared) {
  // EINVAL/E2BIG and EPERM/EACCES share a code; the payload tells them apart.
  const absl::Status einval = ErrnoStatus(EINVAL, "bad");
  const absl::Status e2big = ErrnoStatus(E2BIG, "big");
  EXPECT_EQ(einval.code(), e2big.code());
  EXPECT_EQ(ErrnoOf(einval), EINVAL);
  EXPECT_EQ(ErrnoOf(e2big), E2BIG);

  const absl::Status eperm = ErrnoStatus(EPERM, "not yours");
  const absl::Status eacces = ErrnoStatus(EACCES, "no access");
  EXPECT_EQ(eperm.code(), eacces.code());
  EXPECT_EQ(ErrnoOf(eperm), EPERM);
  EXPECT_EQ(ErrnoOf(eacces), EACCES);
}

TEST(ErrnoStatusTest, CodeFollowsTheErrno) {
  EXPECT_EQ(ErrnoStatus(EINVAL, "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoStatus(ENOENT, "").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EIDRM, "").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EEXIST, "").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoStatus(EACCES, "").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(ENOSPC, "").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus(EAGAIN, "").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoStatus(ENOSYS, "").code(), absl::StatusCode::kUnimplemented);
}

TEST(ErrnoStatusTest, ErrnoWithoutADedicatedCodeStillRoundTrips) {
  for (int errnum : {EPROTO, EPROTONOSUPPORT, EOPNOTSUPP, EFAULT, EMFILE, EIO}) {
    const absl::Status status = ErrnoStatus(errnum, "x");
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(ErrnoOf(status), errnum) << errnum;
  }
}

TEST(ErrnoStatusTest, StatusIsNeverOk) {
  for (int errnum = 1; errnum < 140; ++errnum) {
    EXPECT_FALSE(ErrnoStatus(errnum, "").ok()) << errnum;
    EXPECT_EQ(ErrnoOf(ErrnoStatus(errnum, "")), errnum) << errnum;
  }
}

TEST(ErrnoStatusTest, MessageIsKept) {
  EXPECT_EQ(ErrnoStatus(EINVAL, "segment size 0 is outside").message(),
            "segment size 0 is outside");
}

TEST(ErrnoStatusTest, StatusWithoutPayloadMapsItsCode) {
  EXPECT_EQ(ErrnoOf(absl::InvalidArgumentError("x")), EINVAL);
  EXPECT_EQ(ErrnoOf(absl::OutOfRangeError("x")), EINVAL);
  EXPECT_EQ(ErrnoOf(absl::NotFoundError("x")), ENOENT);
  EXPECT_EQ(ErrnoOf(absl::AlreadyExistsError("x")), EEXIST);
  EXPECT_EQ(ErrnoOf(absl::PermissionDeniedError("x")), EACCES);
  EXPECT_EQ(ErrnoOf(absl::ResourceExhaustedError("x")), ENOSPC);
  EXPECT_EQ(ErrnoOf(absl::UnavailableError("x")), EAGAIN);
  EXPECT_EQ(ErrnoOf(absl::UnimplementedError("x")), ENOSYS);
}

TEST(ErrnoStatusTest, UnmappedCodeWithoutPayloadBecomesEio) {
  EXPECT_EQ(ErrnoOf(absl::DataLossError("x")), EIO);
  EXPECT_EQ(ErrnoOf(absl::InternalError("x")), EIO);
  EXPECT_EQ(ErrnoOf(absl::UnknownError("x")), EIO);
  EXPECT_EQ(ErrnoOf(absl::CancelledError("x")), EIO);
}

TEST(ErrnoStatusTest, ErrnoSurvivesACopyAndAnAnnotatedRewrap) {
  const absl::Status original = ErrnoStatus(EPERM, "inner");
  absl::Status copy = original;
  EXPECT_EQ(ErrnoOf(copy), EPERM);
  // A caller adding context keeps the payload by rebuilding with it.
  absl::Status rewrapped(original.code(), "outer: inner");
  original.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    rewrapped.SetPayload(url, payload);
  });
  EXPECT_EQ(ErrnoOf(rewrapped), EPERM);
}

}  // namespace
}  // namespace sysv::core
