// `ipcs`: util-linux 2.38 compatible, over any IpcApi.
//
// Output is byte-identical to util-linux's ipcs for the same objects, with
// objects enumerated through SHM_INFO/SHM_STAT (and the SEM_ and MSG_
// equivalents) instead of /proc/sysvipc; see ipc_objects.h for the two
// documented differences. Supported: -m -q -s -a, -t -p -c -l -u, -i <id>,
// -b, --human, --help, --version, and our own --json.
//
// --json prints the selected facilities (default all) as one JSON object:
//   {
//   "shm": [
//     {"key":K,"id":N,"owner":"root","perms":"644","bytes":N,"nattch":N,
//      "status":["dest","locked"],"cuid":N,"cgid":N,"uid":N,"gid":N,
//      "cpid":N,"lpid":N,"atime":T,"dtime":T,"ctime":T}
//   ],
//   "sem": [
//     {"key":K,"id":N,"owner":"root","perms":"600","nsems":N,"cuid":N,
//      "cgid":N,"uid":N,"gid":N,"otime":T,"ctime":T}
//   ],
//   "msg": [
//     {"key":K,"id":N,"owner":"root","perms":"644","used_bytes":N,
//      "messages":N,"qbytes":N,"cuid":N,"cgid":N,"uid":N,"gid":N,
//      "lspid":N,"lrpid":N,"stime":T,"rtime":T,"ctime":T}
//   ]
//   }
// one object per line, in index order. "key" is the key as an unsigned
// 32-bit number (the value ipcs shows as 0x%08x); "owner" is the owner's user
// name, or the uid in decimal when it has none; "perms" is mode & 0777 as
// octal digits; "status" lists "dest" and "locked" when set; times are
// seconds since the epoch, 0 for "Not set". With -i, the one array holds the
// object (empty, plus the usual "id N not found" warning, when absent), and
// a semaphore set also has "semaphores":[{"semnum":0,"value":N,"ncount":N,
// "zcount":N,"pid":N},...]. -t, -p, -c, -b and --human do not change JSON;
// --json with -l or -u is a usage error.
#ifndef SYSV_TOOLS_IPCS_COMMAND_H_
#define SYSV_TOOLS_IPCS_COMMAND_H_

#include <cstdio>

#include "tools/ipc_api.h"

namespace sysv::tools {

// Runs ipcs with `argv` (argv[0] is the program name used in messages),
// writing the report to `out` and diagnostics to `err`. Returns the exit
// status util-linux's ipcs would have.
int RunIpcs(const IpcApi& api, int argc, char** argv, std::FILE* out,
            std::FILE* err);

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_IPCS_COMMAND_H_
