// record_probe - the program record_test.cpp records: anonymous maps split
// by mprotect and munmap, a grown and moved mremap, a private file map, a
// thread (stack + guard page), then fork(): the child maps and leaves by
// _exit(5) (the interposed _exit takes its end snapshot), the parent waits
// and returns 3 from main (the destructor takes it).
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

void *thread_main(void *arg) {
  auto *p = static_cast<volatile char *>(arg);
  p[0] = 1;
  return nullptr;
}

void *map(std::size_t len, int prot) {
  void *p = ::mmap(nullptr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::exit(90);
  return p;
}

}  // namespace

int main() {
  const std::size_t page = 4096;
  auto *a = static_cast<char *>(map(16 * page, PROT_READ | PROT_WRITE));
  a[0] = 1;
  ::mprotect(a + 4 * page, 2 * page, PROT_READ);
  ::munmap(a + 10 * page, page);
  void *b = map(4 * page, PROT_READ | PROT_WRITE);
  // Written before it moves: the replayer counts a grown mremap's source
  // as written (anon_vma), and the moved VMA may land next to `a`.
  static_cast<char *>(b)[0] = 1;
  b = ::mremap(b, 4 * page, 64 * page, MREMAP_MAYMOVE);
  if (b == MAP_FAILED) return 91;
  if (FILE *f = std::fopen("/proc/self/exe", "r")) {
    void *m = ::mmap(nullptr, page, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    std::fclose(f);
    if (m == MAP_FAILED) return 92;
  }
  pthread_t t;
  if (pthread_create(&t, nullptr, thread_main, a) != 0) return 93;
  pthread_join(t, nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    auto *c = static_cast<char *>(map(8 * page, PROT_READ | PROT_WRITE));
    ::mprotect(c + 2 * page, page, PROT_NONE);
    ::_exit(5);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::munmap(a, 4 * page);
  return WIFEXITED(status) && WEXITSTATUS(status) == 5 ? 3 : 94;
}
