// SPDX-License-Identifier: GPL-2.0
/*
 * sysvipc: the Linux security driver of libsysv, /dev/sysvipc (issue #16).
 *
 * User space visible behaviour:
 * - The device is the daemon's only (mode 0600, root; CAP_SYS_ADMIN is also
 *   checked at open) and one daemon holds it at a time (-EBUSY otherwise).
 *   Through it the daemon creates object memory, opens descriptors of it,
 *   reads each object's attach facts and removes objects
 *   (backends/common/driver/sysvipc_driver_abi.h is the ABI).
 * - Object memory is a shmem file, as the kernel's own SysV segments are
 *   (ipc/shm.c:newseg()), charged the same way: commit accounting at
 *   creation unless NORESERVE, pages to the memory cgroup of the task that
 *   faults them in. Nothing lands in a file system a user can reach.
 * - Clients receive descriptors of the driver's own anonymous-inode file,
 *   never of the shmem file. Its only operation is mmap (shared mappings
 *   only); ftruncate fails (the inode is not a regular file), fallocate
 *   fails with EOPNOTSUPP, F_ADD_SEALS with EINVAL (not a shmem file),
 *   read/write with EINVAL. A read-only descriptor never gives VM_MAYWRITE,
 *   so mprotect(PROT_WRITE) of its mapping fails with EACCES, as for
 *   shmat(SHM_RDONLY).
 * - Mappings are counted as ipc/shm.c counts them (shm_open()/shm_close()):
 *   the driver's mmap counts the first mapping (the kernel calls no
 *   vm_ops->open for it), vm_ops->open counts each copy made by fork and
 *   each piece made by a split, vm_ops->close each unmap, exec or exit.
 *   nattch, atime, dtime and lpid are the driver's facts.
 * - Objects outlive the daemon: the driver keeps each until the daemon
 *   removes it and its last mapping goes. Then read() on the daemon's
 *   descriptor reports it (poll() says when), so a daemon that restarts
 *   after a crash still learns of every last detach.
 *
 * Differences from ipc/shm.c, because Debian 6.1 does not export what it
 * uses to modules:
 * - shmem_kernel_file_setup() is not exported; shmem_file_setup() is the
 *   same but without S_PRIVATE, so LSM hooks see the inode.
 * - hugetlb_file_setup() is not exported: SYSVIPC_CREATE_HUGETLB objects
 *   are shmem too (huge pages only as transparent_hugepage/shmem_enabled
 *   allows); the daemon admits SHM_HUGETLB as the kernel would.
 * - user_shm_lock()/shmem_lock() are not exported: SHM_LOCK sums locked
 *   pages per uid in the driver (over the driver's objects only, not the
 *   kernel's own locked segments), against the limit the daemon passes,
 *   and marks the shmem inode VM_LOCKED and its mapping unevictable itself,
 *   as shmem_lock() does; SHM_UNLOCK puts the pages back on the LRU as
 *   shmem_unlock_mapping() does.
 * - SHM_NORESERVE is honoured whatever vm.overcommit_memory says
 *   (sysctl_overcommit_memory is not exported).
 *
 * Internals:
 * - struct sysvipc_obj lives while any of these holds a reference: the
 *   table (until the object is gone), each client file, each VMA, the event
 *   list (an object reported but not yet read). Every object also holds a
 *   reference on the module, so rmmod fails with EBUSY while any lives
 *   (each VMA's vm_ops point into this module).
 * - A VMA's vm_file is the shmem file (vma_set_file(), as dma-buf does), so
 *   shmem's fault handler finds its inode; vm_private_data is the object.
 *
 * Locking:
 * - sysvipc_table_lock (spinlock): the id table and the event list.
 * - obj->lock (spinlock): obj->acct, obj->lpid. vm_ops->open/close run
 *   with mmap_lock held and may not take the table lock first: the close
 *   that makes an object gone drops obj->lock before taking the table lock.
 * - sysvipc_memlock_mutex: the per-uid memlock sums and obj->locked_*.
 * Lock order: sysvipc_memlock_mutex -> obj->lock; sysvipc_table_lock is
 * never held with another lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/swap.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/wait.h>

#include "backends/common/driver/attach_accounting.h"
#include "backends/common/driver/ioctl_dispatch.h"

struct sysvipc_obj {
	struct kref ref;
	u32 id;
	u64 size;
	struct file *shm_file;	/* the memory; immutable */
	spinlock_t lock;
	struct sysvipc_attach acct;	/* guarded by lock */
	struct pid *lpid;		/* guarded by lock */
	bool locked;			/* guarded by sysvipc_memlock_mutex */
	kuid_t locked_uid;		/* guarded by sysvipc_memlock_mutex */
	struct list_head event;		/* on sysvipc_events; table lock */
};

struct sysvipc_memlock_user {
	struct list_head node;
	kuid_t uid;
	u64 pages;
};

static DEFINE_SPINLOCK(sysvipc_table_lock);
static DEFINE_IDR(sysvipc_table);
static LIST_HEAD(sysvipc_events);
static DECLARE_WAIT_QUEUE_HEAD(sysvipc_event_wait);
static atomic_t sysvipc_device_open = ATOMIC_INIT(0);

static DEFINE_MUTEX(sysvipc_memlock_mutex);
static LIST_HEAD(sysvipc_memlock_users);

/* shmem's vm_operations, learnt at the first mmap (mm/shmem.c keeps them
 * static); written once under the table lock, read after that mmap. */
static const struct vm_operations_struct *sysvipc_shmem_vm_ops;

static void sysvipc_vm_flags_clear(struct vm_area_struct *vma,
				   unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/* Finds the memlock sum of `uid`, creating it if `create`. */
static struct sysvipc_memlock_user *sysvipc_memlock_user(kuid_t uid,
							 bool create)
{
	struct sysvipc_memlock_user *u;

	lockdep_assert_held(&sysvipc_memlock_mutex);
	list_for_each_entry(u, &sysvipc_memlock_users, node)
		if (uid_eq(u->uid, uid))
			return u;
	if (!create)
		return NULL;
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return NULL;
	u->uid = uid;
	list_add(&u->node, &sysvipc_memlock_users);
	return u;
}

/* Mirrors mm/shmem.c:shmem_unlock_mapping(): back onto the evictable LRU. */
static void sysvipc_unlock_mapping(struct address_space *mapping)
{
	struct folio_batch fbatch;
	pgoff_t index = 0;

	folio_batch_init(&fbatch);
	while (!mapping_unevictable(mapping) &&
	       filemap_get_folios(mapping, &index, ~0UL, &fbatch)) {
		check_move_unevictable_folios(&fbatch);
		folio_batch_release(&fbatch);
		cond_resched();
	}
}

/* Marks the shmem inode locked or not, as shmem_lock() does. */
static void sysvipc_set_inode_locked(struct sysvipc_obj *obj, bool lock)
{
	struct inode *inode = file_inode(obj->shm_file);
	struct shmem_inode_info *info = SHMEM_I(inode);

	spin_lock_irq(&info->lock);
	if (lock) {
		info->flags |= VM_LOCKED;
		mapping_set_unevictable(obj->shm_file->f_mapping);
	} else {
		info->flags &= ~VM_LOCKED;
		mapping_clear_unevictable(obj->shm_file->f_mapping);
	}
	spin_unlock_irq(&info->lock);
}

/* Refunds an object's SHM_LOCK charge. REQUIRES: sysvipc_memlock_mutex. */
static void sysvipc_unlock_locked(struct sysvipc_obj *obj)
{
	struct sysvipc_memlock_user *u;

	lockdep_assert_held(&sysvipc_memlock_mutex);
	if (!obj->locked)
		return;
	u = sysvipc_memlock_user(obj->locked_uid, false);
	if (u)
		sysvipc_memlock_refund(&u->pages, obj->size, PAGE_SHIFT);
	obj->locked = false;
}

static void sysvipc_obj_release(struct kref *ref)
{
	struct sysvipc_obj *obj = container_of(ref, struct sysvipc_obj, ref);

	mutex_lock(&sysvipc_memlock_mutex);
	sysvipc_unlock_locked(obj);
	mutex_unlock(&sysvipc_memlock_mutex);
	put_pid(obj->lpid);
	fput(obj->shm_file);
	kfree(obj);
	/* Last: this object's hold on the module's text (see Internals). */
	module_put(THIS_MODULE);
}

static void sysvipc_obj_put(struct sysvipc_obj *obj)
{
	kref_put(&obj->ref, sysvipc_obj_release);
}

/* The object with `id`, with a reference, or NULL. */
static struct sysvipc_obj *sysvipc_obj_find(u32 id)
{
	struct sysvipc_obj *obj;

	if (id > INT_MAX)
		return NULL;
	spin_lock(&sysvipc_table_lock);
	obj = idr_find(&sysvipc_table, id);
	if (obj)
		kref_get(&obj->ref);
	spin_unlock(&sysvipc_table_lock);
	return obj;
}

/* Takes a gone object out of the table; `report` queues its event, which
 * then owns the table's reference. */
static void sysvipc_obj_gone(struct sysvipc_obj *obj, bool report)
{
	spin_lock(&sysvipc_table_lock);
	idr_remove(&sysvipc_table, obj->id);
	if (report)
		list_add_tail(&obj->event, &sysvipc_events);
	spin_unlock(&sysvipc_table_lock);
	if (report)
		wake_up_interruptible(&sysvipc_event_wait);
	else
		sysvipc_obj_put(obj);
}

/* Records an attach or detach by the current process. Returns what
 * sysvipc_attach_close() returns for a detach, else 0. */
static int sysvipc_obj_count(struct sysvipc_obj *obj, bool attach)
{
	struct pid *new_pid = get_task_pid(current, PIDTYPE_TGID);
	struct pid *old_pid;
	time64_t now = ktime_get_real_seconds();
	int ret = 0;

	spin_lock(&obj->lock);
	if (attach)
		sysvipc_attach_open(&obj->acct, now);
	else
		ret = sysvipc_attach_close(&obj->acct, now);
	old_pid = obj->lpid;
	obj->lpid = new_pid;
	spin_unlock(&obj->lock);
	put_pid(old_pid);
	WARN_ON_ONCE(ret < 0);
	return ret;
}

static void sysvipc_vm_open(struct vm_area_struct *vma)
{
	struct sysvipc_obj *obj = vma->vm_private_data;

	kref_get(&obj->ref);
	sysvipc_obj_count(obj, true);
}

static void sysvipc_vm_close(struct vm_area_struct *vma)
{
	struct sysvipc_obj *obj = vma->vm_private_data;

	if (sysvipc_obj_count(obj, false) == 1)
		sysvipc_obj_gone(obj, true);
	sysvipc_obj_put(obj);
}

static vm_fault_t sysvipc_vm_fault(struct vm_fault *vmf)
{
	return sysvipc_shmem_vm_ops->fault(vmf);
}

static vm_fault_t sysvipc_vm_map_pages(struct vm_fault *vmf, pgoff_t start,
				       pgoff_t end)
{
	return sysvipc_shmem_vm_ops->map_pages(vmf, start, end);
}

#ifdef CONFIG_NUMA
static int sysvipc_vm_set_policy(struct vm_area_struct *vma,
				 struct mempolicy *mpol)
{
	return sysvipc_shmem_vm_ops->set_policy(vma, mpol);
}

static struct mempolicy *sysvipc_vm_get_policy(struct vm_area_struct *vma,
					       unsigned long addr)
{
	return sysvipc_shmem_vm_ops->get_policy(vma, addr);
}
#endif

/* Mirrors ipc/shm.c:shm_vm_ops: shmem's paging, our counting. */
static const struct vm_operations_struct sysvipc_vm_ops = {
	.open = sysvipc_vm_open,
	.close = sysvipc_vm_close,
	.fault = sysvipc_vm_fault,
	.map_pages = sysvipc_vm_map_pages,
#ifdef CONFIG_NUMA
	.set_policy = sysvipc_vm_set_policy,
	.get_policy = sysvipc_vm_get_policy,
#endif
};

/*
 * mmap of a client descriptor. Results: 0; -EINVAL for a private mapping
 * (SysV segments are shared); -EACCES for a writable mapping of a
 * read-only descriptor (mmap(2)); -EIDRM once the object is gone; shmem's
 * errno otherwise.
 */
static int sysvipc_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct sysvipc_obj *obj = file->private_data;
	struct file *shm_file = obj->shm_file;
	const struct vm_operations_struct *ops;
	bool gone;
	int ret;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE)) {
		/* do_mmap() checks this too; the driver does not rely on it. */
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		sysvipc_vm_flags_clear(vma, VM_MAYWRITE);
	}
	vma_set_file(vma, shm_file);
	ret = call_mmap(shm_file, vma);
	if (ret)
		return ret;
	ops = vma->vm_ops;
	if (!ops || !ops->fault || !ops->map_pages)
		return -ENODEV;
	spin_lock(&sysvipc_table_lock);
	if (!sysvipc_shmem_vm_ops)
		sysvipc_shmem_vm_ops = ops;
	spin_unlock(&sysvipc_table_lock);
	if (ops != sysvipc_shmem_vm_ops)
		return -ENODEV;

	spin_lock(&obj->lock);
	gone = obj->acct.state & SYSVIPC_ATTACH_GONE;
	spin_unlock(&obj->lock);
	if (gone)
		return -EIDRM;
	/* The kernel calls no vm_ops->open for this first VMA: count it. */
	kref_get(&obj->ref);
	vma->vm_private_data = obj;
	vma->vm_ops = &sysvipc_vm_ops;
	sysvipc_obj_count(obj, true);
	return 0;
}

/* Mirrors ipc/shm.c:shm_get_unmapped_area(): shmem's alignment. */
static unsigned long sysvipc_file_get_unmapped_area(struct file *file,
						    unsigned long addr,
						    unsigned long len,
						    unsigned long pgoff,
						    unsigned long flags)
{
	struct sysvipc_obj *obj = file->private_data;
	struct file *shm_file = obj->shm_file;

	if (shm_file->f_op->get_unmapped_area)
		return shm_file->f_op->get_unmapped_area(shm_file, addr, len,
							  pgoff, flags);
	return current->mm->get_unmapped_area(shm_file, addr, len, pgoff,
					      flags);
}

static int sysvipc_file_release(struct inode *inode, struct file *file)
{
	sysvipc_obj_put(file->private_data);
	return 0;
}

/* A client descriptor: mmap and nothing else (no read, write, fallocate). */
static const struct file_operations sysvipc_obj_fops = {
	.owner = THIS_MODULE,
	.mmap = sysvipc_file_mmap,
	.get_unmapped_area = sysvipc_file_get_unmapped_area,
	.release = sysvipc_file_release,
	.llseek = noop_llseek,
};

/* Installs a new descriptor of `obj` (O_CLOEXEC) and returns it, or a
 * negated errno. The descriptor takes its own reference. */
static int sysvipc_obj_new_fd(struct sysvipc_obj *obj, bool readonly,
			      struct file **filep)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	kref_get(&obj->ref);
	file = anon_inode_getfile("[sysvipc]", &sysvipc_obj_fops, obj,
				  readonly ? O_RDONLY : O_RDWR);
	if (IS_ERR(file)) {
		sysvipc_obj_put(obj);
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	*filep = file;
	return fd;
}

/*
 * The ioctls. sysvipc_dev_ioctl() copies the caller's struct in,
 * sysvipc_dispatch() (ioctl_dispatch.h, shared with the DragonFly module)
 * checks it and runs the handler on that kernel copy, and it is copied back
 * out; handlers never touch user memory except LIST's id buffer. A
 * handler that makes a descriptor leaves it in `out`: it is installed only
 * once the reply naming it has been copied out, and dropped otherwise.
 */
struct sysvipc_new_fd {
	int fd;
	struct file *file;
	struct sysvipc_obj *created;	/* CREATE's object, not yet findable */
};

/* Makes a created object findable by its id (the reply is out). */
static void sysvipc_ioc_publish(struct sysvipc_obj *obj)
{
	spin_lock(&sysvipc_table_lock);
	idr_replace(&sysvipc_table, obj, obj->id);
	spin_unlock(&sysvipc_table_lock);
}

/* Frees a created object's id and drops the table's reference. */
static void sysvipc_ioc_unpublish(struct sysvipc_obj *obj)
{
	spin_lock(&sysvipc_table_lock);
	idr_remove(&sysvipc_table, obj->id);
	spin_unlock(&sysvipc_table_lock);
	sysvipc_obj_put(obj);
}

/* The object the request names, with a reference, or ERR_PTR(-ENOENT). */
static struct sysvipc_obj *sysvipc_obj_get(u32 id)
{
	struct sysvipc_obj *obj = sysvipc_obj_find(id);

	return obj ? obj : ERR_PTR(-ENOENT);
}

long sysvipc_ioc_create(void *ctx, struct sysvipc_create *req)
{
	struct sysvipc_new_fd *out = ctx;
	struct sysvipc_obj *obj;
	unsigned long acct;
	int id, ret;

	if (req->size > MAX_LFS_FILESIZE)
		return -EINVAL;
	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	if (!obj)
		return -ENOMEM;
	kref_init(&obj->ref);	/* the table's */
	spin_lock_init(&obj->lock);
	INIT_LIST_HEAD(&obj->event);
	obj->size = req->size;
	/* newseg(): VM_NORESERVE only when asked (see the header notes). */
	acct = (req->flags & SYSVIPC_CREATE_NORESERVE) ? VM_NORESERVE : 0;
	obj->shm_file = shmem_file_setup("SYSV-sysvipc", req->size, acct);
	if (IS_ERR(obj->shm_file)) {
		ret = PTR_ERR(obj->shm_file);
		kfree(obj);
		return ret;
	}
	__module_get(THIS_MODULE);	/* dropped by sysvipc_obj_release() */

	/* Reserve the id; sysvipc_ioc_publish() makes the object findable. */
	idr_preload(GFP_KERNEL);
	spin_lock(&sysvipc_table_lock);
	id = idr_alloc_cyclic(&sysvipc_table, NULL, 1, INT_MAX, GFP_NOWAIT);
	spin_unlock(&sysvipc_table_lock);
	idr_preload_end();
	if (id < 0) {
		sysvipc_obj_put(obj);
		return id;
	}
	obj->id = id;
	out->fd = sysvipc_obj_new_fd(obj, false, &out->file);
	if (out->fd < 0) {
		sysvipc_ioc_unpublish(obj);
		return out->fd;
	}
	out->created = obj;
	req->id = id;
	req->fd = out->fd;
	return 0;
}

long sysvipc_ioc_open(void *ctx, struct sysvipc_open *req)
{
	struct sysvipc_new_fd *out = ctx;
	struct sysvipc_obj *obj = sysvipc_obj_get(req->id);

	if (IS_ERR(obj))
		return PTR_ERR(obj);
	out->fd = sysvipc_obj_new_fd(obj, req->flags & SYSVIPC_OPEN_READONLY,
				     &out->file);
	sysvipc_obj_put(obj);
	if (out->fd < 0)
		return out->fd;
	req->fd = out->fd;
	return 0;
}

long sysvipc_ioc_stat(void *ctx, struct sysvipc_stat *req)
{
	struct sysvipc_obj *obj = sysvipc_obj_get(req->id);
	struct pid *lpid;

	if (IS_ERR(obj))
		return PTR_ERR(obj);
	spin_lock(&obj->lock);
	req->flags = sysvipc_attach_stat_flags(&obj->acct);
	req->nattch = obj->acct.nattch;
	req->atime = obj->acct.atime;
	req->dtime = obj->acct.dtime;
	lpid = get_pid(obj->lpid);
	spin_unlock(&obj->lock);
	req->size = obj->size;
	/* shmem's i_blocks count 512-byte units of pages in memory or swap. */
	req->resident_pages = file_inode(obj->shm_file)->i_blocks >>
			      (PAGE_SHIFT - 9);
	req->lpid = pid_vnr(lpid);	/* 0 if not in the daemon's pid ns */
	put_pid(lpid);
	mutex_lock(&sysvipc_memlock_mutex);
	if (obj->locked)
		req->flags |= SYSVIPC_STAT_LOCKED;
	mutex_unlock(&sysvipc_memlock_mutex);
	sysvipc_obj_put(obj);
	return 0;
}

long sysvipc_ioc_remove(void *ctx, struct sysvipc_remove *req)
{
	struct sysvipc_obj *obj = sysvipc_obj_get(req->id);
	int ret;

	if (IS_ERR(obj))
		return PTR_ERR(obj);
	spin_lock(&obj->lock);
	ret = sysvipc_attach_remove(&obj->acct, 0);	/* mmap counts at once */
	spin_unlock(&obj->lock);
	if (ret == 1)
		sysvipc_obj_gone(obj, false);
	sysvipc_obj_put(obj);
	if (ret < 0)
		return ret;
	req->gone = ret;
	return 0;
}

long sysvipc_ioc_list(void *ctx, struct sysvipc_list *req)
{
	struct sysvipc_obj *obj;
	u32 *ids;
	u32 n = 0;
	int id;
	long ret = 0;

	ids = kvcalloc(max(req->count, 1u), sizeof(*ids), GFP_KERNEL);
	if (!ids)
		return -ENOMEM;
	id = sysvipc_list_first(req->after);	/* 0: none left */
	spin_lock(&sysvipc_table_lock);
	while (n < req->count && id != 0 &&
	       (obj = idr_get_next(&sysvipc_table, &id)) != NULL) {
		ids[n++] = id;
		if (id == INT_MAX)
			break;
		id++;
	}
	spin_unlock(&sysvipc_table_lock);
	if (n && copy_to_user(u64_to_user_ptr(req->ids), ids,
			      n * sizeof(*ids)))
		ret = -EFAULT;
	kvfree(ids);
	req->count = n;
	return ret;
}

/* SHM_LOCK/SHM_UNLOCK (see the header notes for how it differs). */
long sysvipc_ioc_lock(void *ctx, struct sysvipc_lock *req)
{
	struct sysvipc_obj *obj;
	struct sysvipc_memlock_user *u;
	bool unlocked = false;
	kuid_t uid;
	int ret = 0;

	uid = make_kuid(current_user_ns(), req->uid);
	if (!uid_valid(uid))
		return -EINVAL;
	obj = sysvipc_obj_get(req->id);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	mutex_lock(&sysvipc_memlock_mutex);
	if (req->op == SYSVIPC_LOCK_LOCK && !obj->locked) {
		u = sysvipc_memlock_user(uid, true);
		ret = u ? sysvipc_memlock_charge(&u->pages, obj->size,
						 req->memlock_limit,
						 PAGE_SHIFT) : -ENOMEM;
		if (!ret) {
			obj->locked = true;
			obj->locked_uid = uid;
			sysvipc_set_inode_locked(obj, true);
		}
	} else if (req->op == SYSVIPC_LOCK_UNLOCK && obj->locked) {
		sysvipc_unlock_locked(obj);
		sysvipc_set_inode_locked(obj, false);
		unlocked = true;
	}
	mutex_unlock(&sysvipc_memlock_mutex);
	if (unlocked)
		sysvipc_unlock_mapping(obj->shm_file->f_mapping);
	sysvipc_obj_put(obj);
	return ret;
}

static long sysvipc_dev_ioctl(struct file *file, unsigned int cmd,
			      unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	struct sysvipc_new_fd out = { .fd = -1 };
	union sysvipc_request req;
	size_t size = _IOC_SIZE(cmd);
	long ret;

	if (_IOC_TYPE(cmd) != SYSVIPC_IOC_MAGIC || size > sizeof(req))
		return -ENOTTY;
	if (copy_from_user(&req, argp, size))
		return -EFAULT;
	ret = sysvipc_dispatch(cmd, &req, &out);
	if (ret)
		return ret;
	if (copy_to_user(argp, &req, size)) {
		if (out.file) {
			put_unused_fd(out.fd);
			fput(out.file);
		}
		if (out.created)
			sysvipc_ioc_unpublish(out.created);
		return -EFAULT;
	}
	if (out.created)
		sysvipc_ioc_publish(out.created);
	if (out.file)
		fd_install(out.fd, out.file);
	return 0;
}

/* Pops the oldest event, or NULL. The caller owns its reference. */
static struct sysvipc_obj *sysvipc_event_pop(void)
{
	struct sysvipc_obj *obj;

	spin_lock(&sysvipc_table_lock);
	obj = list_first_entry_or_null(&sysvipc_events, struct sysvipc_obj,
				       event);
	if (obj)
		list_del_init(&obj->event);
	spin_unlock(&sysvipc_table_lock);
	return obj;
}

static bool sysvipc_events_pending(void)
{
	bool pending;

	spin_lock(&sysvipc_table_lock);
	pending = !list_empty(&sysvipc_events);
	spin_unlock(&sysvipc_table_lock);
	return pending;
}

/* Whole struct sysvipc_event records; blocks unless O_NONBLOCK. */
static ssize_t sysvipc_dev_read(struct file *file, char __user *buf,
				size_t len, loff_t *ppos)
{
	u64 room = sysvipc_events_that_fit(len);
	struct sysvipc_event ev;
	struct sysvipc_obj *obj;
	ssize_t done = 0;
	int ret;

	if (room == 0)
		return -EINVAL;
	while (done == 0) {
		if (!sysvipc_events_pending()) {
			if (file->f_flags & O_NONBLOCK)
				return -EAGAIN;
			ret = wait_event_interruptible(sysvipc_event_wait,
						       sysvipc_events_pending());
			if (ret)
				return ret;
		}
		while (room && (obj = sysvipc_event_pop()) != NULL) {
			ev.id = obj->id;
			ev.kind = SYSVIPC_EVENT_LAST_DETACH;
			if (copy_to_user(buf + done, &ev, sizeof(ev))) {
				/* Keep it for the next read. */
				spin_lock(&sysvipc_table_lock);
				list_add(&obj->event, &sysvipc_events);
				spin_unlock(&sysvipc_table_lock);
				return done ? done : -EFAULT;
			}
			sysvipc_obj_put(obj);
			done += sizeof(ev);
			room--;
		}
	}
	return done;
}

static __poll_t sysvipc_dev_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &sysvipc_event_wait, wait);
	return sysvipc_events_pending() ? EPOLLIN | EPOLLRDNORM : 0;
}

static int sysvipc_dev_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (atomic_cmpxchg(&sysvipc_device_open, 0, 1) != 0)
		return -EBUSY;
	return 0;
}

static int sysvipc_dev_release(struct inode *inode, struct file *file)
{
	atomic_set(&sysvipc_device_open, 0);
	return 0;
}

static const struct file_operations sysvipc_dev_fops = {
	.owner = THIS_MODULE,
	.open = sysvipc_dev_open,
	.release = sysvipc_dev_release,
	.unlocked_ioctl = sysvipc_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = sysvipc_dev_read,
	.poll = sysvipc_dev_poll,
	.llseek = noop_llseek,
};

static struct miscdevice sysvipc_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "sysvipc",
	.fops = &sysvipc_dev_fops,
	.mode = 0600,
};

static int __init sysvipc_init(void)
{
	return misc_register(&sysvipc_misc);
}

static void __exit sysvipc_exit(void)
{
	struct sysvipc_memlock_user *u, *next;

	misc_deregister(&sysvipc_misc);
	/* Every object held the module: none is left (table, events). */
	WARN_ON(!idr_is_empty(&sysvipc_table));
	idr_destroy(&sysvipc_table);
	list_for_each_entry_safe(u, next, &sysvipc_memlock_users, node)
		kfree(u);
}

module_init(sysvipc_init);
module_exit(sysvipc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("libsysv security driver: kernel-owned SysV IPC object memory and attach counts");
MODULE_AUTHOR("libsysv");
