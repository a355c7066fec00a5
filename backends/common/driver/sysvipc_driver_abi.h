/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The ioctl ABI of the security driver, /dev/sysvipc (issue #16 for Linux,
 * #17 for DragonFly): one header for both modules and for the daemon.
 *
 * Only the daemon opens the device (root, mode 0600). It asks the driver to
 * create object memory and gets back descriptors of files the driver owns;
 * it hands those to clients after its permission check. The driver counts
 * mappings of that memory itself (attach_accounting.h) and reports, through
 * read() on the daemon's descriptor, each object whose last mapping went
 * away after the daemon marked it removed.
 *
 * Layout rules: every struct has only fixed-width fields, naturally
 * aligned, padded to a multiple of 8 bytes, so a 32-bit and a 64-bit caller
 * agree and no compat ioctl is needed; every reserved field must be zero
 * (checked, so that it can gain a meaning later); sizes are asserted below.
 * The ioctl numbers are built with the _IOWR() every Unix provides
 * (sysvipc_driver_types.h includes the environment's header for it).
 */
#ifndef SYSV_BACKENDS_COMMON_DRIVER_SYSVIPC_DRIVER_ABI_H_
#define SYSV_BACKENDS_COMMON_DRIVER_SYSVIPC_DRIVER_ABI_H_

#include "backends/common/driver/sysvipc_driver_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SYSVIPC_DEVICE_PATH "/dev/sysvipc"
#define SYSVIPC_ABI_VERSION 1u

/* Largest object the driver creates: the kernel's own SHMMAX ceiling
 * (ULONG_MAX - (1UL << 24)) rounded down to what fits every 64-bit kernel's
 * file size; the daemon enforces the namespace's real, smaller limits. */
#define SYSVIPC_MAX_OBJECT_SIZE (((uint64_t)1 << 62))

/* sysvipc_create.flags */
#define SYSVIPC_CREATE_NORESERVE 0x1u /* SHM_NORESERVE: no commit charge */
#define SYSVIPC_CREATE_HUGETLB 0x2u   /* SHM_HUGETLB (see the module's notes) */
#define SYSVIPC_CREATE_FLAGS (SYSVIPC_CREATE_NORESERVE | SYSVIPC_CREATE_HUGETLB)

/* sysvipc_open.flags */
#define SYSVIPC_OPEN_READONLY 0x1u /* a descriptor that can never map writable */
#define SYSVIPC_OPEN_FLAGS (SYSVIPC_OPEN_READONLY)

/* sysvipc_lock.op */
#define SYSVIPC_LOCK_UNLOCK 0u
#define SYSVIPC_LOCK_LOCK 1u

/* SYSVIPC_IOC_VERSION: the driver's ABI version. */
struct sysvipc_version {
	uint32_t version; /* out: SYSVIPC_ABI_VERSION */
	uint32_t reserved; /* in: 0 */
};

/* SYSVIPC_IOC_CREATE: new object memory of `size` bytes. */
struct sysvipc_create {
	uint64_t size;  /* in: 1 .. SYSVIPC_MAX_OBJECT_SIZE */
	uint32_t flags; /* in: SYSVIPC_CREATE_* */
	uint32_t id;    /* out: the driver's id of the object (never 0) */
	int32_t fd;     /* out: a read-write descriptor (O_CLOEXEC) */
	uint32_t reserved; /* in: 0 */
};

/* SYSVIPC_IOC_OPEN: a new descriptor of an existing object. */
struct sysvipc_open {
	uint32_t id;    /* in */
	uint32_t flags; /* in: SYSVIPC_OPEN_* */
	int32_t fd;     /* out (O_CLOEXEC) */
	uint32_t reserved; /* in: 0 */
};

/* SYSVIPC_IOC_STAT: an object's attach facts, as ipc/shm.c keeps them. */
struct sysvipc_stat {
	uint32_t id;       /* in */
	uint32_t flags;    /* out: SYSVIPC_STAT_* */
	uint64_t size;     /* out */
	uint64_t nattch;   /* out: mappings (VMAs) of the object */
	int64_t atime;     /* out: last attach, seconds since the epoch */
	int64_t dtime;     /* out: last detach */
	int32_t lpid;      /* out: last attach/detach, in the caller's pid ns */
	uint32_t reserved; /* in: 0 */
	uint64_t resident_pages; /* out: pages in memory or swap (shm_rss) */
};
#define SYSVIPC_STAT_REMOVED 0x1u /* marked removed, still mapped */
#define SYSVIPC_STAT_LOCKED 0x2u  /* SHM_LOCK in force */

/* SYSVIPC_IOC_REMOVE: the daemon's IPC_RMID. The object's id stays valid
 * until its last mapping goes; then read() reports it and the id is gone.
 * An object with no mapping goes at once (and is not reported). */
struct sysvipc_remove {
	uint32_t id;       /* in */
	uint32_t gone;     /* out: 1 if the object went at once */
};

/* SYSVIPC_IOC_LIST: the ids of live objects (a restarted daemon's
 * recovery): ids greater than `after`, ascending, at most `count`. */
struct sysvipc_list {
	uint64_t ids;      /* in: user address of a uint32_t[count] */
	uint32_t after;    /* in */
	uint32_t count;    /* in: at most SYSVIPC_LIST_MAX; out: filled */
};
#define SYSVIPC_LIST_MAX 4096u

/* SYSVIPC_IOC_LOCK: SHM_LOCK/SHM_UNLOCK on behalf of `uid`, whose
 * RLIMIT_MEMLOCK the daemon read (the calling client's, as the kernel
 * reads current's); CAP_IPC_LOCK holders pass memlock_limit = ~0. */
struct sysvipc_lock {
	uint32_t id;            /* in */
	uint32_t op;            /* in: SYSVIPC_LOCK_* */
	uint32_t uid;           /* in: the object's creator's uid */
	uint32_t reserved;      /* in: 0 */
	uint64_t memlock_limit; /* in: bytes, ~0 for unlimited */
};

/* read() on the daemon's descriptor returns whole records, oldest first. */
struct sysvipc_event {
	uint32_t id;   /* the object whose last mapping went after removal */
	uint32_t kind; /* SYSVIPC_EVENT_* */
};
#define SYSVIPC_EVENT_LAST_DETACH 1u

#define SYSVIPC_IOC_MAGIC 0xB7
#define SYSVIPC_IOC_VERSION _IOWR(SYSVIPC_IOC_MAGIC, 0, struct sysvipc_version)
#define SYSVIPC_IOC_CREATE _IOWR(SYSVIPC_IOC_MAGIC, 1, struct sysvipc_create)
#define SYSVIPC_IOC_OPEN _IOWR(SYSVIPC_IOC_MAGIC, 2, struct sysvipc_open)
#define SYSVIPC_IOC_STAT _IOWR(SYSVIPC_IOC_MAGIC, 3, struct sysvipc_stat)
#define SYSVIPC_IOC_REMOVE _IOWR(SYSVIPC_IOC_MAGIC, 4, struct sysvipc_remove)
#define SYSVIPC_IOC_LIST _IOWR(SYSVIPC_IOC_MAGIC, 5, struct sysvipc_list)
#define SYSVIPC_IOC_LOCK _IOWR(SYSVIPC_IOC_MAGIC, 6, struct sysvipc_lock)

/* The layout every caller relies on. */
#define SYSVIPC_ABI_ASSERT(cond, name) typedef char sysvipc_abi_##name[(cond) ? 1 : -1]
SYSVIPC_ABI_ASSERT(sizeof(struct sysvipc_version) == 8, version_size);
SYSVIPC_ABI_ASSERT(sizeof(struct sysvipc_create) == 24, create_size);
SYSVIPC_ABI_ASSERT(sizeof(struct sysvipc_open) == 16, open_size);
SYSVIPC_ABI_ASSERT(sizeof(struct sysvipc_stat) == 56, stat_size);
SYSVIPC_ABI_ASSERT(sizeof(struct sysvipc_remove) == 8, remove_size);
SYSVIPC_ABI_ASSERT(sizeof(struct sysvipc_list) == 16, list_size);
SYSVIPC_ABI_ASSERT(sizeof(struct sysvipc_lock) == 24, lock_size);
SYSVIPC_ABI_ASSERT(sizeof(struct sysvipc_event) == 8, event_size);

#ifdef __cplusplus
}
#endif

#endif /* SYSV_BACKENDS_COMMON_DRIVER_SYSVIPC_DRIVER_ABI_H_ */
