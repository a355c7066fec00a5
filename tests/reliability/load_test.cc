// The load benchmark's correctness, small enough for every `bazel test`
// (//tools/bench:load_bench is the full run, with figures): thousands of
// objects of each kind in one namespace, every one found by key and by id
// with the right key; 200 client processes at once, each registering and
// working on all three kinds; counts as ipcs reports them exact before and
// after; the daemon alive and still answering at the end. No timing is
// checked.
//
// More semaphore sets and queues than the daemon keeps mapped
// (daemon/region_cache.h, 8192 of each) so that its mapping cache evicts
// and maps again while clients work: the daemon must then hold fewer
// mappings than it has sets and queues.
//
// Larger runs: --test_env=SYSV_LOAD_OBJECTS=30000 --test_env=SYSV_LOAD_CLIENTS=1000
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/testing/test_daemon.h"
#include "tools/bench/bench_api.h"
#include "tools/bench/load_clients.h"
#include "tools/bench/load_population.h"
#include "tools/bench/load_probe.h"

namespace sysv {
namespace {

using bench::LoadKind;

long EnvOr(const char* name, long fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::atol(value) : fallback;
}

// The daemon, its pid checked through the kernel, must not have exited.
void ExpectDaemonAlive(const testing::TestDaemon& daemon) {
  int status = 0;
  EXPECT_EQ(waitpid(daemon.pid(), &status, WNOHANG), 0) << "sysvipcd exited, status " << status;
  absl::StatusOr<pid_t> answering = bench::DaemonPid(daemon.dir());
  ASSERT_TRUE(answering.ok()) << answering.status();
  EXPECT_EQ(*answering, daemon.pid());
}

// ipcs counts exactly the objects of `kind` the population made, and each
// still answers IPC_STAT with its own key.
void ExpectEveryObjectThere(const bench::BenchApi& api, bench::Population& population, LoadKind kind) {
  absl::StatusOr<long> in_use = bench::CountInUse(api, kind);
  ASSERT_TRUE(in_use.ok()) << in_use.status();
  EXPECT_EQ(*in_use, population.size(kind));
  EXPECT_TRUE(population.CheckAll(kind).ok());
}

TEST(LoadTest, ThousandsOfObjectsAndHundredsOfClients) {
  // Beyond the daemon's 8192 mapped regions of a kind; shm within Linux's
  // default shmmni (4096), which the daemon shares.
  const long sets_and_queues = EnvOr("SYSV_LOAD_OBJECTS", 9000);
  const long segments = std::min<long>(sets_and_queues, 2000);
  const long clients = EnvOr("SYSV_LOAD_CLIENTS", 200);
  // Each client costs the daemon three descriptors.
  struct rlimit nofile;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &nofile), 0);
  nofile.rlim_cur = nofile.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &nofile), 0);

  testing::TestDaemon daemon(testing::FreshNamespaceDir("load"),
                             {"--limit=shmmni=32768,semmni=32768,msgmni=32768", "--log_level=warning"});
  daemon.Start();
  const bench::BenchApi& api = bench::LibsysvApi();
  bench::Population population(api, 0x10000000);
  for (LoadKind kind : bench::kLoadKinds) {
    const long count = kind == LoadKind::kShm ? segments : sets_and_queues;
    absl::StatusOr<bench::Latency> created = population.GrowTo(kind, count);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->samples, count);
  }
  for (LoadKind kind : bench::kLoadKinds) {
    SCOPED_TRACE(bench::LoadKindName(kind));
    ASSERT_NO_FATAL_FAILURE(ExpectEveryObjectThere(api, population, kind));
    std::mt19937 rng(7);
    absl::StatusOr<bench::Latency> got = population.MeasureGet(kind, 500, rng);
    EXPECT_TRUE(got.ok()) << got.status();
  }

  absl::StatusOr<bench::ProcessFigures> alive;
  absl::StatusOr<bench::ClientRun> run = bench::RunClients(api, clients, 0x20000000, [&] {
    alive = bench::ProbeProcess(daemon.pid());
  });
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->clients, clients);
  ASSERT_TRUE(alive.ok()) << alive.status();
  // Every client holds a connection to the daemon while it waits to exit.
  EXPECT_GE(alive->fds, clients);
  // The mapping cache at work: not one mapping per set and per queue.
  EXPECT_LT(alive->maps, 2 * sets_and_queues);

  ExpectDaemonAlive(daemon);
  for (LoadKind kind : bench::kLoadKinds) {
    SCOPED_TRACE(bench::LoadKindName(kind));
    // Regions unmapped and mapped again since: still the same objects.
    ASSERT_NO_FATAL_FAILURE(ExpectEveryObjectThere(api, population, kind));
  }
  EXPECT_TRUE(population.RemoveAll().ok());
  for (LoadKind kind : bench::kLoadKinds) {
    absl::StatusOr<long> in_use = bench::CountInUse(api, kind);
    ASSERT_TRUE(in_use.ok()) << in_use.status();
    EXPECT_EQ(*in_use, 0) << bench::LoadKindName(kind);
  }
  ExpectDaemonAlive(daemon);
}

}  // namespace
}  // namespace sysv
