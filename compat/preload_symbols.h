// The standard System V IPC functions that the preload build exports
// (preload.cc), by name, for whoever must point other objects' calls at them
// (dlopen_hooks.cc).
#ifndef SYSV_COMPAT_PRELOAD_SYMBOLS_H_
#define SYSV_COMPAT_PRELOAD_SYMBOLS_H_

#include "absl/types/span.h"
#include "backends/platform.h"

namespace sysv::compat {

absl::Span<const platform::Rebinding> PreloadSymbols();

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_PRELOAD_SYMBOLS_H_
