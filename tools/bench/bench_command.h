// `sysvipc bench`: every scenario against the kernel and against libsysv,
// alternating, in one run; one table (or --json) out.
#ifndef SYSV_TOOLS_BENCH_BENCH_COMMAND_H_
#define SYSV_TOOLS_BENCH_BENCH_COMMAND_H_

namespace sysv::bench {

// argv[0] is the command's own name ("bench"); the rest are its flags.
// Returns the exit status: 0, 1 when a scenario failed or the daemon did not
// start, 2 for bad usage (absl's own flag parser exits 1 on a flag it does
// not know). Message-queue rows that libsysv does not serve yet
// (ENOSYS) are shown as not implemented and are no failure.
int RunBench(int argc, char** argv);

}  // namespace sysv::bench

#endif  // SYSV_TOOLS_BENCH_BENCH_COMMAND_H_
