// What a writer tries on an object's descriptor to resize it under its
// other users (issue #13 item 4), shared by the segment, set, queue, storage
// and ledger attacks, and the wait for the daemon's take-back.
#ifndef SYSV_TESTS_SECURITY_RESIZE_ATTACKS_H_
#define SYSV_TESTS_SECURITY_RESIZE_ATTACKS_H_

#include <sys/types.h>

#include <chrono>

namespace sysv::testing {

// Cuts `fd` to nothing and puts its `size` back, in a loop, for `how_long`.
// 0 when every cut was refused and the size is `size` at the end; 3 when a
// cut worked; 4 when the size is not `size`.
int CutInALoop(int fd, off_t size, std::chrono::steady_clock::duration how_long);

// Grows `fd` (`size` long) to 1 GiB, allocates 64 MiB in it and writes a
// byte at 512 MiB. 0 when all three were refused and the size is still
// `size`; 3, 4, 5 for the one that worked; 6 when the size changed.
int TryToGrow(int fd, off_t size);

// Whether `fd` is `size` bytes long with at most `block_bytes` of blocks
// allocated, within two seconds (the daemon's take-back).
bool SettlesTo(int fd, off_t size, off_t block_bytes);

}  // namespace sysv::testing

#endif  // SYSV_TESTS_SECURITY_RESIZE_ATTACKS_H_
