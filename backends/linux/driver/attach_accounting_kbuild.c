// SPDX-License-Identifier: GPL-2.0
/*
 * Kbuild builds objects only inside the module's folder; the shared
 * accounting (backends/common/driver/attach_accounting.c, also unit-tested
 * in user space) is compiled here, unchanged.
 */
#include "backends/common/driver/attach_accounting.c"
