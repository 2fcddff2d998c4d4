// cxx-threads-fork: 4 threads, each mapping, splitting (mprotect), growing
// and moving (mremap) and unmapping its own regions; a shared anonymous
// map; MADV_DONTFORK on part of a region; a private file map; then fork():
// the child runs a thread of its own, maps, and exits with 0 via exit().
// Build: g++ -O2 -pthread threads_fork.cpp -o threads_fork
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t page = 4096;

char *map(std::size_t len, int prot, int flags = MAP_PRIVATE | MAP_ANONYMOUS) {
  void *p = ::mmap(nullptr, len, prot, flags, -1, 0);
  if (p == MAP_FAILED) std::exit(90);
  return static_cast<char *>(p);
}

void worker(int id) {
  std::vector<char *> keep;
  for (int round = 0; round < 20; ++round) {
    char *a = map(32 * page, PROT_READ | PROT_WRITE);
    std::memset(a, id, 32 * page);
    ::mprotect(a + 8 * page, 4 * page, PROT_READ);
    ::mprotect(a + 20 * page, 2 * page, PROT_NONE);
    if (round % 3 == 0) {
      // The first 8 pages (one VMA) grow to 64 and move; the hole left
      // behind is mapped again.
      void *b = ::mremap(a, 8 * page, 64 * page, MREMAP_MAYMOVE);
      if (b == MAP_FAILED) std::exit(91);
      ::munmap(static_cast<char *>(b) + 32 * page, 32 * page);
      keep.push_back(static_cast<char *>(b));
      if (::mmap(a, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                 0) == MAP_FAILED)
        std::exit(92);
    }
    if (round % 2 == 0)
      keep.push_back(a);
    else
      ::munmap(a, 32 * page);
    std::vector<char> heap(100000 + 1000 * id, 'x');
  }
  for (std::size_t i = 0; i + 1 < keep.size(); i += 2) ::munmap(keep[i], 32 * page);
}

}  // namespace

int main() {
  char *shared = map(16 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  shared[0] = 1;
  char *nofork = map(64 * page, PROT_READ | PROT_WRITE);
  std::memset(nofork, 2, 64 * page);
  ::madvise(nofork + 16 * page, 8 * page, MADV_DONTFORK);
  if (std::FILE *f = std::fopen("/etc/services", "r")) {
    void *m = ::mmap(nullptr, 3 * page, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    std::fclose(f);
    if (m == MAP_FAILED) return 93;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(worker, i + 1);
  for (std::thread &t : threads) t.join();

  pid_t pid = ::fork();
  if (pid == 0) {
    char *c = map(64 * page, PROT_READ | PROT_WRITE);
    std::memset(c, 3, 64 * page);
    ::mprotect(c + 10 * page, 10 * page, PROT_READ);
    std::thread t(worker, 9);
    t.join();
    std::exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::printf("child %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}
