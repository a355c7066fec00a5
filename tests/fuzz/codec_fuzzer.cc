// libFuzzer target for the wire decoder (core/protocol/codec.h): the daemon
// runs DecodeRequest on every message a client sends, so no input may crash
// it, read out of bounds, or be accepted in a form that does not re-encode to
// itself.
//
// Build and run (clang only):
//   CC=clang bazel build --config=clang //tests/fuzz:codec_fuzzer
//   bazel-bin/tests/fuzz/codec_fuzzer -max_total_time=60 tests/fuzz/corpus/codec
// The same function runs under gcc in //tests/fuzz:codec_fuzzer_replay_test.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <variant>

#include "absl/types/span.h"
#include "core/ipc/errno_status.h"
#include "core/protocol/codec.h"

namespace {

using sysv::core::ErrnoOf;
namespace wire = sysv::core::wire;

void Require(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "codec_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

bool IsDecodeErrno(int errnum) {
  return errnum == EPROTO || errnum == EPROTONOSUPPORT || errnum == EOPNOTSUPP;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::Span<const uint8_t> message(data, size);

  const absl::StatusOr<wire::Header> header = wire::DecodeHeader(message);
  const absl::StatusOr<wire::DecodedRequest> request = wire::DecodeRequest(message);

  if (!header.ok()) {
    Require(IsDecodeErrno(ErrnoOf(header.status())), "DecodeHeader fails with a decoding errno");
    // A request is never decoded past a header that does not decode.
    Require(!request.ok(), "DecodeRequest accepts what DecodeHeader refuses");
    Require(ErrnoOf(request.status()) == ErrnoOf(header.status()),
            "DecodeRequest and DecodeHeader disagree on the header's errno");
    return 0;
  }
  Require(header->length == size, "a decoded header's length is the message's");

  if (!request.ok()) {
    Require(IsDecodeErrno(ErrnoOf(request.status())), "DecodeRequest fails with a decoding errno");
    return 0;
  }
  Require(static_cast<uint16_t>(request->op) == header->op, "op matches the header");
  Require(request->request_id == header->request_id, "request id matches the header");
  // An accepted request is exactly its encoding: nothing was ignored.
  const wire::Bytes again = std::visit(
      [&](const auto& body) {
        return wire::EncodeMessage(request->op, request->request_id, &body, sizeof(body));
      },
      request->body);
  Require(again.size() == size && std::equal(again.begin(), again.end(), data),
          "an accepted request re-encodes to the same bytes");
  return 0;
}
