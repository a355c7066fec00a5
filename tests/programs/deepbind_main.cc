// deepbind_main MODE KEY: loads libdeepbind_probe.so from lib/ beside this
// program and runs deepbind_probe(KEY). MODE says how it is loaded:
//   runpath   dlopen("libdeepbind_probe.so"): found only through this
//             program's RUNPATH ($ORIGIN/lib), so it fails if a preloaded
//             dlopen() wrapper became the caller glibc searches for
//   deepbind  dlopen(full path, RTLD_LAZY | RTLD_GLOBAL | RTLD_DEEPBIND), as
//             PHP loads its extensions
//   dlmopen   dlmopen(LM_ID_NEWLM, full path, RTLD_NOW)
// Exit status: the probe's result, or 10 + n for a load failure.
#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: deepbind_main runpath|deepbind|dlmopen KEY\n");
    return 2;
  }
  const std::string mode = argv[1];
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return 11;
  exe[n] = '\0';
  std::string path = exe;
  path = path.substr(0, path.rfind('/')) + "/lib/libdeepbind_probe.so";
  void* handle = nullptr;
  if (mode == "runpath") {
    handle = dlopen("libdeepbind_probe.so", RTLD_NOW);
  } else if (mode == "deepbind") {
    handle = dlopen(path.c_str(), RTLD_LAZY | RTLD_GLOBAL | RTLD_DEEPBIND);
  } else if (mode == "dlmopen") {
    handle = dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW);
  } else {
    return 2;
  }
  if (handle == nullptr) {
    std::fprintf(stderr, "deepbind_main: %s\n", dlerror());
    return 12;
  }
  auto probe = reinterpret_cast<int (*)(int)>(dlsym(handle, "deepbind_probe"));
  if (probe == nullptr) return 13;
  return probe(std::atoi(argv[2]));
}
