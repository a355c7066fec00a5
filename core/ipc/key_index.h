// The key -> index map of one object table, kept in the table itself so that
// a client can find the object of a key it never got before (shmget, semget,
// msgget of an existing key, core/ipc/local_get.h) without asking the
// daemon: the daemon's in-memory map (IpcRegistry's index_by_key_) mirrored
// where every client can read it.
//
// Layout: chained hashing through three words of each entry, each an index
// plus one (0: none). key_head of entry b heads the chain of the keys whose
// bucket is b (KeyBucket); key_next and key_prev of entry i link object i
// into its key's chain, doubly, so that the daemon unlinks in constant time
// however many keys a user makes collide.
//
// Locking: the daemon is the only writer, from its single thread (the table
// is mapped read-only by clients). The words are not under the entries'
// seqlocks: a link change would otherwise look like a change of the object
// to every reader holding a verdict on it (ObjectTable::Version).
//
// Why a reader needs no more: the index is only a hint. FindKey returns an
// index only after reading that entry whole under its seqlock and seeing it
// live with this key; keys are unique among live objects and IPC_RMID makes
// a key private (IpcRegistry::DropKey), so that entry is the key's object at
// the moment of the read, whatever the links were doing meanwhile. A reader
// racing the daemon may be led into another chain or lose its way: it then
// finds nothing within kMaxChainSteps, and the caller asks the daemon, as it
// does for a key no object has (only the daemon may create, and "no such
// key" is never answered from the index).
//
// Memory ordering: KEY_INDEX_LINK: the daemon stores an entry's key_next and
// key_prev before (release) the word that makes the entry reachable; a
// reader loads links with acquire. Correctness does not rest on it (see
// above); it keeps a reader from following a link older than the word
// that led to it.
#ifndef SYSV_CORE_IPC_KEY_INDEX_H_
#define SYSV_CORE_IPC_KEY_INDEX_H_

#include <cstdint>
#include <optional>

#include "core/ipc/ipc_constants.h"
#include "core/ipc/object_table.h"

namespace sysv::core {

// How many entries a reader visits in one chain before giving up.
inline constexpr int kMaxChainSteps = 64;

// The bucket (an entry index) of `key` in a table of `capacity` entries.
// REQUIRES: capacity > 0.
uint32_t KeyBucket(Key key, uint32_t capacity);

// Daemon: makes live entry `index`, whose key is `key`, findable.
// REQUIRES: `index` is not linked (a fresh object, or one unlinked).
void LinkKey(ObjectTable& table, int32_t index, Key key);
// Daemon: unlinks entry `index`, linked under `key`.
void UnlinkKey(ObjectTable& table, int32_t index, Key key);
// Daemon: empties the index, then links every live entry with a key (a
// table of a previous daemon, whose links may be torn or absent).
void RebuildKeyIndex(ObjectTable& table);

// Client: the index of the live object with `key` as read under its
// seqlock, or nullopt (no such object found: ask the daemon).
std::optional<int32_t> FindKey(const ObjectTable& table, Key key);

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_KEY_INDEX_H_
