/* snap_common.h - the /proc/PID/maps snapshot code shared by the two
 * snapshot modules of `maple-vma record` (snap_audit.c, snap_preload.c).
 *
 * Freestanding: no libc, no allocation, raw system calls only, one static
 * buffer in .bss. A snapshot creates no VMA: it opens, reads, writes and
 * closes files, and brackets the read of /proc/self/maps with the two no-op
 * marker calls munmap(0x6d617073P0, 0) and munmap(0x6d617073P1, 0), P = a
 * start, b init, c fork, e end (0x6d617073 is ASCII "maps"); the kernel
 * refuses them with EINVAL and strace records them, so the replayer knows
 * the point in the trace that each maps file shows.
 *
 * The output directory comes from the environment variable
 * MAPLE_VMA_RECORD_DIR (an absolute path), the file is
 * DIR/maps.{start,init,fork,end}.PID, with a suffix .N for the N-th image
 * (N >= 2) a pid exec'd (docs/mm.md "Recording a trace"). */
#ifndef MAPLE_VMA_SNAP_COMMON_H
#define MAPLE_VMA_SNAP_COMMON_H

#if defined(__x86_64__)
#define SNAP_SYS_read 0
#define SNAP_SYS_write 1
#define SNAP_SYS_close 3
#define SNAP_SYS_munmap 11
#define SNAP_SYS_getpid 39
#define SNAP_SYS_exit_group 231
#define SNAP_SYS_openat 257
#define SNAP_SYS_faccessat 269
#elif defined(__aarch64__)
#define SNAP_SYS_faccessat 48
#define SNAP_SYS_openat 56
#define SNAP_SYS_close 57
#define SNAP_SYS_read 63
#define SNAP_SYS_write 64
#define SNAP_SYS_exit_group 94
#define SNAP_SYS_getpid 172
#define SNAP_SYS_munmap 215
#else
#error "maple-vma snapshot modules: x86-64 and aarch64 only"
#endif

#define SNAP_AT_FDCWD (-100)
#define SNAP_O_RDONLY 0
#define SNAP_O_WRONLY 01
#define SNAP_O_CREAT 0100
#define SNAP_O_EXCL 0200
#define SNAP_O_TRUNC 01000
#define SNAP_O_CLOEXEC 02000000
#define SNAP_EINTR 4
#define SNAP_EEXIST 17

#define SNAP_ENV_NAME "MAPLE_VMA_RECORD_DIR"
#define SNAP_PATH_MAX 4096

static inline long snap_syscall4(long n, long a, long b, long c, long d) {
  long ret;
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
#else
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  ret = x0;
#endif
  return ret;
}

static inline long snap_syscall3(long n, long a, long b, long c) {
  return snap_syscall4(n, a, b, c, 0);
}

static inline int snap_open(const char *path, int flags) {
  return (int)snap_syscall4(SNAP_SYS_openat, SNAP_AT_FDCWD, (long)path, flags, 0644);
}

static inline void snap_close(int fd) { snap_syscall3(SNAP_SYS_close, fd, 0, 0); }

static inline long snap_getpid(void) { return snap_syscall3(SNAP_SYS_getpid, 0, 0, 0); }

static inline int snap_exists(const char *path) {
  return snap_syscall4(SNAP_SYS_faccessat, SNAP_AT_FDCWD, (long)path, 0, 0) == 0;
}

/* Reads up to n bytes, retrying on EINTR; < 0 on an error. */
static inline long snap_read(int fd, char *buf, long n) {
  long r;
  do r = snap_syscall3(SNAP_SYS_read, fd, (long)buf, n);
  while (r == -SNAP_EINTR);
  return r;
}

/* Writes all n bytes (or gives up on an error). */
static inline void snap_write_all(int fd, const char *buf, long n) {
  while (n > 0) {
    long w = snap_syscall3(SNAP_SYS_write, fd, (long)buf, n);
    if (w == -SNAP_EINTR) continue;
    if (w <= 0) return;
    buf += w;
    n -= w;
  }
}

/* The marker call: munmap(0x6d617073 << 8 | kind << 4 | half, 0). */
static inline void snap_marker(char kind, int half) {
  long addr = (0x6d617073L << 8) | ((long)(kind - 'a' + 0xa) << 4) | half;
  snap_syscall3(SNAP_SYS_munmap, addr, 0, 0);
}

/* Appends s to buf (capacity cap, always NUL-terminated); returns the new
 * length. */
static inline long snap_append(char *buf, long len, long cap, const char *s) {
  while (*s && len + 1 < cap) buf[len++] = *s++;
  buf[len] = 0;
  return len;
}

static inline long snap_append_num(char *buf, long len, long cap, long v) {
  char digits[24];
  int n = 0;
  if (v < 0) v = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < 23);
  while (n > 0 && len + 1 < cap) buf[len++] = digits[--n];
  buf[len] = 0;
  return len;
}

/* DIR/maps.KIND.PID[.N] (no suffix for N <= 1). */
static inline void snap_name(char *out, const char *dir, const char *kind, long pid, int image) {
  long len = 0;
  out[0] = 0;
  len = snap_append(out, len, SNAP_PATH_MAX, dir);
  len = snap_append(out, len, SNAP_PATH_MAX, "/maps.");
  len = snap_append(out, len, SNAP_PATH_MAX, kind);
  len = snap_append(out, len, SNAP_PATH_MAX, ".");
  len = snap_append_num(out, len, SNAP_PATH_MAX, pid);
  if (image >= 2) {
    len = snap_append(out, len, SNAP_PATH_MAX, ".");
    snap_append_num(out, len, SNAP_PATH_MAX, image);
  }
}

static inline const char *snap_kind_name(char kind) {
  return kind == 'a' ? "start" : kind == 'b' ? "init" : kind == 'c' ? "fork" : "end";
}

/* The highest N such that DIR/maps.start.PID[.N] exists (the image this
 * process runs, when it started with a snapshot); 0 if there is none. */
static inline int snap_current_image(char *path, const char *dir, long pid) {
  int n = 0;
  for (int i = 1; i < 1000; ++i) {
    snap_name(path, dir, "start", pid, i);
    if (!snap_exists(path)) break;
    n = i;
  }
  return n;
}

/* Copies /proc/self/maps into `out` between the two markers of `kind`,
 * through `buf` (size cap). The output file is opened first and closed
 * last: nothing but the read of maps lies between the markers. */
static inline void snap_take(char kind, int out, char *buf, long cap) {
  long used = 0;
  snap_marker(kind, 0);
  int in = snap_open("/proc/self/maps", SNAP_O_RDONLY | SNAP_O_CLOEXEC);
  if (in >= 0) {
    for (;;) {
      if (used == cap) {
        /* A maps file larger than the buffer: written in parts. */
        snap_write_all(out, buf, used);
        used = 0;
      }
      long r = snap_read(in, buf + used, cap - used);
      if (r <= 0) break;
      used += r;
    }
    snap_close(in);
  }
  snap_marker(kind, 1);
  snap_write_all(out, buf, used);
}

/* Takes snapshot `kind` of this process (`image`: see snap_name) into dir;
 * `excl`: fail if the file exists. Returns 0, or -1 if the file could not
 * be created. */
static inline int snap_file(char kind, const char *dir, int image, int excl, char *buf, long cap) {
  static char path[SNAP_PATH_MAX];
  snap_name(path, dir, snap_kind_name(kind), snap_getpid(), image);
  int out = snap_open(
      path, SNAP_O_WRONLY | SNAP_O_CREAT | SNAP_O_CLOEXEC | (excl ? SNAP_O_EXCL : SNAP_O_TRUNC));
  if (out < 0) return -1;
  snap_take(kind, out, buf, cap);
  snap_close(out);
  return 0;
}

/* If the NUL-terminated entry `e` is NAME=VALUE with NAME = SNAP_ENV_NAME,
 * copies VALUE into dir and returns 1. */
static inline int snap_env_entry(const char *e, char *dir) {
  const char *n = SNAP_ENV_NAME "=";
  while (*n && *e == *n) ++e, ++n;
  if (*n) return 0;
  long len = 0;
  while (e[len] && len + 1 < SNAP_PATH_MAX) {
    dir[len] = e[len];
    ++len;
  }
  dir[len] = 0;
  return len > 0;
}

#endif
