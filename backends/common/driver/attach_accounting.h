/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attach accounting and input validation of the security driver, shared by
 * the Linux and DragonFly modules and unit-tested in user space.
 *
 * User space visible behaviour (mirrors ipc/shm.c):
 * - Every mapping (VMA) of an object counts once in nattch: the first mmap,
 *   each copy made by fork, each piece made by splitting a mapping
 *   (mprotect of part of it, munmap of its middle). Unmapping, exec and
 *   exit (kill -9 included) close them. shm_open()/shm_close() in
 *   ipc/shm.c count the same events, so nattch equals the kernel's.
 * - Each open sets atime and each close sets dtime (ipc/shm.c sets them in
 *   __shm_open()/shm_close(), so fork and splits move atime too); the OS
 *   part records lpid beside them, in its own pid type.
 * - An object marked removed goes when its last mapping closes; that close
 *   is reported exactly once, and a removed object never gains an attach
 *   through the driver's descriptors again (the daemon refuses new ones,
 *   but fork of an existing mapping still counts, as in the kernel).
 *
 * Internals: these functions keep no lock; the caller holds the object's
 * lock across each call (Linux: a spinlock, since vm_ops->close runs with
 * mmap_lock held; DragonFly: the driver's lockmgr lock). Nothing here sleeps,
 * allocates or reads user memory. Results are 0 or a negated errno, the
 * kernels' convention.
 */
#ifndef SYSV_BACKENDS_COMMON_DRIVER_ATTACH_ACCOUNTING_H_
#define SYSV_BACKENDS_COMMON_DRIVER_ATTACH_ACCOUNTING_H_

#include "backends/common/driver/sysvipc_driver_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Object state bits (struct sysvipc_attach.state). */
#define SYSVIPC_ATTACH_REMOVED 0x1u  /* the daemon's IPC_RMID came */
#define SYSVIPC_ATTACH_GONE 0x2u     /* removed and unmapped: reported */

struct sysvipc_attach {
	uint64_t nattch;
	int64_t atime;
	int64_t dtime;
	uint32_t state;
};

/* A new mapping (mmap, fork, split) at `now`. */
void sysvipc_attach_open(struct sysvipc_attach *a, int64_t now);

/*
 * A mapping closed at `now`. Returns 1 if this was the last mapping of a
 * removed object (the caller reports it and frees the object; further calls
 * return 0), else 0. A close with nattch already 0 is a caller bug: the
 * count stays 0 and -EINVAL says so.
 */
int sysvipc_attach_close(struct sysvipc_attach *a, int64_t now);

/*
 * The daemon's IPC_RMID. `pending` is nonzero if a mapping may be on its
 * way that the count does not show yet (DragonFly: an mmap between
 * d_mmap_single and its map entry; Linux counts in mmap itself and passes
 * 0). Returns 1 if the object has no mapping and none pending (it goes
 * now, unreported), 0 if it waits for its last detach, -EIDRM if it was
 * already removed.
 */
int sysvipc_attach_remove(struct sysvipc_attach *a, int pending);

/*
 * For a kernel that counts mappings itself but calls no hook per mapping
 * (DragonFly: the VM object's backing list): brings `a` to `mappings` by
 * opens (new mappings, atime) or closes (dtime) at `now`. Returns 1 if the
 * object is removed, unmapped and no mapping is `pending` (as for
 * sysvipc_attach_remove()): it is gone, and the caller reports it, exactly
 * once (further calls return 0). Else 0.
 */
int sysvipc_attach_sync(struct sysvipc_attach *a, uint64_t mappings,
			int pending, int64_t now);

/* The STAT flags (SYSVIPC_STAT_REMOVED) that `a` implies. */
uint32_t sysvipc_attach_stat_flags(const struct sysvipc_attach *a);

/*
 * SHM_LOCK's charge, as mm/mlock.c:user_shm_lock() computes it: `size`
 * bytes round up to pages of 1 << page_shift; the user's locked total
 * (*user_pages) may not exceed limit_bytes >> page_shift, unless
 * limit_bytes is ~0 (RLIM_INFINITY or CAP_IPC_LOCK). On success adds the
 * pages to *user_pages and returns 0; -ENOMEM otherwise (shmctl's errno).
 */
int sysvipc_memlock_charge(uint64_t *user_pages, uint64_t size,
			   uint64_t limit_bytes, unsigned int page_shift);

/* SHM_UNLOCK's (or destruction's) refund of what charge took. */
void sysvipc_memlock_refund(uint64_t *user_pages, uint64_t size,
			    unsigned int page_shift);

/*
 * Input checks for each ioctl, on the copy the driver made of the caller's
 * struct (never on user memory). 0 if well-formed, else -EINVAL.
 */
int sysvipc_check_version(const struct sysvipc_version *v);
int sysvipc_check_create(const struct sysvipc_create *c);
int sysvipc_check_open(const struct sysvipc_open *o);
int sysvipc_check_stat(const struct sysvipc_stat *s);
int sysvipc_check_remove(const struct sysvipc_remove *r);
int sysvipc_check_list(const struct sysvipc_list *l);
int sysvipc_check_lock(const struct sysvipc_lock *l);

/* How many whole events fit a read() of `len` bytes (0: the read fails
 * with -EINVAL, as an eventfd read shorter than a record does). */
uint64_t sysvipc_events_that_fit(uint64_t len);

#ifdef __cplusplus
}
#endif

#endif /* SYSV_BACKENDS_COMMON_DRIVER_ATTACH_ACCOUNTING_H_ */
