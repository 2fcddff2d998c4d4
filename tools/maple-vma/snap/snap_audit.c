/* snap_audit.c - the LD_AUDIT module of `maple-vma record`: the `start` and
 * `init` /proc/PID/maps snapshots of every dynamically linked image.
 *
 *   start  la_version(): ld.so calls it as soon as it has loaded this
 *          module, before it loads the program's libraries. The maps show
 *          the kernel's exec layout plus the few mappings ld.so made before
 *          (this module's segments and .bss, ld.so's early pages).
 *   init   the first la_activity(LA_ACT_CONSISTENT) of the base namespace:
 *          every library of the program is loaded and relocated, before any
 *          constructor and main. (Later calls, after dlopen, take nothing.)
 *
 * The module runs in its own link namespace and uses no libc (see
 * snap_common.h). */
#include "snap_common.h"

#define SNAP_LA_ACT_CONSISTENT 0
#define SNAP_LM_ID_BASE 0

static char buf[1 << 20];
static char dir[SNAP_PATH_MAX];
/* The image number of this process (the N of maps.start.PID.N), 0 when no
 * start snapshot was taken (then no init is taken either). */
static int image;

/* Finds SNAP_ENV_NAME in /proc/self/environ (the environment this image
 * was exec'd with), streamed through buf. */
static int read_dir_from_environ(void) {
  static char entry[SNAP_PATH_MAX + 64];
  long elen = 0;
  int skip = 0, found = 0;
  int fd = snap_open("/proc/self/environ", SNAP_O_RDONLY | SNAP_O_CLOEXEC);
  if (fd < 0) return 0;
  for (;;) {
    long r = snap_read(fd, buf, sizeof buf);
    if (r <= 0) break;
    for (long i = 0; i < r && !found; ++i) {
      if (buf[i] == 0) {
        entry[elen] = 0;
        if (!skip) found = snap_env_entry(entry, dir);
        elen = 0;
        skip = 0;
      } else if (elen + 1 < (long)sizeof entry) {
        entry[elen++] = buf[i];
      } else {
        skip = 1; /* too long for a path: not ours */
      }
    }
    if (found) break;
  }
  snap_close(fd);
  return found && dir[0] == '/';
}

__attribute__((visibility("default"))) unsigned la_version(unsigned version) {
  if (read_dir_from_environ()) {
    /* The first free N: maps.start.PID, then .2, .3, ... for the images a
     * pid exec'd one after the other. */
    for (int n = 1; n < 1000; ++n) {
      if (snap_file('a', dir, n, 1, buf, sizeof buf) == 0) {
        image = n;
        break;
      }
      static char path[SNAP_PATH_MAX];
      snap_name(path, dir, "start", snap_getpid(), n);
      if (!snap_exists(path)) break; /* an error other than EEXIST */
    }
  }
  return version;
}

__attribute__((visibility("default"))) void la_activity(unsigned long *cookie, unsigned flag) {
  static int done;
  (void)cookie;
  if (flag != SNAP_LA_ACT_CONSISTENT || done || image == 0) return;
  done = 1;
  snap_file('b', dir, image, 0, buf, sizeof buf);
}
