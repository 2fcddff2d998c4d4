// record.cpp - see record.h. The program runs under
//   strace -f -tt -y -s 256 [--seccomp-bpf] -e trace=LIST -o DIR/trace.strace
//          -E LD_AUDIT=... -E LD_PRELOAD=... -E MAPLE_VMA_RECORD_DIR=DIR -- CMD ARGS
// with the two snapshot modules (tools/maple-vma/snap/) that write
// DIR/maps.{start,init,fork,end}.PID; then cmd.txt and meta.txt are written.
// Nothing of the environment but variable names is written anywhere (no -v:
// strace prints execve's envp as a count).
#include "record.h"

#include <fcntl.h>
#include <gnu/libc-version.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "progress.h"

namespace maple::vma_tool {

namespace {

namespace fs = std::filesystem;

constexpr const char *dir_variable = "MAPLE_VMA_RECORD_DIR";
constexpr const char *audit_module = "maple-vma-snap-audit.so";
constexpr const char *preload_module = "maple-vma-snap-preload.so";

struct record_options {
  std::string out_dir;
  bool quiet = false;
  bool seccomp = true;
  std::vector<std::string> command;
};

// One variable given to the program with strace -E: our value, and whether
// the user's own value (not recorded anywhere) follows it.
struct env_setting {
  std::string name, ours;
  bool user_value_kept = false;
  std::string value() const {
    if (!user_value_kept) return ours;
    const char *v = std::getenv(name.c_str());
    return ours + ":" + (v ? v : "");
  }
};

int fail(const std::string &what) {
  std::cerr << "maple-vma record: " << what << "\n";
  return record_error;
}

std::string shell_quote(const std::string &s) {
  if (!s.empty() &&
      s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                          "_@%+=:,./-") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string join_quoted(const std::vector<std::string> &v) {
  std::string s;
  for (const std::string &a : v) {
    if (!s.empty()) s += ' ';
    s += shell_quote(a);
  }
  return s;
}

bool is_executable_file(const std::string &p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// execvp's search: a name with a slash as is, else each PATH entry (an
// empty entry is the cwd). Empty if not found; `found_not_exec` tells a
// file that exists but cannot be executed.
std::string find_program(const std::string &name, bool &found_not_exec) {
  found_not_exec = false;
  auto check = [&](const std::string &p) {
    if (is_executable_file(p)) return true;
    if (::access(p.c_str(), F_OK) == 0) found_not_exec = true;
    return false;
  };
  if (name.find('/') != std::string::npos) return check(name) ? name : std::string{};
  const char *path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t pos = 0;
  for (;;) {
    std::size_t colon = dirs.find(':', pos);
    std::string d = dirs.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    std::string p = (d.empty() ? std::string(".") : d) + "/" + name;
    if (check(p)) return p;
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return {};
}

// The directory of the snapshot modules: $MAPLE_VMA_SNAP_DIR, else the
// directory of this executable.
std::string module_dir() {
  if (const char *d = std::getenv("MAPLE_VMA_SNAP_DIR"); d && *d) return d;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{} : exe.parent_path().string();
}

// Runs argv and returns its first output line (stdout and stderr), or "".
std::string first_output_line(const std::vector<std::string> &argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    std::vector<char *> a;
    for (const std::string &s : argv) a.push_back(const_cast<char *>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  int st = 0;
  if (pid > 0) ::waitpid(pid, &st, 0);
  return out.substr(0, out.find('\n'));
}

std::string read_first_line(const std::string &path) {
  std::ifstream f(path);
  std::string s;
  if (f) std::getline(f, s);
  return s;
}

std::string default_out_dir(const std::string &cmd) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return "rec-" + fs::path(cmd).filename().string() + "-" + stamp;
}

// The snapshot files of dir (maps.*), sorted.
std::vector<fs::path> snapshot_files(const fs::path &dir) {
  std::vector<fs::path> v;
  std::error_code ec;
  for (const fs::directory_entry &e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind("maps.", 0) == 0) v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

std::optional<int> parse_record_args(const std::vector<std::string> &args, record_options &o) {
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      std::cout << record_usage();
      return 0;
    }
    if (a == "-o" || a == "--output") {
      if (i + 1 >= args.size()) return fail(a + " needs a directory");
      o.out_dir = args[++i];
    } else if (a == "-q" || a == "--quiet") {
      o.quiet = true;
    } else if (a == "--no-seccomp") {
      o.seccomp = false;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << record_usage();
      return fail("unknown option '" + a + "'");
    } else {
      break;
    }
  }
  o.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (o.command.empty()) {
    std::cerr << record_usage();
    return fail("no command to record");
  }
  return std::nullopt;
}

// Creates the output directory; refuses one that holds a recording already
// (its old snapshots would be compared with the new trace).
std::optional<int> prepare_out_dir(fs::path &dir) {
  std::error_code ec;
  dir = fs::absolute(dir, ec).lexically_normal();
  if (ec) return fail("cannot resolve '" + dir.string() + "': " + ec.message());
  if (!dir.empty() && dir.filename().empty()) dir = dir.parent_path();
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) return fail("cannot create directory '" + dir.string() + "'");
  if (!snapshot_files(dir).empty() || fs::exists(dir / "trace.strace"))
    return fail("'" + dir.string() +
                "' already holds a recording (trace.strace, maps.*): choose another -o DIR");
  if (::access(dir.c_str(), W_OK) != 0) return fail("cannot write to '" + dir.string() + "'");
  if (dir.string().size() > 3000) return fail("the directory's path is too long");
  return std::nullopt;
}

struct run_result {
  int status = 0;  ///< waitpid status of strace
  double seconds = 0;
};

// Trace bytes written so far.
std::uint64_t trace_bytes(const fs::path &dir) {
  std::error_code ec;
  std::uint64_t n = fs::file_size(dir / "trace.strace", ec);
  return ec ? 0 : n;
}

// While strace runs: the progress bar (progress.h; drawn on a terminal
// only, after a second) with the time, the trace bytes written so far and
// the snapshot files.
void watch(pid_t pid, const fs::path &dir, progress_bar &bar) {
  int pidfd = -1;
#ifdef SYS_pidfd_open
  pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#endif
  if (pidfd < 0) return;
  for (;;) {
    pollfd p{pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r > 0 || (r < 0 && errno != EINTR)) break;
    bar.update(trace_bytes(dir), std::to_string(snapshot_files(dir).size()) + " snapshots");
  }
  ::close(pidfd);
}

// Runs strace; SIGINT and SIGQUIT are ignored meanwhile (they go to the
// program, as with system()), so that the files are still written.
std::optional<run_result> run_strace(const std::vector<std::string> &argv, const fs::path &dir,
                                     bool quiet) {
  struct sigaction ign {
  }, old_int{}, old_quit{};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ::sigaction(SIGINT, &ign, &old_int);
  ::sigaction(SIGQUIT, &ign, &old_quit);
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
    std::vector<char *> a;
    for (const std::string &s : argv) a.push_back(const_cast<char *>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    std::fprintf(stderr, "maple-vma record: cannot run %s: %s\n", a[0], std::strerror(errno));
    ::_exit(record_error);
  }
  progress_bar bar("record", "bytes", 0, !quiet);
  if (bar.active()) watch(pid, dir, bar);
  run_result res;
  while (::waitpid(pid, &res.status, 0) < 0 && errno == EINTR) {
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  bar.finish();
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGQUIT, &old_quit, nullptr);
  return res;
}

// True if the trace shows the program's first execve succeeding (strace
// started it); only the beginning of the file is read.
bool trace_started(const fs::path &trace) {
  std::ifstream f(trace);
  std::string line;
  for (int n = 0; n < 200 && std::getline(f, line); ++n)
    if (line.find("execve(") != std::string::npos && line.find(" = 0") != std::string::npos)
      return true;
  return false;
}

std::size_t count_lines(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  std::size_t n = 0;
  char buf[1 << 16];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    for (std::streamsize i = 0; i < f.gcount(); ++i) n += buf[i] == '\n';
    if (!f) break;
  }
  return n;
}

// Empty snapshot files: a process killed between its markers and its
// write. Removed (the replayer would report them never compared).
int remove_incomplete(const fs::path &dir) {
  int n = 0;
  std::error_code ec;
  for (const fs::path &p : snapshot_files(dir))
    if (fs::file_size(p, ec) == 0 && !ec && fs::remove(p, ec)) ++n;
  return n;
}

std::string exit_text(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char *abbrev = sigabbrev_np(WTERMSIG(status));
    return std::string("killed by SIG") + (abbrev ? abbrev : std::to_string(WTERMSIG(status)));
  }
  return "status " + std::to_string(status);
}

int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return record_error;
}

void write_cmd_txt(const fs::path &dir, const record_options &o,
                   const std::vector<std::string> &strace_argv,
                   const std::vector<env_setting> &env) {
  std::ofstream f(dir / "cmd.txt");
  std::error_code ec;
  f << "argv: " << join_quoted(o.command) << "\n"
    << "cwd: " << fs::current_path(ec).string() << "\n";
  // The strace command line, with the user's own values of the variables
  // we extend shown as $NAME.
  std::string shown;
  for (const std::string &a : strace_argv) {
    std::string q = shell_quote(a);
    for (const env_setting &e : env)
      if (e.user_value_kept && a.rfind(e.name + "=", 0) == 0)
        q = "\"" + e.name + "=" + e.ours + ":$" + e.name + "\"";
    shown += (shown.empty() ? "" : " ") + q;
  }
  f << "strace: " << shown << "\n"
    << "environment: inherited from maple-vma (values not recorded)\n"
    << "environment added:";
  for (const env_setting &e : env)
    if (!e.user_value_kept) f << " " << e.name;
  f << "\nenvironment extended (ours first, the user's value after):";
  for (const env_setting &e : env)
    if (e.user_value_kept) f << " " << e.name;
  f << "\nenvironment removed: none\n"
    << "record: maple-vma record -o " << shell_quote(dir.string()) << (o.quiet ? " --quiet" : "")
    << (o.seccomp ? "" : " --no-seccomp") << " -- " << join_quoted(o.command) << "\n";
}

void write_meta_txt(const fs::path &dir, const std::string &strace, const std::string &mods,
                    bool seccomp, const run_result &r, int removed) {
  std::ofstream f(dir / "meta.txt");
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  struct utsname u {};
  ::uname(&u);
  std::string os;
  {
    std::ifstream rel("/etc/os-release");
    for (std::string l; std::getline(rel, l);)
      if (l.rfind("PRETTY_NAME=", 0) == 0) {
        os = l.substr(12);
        if (os.size() >= 2 && os.front() == '"') os = os.substr(1, os.size() - 2);
      }
  }
  f << "date_utc: " << date << "\n"
    << "uname_r: " << u.release << "\n"
    << "uname: " << u.sysname << " " << u.release << " " << u.version << " " << u.machine << "\n"
    << "os: " << os << "\n"
    << "glibc: " << gnu_get_libc_version() << "\n"
    << "strace: " << first_output_line({strace, "-V"}) << "\n"
    << "strace_seccomp_bpf: " << (seccomp ? "yes" : "no") << "\n"
    << "page_size: " << ::sysconf(_SC_PAGESIZE) << "\n";
  for (const char *p : {"/proc/sys/vm/max_map_count", "/proc/sys/kernel/randomize_va_space",
                        "/proc/sys/vm/overcommit_memory", "/proc/sys/vm/overcommit_ratio",
                        "/proc/sys/vm/mmap_min_addr", "/proc/sys/vm/legacy_va_layout",
                        "/proc/sys/kernel/pid_max", "/sys/kernel/mm/transparent_hugepage/enabled",
                        "/sys/kernel/mm/transparent_hugepage/defrag"})
    f << p << ": " << read_first_line(p) << "\n";
  f << "nproc: " << ::sysconf(_SC_NPROCESSORS_ONLN) << "\n"
    << "exit_status: " << exit_status(r.status) << "\n"
    << "exit: " << exit_text(r.status) << "\n"
    << "wall_seconds: " << std::fixed << std::setprecision(3) << r.seconds << "\n"
    << "snapshots: " << snapshot_files(dir).size() << "\n"
    << "incomplete_snapshots_removed: " << removed << "\n"
    << "audit_module: " << mods << "/" << audit_module << "\n"
    << "preload_module: " << mods << "/" << preload_module << "\n";
}

}  // namespace

const std::vector<std::string> &recorded_syscalls() {
  static const std::vector<std::string> calls = {
      // what the replayer applies or counts
      "execve", "execveat", "mmap", "munmap", "mprotect", "pkey_mprotect", "mremap", "brk",
      "madvise", "process_madvise", "mlock", "mlock2", "mlockall", "munlock", "munlockall",
      "remap_file_pages", "mbind", "shmat", "shmdt", "io_setup", "io_destroy", "prctl",
      "personality", "clone", "clone3", "fork", "vfork", "exit", "exit_group", "?mseal",
      "?map_shadow_stack", "?set_mempolicy_home_node",
      // file identity and lifetime (shm_open is an openat of /dev/shm)
      "open", "openat", "openat2", "creat", "close", "close_range", "dup", "dup2", "dup3", "fcntl",
      "unlink", "unlinkat", "rename", "renameat", "renameat2", "memfd_create", "ftruncate"};
  return calls;
}

const char *record_usage() {
  return "usage: maple-vma record [-o DIR] [--quiet] [--no-seccomp] -- CMD [ARGS...]\n"
         "  runs CMD under strace with the snapshot modules and writes DIR/trace.strace,\n"
         "  DIR/maps.{start,init,fork,end}.PID, cmd.txt and meta.txt (docs/mm.md\n"
         "  \"Recording a trace\"); then: maple-vma replay DIR --check\n"
         "  -o DIR        output directory (default ./rec-CMD-DATE-TIME; must hold no recording)\n"
         "  --quiet       no progress bar (time, trace bytes, snapshots), no summary\n"
         "  --no-seccomp  no strace --seccomp-bpf (slower; keeps setuid programs working)\n"
         "  exit status: CMD's (128+N if signal N killed it); 125 recorder error, 126 CMD\n"
         "  not executable, 127 CMD not found. Environment: MAPLE_VMA_STRACE (strace to\n"
         "  use), MAPLE_VMA_SNAP_DIR (directory of maple-vma-snap-*.so)\n";
}

namespace {

// strace -f -tt -y -s 256 [--seccomp-bpf] -e trace=LIST -o DIR/trace.strace
// -E NAME=VALUE... -- CMD ARGS
std::vector<std::string> strace_argv(const std::string &strace, const record_options &o,
                                     const fs::path &dir, const std::vector<env_setting> &env) {
  std::string list;
  for (const std::string &c : recorded_syscalls()) {
    if (!list.empty()) list += ',';
    list += c;
  }
  std::vector<std::string> argv = {strace, "-f", "-tt", "-y", "-s", "256"};
  if (o.seccomp) argv.push_back("--seccomp-bpf");
  for (const std::string &a :
       {std::string("-e"), "trace=" + list, std::string("-o"), (dir / "trace.strace").string()})
    argv.push_back(a);
  for (const env_setting &e : env) {
    argv.push_back("-E");
    argv.push_back(e.name + "=" + e.value());
  }
  argv.push_back("--");
  argv.insert(argv.end(), o.command.begin(), o.command.end());
  return argv;
}

// The summary on stderr after a recording (not with --quiet).
void print_summary(const fs::path &dir, const run_result &r, int removed) {
  std::cerr << "maple-vma record: " << dir.string() << ": trace.strace ("
            << count_lines(dir / "trace.strace") << " lines, " << trace_bytes(dir) / 1024
            << " KiB), " << snapshot_files(dir).size() << " snapshot files";
  if (removed) std::cerr << " (" << removed << " incomplete removed)";
  std::cerr << ", " << exit_text(r.status) << ", " << std::fixed << std::setprecision(2)
            << r.seconds << " s\n"
            << "maple-vma record: check with: maple-vma replay " << shell_quote(dir.string())
            << " --check --quiet\n";
}

}  // namespace

int record_main(const std::vector<std::string> &args) {
  record_options o;
  if (std::optional<int> rc = parse_record_args(args, o)) return *rc;

  bool not_exec = false;
  std::string strace;
  if (const char *s = std::getenv("MAPLE_VMA_STRACE"); s && *s)
    strace = find_program(s, not_exec);
  else
    strace = find_program("strace", not_exec);
  if (strace.empty())
    return fail("strace not found (Debian: apt-get install strace; scripts/deps.sh installs it)");
  strace = fs::absolute(strace).string();

  std::string mods = module_dir();
  for (const char *m : {audit_module, preload_module})
    if (mods.empty() || !fs::exists(fs::path(mods) / m))
      return fail(std::string("snapshot module ") + m + " not found in '" + mods +
                  "' (build the maple-vma target, or set MAPLE_VMA_SNAP_DIR)");
  if (mods.find_first_of(": \t\n") != std::string::npos)
    return fail("the snapshot modules' directory '" + mods +
                "' holds ':' or a space (LD_AUDIT/LD_PRELOAD cannot name it)");

  if (find_program(o.command[0], not_exec).empty()) {
    std::cerr << "maple-vma record: " << o.command[0]
              << (not_exec ? ": permission denied\n" : ": command not found\n");
    return not_exec ? record_cannot_execute : record_not_found;
  }

  fs::path dir = o.out_dir.empty() ? default_out_dir(o.command[0]) : o.out_dir;
  if (std::optional<int> rc = prepare_out_dir(dir)) return *rc;

  std::vector<env_setting> env = {
      {"LD_AUDIT", mods + "/" + audit_module, false},
      {"LD_PRELOAD", mods + "/" + preload_module, false},
      {dir_variable, dir.string(), false},
  };
  for (env_setting &e : env) {
    const char *v = std::getenv(e.name.c_str());
    e.user_value_kept = e.name != dir_variable && v && *v;
  }
  std::vector<std::string> argv = strace_argv(strace, o, dir, env);

  std::optional<run_result> r = run_strace(argv, dir, o.quiet);
  if (!r) return fail(std::string("cannot start strace: ") + std::strerror(errno));
  if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == record_error &&
      !fs::exists(dir / "trace.strace"))
    return record_error;  // execv of strace failed (message printed)
  int removed = remove_incomplete(dir);
  write_cmd_txt(dir, o, argv, env);
  write_meta_txt(dir, strace, mods, o.seccomp, *r, removed);
  if (!trace_started(dir / "trace.strace"))
    return fail("strace did not start " + o.command[0] +
                " (see its message above; is ptrace permitted here?); nothing recorded in '" +
                dir.string() + "'");

  if (!o.quiet) print_summary(dir, *r, removed);
  return exit_status(r->status);
}

}  // namespace maple::vma_tool
