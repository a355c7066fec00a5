// sysvipcd's server: the well-known endpoint, the per-client channels, and
// the dispatch of decoded requests to the per-kind services.
//
// Every client connects to <dir>/sysvipcd.sock; the accepted socket is that
// client's private channel. Its credentials come from the kernel
// (SO_PEERCRED, SO_PEERGROUPS) when it connects; a client whose credentials
// change opens a new channel, so every request is judged with the caller's
// credentials at the moment of the call. The first message on a channel must
// be kRegister.
//
// A channel belongs to one process instance, never to a pid (issue #12):
// at accept the daemon takes the connecting process's process_fd and start time
// (platform::PeerProcess), closes the channel when that process dies
// (its process_fd readable), whoever still holds the socket, and hands a process
// record only to a channel of the record's instance (ClientRegistry).
//
// Each user has a share of connections (UserLimits::connections): a
// connection beyond it is accepted only to be told EAGAIN
// (wire::EncodeRefusal) and closed, so that one user's idle connections
// never take the daemon's descriptors from the others.
//
// Threading: one thread runs the event loop and every handler; nothing here
// blocks, and nothing waits for a region lock, which a client can hold, stop
// in, or forge (DESIGN.md "Trust model", rule 5): a request that finds one
// busy is parked and asked again by the retry timer, and exit work that
// finds one busy is retried by the same timer, between requests.
#ifndef SYSV_DAEMON_SERVER_H_
#define SYSV_DAEMON_SERVER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "backends/common/event_loop.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "core/ipc/credentials.h"
#include "core/ipc/limits.h"
#include "core/protocol/codec.h"
#include "daemon/client_registry.h"
#include "daemon/namespace_state.h"
#include "daemon/reply.h"
#include "daemon/msg_service.h"
#include "daemon/sealed_objects.h"
#include "daemon/sem_service.h"
#include "daemon/shm_service.h"
#include "daemon/sysctl_service.h"

namespace sysv::daemon {

struct ServerOptions {
  std::string dir;
  core::NamespaceLimits limits;
  // Connections beyond this are refused at accept.
  int max_connections = 65536;
  // The security driver (/dev/sysvipc) segments live in, or nullptr for
  // region files (--driver). Owned by the caller; outlives the server.
  platform::SecurityDriver* driver = nullptr;
};

class Server {
 public:
  Server(ServerOptions options, std::unique_ptr<NamespaceState> state,
         backend::EventLoop& loop, platform::ExitWatch exits);
  ~Server();

  // Recovers client records, starts listening. After this, Run the loop.
  absl::Status Start();
  // Stops accepting and removes the socket file (clean shutdown).
  void Shutdown();

 private:
  struct Connection {
    backend::UniqueFd fd;
    core::Credentials creds;
    // The process that connected: closed with it, and what its records are
    // checked against.
    backend::UniqueFd process_fd;
    uint64_t start_time = 0;
    bool registered = false;
  };

  // A request whose object's lock was busy (Reply::busy), asked again by
  // the retry timer. Its connection is not read meanwhile, so that the
  // client's requests are answered in order.
  struct Parked {
    int fd;
    core::wire::DecodedRequest request;
  };

  void OnAcceptable();
  // Learns who a new connection's peer is (platform::IdentifyPeer), then
  // Admit()s it; a peer that has not introduced itself yet waits in
  // `introducing_` for its first message (OnIntroduced).
  void Introduce(backend::UniqueFd fd);
  void OnIntroduced(int fd);
  // Applies the per-user share, finds the peer's process and starts
  // serving the connection.
  void Admit(backend::UniqueFd fd, core::Credentials creds);
  void OnReadable(int fd);
  // Sends `reply` on `fd`, or closes the connection if it cannot; a busy
  // reply parks `request` instead.
  void Answer(int fd, const core::wire::DecodedRequest& request, Reply reply);
  // The retry timer: parked requests, then exit work postponed on busy
  // locks; re-armed with backoff while any is left (ScheduleRetry).
  void OnRetryTimer();
  void ScheduleRetry();
  // Retires every client process that has exited. Runs before each request
  // (see backends/<os>/exit_watch.h) and when the exit watch is readable.
  void ReapExitedClients();
  // The file change watch is readable: takes back what clients did to the
  // region files through their descriptors (each kind's TakeBack()).
  void OnFilesChanged();
  // The directories watched, each with its tag: (tag, directory).
  std::vector<std::pair<int, int>> WatchedDirs() const;
  // Watches the fd keeper's connection, if objects are sealed regions:
  // when the keeper goes, another is started and given every one.
  absl::Status WatchKeeper();
  void CloseConnection(int fd);
  // Tells a connection beyond the limits why (EAGAIN) before it is closed.
  void Refuse(backend::UniqueFd fd, const char* why, uint32_t uid);
  // The record of the process that opened `connection`, or nullptr: never
  // that of another process that has the same pid.
  ClientProcess* ProcessOf(const Connection& connection);
  // The SHM_LOCK caller's RLIMIT_MEMLOCK, read from the kernel; 0 if it
  // cannot be read for that very process.
  uint64_t CallerMemlockLimit(const Connection& connection);
  // After work that touched client-resizable mappings: if the fault guard
  // absorbed a fault meanwhile (backends/common/guarded_mapping.h), repairs
  // the objects concerned now rather than at their next use, since a lock
  // the daemon held in a region when the fault came stays held in the file
  // until then.
  void RepairAfterFaults();
  // Dispatch(), then RepairAfterFaults(): every request may touch regions.
  Reply DispatchAndRepair(Connection& connection, const core::wire::DecodedRequest& request);
  Reply Dispatch(Connection& connection, const core::wire::DecodedRequest& request);
  Reply HandleRegister(Connection& connection, uint32_t request_id,
                       const core::wire::RegisterRequest& request);
  void AbsorbLedger(const ClientProcess& process);
  // Everything the kernel does when a process exits: detach its segments,
  // apply its semaphore undo, drop its queued operations.
  void OnClientExit(const ClientProcess& process);

  ServerOptions options_;
  std::unique_ptr<NamespaceState> state_;
  backend::EventLoop& loop_;
  platform::ExitWatch exits_;
  backend::UniqueFd listen_fd_;
  std::string socket_path_;
  ClientRegistry clients_;
  // Before the services that use it (sealed regions of segments and sets).
  SealedObjects sealed_;
  ShmService shm_;
  SemService sem_;
  MsgService msg_;
  SysctlService sysctl_;
  absl::flat_hash_map<int, std::unique_ptr<Connection>> connections_;
  // Accepted, waiting for the peer's introduction (never on Linux, where
  // the kernel names the peer's pid at connect).
  absl::flat_hash_map<int, backend::UniqueFd> introducing_;
  // Open connections per effective uid, against `connection_share_`
  // (0: unlimited).
  absl::flat_hash_map<uint32_t, uint32_t> connections_per_user_;
  uint32_t connection_share_ = 0;
  uint64_t faults_seen_ = 0;  // backend::GuardedMapping::Faults() at the last repair
  std::optional<platform::RetryTimer> retry_timer_;
  // Resizes and allocations through clients' descriptors (DESIGN.md "Trust
  // model", rule 3); none where the platform cannot watch (logged).
  std::optional<platform::FileChangeWatch> file_changes_;
  // The delay of the next retry: short after progress, doubled up to
  // kMaxRetryDelay while nothing moves (server.cc).
  absl::Duration retry_delay_;
  std::vector<Parked> parked_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SERVER_H_
