// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Attach accounting and input validation of the security driver
 * (attach_accounting.h says what and why).
 */
#include "backends/common/driver/attach_accounting.h"

void sysvipc_attach_open(struct sysvipc_attach *a, int64_t now)
{
	/* Mirrors ipc/shm.c:__shm_open(). */
	a->atime = now;
	a->nattch++;
}

/* Marks a removed, unmapped object gone unless a mapping is pending.
 * Returns 1 if it went. */
static int sysvipc_attach_settle(struct sysvipc_attach *a, int pending)
{
	if (a->nattch || pending || !(a->state & SYSVIPC_ATTACH_REMOVED) ||
	    (a->state & SYSVIPC_ATTACH_GONE))
		return 0;
	a->state |= SYSVIPC_ATTACH_GONE;
	return 1;
}

int sysvipc_attach_close(struct sysvipc_attach *a, int64_t now)
{
	/* Mirrors ipc/shm.c:shm_close() and shm_may_destroy(). */
	if (a->nattch == 0)
		return -EINVAL;
	a->dtime = now;
	a->nattch--;
	return sysvipc_attach_settle(a, 0);
}

int sysvipc_attach_remove(struct sysvipc_attach *a, int pending)
{
	if (a->state & SYSVIPC_ATTACH_REMOVED)
		return -EIDRM;
	a->state |= SYSVIPC_ATTACH_REMOVED;
	return sysvipc_attach_settle(a, pending);
}

int sysvipc_attach_sync(struct sysvipc_attach *a, uint64_t mappings,
			int pending, int64_t now)
{
	if (a->state & SYSVIPC_ATTACH_GONE)
		return 0;
	while (a->nattch < mappings)
		sysvipc_attach_open(a, now);
	if (a->nattch > mappings) {
		/* Closes as sysvipc_attach_close() makes them; whether the
		 * last one lets the object go is settled below. */
		a->dtime = now;
		a->nattch = mappings;
	}
	return sysvipc_attach_settle(a, pending);
}

uint32_t sysvipc_attach_stat_flags(const struct sysvipc_attach *a)
{
	return (a->state & SYSVIPC_ATTACH_REMOVED) ? SYSVIPC_STAT_REMOVED : 0;
}

static uint64_t sysvipc_pages(uint64_t size, unsigned int page_shift)
{
	/* Round up without overflow: size may be near 2^64. */
	return (size >> page_shift) +
	       ((size & (((uint64_t)1 << page_shift) - 1)) ? 1 : 0);
}

int sysvipc_memlock_charge(uint64_t *user_pages, uint64_t size,
			   uint64_t limit_bytes, unsigned int page_shift)
{
	uint64_t pages = sysvipc_pages(size, page_shift);

	if (limit_bytes != ~(uint64_t)0) {
		uint64_t limit = limit_bytes >> page_shift;

		if (pages > limit || *user_pages > limit - pages)
			return -ENOMEM;
	}
	*user_pages += pages;
	return 0;
}

void sysvipc_memlock_refund(uint64_t *user_pages, uint64_t size,
			    unsigned int page_shift)
{
	uint64_t pages = sysvipc_pages(size, page_shift);

	*user_pages = *user_pages > pages ? *user_pages - pages : 0;
}

int sysvipc_check_version(const struct sysvipc_version *v)
{
	return v->reserved ? -EINVAL : 0;
}

int sysvipc_check_create(const struct sysvipc_create *c)
{
	if (c->reserved || (c->flags & ~SYSVIPC_CREATE_FLAGS))
		return -EINVAL;
	if (c->size == 0 || c->size > SYSVIPC_MAX_OBJECT_SIZE)
		return -EINVAL;
	return 0;
}

int sysvipc_check_open(const struct sysvipc_open *o)
{
	if (o->reserved || (o->flags & ~SYSVIPC_OPEN_FLAGS) || o->id == 0)
		return -EINVAL;
	return 0;
}

int sysvipc_check_stat(const struct sysvipc_stat *s)
{
	return (s->reserved || s->id == 0) ? -EINVAL : 0;
}

int sysvipc_check_remove(const struct sysvipc_remove *r)
{
	return (r->gone || r->id == 0) ? -EINVAL : 0;
}

int sysvipc_check_list(const struct sysvipc_list *l)
{
	if (l->count > SYSVIPC_LIST_MAX || (l->count && l->ids == 0))
		return -EINVAL;
	return 0;
}

int sysvipc_check_lock(const struct sysvipc_lock *l)
{
	if (l->reserved || l->id == 0)
		return -EINVAL;
	if (l->op != SYSVIPC_LOCK_LOCK && l->op != SYSVIPC_LOCK_UNLOCK)
		return -EINVAL;
	return 0;
}

uint64_t sysvipc_events_that_fit(uint64_t len)
{
	return len / sizeof(struct sysvipc_event);
}
