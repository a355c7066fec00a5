// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The ioctl switch of the security driver (ioctl_dispatch.h says what and
 * why).
 */
#include "backends/common/driver/ioctl_dispatch.h"

#include "backends/common/driver/attach_accounting.h"

long sysvipc_dispatch(unsigned long cmd, union sysvipc_request *req,
		      void *ctx)
{
	switch (cmd) {
	case SYSVIPC_IOC_VERSION:
		if (sysvipc_check_version(&req->version))
			return -EINVAL;
		req->version.version = SYSVIPC_ABI_VERSION;
		return 0;
	case SYSVIPC_IOC_CREATE:
		if (sysvipc_check_create(&req->create))
			return -EINVAL;
		return sysvipc_ioc_create(ctx, &req->create);
	case SYSVIPC_IOC_OPEN:
		if (sysvipc_check_open(&req->open))
			return -EINVAL;
		return sysvipc_ioc_open(ctx, &req->open);
	case SYSVIPC_IOC_STAT:
		if (sysvipc_check_stat(&req->stat))
			return -EINVAL;
		return sysvipc_ioc_stat(ctx, &req->stat);
	case SYSVIPC_IOC_REMOVE:
		if (sysvipc_check_remove(&req->remove))
			return -EINVAL;
		return sysvipc_ioc_remove(ctx, &req->remove);
	case SYSVIPC_IOC_LIST:
		if (sysvipc_check_list(&req->list))
			return -EINVAL;
		return sysvipc_ioc_list(ctx, &req->list);
	case SYSVIPC_IOC_LOCK:
		if (sysvipc_check_lock(&req->lock))
			return -EINVAL;
		return sysvipc_ioc_lock(ctx, &req->lock);
	default:
		return -ENOTTY;
	}
}

uint32_t sysvipc_list_first(uint32_t after)
{
	return after < SYSVIPC_MAX_ID ? after + 1 : 0;
}
