// SPDX-License-Identifier: GPL-2.0
/*
 * Kbuild builds objects only inside the module's folder; the shared ioctl
 * switch (backends/common/driver/ioctl_dispatch.c, also unit-tested in user
 * space and built by the DragonFly module) is compiled here, unchanged.
 */
#include "backends/common/driver/ioctl_dispatch.c"
