/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fixed-width integer, errno and _IOWR() names for the code that the Linux module,
 * the DragonFly module and user space all compile (backends/common/driver/).
 * It picks the one header each environment has; nothing else in this folder
 * includes a system header, so the shared logic stays free of any kernel's
 * API.
 */
#ifndef SYSV_BACKENDS_COMMON_DRIVER_SYSVIPC_DRIVER_TYPES_H_
#define SYSV_BACKENDS_COMMON_DRIVER_SYSVIPC_DRIVER_TYPES_H_

#if defined(__KERNEL__) /* Linux kernel module */
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/ioctl.h>
#elif defined(_KERNEL) /* DragonFly kernel module */
#include <sys/types.h>
#include <sys/errno.h>
#include <sys/ioccom.h>
#else /* user space, either OS */
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#endif

#endif /* SYSV_BACKENDS_COMMON_DRIVER_SYSVIPC_DRIVER_TYPES_H_ */
