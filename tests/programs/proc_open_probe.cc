// Opens a file every way a program may (the C library's open family and
// fopen), for proc_files_test.sh: `proc_open_probe HOW PATH` prints the
// file's content, `check PATH` checks reads, seeks, fstat and O_CLOEXEC,
// `missing PATH` checks that the open fails with ENOENT.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

// The fortified entry points (bits/fcntl2.h declares them only under
// _FORTIFY_SOURCE).
extern "C" int __open_2(const char* path, int flags);
extern "C" int __openat_2(int dir_fd, const char* path, int flags);

namespace {

std::string ReadAll(int fd) {
  std::string content;
  char buffer[512];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) content.append(buffer, static_cast<size_t>(n));
  return content;
}

int Fail(const char* what) {
  std::fprintf(stderr, "proc_open_probe: %s (errno %d: %s)\n", what, errno, std::strerror(errno));
  return 1;
}

int PrintStream(std::FILE* stream) {
  if (stream == nullptr) return Fail("fopen");
  int c;
  while ((c = std::fgetc(stream)) != EOF) std::putchar(c);
  std::fclose(stream);
  return 0;
}

int PrintFd(int fd) {
  if (fd < 0) return Fail("open");
  const std::string content = ReadAll(fd);
  std::fwrite(content.data(), 1, content.size(), stdout);
  close(fd);
  return 0;
}

int Check(const char* path) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail("open");
  if ((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0) return Fail("O_CLOEXEC was dropped");
  const std::string content = ReadAll(fd);
  if (content.empty()) return Fail("empty content");
  struct stat st;
  if (fstat(fd, &st) != 0) return Fail("fstat");
  if (!S_ISREG(st.st_mode)) return Fail("not a regular file");
  if (lseek(fd, 3, SEEK_SET) != 3) return Fail("lseek");
  if (ReadAll(fd) != content.substr(3)) return Fail("read after lseek");
  if (write(fd, "x", 1) != -1 || errno != EBADF) return Fail("the descriptor is writable");
  close(fd);
  const int plain = openat(AT_FDCWD, path, O_RDONLY);
  if (plain < 0) return Fail("openat");
  if ((fcntl(plain, F_GETFD) & FD_CLOEXEC) != 0) return Fail("FD_CLOEXEC without O_CLOEXEC");
  close(plain);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string how = argv[1];
  const char* path = argv[2];
  if (how == "open") return PrintFd(open(path, O_RDONLY));
  if (how == "open64") return PrintFd(open64(path, O_RDONLY));
  if (how == "openat") return PrintFd(openat(AT_FDCWD, path, O_RDONLY));
  if (how == "openat64") return PrintFd(openat64(AT_FDCWD, path, O_RDONLY));
  if (how == "open_2") return PrintFd(__open_2(path, O_RDONLY));
  if (how == "openat_2") return PrintFd(__openat_2(AT_FDCWD, path, O_RDONLY));
  if (how == "fopen") return PrintStream(std::fopen(path, "r"));
  if (how == "fopen64") return PrintStream(fopen64(path, "re"));
  if (how == "check") return Check(path);
  if (how == "missing") {
    if (open(path, O_RDONLY) != -1 || errno != ENOENT) return Fail("open of a missing file");
    if (std::fopen(path, "r") != nullptr || errno != ENOENT) return Fail("fopen of a missing file");
    return 0;
  }
  return 2;
}
