#include "backends/common/elf_rebind.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace sysv::backend {
namespace {

// The 64-bit ELF types (Elf64_*) rather than glibc's ElfW(), and the psABI's
// relocation numbers rather than their names, which the BSDs spell
// otherwise (DragonFly: R_X86_64_JMP_SLOT): this file serves both.
#if defined(__x86_64__)
constexpr bool kSupported = true;
constexpr uint32_t kJumpSlot = 7;  // R_X86_64_JUMP_SLOT
constexpr uint32_t kGlobDat = 6;   // R_X86_64_GLOB_DAT
#elif defined(__aarch64__)
constexpr bool kSupported = true;
constexpr uint32_t kJumpSlot = R_AARCH64_JUMP_SLOT;
constexpr uint32_t kGlobDat = R_AARCH64_GLOB_DAT;
#else
constexpr bool kSupported = false;
constexpr uint32_t kJumpSlot = 0;
constexpr uint32_t kGlobDat = 0;
#endif

// One mprotect at a time: two threads rebinding slots on one RELRO page
// would otherwise race to make it read-only under each other's store.
ABSL_CONST_INIT absl::Mutex rebind_mu(absl::kConstInit);

struct RebindContext {
  absl::Span<const Rebinding> rebindings;
  const absl::flat_hash_set<uintptr_t>* skip;
  absl::Span<const char* const> skip_names;
  RebindReport report;
};

// The dynamic section's pointers: glibc relocates them in place on the
// architectures we support, but an unrelocated one (an offset below the
// load address) is taken relative to it.
uintptr_t Absolute(uintptr_t base, Elf64_Addr value) { return value < base ? base + value : value; }

// Writes `address` into `slot`, through a writable window when the slot is
// in the object's RELRO segment. Returns 0 or the errno of mprotect.
int Store(void** slot, void* address, uintptr_t relro_start, uintptr_t relro_end) {
  const uintptr_t at = reinterpret_cast<uintptr_t>(slot);
  if (at < relro_start || at >= relro_end) {
    __atomic_store_n(slot, address, __ATOMIC_RELEASE);
    return 0;
  }
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  void* page_start = reinterpret_cast<void*>(at & ~(page - 1));
  if (mprotect(page_start, page, PROT_READ | PROT_WRITE) != 0) return errno;
  __atomic_store_n(slot, address, __ATOMIC_RELEASE);
  (void)mprotect(page_start, page, PROT_READ);
  return 0;
}

const Rebinding* Find(absl::Span<const Rebinding> rebindings, const char* name) {
  for (const Rebinding& rebinding : rebindings) {
    if (std::strcmp(rebinding.symbol, name) == 0) return &rebinding;
  }
  return nullptr;
}

// One object: its load address, file name, program headers (for the RELRO
// segment; may be null) and dynamic section.
struct ObjectView {
  uintptr_t base;
  const char* name;
  const Elf64_Phdr* phdr;
  int phnum;
  const Elf64_Dyn* dynamic;
};

bool SkippedByName(const char* path, absl::Span<const char* const> skip_names) {
  absl::string_view name = path != nullptr ? path : "";
  if (const size_t slash = name.rfind('/'); slash != absl::string_view::npos) name.remove_prefix(slash + 1);
  for (const char* skipped : skip_names) {
    if (absl::StartsWith(name, skipped)) return true;
  }
  return false;
}

void RebindObject(const ObjectView& view, RebindContext& context) {
  if (context.skip->contains(view.base) || SkippedByName(view.name, context.skip_names)) return;
  const uintptr_t base = view.base;
  const Elf64_Dyn* dynamic = view.dynamic;
  uintptr_t relro_start = 0, relro_end = 0;
  for (int i = 0; view.phdr != nullptr && i < view.phnum; ++i) {
    const Elf64_Phdr& phdr = view.phdr[i];
    if (phdr.p_type == PT_DYNAMIC) dynamic = reinterpret_cast<const Elf64_Dyn*>(base + phdr.p_vaddr);
    if (phdr.p_type == PT_GNU_RELRO) {
      relro_start = base + phdr.p_vaddr;
      relro_end = relro_start + phdr.p_memsz;
    }
  }
  if (dynamic == nullptr) return;
  const Elf64_Sym* symbols = nullptr;
  const char* strings = nullptr;
  size_t strings_size = 0;
  const Elf64_Rela* plt = nullptr;
  size_t plt_size = 0;
  const Elf64_Rela* rela = nullptr;
  size_t rela_size = 0;
  for (const Elf64_Dyn* d = dynamic; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB: symbols = reinterpret_cast<const Elf64_Sym*>(Absolute(base, d->d_un.d_ptr)); break;
      case DT_STRTAB: strings = reinterpret_cast<const char*>(Absolute(base, d->d_un.d_ptr)); break;
      case DT_STRSZ: strings_size = d->d_un.d_val; break;
      case DT_JMPREL: plt = reinterpret_cast<const Elf64_Rela*>(Absolute(base, d->d_un.d_ptr)); break;
      case DT_PLTRELSZ: plt_size = d->d_un.d_val; break;
      case DT_RELA: rela = reinterpret_cast<const Elf64_Rela*>(Absolute(base, d->d_un.d_ptr)); break;
      case DT_RELASZ: rela_size = d->d_un.d_val; break;
      default: break;
    }
  }
  if (symbols == nullptr || strings == nullptr) return;
  const char* object = view.name;
  auto scan = [&](const Elf64_Rela* table, size_t bytes) {
    if (table == nullptr) return;
    for (size_t i = 0; i < bytes / sizeof(Elf64_Rela); ++i) {
      const uint32_t type = ELF64_R_TYPE(table[i].r_info);
      if (type != kJumpSlot && type != kGlobDat) continue;
      const Elf64_Sym& symbol = symbols[ELF64_R_SYM(table[i].r_info)];
      // Only references to a symbol defined elsewhere: an object that
      // defines the name (libc) calls its own.
      if (symbol.st_shndx != SHN_UNDEF || symbol.st_name >= strings_size) continue;
      const Rebinding* rebinding = Find(context.rebindings, strings + symbol.st_name);
      if (rebinding == nullptr) continue;
      void** slot = reinterpret_cast<void**>(base + table[i].r_offset);
      if (__atomic_load_n(slot, __ATOMIC_ACQUIRE) == rebinding->address) continue;
      if (const int err = Store(slot, rebinding->address, relro_start, relro_end); err != 0) {
        context.report.failures.push_back(
            absl::StrCat(object, ": ", rebinding->symbol, " (mprotect: ", std::strerror(err), ")"));
        continue;
      }
      ++context.report.slots_rebound;
    }
  };
  scan(plt, plt_size);
  scan(rela, rela_size);
}

// The program headers of the object loaded at `base`, from its ELF header
// (a shared object's first segment starts at file offset 0, so the header is
// mapped at its load address), or null when they cannot be found there.
const Elf64_Phdr* ProgramHeaders(uintptr_t base, int* count) {
  const auto* header = reinterpret_cast<const Elf64_Ehdr*>(base);
  if (base == 0 || std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0) return nullptr;
  *count = header->e_phnum;
  return reinterpret_cast<const Elf64_Phdr*>(base + header->e_phoff);
}

// Runs inside dl_iterate_phdr's callback, for its lock: dlclose() cannot
// free a link map we walk. dl_iterate_phdr itself only lists the calling
// object's namespace, so the objects of the handle's namespace are reached
// through the link-map list instead.
struct NamespaceWalk {
  const link_map* member;
  RebindContext* context;
};

int WalkNamespace(dl_phdr_info*, size_t, void* data) {
  auto& walk = *static_cast<NamespaceWalk*>(data);
  const link_map* first = walk.member;
  while (first->l_prev != nullptr) first = first->l_prev;
  for (const link_map* map = first; map != nullptr; map = map->l_next) {
    // Casts: DragonFly's link_map has l_addr as caddr_t and l_ld as a void
    // pointer, glibc's as ElfW(Addr) and ElfW(Dyn) *.
    const uintptr_t base = (uintptr_t)map->l_addr;
    ObjectView view{base, map->l_name, nullptr, 0, (const Elf64_Dyn*)map->l_ld};
    view.phdr = ProgramHeaders(base, &view.phnum);
    RebindObject(view, *walk.context);
  }
  return 1;  // once
}

int CollectObject(dl_phdr_info* info, size_t, void* data) {
  static_cast<absl::flat_hash_set<uintptr_t>*>(data)->insert(info->dlpi_addr);
  return 0;
}

}  // namespace

absl::flat_hash_set<uintptr_t> LoadedObjects() {
  absl::flat_hash_set<uintptr_t> objects;
  dl_iterate_phdr(&CollectObject, &objects);
  return objects;
}

RebindReport RebindObjectsBeside(void* handle, absl::Span<const Rebinding> rebindings,
                                 const absl::flat_hash_set<uintptr_t>& skip,
                                 absl::Span<const char* const> skip_names) {
  RebindContext context{rebindings, &skip, skip_names, {}};
  if (!kSupported) {
    context.report.failures.push_back("this architecture's relocations are not supported");
    return context.report;
  }
  link_map* member = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &member) != 0 || member == nullptr) {
    context.report.failures.push_back("the loaded object has no link map");
    return context.report;
  }
  absl::MutexLock lock(&rebind_mu);
  NamespaceWalk walk{member, &context};
  dl_iterate_phdr(&WalkNamespace, &walk);
  return context.report;
}

}  // namespace sysv::backend
