/* snap_preload.c - the LD_PRELOAD module of `maple-vma record`: the `fork`
 * and `end` /proc/PID/maps snapshots of every dynamically linked process.
 *
 *   fork   an atfork child handler (registered by the constructor through
 *          glibc's __register_atfork): in the child of libc's fork(),
 *          before fork() returns there. vfork, posix_spawn and raw clone
 *          calls run no handlers and take none.
 *   end    the destructor (it runs from exit() after the atexit handlers,
 *          in ld.so's _dl_fini), and the interposed _exit/_Exit (a process
 *          that leaves without exit(), e.g. Python's os._exit): once per
 *          process. exit_group called as a raw system call and death by a
 *          signal take none.
 *
 * The file's image suffix .N is that of the newest maps.start.PID[.N] (the
 * image the audit module saw start); a forked child that did not exec has
 * none. No libc but __register_atfork (weak); see snap_common.h. */
#include "snap_common.h"

static char buf[1 << 20];
static char dir[SNAP_PATH_MAX];
static char path[SNAP_PATH_MAX];
/* The pid that took its end snapshot (a vfork child shares this memory with
 * its parent: it must not keep the parent from taking its own). */
static long end_pid;

extern int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void),
                             void *dso_handle) __attribute__((weak));

static void fork_child(void) {
  if (dir[0]) snap_file('c', dir, 0, 0, buf, sizeof buf);
}

static void take_end(void) {
  long pid = snap_getpid();
  long prev = __atomic_load_n(&end_pid, __ATOMIC_ACQUIRE);
  if (!dir[0] || prev == pid) return;
  if (!__atomic_compare_exchange_n(&end_pid, &prev, pid, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return;
  snap_file('e', dir, snap_current_image(path, dir, pid), 0, buf, sizeof buf);
}

__attribute__((constructor)) static void snap_init(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  for (char **e = envp; e && *e; ++e) {
    if (snap_env_entry(*e, dir)) break;
  }
  if (dir[0] != '/') {
    dir[0] = 0;
    return;
  }
  if (__register_atfork) __register_atfork(0, 0, fork_child, &end_pid);
}

__attribute__((destructor)) static void snap_fini(void) { take_end(); }

__attribute__((visibility("default"), noreturn)) void _exit(int status) {
  take_end();
  for (;;) snap_syscall3(SNAP_SYS_exit_group, status, 0, 0);
}

__attribute__((visibility("default"), noreturn)) void _Exit(int status) { _exit(status); }
