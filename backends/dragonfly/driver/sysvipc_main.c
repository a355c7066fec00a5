/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sysvipc: the DragonFly security driver of libsysv, /dev/sysvipc (issue #17
 * item 5), the counterpart of backends/linux/driver/sysvipc_main.c with the
 * same ioctl ABI (backends/common/driver/sysvipc_driver_abi.h), the same
 * input checks and attach accounting (attach_accounting.h) and the same
 * ioctl switch (ioctl_dispatch.h); this file is only the DragonFly glue.
 *
 * User space visible behaviour:
 * - /dev/sysvipc is the daemon's only (root:wheel 0600; PRIV_ROOT is also
 *   checked at open) and one daemon holds it at a time (EBUSY otherwise).
 * - Object memory is an anonymous swap-backed VM object the driver owns,
 *   made as sys/kern/sysv_shm.c:shmget_allocate_segment() makes a segment's
 *   (swap_pager_alloc(), OBJ_NOSPLIT, OBJ_ONEMAPPING cleared). Nothing lands
 *   in a file system a user can reach; pages are charged and paged like a
 *   kernel SysV segment's.
 * - Each object has a character device of its own, /dev/sysvipcobj/<id>
 *   (root:wheel 0600, so no user can open it by name). CREATE and OPEN
 *   open it in the daemon (fp_open(), O_RDWR, or O_RDONLY for
 *   SYSVIPC_OPEN_READONLY) and install the descriptor close-on-exec; the
 *   daemon hands it to a client. Its only operation is mmap:
 *   sys/vm/vm_mmap.c:kern_mmap() gives a character device mapping a
 *   maximum protection without VM_PROT_WRITE unless the descriptor was
 *   opened for writing, so a read-only descriptor maps read-only (PROT_WRITE:
 *   EACCES) and mprotect(PROT_WRITE) of its mapping fails, as for
 *   shmat(SHM_RDONLY); MAP_PRIVATE of a device is EINVAL there too. The
 *   descriptor is a devfs node, not the memory: read, write and ioctl are
 *   ENODEV (kern_device.c's defaults); ftruncate changes nothing (EINVAL
 *   on a read-only descriptor; on a writable one devfs_vop_setattr()
 *   ignores the size and returns 0); fchmod/fchown need the owner, root;
 *   /dev/fd/N reopens it only with its own access mode
 *   (kern_descrip.c:dupfdopen()). So clients cannot resize the object.
 * - nattch counts mappings (vm_map entries) as ipc/shm.c counts VMAs: the
 *   first mmap, each copy made by fork, each piece made by splitting an
 *   entry (mprotect of part, munmap of the middle); munmap, exec and exit
 *   (kill -9 included) take them away. atime and lpid are stamped at each
 *   mmap, atime also when a fork or split is first seen; dtime when a
 *   detach is seen (see "Mapping accounting" for when that is).
 * - Objects outlive the daemon: the driver keeps each until the daemon
 *   removes it and its last mapping goes. Then read() on the daemon's
 *   descriptor reports it (kqueue/poll EVFILT_READ says when), so a daemon
 *   that restarts after a crash still learns of every last detach.
 *
 * Mapping accounting: which DragonFly mechanism, and why.
 * DragonFly (sys/vm/vm_map.c at f875a8eec79e) offers three candidates:
 * - cdev_pager_allocate()'s ctor/dtor (sys/vm/device_pager.c): the ctor
 *   runs at every mmap and the dtor once, when the pager object's last
 *   reference goes. They bracket the object's life, not each mapping: fork
 *   and splits call neither, and the pager's pages must be fictitious
 *   (OBJT_DEVICE, OBJT_MGTDEVICE), so the memory could not be a swap
 *   object's pageable pages.
 * - VM_MAPTYPE_UKSMAP entries (dev_ops d_uksmap): UKSMAPOP_ADD/REM run for
 *   every entry, but such an entry has no VM object (each fault hands out a
 *   bare physical address through a fictitious page, unmanaged by the
 *   pmap), and vm_map_find()/vmspace_fork_uksmap_entry() special-case
 *   kern_memio.c's minors 5-7 by number.
 * - The VM object's own backing list: vm_map_backing_attach() and
 *   vm_map_backing_detach() link and unlink every map entry backed by an
 *   object on object->backing_list (under object->backing_lk) at each
 *   insertion, clip, fork replication and deletion (exit and exec
 *   included). That is the kernel's exact per-mapping bookkeeping, on the
 *   swap object itself, and the one used here: nattch is the length of
 *   that list (a COW copy made by minherit(VM_INHERIT_COPY) + fork still
 *   names the object as its backing, and counts, as in ipc/shm.c).
 * Nothing calls a module when an entry goes, so the driver reconciles its
 * counters (sysvipc_attach_open/close, the shared accounting) with the
 * list whenever it looks: at every mmap, STAT, REMOVE and LIST, and every
 * SYSVIPC_SCAN_TICKS while some object is removed but still mapped, which
 * is when the last detach (by munmap, exec or process exit) is noticed and
 * reported: within SYSVIPC_SCAN_TICKS, not at the instant as on Linux. A
 * detach is stamped with the time it is noticed; lpid is the last mmap's
 * caller (the detaching process is not known).
 *
 * Differences from the Linux module (and ipc/shm.c):
 * - mmap of a descriptor whose object is marked removed fails with EIDRM
 *   even while the object is still mapped (sysvipc_obj_mmap_single() says
 *   why), and with EBADF once it is gone (devfs revoked the device,
 *   kern_mmap()); a mapping beyond the object's pages is EINVAL (Linux
 *   maps it and faults SIGBUS).
 * - STAT's resident_pages is the object's resident pages; pages in swap
 *   are not counted (the swap pager keeps only block counts).
 * - SHM_LOCK sums pages per uid against the limit the daemon passes (the
 *   shared sysvipc_memlock_charge()) and reports SYSVIPC_STAT_LOCKED, but
 *   does not pin the pages: a VM object has no "unevictable" mark, and
 *   DragonFly's own shmctl has no SHM_LOCK.
 * - The descriptor is installed before the generic ioctl layer copies the
 *   reply out: if that copy faults the daemon keeps an fd it was not told
 *   of (Linux installs it only after the copy).
 *
 * Internals and locking:
 * - sysvipc_lk (lockmgr, may sleep) guards everything of the driver's: the
 *   table (an RB tree by id), the list of removed objects the scan looks
 *   at, the event list (its length mirrored in the atomic sysvipc_pending
 *   for the kqueue filter), the memlock sums, and each object's
 *   acct/lpid/locked fields, cdev and reference count. Taken before a VM
 *   object's backing_lk (shared, to count); never held across
 *   make_dev/destroy_dev/fp_open, which may wait for the devfs thread.
 * - An object lives while the table, the event list (reported, not yet
 *   read) or a running operation holds a reference (refs). Its cdev's
 *   si_drv1 names it until it goes. Each mapping holds its own reference
 *   on the VM object, so the memory outlives the struct only while mapped,
 *   which a gone object is not; nothing in a mapping points into this
 *   module, so unloading cannot leave a mapping calling freed code.
 */
#include <sys/param.h>
#include <sys/systm.h>
#include <sys/callout.h>
#include <sys/conf.h>
#include <sys/device.h>
#include <sys/devfs.h>
#include <sys/event.h>
#include <sys/fcntl.h>
#include <sys/file.h>
#include <sys/filedesc.h>
#include <sys/kernel.h>
#include <sys/lock.h>
#include <sys/malloc.h>
#include <sys/module.h>
#include <sys/priv.h>
#include <sys/proc.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <sys/uio.h>
#include <sys/vnode.h>

#include <machine/atomic.h>

#include <vm/vm.h>
#include <vm/vm_map.h>
#include <vm/vm_object.h>
#include <vm/vm_pager.h>

#include "backends/common/driver/attach_accounting.h"
#include "backends/common/driver/ioctl_dispatch.h"

/* How often removed-but-mapped objects are looked at (see the notes). */
#define SYSVIPC_SCAN_TICKS (hz / 10 > 0 ? hz / 10 : 1)

static MALLOC_DEFINE(M_SYSVIPC, "sysvipc", "libsysv security driver");

struct sysvipc_obj {
	RB_ENTRY(sysvipc_obj) node;	/* in sysvipc_table while in_table */
	TAILQ_ENTRY(sysvipc_obj) event;	/* on sysvipc_events once reported */
	TAILQ_ENTRY(sysvipc_obj) removed; /* on sysvipc_removed while mapped */
	uint32_t id;			/* immutable */
	uint64_t size;			/* immutable */
	vm_object_t vmobj;		/* the memory, one reference; immutable */
	cdev_t cdev;			/* sysvipcobj/<id>; set once, locked */
	int refs;
	bool in_table;
	struct sysvipc_attach acct;
	pid_t lpid;
	bool locked;
	uid_t locked_uid;
};

struct sysvipc_memlock_user {
	TAILQ_ENTRY(sysvipc_memlock_user) node;
	uid_t uid;
	uint64_t pages;
};

static int sysvipc_obj_cmp(struct sysvipc_obj *a, struct sysvipc_obj *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

RB_HEAD(sysvipc_tree, sysvipc_obj);
RB_PROTOTYPE_STATIC(sysvipc_tree, sysvipc_obj, node, sysvipc_obj_cmp);
RB_GENERATE_STATIC(sysvipc_tree, sysvipc_obj, node, sysvipc_obj_cmp);

static struct lock sysvipc_lk = LOCK_INITIALIZER("sysvipc", 0, 0);
static struct sysvipc_tree sysvipc_table = RB_INITIALIZER(&sysvipc_table);
static TAILQ_HEAD(, sysvipc_obj) sysvipc_events =
	TAILQ_HEAD_INITIALIZER(sysvipc_events);
static u_int sysvipc_pending;	/* sysvipc_events' length; written locked */
/* Removed objects still in the table: what the scan looks at. */
static TAILQ_HEAD(, sysvipc_obj) sysvipc_removed =
	TAILQ_HEAD_INITIALIZER(sysvipc_removed);
static TAILQ_HEAD(, sysvipc_memlock_user) sysvipc_memlock_users =
	TAILQ_HEAD_INITIALIZER(sysvipc_memlock_users);
static struct kqinfo sysvipc_kq;
static struct callout sysvipc_scan;
static uint32_t sysvipc_last_id;
static int sysvipc_objects;	/* live structs: unload waits for none */
static bool sysvipc_open_once;
static cdev_t sysvipc_dev;

static int64_t sysvipc_now(void)
{
	return (int64_t)time_second;
}

/* The kernel's count of map entries backed by `obj`'s memory. */
static uint64_t sysvipc_mappings(struct sysvipc_obj *obj)
{
	struct vm_map_backing *ba;
	uint64_t n = 0;

	lockmgr(&obj->vmobj->backing_lk, LK_SHARED);
	TAILQ_FOREACH(ba, &obj->vmobj->backing_list, entry)
		n++;
	lockmgr(&obj->vmobj->backing_lk, LK_RELEASE);
	return n;
}

/*
 * Whether a mapping may be on its way that `mappings` does not show: the
 * memory has references beyond the driver's one and one per map entry
 * backed by it (vm_map_backing_replicated() takes one per backing). The
 * reference sysvipc_obj_mmap_single() hands to vm_mmap() is one until its
 * entry is inserted or it is dropped; a passing reference taken by the VM
 * system looks the same and only delays a last-detach report.
 */
static int sysvipc_mapping_pending(struct sysvipc_obj *obj, uint64_t mappings)
{
	return (uint64_t)obj->vmobj->ref_count > mappings + 1;
}

static void sysvipc_obj_free(struct sysvipc_obj *obj)
{
	if (obj->cdev != NULL)
		destroy_dev(obj->cdev);
	vm_object_deallocate(obj->vmobj);
	kfree(obj, M_SYSVIPC);
	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	sysvipc_objects--;
	lockmgr(&sysvipc_lk, LK_RELEASE);
}

/* Drops a reference. REQUIRES: sysvipc_lk, which it releases. */
static void sysvipc_obj_put_unlock(struct sysvipc_obj *obj)
{
	bool last = --obj->refs == 0;

	if (last && obj->cdev != NULL)
		obj->cdev->si_drv1 = NULL;
	lockmgr(&sysvipc_lk, LK_RELEASE);
	if (last)
		sysvipc_obj_free(obj);
}

/* Takes a gone object out of the table; `report` queues its event, which
 * then owns the table's reference. REQUIRES: sysvipc_lk. */
static void sysvipc_obj_gone(struct sysvipc_obj *obj, bool report)
{
	RB_REMOVE(sysvipc_tree, &sysvipc_table, obj);
	if (obj->acct.state & SYSVIPC_ATTACH_REMOVED)
		TAILQ_REMOVE(&sysvipc_removed, obj, removed);
	obj->in_table = false;
	if (obj->cdev != NULL)
		obj->cdev->si_drv1 = NULL;
	if (report) {
		TAILQ_INSERT_TAIL(&sysvipc_events, obj, event);
		atomic_add_int(&sysvipc_pending, 1);
		wakeup(&sysvipc_events);
		KNOTE(&sysvipc_kq.ki_note, 0);
	} else {
		obj->refs--;	/* the caller holds another */
	}
}

/*
 * Brings the shared accounting up to the kernel's count of mappings
 * (sysvipc_attach_sync()); the close that leaves a removed object unmapped
 * makes it gone and reports it. REQUIRES: sysvipc_lk and a reference
 * beyond the table's (the table's may move to the event list).
 */
static void sysvipc_obj_sync(struct sysvipc_obj *obj)
{
	uint64_t n;

	if (!obj->in_table)
		return;
	n = sysvipc_mappings(obj);
	if (sysvipc_attach_sync(&obj->acct, n,
				sysvipc_mapping_pending(obj, n),
				sysvipc_now()) == 1)
		sysvipc_obj_gone(obj, true);
}

/* Looks at every removed, still mapped object; re-arms while one is left.
 * Runs with sysvipc_lk held (callout_init_lk). */
static void sysvipc_scan_removed(void *arg __unused)
{
	struct sysvipc_obj *obj, *next;
	bool more = false;

	TAILQ_FOREACH_MUTABLE(obj, &sysvipc_removed, removed, next) {
		obj->refs++;	/* the table's may go to the event list */
		sysvipc_obj_sync(obj);
		obj->refs--;	/* never the last: table or event list holds */
		if (obj->in_table)
			more = true;
	}
	if (more)
		callout_reset(&sysvipc_scan, SYSVIPC_SCAN_TICKS,
			      sysvipc_scan_removed, NULL);
}

/* The object with `id`, with a reference and sysvipc_lk held, or NULL
 * (lock released). */
static struct sysvipc_obj *sysvipc_obj_get_locked(uint32_t id)
{
	struct sysvipc_obj key = { .id = id };
	struct sysvipc_obj *obj;

	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	obj = RB_FIND(sysvipc_tree, &sysvipc_table, &key);
	if (obj == NULL) {
		lockmgr(&sysvipc_lk, LK_RELEASE);
		return NULL;
	}
	obj->refs++;
	return obj;
}

/*
 * mmap of an object's device. Results: 0 with a new reference to the
 * memory in *a_object (vm_mmap() gives it to the map entry, or drops it);
 * ENXIO once the object is gone; EIDRM once it is marked removed (see
 * below); EINVAL for a range beyond the object. Writability was decided
 * by kern_mmap() from the descriptor's mode before this is called.
 *
 * The entry is inserted after this returns, so until then the count cannot
 * include it: the reference handed out here marks it pending
 * (sysvipc_mapping_pending()), so neither a REMOVE nor a scan lets the
 * object go under a mapping on its way. Refusing removed objects keeps
 * the pending window from reopening once the object is removed
 * (attach_accounting.h: a removed object never gains an attach through the
 * driver's descriptors; Linux still maps one that is not yet gone).
 */
static int sysvipc_obj_mmap_single(struct dev_mmap_single_args *ap)
{
	cdev_t dev = ap->a_head.a_dev;
	vm_ooffset_t off = *ap->a_offset;
	vm_size_t size = ap->a_size;
	struct sysvipc_obj *obj;
	vm_ooffset_t limit;
	int error = 0;

	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	obj = dev->si_drv1;
	if (obj == NULL || !obj->in_table) {
		lockmgr(&sysvipc_lk, LK_RELEASE);
		return ENXIO;
	}
	obj->refs++;
	limit = round_page(obj->size);
	sysvipc_obj_sync(obj);
	if (obj->acct.state & SYSVIPC_ATTACH_REMOVED) {
		error = EIDRM;
	} else if (off > limit || size > limit - off) {
		error = EINVAL;
	} else {
		vm_object_hold(obj->vmobj);
		vm_object_reference_locked(obj->vmobj);
		vm_object_drop(obj->vmobj);
		*ap->a_object = obj->vmobj;
		obj->acct.atime = sysvipc_now();
		obj->lpid = curproc != NULL ? curproc->p_pid : 0;
	}
	sysvipc_obj_put_unlock(obj);
	return error;
}

static struct dev_ops sysvipc_obj_ops = {
	{ "sysvipcobj", 0, D_MPSAFE },
	.d_mmap_single = sysvipc_obj_mmap_single,
};

/*
 * A new descriptor of `obj`'s device in the calling (daemon's) process,
 * close-on-exec. Returns 0 and *fdp, or an errno.
 */
static int sysvipc_obj_new_fd(struct sysvipc_obj *obj, bool readonly,
			      int *fdp)
{
	struct proc *p = curproc;
	struct file *fp;
	char path[64];
	int error, fd;

	ksnprintf(path, sizeof(path), "/dev/sysvipcobj/%u", obj->id);
	error = fp_open(path, readonly ? O_RDONLY : O_RDWR, 0, &fp);
	if (error)
		return error;
	error = fdalloc(p, 0, &fd);
	if (error) {
		fdrop(fp);
		return error;
	}
	fsetfd(p->p_fd, fp, fd);	/* takes its own hold */
	fsetfdflags(p->p_fd, fd, UF_EXCLOSE);
	fdrop(fp);
	*fdp = fd;
	return 0;
}

long sysvipc_ioc_create(void *ctx __unused, struct sysvipc_create *req)
{
	struct sysvipc_obj *obj, *clash;
	cdev_t cdev;
	uint32_t id;
	int error, fd;

	obj = kmalloc(sizeof(*obj), M_SYSVIPC, M_WAITOK | M_ZERO);
	obj->size = req->size;
	obj->refs = 1;	/* the table's */
	/* As shmget_allocate_segment() makes a segment's memory. */
	obj->vmobj = swap_pager_alloc(NULL, req->size, VM_PROT_DEFAULT, 0);
	if (obj->vmobj == NULL) {
		kfree(obj, M_SYSVIPC);
		return -ENOMEM;
	}
	vm_object_clear_flag(obj->vmobj, OBJ_ONEMAPPING);
	vm_object_set_flag(obj->vmobj, OBJ_NOSPLIT);

	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	sysvipc_objects++;
	/* Ids cycle through 1..SYSVIPC_MAX_ID, skipping live ones (Linux:
	 * idr_alloc_cyclic()); a full table is ENOSPC. */
	id = sysvipc_last_id;
	do {
		id = id >= SYSVIPC_MAX_ID ? 1 : id + 1;
		obj->id = id;
		clash = RB_INSERT(sysvipc_tree, &sysvipc_table, obj);
	} while (clash != NULL && id != sysvipc_last_id);
	if (clash != NULL) {
		lockmgr(&sysvipc_lk, LK_RELEASE);
		obj->cdev = NULL;
		sysvipc_obj_free(obj);
		return -ENOSPC;
	}
	sysvipc_last_id = id;
	obj->in_table = true;
	obj->refs++;	/* ours, until the descriptor is made */
	lockmgr(&sysvipc_lk, LK_RELEASE);

	cdev = make_dev(&sysvipc_obj_ops, (int)id, UID_ROOT, GID_WHEEL, 0600,
			"sysvipcobj/%u", id);
	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	obj->cdev = cdev;
	cdev->si_drv1 = obj;
	lockmgr(&sysvipc_lk, LK_RELEASE);
	devfs_config();	/* the node exists once the devfs thread made it */
	error = sysvipc_obj_new_fd(obj, false, &fd);

	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	if (error) {
		sysvipc_obj_gone(obj, false);
		sysvipc_obj_put_unlock(obj);
		return -error;
	}
	sysvipc_obj_put_unlock(obj);
	req->id = id;
	req->fd = fd;
	return 0;
}

long sysvipc_ioc_open(void *ctx __unused, struct sysvipc_open *req)
{
	struct sysvipc_obj *obj = sysvipc_obj_get_locked(req->id);
	int error, fd;

	if (obj == NULL)
		return -ENOENT;
	lockmgr(&sysvipc_lk, LK_RELEASE);
	error = sysvipc_obj_new_fd(obj,
				   (req->flags & SYSVIPC_OPEN_READONLY) != 0,
				   &fd);
	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	sysvipc_obj_put_unlock(obj);
	if (error)
		return -error;
	req->fd = fd;
	return 0;
}

long sysvipc_ioc_stat(void *ctx __unused, struct sysvipc_stat *req)
{
	struct sysvipc_obj *obj = sysvipc_obj_get_locked(req->id);

	if (obj == NULL)
		return -ENOENT;
	sysvipc_obj_sync(obj);
	req->flags = sysvipc_attach_stat_flags(&obj->acct);
	if (obj->locked)
		req->flags |= SYSVIPC_STAT_LOCKED;
	req->nattch = obj->acct.nattch;
	req->atime = obj->acct.atime;
	req->dtime = obj->acct.dtime;
	req->lpid = obj->lpid;
	req->size = obj->size;
	req->resident_pages = (uint64_t)obj->vmobj->resident_page_count;
	sysvipc_obj_put_unlock(obj);
	return 0;
}

long sysvipc_ioc_remove(void *ctx __unused, struct sysvipc_remove *req)
{
	struct sysvipc_obj *obj = sysvipc_obj_get_locked(req->id);
	int ret;

	if (obj == NULL)
		return -ENOENT;
	sysvipc_obj_sync(obj);
	if (!obj->in_table) {
		/* The sync found its last detach after an earlier remove. */
		sysvipc_obj_put_unlock(obj);
		return -ENOENT;
	}
	ret = sysvipc_attach_remove(&obj->acct,
				    sysvipc_mapping_pending(obj,
							    obj->acct.nattch));
	if (ret >= 0)	/* gone() takes it off again */
		TAILQ_INSERT_TAIL(&sysvipc_removed, obj, removed);
	if (ret == 1)
		sysvipc_obj_gone(obj, false);
	else if (ret == 0)
		callout_reset(&sysvipc_scan, SYSVIPC_SCAN_TICKS,
			      sysvipc_scan_removed, NULL);
	sysvipc_obj_put_unlock(obj);
	if (ret < 0)
		return ret;
	req->gone = (uint32_t)ret;
	return 0;
}

/* RB_SCAN's range and collector for LIST: ids from `first` on. */
struct sysvipc_list_scan {
	uint32_t first;
	uint32_t *ids;
	uint32_t n;
	uint32_t max;
};

static int sysvipc_list_range(struct sysvipc_obj *obj, void *data)
{
	struct sysvipc_list_scan *scan = data;

	return obj->id < scan->first ? -1 : 0;
}

static int sysvipc_list_collect(struct sysvipc_obj *obj, void *data)
{
	struct sysvipc_list_scan *scan = data;

	if (scan->n >= scan->max)
		return -1;	/* stops the scan */
	scan->ids[scan->n++] = obj->id;
	return 0;
}

long sysvipc_ioc_list(void *ctx __unused, struct sysvipc_list *req)
{
	struct sysvipc_list_scan scan = { .max = req->count };
	int error = 0;

	scan.first = sysvipc_list_first(req->after);
	scan.ids = kmalloc(sizeof(*scan.ids) * (req->count ? req->count : 1),
			   M_SYSVIPC, M_WAITOK);
	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	if (scan.first != 0 && scan.max != 0)
		RB_SCAN(sysvipc_tree, &sysvipc_table, sysvipc_list_range,
			sysvipc_list_collect, &scan);
	lockmgr(&sysvipc_lk, LK_RELEASE);
	if (scan.n)
		error = copyout(scan.ids, (void *)(uintptr_t)req->ids,
				scan.n * sizeof(*scan.ids));
	kfree(scan.ids, M_SYSVIPC);
	req->count = scan.n;
	return -error;
}

/* The memlock sum of `uid`, created if missing. REQUIRES: sysvipc_lk. */
static struct sysvipc_memlock_user *sysvipc_memlock_user(uid_t uid)
{
	struct sysvipc_memlock_user *u;

	TAILQ_FOREACH(u, &sysvipc_memlock_users, node)
		if (u->uid == uid)
			return u;
	u = kmalloc(sizeof(*u), M_SYSVIPC, M_WAITOK | M_ZERO);
	u->uid = uid;
	TAILQ_INSERT_TAIL(&sysvipc_memlock_users, u, node);
	return u;
}

/* Refunds an object's SHM_LOCK charge. REQUIRES: sysvipc_lk. */
static void sysvipc_unlock_locked(struct sysvipc_obj *obj)
{
	if (!obj->locked)
		return;
	sysvipc_memlock_refund(&sysvipc_memlock_user(obj->locked_uid)->pages,
			       obj->size, PAGE_SHIFT);
	obj->locked = false;
}

/* SHM_LOCK/SHM_UNLOCK: the charge only (see the notes). */
long sysvipc_ioc_lock(void *ctx __unused, struct sysvipc_lock *req)
{
	struct sysvipc_obj *obj = sysvipc_obj_get_locked(req->id);
	struct sysvipc_memlock_user *u;
	int ret = 0;

	if (obj == NULL)
		return -ENOENT;
	if (req->op == SYSVIPC_LOCK_LOCK && !obj->locked) {
		u = sysvipc_memlock_user((uid_t)req->uid);
		ret = sysvipc_memlock_charge(&u->pages, obj->size,
					     req->memlock_limit, PAGE_SHIFT);
		if (ret == 0) {
			obj->locked = true;
			obj->locked_uid = (uid_t)req->uid;
		}
	} else if (req->op == SYSVIPC_LOCK_UNLOCK) {
		sysvipc_unlock_locked(obj);
	}
	sysvipc_obj_put_unlock(obj);
	return ret;
}

/* The generic layer (sys_generic.c:mapped_ioctl()) has copied the
 * _IOWR() struct in and copies it back out on success. */
static int sysvipc_dev_ioctl(struct dev_ioctl_args *ap)
{
	union sysvipc_request req;
	size_t size = IOCPARM_LEN(ap->a_cmd);
	long ret;

	if (IOCGROUP(ap->a_cmd) != SYSVIPC_IOC_MAGIC || size > sizeof(req))
		return ENOTTY;
	memcpy(&req, ap->a_data, size);
	ret = sysvipc_dispatch(ap->a_cmd, &req, NULL);
	if (ret)
		return (int)-ret;
	memcpy(ap->a_data, &req, size);
	return 0;
}

/* Whole struct sysvipc_event records, oldest first; blocks unless
 * O_NONBLOCK. */
static int sysvipc_dev_read(struct dev_read_args *ap)
{
	struct uio *uio = ap->a_uio;
	uint64_t room = sysvipc_events_that_fit((uint64_t)uio->uio_resid);
	struct sysvipc_event ev;
	struct sysvipc_obj *obj;
	int error = 0;
	bool done = false;

	if (room == 0)
		return EINVAL;
	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	while (TAILQ_EMPTY(&sysvipc_events)) {
		if (ap->a_ioflag & IO_NDELAY) {
			lockmgr(&sysvipc_lk, LK_RELEASE);
			return EAGAIN;
		}
		error = lksleep(&sysvipc_events, &sysvipc_lk, PCATCH,
				"sysvipc", 0);
		if (error) {
			lockmgr(&sysvipc_lk, LK_RELEASE);
			return error;
		}
	}
	while (room && (obj = TAILQ_FIRST(&sysvipc_events)) != NULL) {
		ev.id = obj->id;
		ev.kind = SYSVIPC_EVENT_LAST_DETACH;
		/* uiomove may fault and sleep: keep the event until it is out. */
		error = uiomove((caddr_t)&ev, sizeof(ev), uio);
		if (error)
			break;
		TAILQ_REMOVE(&sysvipc_events, obj, event);
		atomic_subtract_int(&sysvipc_pending, 1);
		done = true;
		room--;
		sysvipc_obj_put_unlock(obj);
		lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	}
	lockmgr(&sysvipc_lk, LK_RELEASE);
	return done ? 0 : error;
}

/* knote_insert()/knote_remove() serialise on the klist's own token. */
static void sysvipc_filt_detach(struct knote *kn)
{
	knote_remove(&sysvipc_kq.ki_note, kn);
}

/* Runs inside KNOTE(), which sysvipc_obj_gone() calls with sysvipc_lk held
 * (not recursive): so it reads the pending count without that lock. */
static int sysvipc_filt_read(struct knote *kn __unused, long hint __unused)
{
	return atomic_load_acq_int(&sysvipc_pending) != 0;
}

static struct filterops sysvipc_read_filtops = {
	FILTEROP_ISFD | FILTEROP_MPSAFE, NULL, sysvipc_filt_detach,
	sysvipc_filt_read
};

/* poll() and kqueue EVFILT_READ: readable while an event waits. */
static int sysvipc_dev_kqfilter(struct dev_kqfilter_args *ap)
{
	struct knote *kn = ap->a_kn;

	ap->a_result = 0;
	if (kn->kn_filter != EVFILT_READ) {
		ap->a_result = EOPNOTSUPP;
		return 0;
	}
	kn->kn_fop = &sysvipc_read_filtops;
	knote_insert(&sysvipc_kq.ki_note, kn);
	return 0;
}

static int sysvipc_dev_open(struct dev_open_args *ap)
{
	int error = priv_check_cred(ap->a_cred, PRIV_ROOT, 0);

	if (error)
		return error;
	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	if (sysvipc_open_once)
		error = EBUSY;
	else
		sysvipc_open_once = true;
	lockmgr(&sysvipc_lk, LK_RELEASE);
	return error;
}

static int sysvipc_dev_close(struct dev_close_args *ap __unused)
{
	lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
	sysvipc_open_once = false;
	lockmgr(&sysvipc_lk, LK_RELEASE);
	return 0;
}

static struct dev_ops sysvipc_dev_ops = {
	{ "sysvipc", 0, D_MPSAFE },
	.d_open = sysvipc_dev_open,
	.d_close = sysvipc_dev_close,
	.d_read = sysvipc_dev_read,
	.d_ioctl = sysvipc_dev_ioctl,
	.d_kqfilter = sysvipc_dev_kqfilter,
};

static int sysvipc_modevent(module_t mod __unused, int type,
			    void *data __unused)
{
	struct sysvipc_memlock_user *u;

	switch (type) {
	case MOD_LOAD:
		callout_init_lk(&sysvipc_scan, &sysvipc_lk);
		sysvipc_dev = make_dev(&sysvipc_dev_ops, 0, UID_ROOT, GID_WHEEL,
				       0600, "sysvipc");
		return 0;
	case MOD_UNLOAD:
		/* Mapped memory is the VM's, but the table and event list
		 * are ours: refuse while any object lives (Linux: every
		 * object holds the module). */
		lockmgr(&sysvipc_lk, LK_EXCLUSIVE);
		if (sysvipc_objects != 0 || sysvipc_open_once) {
			lockmgr(&sysvipc_lk, LK_RELEASE);
			return EBUSY;
		}
		while ((u = TAILQ_FIRST(&sysvipc_memlock_users)) != NULL) {
			TAILQ_REMOVE(&sysvipc_memlock_users, u, node);
			kfree(u, M_SYSVIPC);
		}
		lockmgr(&sysvipc_lk, LK_RELEASE);
		callout_terminate(&sysvipc_scan);
		destroy_dev(sysvipc_dev);
		return 0;
	default:
		return EOPNOTSUPP;
	}
}

DEV_MODULE(sysvipc, sysvipc_modevent, NULL);
MODULE_VERSION(sysvipc, 1);
