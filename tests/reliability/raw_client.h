// A client that speaks the wire protocol by hand (core/protocol/wire.h), for
// tests that must send what libsysv never sends: truncated, oversized,
// mis-versioned or out-of-order messages, descriptors, and floods.
//
// It uses plain system calls rather than the backend's channel on purpose:
// the abuse tests must be able to produce any byte sequence and any control
// message, including ones the channel layer refuses to send. Only the
// introduction right after connect (platform::IntroduceSelf: nothing on
// Linux, an SCM_CREDS message on DragonFly) is the backend's, as the daemon
// hears no client before it.
#ifndef SYSV_TESTS_RELIABILITY_RAW_CLIENT_H_
#define SYSV_TESTS_RELIABILITY_RAW_CLIENT_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/codec.h"
#include "core/protocol/wire.h"

namespace sysv::testing {

// What one receive got.
struct RawReply {
  enum class Kind {
    kMessage,  // `bytes` holds one message, `fds` what came with it
    kEof,      // the daemon closed the connection
    kTimeout,  // nothing within the deadline (the daemon neither answered nor closed)
    kError,    // recvmsg failed: `error` holds the errno
  };
  Kind kind = Kind::kError;
  std::vector<uint8_t> bytes;
  std::vector<int> fds;  // owned by the RawReply: closed by its destructor
  int error = 0;

  RawReply() = default;
  RawReply(RawReply&& other) noexcept;
  RawReply& operator=(RawReply&& other) noexcept;
  RawReply(const RawReply&) = delete;
  RawReply& operator=(const RawReply&) = delete;
  ~RawReply();

  // The errno in the reply's ReplyStatus, or nullopt if the message is not
  // a well-formed reply (header of this protocol version, at least a status).
  std::optional<int> Status() const;
  // The decoded header, or nullopt.
  std::optional<core::wire::Header> Header() const;
};

class RawClient {
 public:
  // Connects to the daemon serving namespace directory `dir`. Check ok().
  explicit RawClient(const std::string& dir);
  RawClient(RawClient&& other) noexcept;
  RawClient& operator=(RawClient&&) = delete;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient();

  bool ok() const { return fd_ >= 0; }
  // The errno of a failed connect.
  int connect_error() const { return connect_error_; }
  int fd() const { return fd_; }

  // Sends `bytes` as one message, with `fds` as SCM_RIGHTS (the caller keeps
  // its copies). Returns 0 or the errno of sendmsg.
  int Send(const std::vector<uint8_t>& bytes, const std::vector<int>& fds = {});
  // Waits up to `timeout_ms` for one message (or EOF).
  RawReply Receive(int timeout_ms = 5000);
  // Send then Receive.
  RawReply RoundTrip(const std::vector<uint8_t>& bytes, const std::vector<int>& fds = {},
                     int timeout_ms = 5000);

  // Registers this connection and returns the reply's error (0 on
  // success); the descriptors that come with it are closed. Not as a fresh image by
  // default: that tells the daemon this process exec'd, which empties its
  // attach ledger, and a raw client often shares its process with a libsysv
  // client whose attachments must stay counted.
  int Register(uint32_t flags = 0);

  template <core::wire::Op kOp>
  RawReply Call(const typename core::wire::OpTraits<kOp>::Request& body, int timeout_ms = 5000) {
    return RoundTrip(core::wire::EncodeRequest<kOp>(++request_id_, body), {}, timeout_ms);
  }
  uint32_t last_request_id() const { return request_id_; }

  void Close();

 private:
  int fd_ = -1;
  int connect_error_ = 0;
  uint32_t request_id_ = 0;
};

// A message with a header whose every field the caller chooses, followed by
// `body_size` bytes of `fill`.
std::vector<uint8_t> HandMadeMessage(uint32_t magic, uint16_t version, uint16_t op, uint32_t length,
                                     uint32_t request_id, size_t body_size, uint8_t fill = 0);

// The decoded body of a reply for `kOp`, or nullopt when `reply` is not a
// well-formed reply to request `request_id`.
template <core::wire::Op kOp>
std::optional<typename core::wire::OpTraits<kOp>::Reply> DecodeRawReply(const RawReply& reply,
                                                                         uint32_t request_id) {
  if (reply.kind != RawReply::Kind::kMessage) return std::nullopt;
  auto decoded = core::wire::DecodeReply<kOp>(reply.bytes, request_id);
  if (!decoded.ok()) return std::nullopt;
  return *decoded;
}

// The number of descriptors open in this process (entries of /proc/self/fd).
int OpenFdCount();
// The number of descriptors process `pid` has open, or -1 if unreadable.
int OpenFdCountOf(pid_t pid);

}  // namespace sysv::testing

#endif  // SYSV_TESTS_RELIABILITY_RAW_CLIENT_H_
