// `maple-vma record` end to end: records /bin/true, an exec chain, and
// record_probe (maps, mremap, a thread, fork, _exit) with the real strace
// and snapshot modules, then checks the files, the marker pairs, that no
// environment value reached any file, and that `maple-vma replay --check`
// matches every snapshot (given the trace or its directory); the progress
// bar on a terminal only. Skipped when strace is missing or ptrace is not
// permitted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "record.h"

#ifndef MAPLE_VMA_TOOL
#error "MAPLE_VMA_TOOL: the maple-vma executable"
#endif
#ifndef MAPLE_VMA_RECORD_PROBE
#error "MAPLE_VMA_RECORD_PROBE: the record_probe executable"
#endif

namespace {

namespace fs = std::filesystem;
using namespace maple::vma_tool;

std::string quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream o;
  o << f.rdbuf();
  return o.str();
}

// Runs a shell command; its exit status (128 + N for signal N).
int run(const std::string &cmd) {
  int st = std::system(cmd.c_str());
  if (st == -1) return -1;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

// Why recording cannot work here ("" if it can).
std::string cannot_record() {
  if (run("command -v strace >/dev/null 2>&1") != 0)
    return "strace is not installed (Debian: apt-get install strace)";
  if (run("strace -f -o /dev/null /bin/true >/dev/null 2>&1") != 0)
    return "ptrace is not permitted here (strace cannot trace /bin/true)";
  return {};
}

class Record : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = cannot_record(); !why.empty()) GTEST_SKIP() << why;
    std::string tmpl = (fs::temp_directory_path() / "maple-record-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    if (!tmp_.empty() && !HasFailure()) fs::remove_all(tmp_);
  }

  // maple-vma record -o tmp/name --quiet -- cmd; the exit status.
  int record(const std::string &name, const std::string &cmd) {
    return run(quote(MAPLE_VMA_TOOL) + " record -o " + quote((tmp_ / name).string()) +
               " --quiet -- " + cmd + " >" + quote((tmp_ / (name + ".out")).string()) + " 2>&1");
  }

  // maple-vma replay DIR/trace.strace --check --quiet (or replay DIR): the
  // exit status, and the output in `out`.
  int replay(const std::string &name, std::string &out, bool dir_form = false) {
    fs::path log = tmp_ / (name + ".replay");
    fs::path what = dir_form ? tmp_ / name : tmp_ / name / "trace.strace";
    int rc = run(quote(MAPLE_VMA_TOOL) + " replay " + quote(what.string()) + " --check --quiet >" +
                 quote(log.string()) + " 2>&1");
    out = slurp(log);
    return rc;
  }

  std::vector<std::string> maps_files(const std::string &name) {
    std::vector<std::string> v;
    for (const fs::directory_entry &e : fs::directory_iterator(tmp_ / name))
      if (e.path().filename().string().rfind("maps.", 0) == 0)
        v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }

  // Every marker munmap(0x6d617073P0, 0) is followed, in the same task, by
  // its P1 before the task's next marker; returns the pairs per kind.
  std::map<char, int> marker_pairs(const std::string &name) {
    std::map<char, int> pairs;
    std::map<std::string, char> open;  // tid -> kind of the open marker
    std::istringstream in(slurp(tmp_ / name / "trace.strace"));
    static const std::regex marker(R"(^(\d+)\s.*munmap\(0x6d617073([abce])([01]), 0)");
    std::smatch m;
    for (std::string line; std::getline(in, line);) {
      if (!std::regex_search(line, m, marker)) continue;
      std::string tid = m[1];
      char kind = m[2].str()[0];
      if (m[3] == "0") {
        EXPECT_EQ(open.count(tid), 0u) << "marker opened twice: " << line;
        open[tid] = kind;
      } else {
        EXPECT_EQ(open.count(tid) ? open[tid] : '?', kind) << "unpaired marker: " << line;
        open.erase(tid);
        ++pairs[kind];
      }
    }
    EXPECT_TRUE(open.empty()) << "a marker pair was never closed";
    return pairs;
  }

  // Files, marker pairs (one per snapshot file), and a replay that
  // matches every snapshot.
  void check_recording(const std::string &name) {
    for (const char *f : {"trace.strace", "cmd.txt", "meta.txt"})
      EXPECT_TRUE(fs::exists(tmp_ / name / f)) << f;
    std::vector<std::string> files = maps_files(name);
    std::map<char, int> want;
    for (const std::string &f : files) {
      EXPECT_GT(fs::file_size(tmp_ / name / f), 0u) << f;
      char kind = f[5] == 's' ? 'a' : f[5] == 'i' ? 'b' : f[5] == 'f' ? 'c' : 'e';
      ++want[kind];
    }
    EXPECT_EQ(marker_pairs(name), want);
    std::string out, dir_out;
    EXPECT_EQ(replay(name, out), 0) << out;
    for (const std::string &f : files)
      EXPECT_NE(out.find("\nMATCH " + f + " "), std::string::npos) << f << " not matched:\n" << out;
    // The directory form finds the same trace and maps files.
    EXPECT_EQ(replay(name, dir_out, true), 0) << dir_out;
    EXPECT_EQ(dir_out, out);
  }

  fs::path tmp_;
};

TEST_F(Record, TrueHasStartInitEnd) {
  ASSERT_EQ(record("true", "/bin/true"), 0) << slurp(tmp_ / "true.out");
  std::vector<std::string> files = maps_files("true");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].rfind("maps.end.", 0), 0u);
  EXPECT_EQ(files[1].rfind("maps.init.", 0), 0u);
  EXPECT_EQ(files[2].rfind("maps.start.", 0), 0u);
  check_recording("true");
  std::string meta = slurp(tmp_ / "true" / "meta.txt");
  for (const char *key :
       {"uname_r: ", "/proc/sys/vm/max_map_count: ", "/proc/sys/kernel/randomize_va_space: ",
        "/proc/sys/vm/overcommit_memory: ", "/sys/kernel/mm/transparent_hugepage/enabled: ",
        "strace: ", "exit_status: 0\n"})
    EXPECT_NE(meta.find(key), std::string::npos) << key;
}

TEST_F(Record, ProbeForksAndMatchesAndLeaksNoEnvironment) {
  // A value that must appear in no file of the recording.
  std::string secret = "maple-secret-" + std::to_string(::getpid()) + "-" +
                       std::to_string(std::random_device{}()) + "-value";
  ::setenv("MAPLE_RECORD_TEST_SECRET", secret.c_str(), 1);
  int rc = record("probe", quote(MAPLE_VMA_RECORD_PROBE));
  ::unsetenv("MAPLE_RECORD_TEST_SECRET");
  ASSERT_EQ(rc, 3) << slurp(tmp_ / "probe.out");
  std::vector<std::string> files = maps_files("probe");
  // Parent: start, init, end; child: fork, end.
  ASSERT_EQ(files.size(), 5u);
  int forks = 0, ends = 0;
  for (const std::string &f : files) {
    forks += f.rfind("maps.fork.", 0) == 0;
    ends += f.rfind("maps.end.", 0) == 0;
  }
  EXPECT_EQ(forks, 1);
  EXPECT_EQ(ends, 2);
  check_recording("probe");
  for (const fs::directory_entry &e : fs::directory_iterator(tmp_ / "probe"))
    EXPECT_EQ(slurp(e.path()).find(secret), std::string::npos)
        << e.path() << " holds an environment value";
  std::string cmd = slurp(tmp_ / "probe" / "cmd.txt");
  EXPECT_NE(cmd.find("environment added: LD_AUDIT"), std::string::npos) << cmd;
  EXPECT_EQ(cmd.find("MAPLE_RECORD_TEST_SECRET"), std::string::npos) << cmd;
}

TEST_F(Record, ExecChainNumbersImages) {
  // dash exec's /bin/true in the same pid: maps.*.PID, then maps.*.PID.2.
  ASSERT_EQ(record("exec", "/bin/sh -c 'exec /bin/true'"), 0) << slurp(tmp_ / "exec.out");
  std::vector<std::string> files = maps_files("exec");
  int second = 0;
  for (const std::string &f : files)
    second += f.size() > 2 && f.compare(f.size() - 2, 2, ".2") == 0;
  EXPECT_EQ(second, 3) << "start, init and end of the second image";
  check_recording("exec");
}

TEST_F(Record, ExitStatuses) {
  EXPECT_EQ(record("signal", "/bin/sh -c 'kill -TERM $$'"), 128 + SIGTERM);
  EXPECT_EQ(record("status", "/bin/sh -c 'exit 42'"), 42);
  EXPECT_EQ(record("missing", "maple-no-such-command-xyz"), record_not_found);
  // A directory that holds a recording is refused.
  EXPECT_EQ(record("status", "/bin/true"), record_error);
  EXPECT_NE(slurp(tmp_ / "status.out").find("already holds a recording"), std::string::npos);
}

// Runs argv with stderr on a pseudo-terminal (stdout to /dev/null); what
// the terminal got. Empty if there is no pty.
std::string stderr_on_pty(const std::vector<std::string> &argv, int &status) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) return {};
  int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  termios t{};
  if (slave < 0 || ::tcgetattr(slave, &t) != 0) return {};
  ::cfmakeraw(&t);  // no output processing: read back what was written
  ::tcsetattr(slave, TCSANOW, &t);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(slave, 2);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    std::vector<char *> a;
    for (const std::string &x : argv) a.push_back(const_cast<char *>(x.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  ::close(slave);
  std::string out;
  char buf[4096];
  for (;;) {  // until every writer has closed the terminal (EIO)
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  ::close(master);
  ::waitpid(pid, &status, 0);
  return out.empty() ? std::string("(nothing)") : out;
}

// The progress bar (time, trace bytes, snapshots) is drawn on a terminal
// for a recording longer than a second, and cleared; never with --quiet,
// never when stderr is not a terminal.
TEST_F(Record, ProgressBarOnATerminalOnly) {
  auto argv = [&](const std::string &name, bool quiet) {
    std::vector<std::string> v = {MAPLE_VMA_TOOL, "record", "-o", (tmp_ / name).string()};
    if (quiet) v.push_back("--quiet");
    for (const char *a : {"--", "/bin/sleep", "1.5"}) v.push_back(a);
    return v;
  };
  int status = 0;
  std::string out = stderr_on_pty(argv("tty", false), status);
  if (out.empty()) GTEST_SKIP() << "no pseudo-terminal";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_NE(out.find("\rrecord "), std::string::npos) << out;
  EXPECT_NE(out.find(" bytes/s  0:0"), std::string::npos) << out;
  EXPECT_NE(out.find(" snapshots\x1b[K"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\x1b[Kmaple-vma record: "), std::string::npos) << "cleared:\n" << out;

  out = stderr_on_pty(argv("quiet", true), status);
  EXPECT_EQ(out, "(nothing)");

  std::vector<std::string> a = argv("file", false);
  ASSERT_EQ(run(quote(a[0]) + " record -o " + quote(a[3]) + " -- /bin/sleep 1.5 2>" +
                quote((tmp_ / "file.err").string())),
            0);
  std::string err = slurp(tmp_ / "file.err");
  EXPECT_EQ(err.find('\r'), std::string::npos) << err;
  EXPECT_NE(err.find("maple-vma record: "), std::string::npos) << err;
}

TEST(RecordList, TracesTheVmaAndFileCalls) {
  const std::vector<std::string> &calls = recorded_syscalls();
  for (const char *c : {"execve", "mmap", "munmap", "mprotect", "mremap", "brk", "madvise",
                        "clone3", "vfork", "exit_group", "openat", "close", "dup2", "fcntl",
                        "unlink", "renameat2", "memfd_create", "ftruncate", "close_range"})
    EXPECT_NE(std::find(calls.begin(), calls.end(), c), calls.end()) << c;
}

}  // namespace
