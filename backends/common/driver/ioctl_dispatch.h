/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The ioctl switch of the security driver, shared by the Linux and
 * DragonFly modules and unit-tested in user space: which command runs
 * which handler, after which input check (attach_accounting.h), and the
 * VERSION reply, which needs no handler. Each module copies the caller's
 * struct in and out its own way (Linux: copy_from_user into a union
 * sysvipc_request; DragonFly: the generic ioctl layer, sys_generic.c,
 * already hands d_ioctl a kernel copy) and supplies the handlers that touch
 * its kernel's objects.
 *
 * Handlers run only on a request that passed its check, on the module's
 * kernel copy; they return 0 or a negated errno, like everything in this
 * folder. `ctx` is the module's per-call state, passed through untouched.
 */
#ifndef SYSV_BACKENDS_COMMON_DRIVER_IOCTL_DISPATCH_H_
#define SYSV_BACKENDS_COMMON_DRIVER_IOCTL_DISPATCH_H_

#include "backends/common/driver/sysvipc_driver_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every request struct, so that one buffer holds whichever came. */
union sysvipc_request {
	struct sysvipc_version version;
	struct sysvipc_create create;
	struct sysvipc_open open;
	struct sysvipc_stat stat;
	struct sysvipc_remove remove;
	struct sysvipc_list list;
	struct sysvipc_lock lock;
};

/*
 * The handlers, one per command, defined by each module (its kernel's
 * objects) and by the unit test: the contract each module fulfils, bound
 * when it links, so no table of them is written twice.
 */
long sysvipc_ioc_create(void *ctx, struct sysvipc_create *req);
long sysvipc_ioc_open(void *ctx, struct sysvipc_open *req);
long sysvipc_ioc_stat(void *ctx, struct sysvipc_stat *req);
long sysvipc_ioc_remove(void *ctx, struct sysvipc_remove *req);
long sysvipc_ioc_list(void *ctx, struct sysvipc_list *req);
long sysvipc_ioc_lock(void *ctx, struct sysvipc_lock *req);

/*
 * Runs `cmd` on the kernel copy `req`. Returns what the handler returns;
 * -EINVAL if the check refused the request (the handler is not called);
 * -ENOTTY for a command that is not one of SYSVIPC_IOC_* (ioctl(2)'s
 * "not applicable to this device").
 */
long sysvipc_dispatch(unsigned long cmd, union sysvipc_request *req,
		      void *ctx);

/* Object ids are 1 .. SYSVIPC_MAX_ID (INT_MAX: Linux's idr hands out ints). */
#define SYSVIPC_MAX_ID 0x7fffffffu

/* The smallest id a LIST after `after` may report, or 0 if none can be. */
uint32_t sysvipc_list_first(uint32_t after);

#ifdef __cplusplus
}
#endif

#endif /* SYSV_BACKENDS_COMMON_DRIVER_IOCTL_DISPATCH_H_ */
