// The load benchmark's crowd: many client processes, forked at once, each
// doing a little work on objects of all three kinds that they share.
//
// Every process, once all are forked: finds the shared set, segment and
// queue by key; takes the set as a SEM_UNDO mutex, attaches the segment,
// counts itself in and marks its own slot, detaches, releases the mutex;
// sends a message of its own type to the shared queue and receives it back.
// For libsysv that is a registration with the daemon, three opens and the
// hot paths, from 1,000 processes at once. Every step must succeed, and the
// shared objects must show every process's work afterwards.
#ifndef SYSV_TOOLS_BENCH_LOAD_CLIENTS_H_
#define SYSV_TOOLS_BENCH_LOAD_CLIENTS_H_

#include <sys/types.h>

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/bench/bench_api.h"

namespace sysv::bench {

struct ClientRun {
  long clients = 0;
  double work_seconds = 0;  // let go -> every process done with its work
  double exit_seconds = 0;  // told to exit -> every process reaped
};

// Runs `clients` processes through `api`, with shared objects at keys
// key_base, key_base + 1, key_base + 2 (made and removed here).
// `while_alive` runs when every process has done its work and none has
// exited yet (to measure the daemon with all of them connected). Results:
// the timings; the first failure of any process, naming its step and errno;
// a wrong final state of the shared objects (EIO).
absl::StatusOr<ClientRun> RunClients(const BenchApi& api, long clients, key_t key_base,
                                     const std::function<void()>& while_alive);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_LOAD_CLIENTS_H_
