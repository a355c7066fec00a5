// Rebinding function symbols in loaded ELF objects: the means by which a
// preloaded libsysv still serves a library that glibc bound to libc itself.
//
// Why: LD_PRELOAD puts libsysv first in the global lookup scope, so every
// object's `shmget` resolves to ours, except in an object loaded with
// dlopen(RTLD_DEEPBIND): its own scope (itself, then its dependencies, libc
// among them) comes first, and its SysV calls bind to libc and reach the
// kernel. PHP loads its sysvmsg/sysvsem/sysvshm extensions that way, and a
// PHP program then silently splits its objects between two namespaces.
//
// How: after such a load, each symbol-binding relocation (the PLT's jump
// slots and the GOT's GLOB_DAT entries) that names one of the rebound
// functions is overwritten with our address, as the dynamic linker would
// have written it had libsysv been first in that object's scope. A slot in
// the RELRO segment is made writable for the store and read-only again. An
// 8-byte aligned store is atomic, so a thread calling through the slot
// meanwhile gets one address or the other, both valid.
#ifndef SYSV_BACKENDS_COMMON_ELF_REBIND_H_
#define SYSV_BACKENDS_COMMON_ELF_REBIND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"

namespace sysv::backend {

struct Rebinding {
  const char* symbol;  // e.g. "msgget" (a version suffix is ignored)
  void* address;       // what the object's calls must reach
};

// The objects loaded in the caller's link-map namespace, by load address
// (two objects never share one): a dlopen() wrapper takes the set before
// the call, so that only the objects the call loaded are rebound.
absl::flat_hash_set<uintptr_t> LoadedObjects();

struct RebindReport {
  int slots_rebound = 0;
  // Objects with a slot that could not be written ("name: symbol (why)"):
  // their calls still reach whatever the dynamic linker chose.
  std::vector<std::string> failures;
};

// Points every slot of `rebindings`' symbols, in each object of the
// link-map namespace that dlopen()/dlmopen() handle `handle` belongs to whose
// load address is not in `skip`, at the rebinding's address. Slots already
// holding it are left alone. Objects whose file name (not its directory)
// starts with one of `skip_names` (libc itself, the dynamic linker,
// libsysv) are never touched.
// Safe to call from several threads (the stores are idempotent).
RebindReport RebindObjectsBeside(void* handle, absl::Span<const Rebinding> rebindings,
                                 const absl::flat_hash_set<uintptr_t>& skip,
                                 absl::Span<const char* const> skip_names);

}  // namespace sysv::backend

#endif  // SYSV_BACKENDS_COMMON_ELF_REBIND_H_
