// The replayer of maple-vma on small hand-written traces: seeding from
// maps.start at the start marker, threads and forks, markers, ignore rules,
// the diff; file lifetime (fd table, unlink, rename), the verdicts
// (MATCH / UNDETERMINED / MISMATCH) and exit statuses; concurrent calls
// applied in an order their results allow; trace directories; the progress
// bar.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "progress.h"
#include "replay.h"
#include "strace_parser.h"
#include "trace_input.h"

namespace {

using namespace maple::vma_tool;

const char *start_maps =
    "555555554000-555555555000 r--p 00000000 fe:00 100                        /bin/prog\n"
    "555555555000-555555556000 r-xp 00001000 fe:00 100                        /bin/prog\n"
    "555555556000-555555557000 rw-p 00002000 fe:00 100                        /bin/prog\n"
    "7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffff7fc5000-7ffff7fc7000 r-xp 00000000 00:00 0                          [vdso]\n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

struct run_result {
  std::unique_ptr<replayer> r;
  parsed_trace t;
};

run_result run(const std::string &trace, snapshot_set s) {
  run_result out;
  out.t = parse_trace(trace);
  EXPECT_TRUE(out.t.errors.empty()) << out.t.errors[0].reason << " at " << out.t.errors[0].line;
  replay_options o;
  o.check = true;
  out.r = std::make_unique<replayer>(std::move(s), o);
  out.r->run(out.t.events);
  for (const divergence &d : out.r->divergences()) ADD_FAILURE() << d.line << ": " << d.what;
  return out;
}

std::string with(const std::string &base, const std::string &extra) {
  // Inserts lines (sorted by address) before [vvar].
  std::string s = base;
  s.insert(s.find("7ffff7fc1000"), extra);
  return s;
}

const char *anon8k = "7ffff7fbf000-7ffff7fc1000 rw-p 00000000 00:00 0 \n";

TEST(Replay, SeedsAtTheStartMarkerAndMatches) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps, anon8k));
  std::string trace =
      "100 00:00:00.000001 execve(\"/bin/prog\", [\"prog\"], 0x1 /* 1 var */) = 0\n"
      "100 00:00:00.000002 brk(NULL) = 0x555555560000\n"
      "100 00:00:00.000003 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000004 munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000005 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
      "0) "
      "= 0x7ffff7fc0000\n"
      "100 00:00:00.000006 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
      "0) "
      "= 0x7ffff7fbf000\n"
      "100 00:00:00.000007 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 "
      "ENOMEM "
      "(Cannot allocate memory)\n"
      "100 00:00:00.000008 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000009 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000010 exit_group(0) = ?\n"
      "100 00:00:00.000011 +++ exited with 0 +++\n";
  run_result rr = run(trace, std::move(s));
  ASSERT_EQ(rr.r->comparisons().size(), 2u);
  for (const comparison &c : rr.r->comparisons())
    EXPECT_TRUE(c.matched) << c.file << "\n" << c.diff;
  EXPECT_TRUE(rr.r->uncompared().empty());
  const mm_record *m = rr.r->mms().back().get();
  EXPECT_EQ(m->state, "exited with 0");
  EXPECT_EQ(m->as->get_layout().start_brk, 0x555555560000u);
  EXPECT_EQ(rr.r->stats().failed.at("mmap"), 1u);
}

TEST(Replay, ThreadsShareForkCopiesAndMarkersUseTheTgid) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  std::string parent_end = with(start_maps, anon8k);
  s.add("maps.end.100", parent_end);
  // The child: a copy at the fork, minus its own munmap.
  s.add("maps.fork.102", parent_end);
  s.add("maps.end.102", with(start_maps, "7ffff7fbf000-7ffff7fc0000 rw-p 00000000 00:00 0 \n"));
  std::string trace =
      "100 00:00:00.000001 execve(\"/bin/prog\", [\"prog\"], 0x1 /* 1 var */) = 0\n"
      "100 00:00:00.000003 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000004 munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000005 clone3({flags=CLONE_VM|CLONE_THREAD, stack=0x1000} => "
      "{parent_tid=[101]}, 88) = 101\n"
      // The thread maps for the whole process.
      "101 00:00:00.000006 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
      "0) "
      "= 0x7ffff7fbf000\n"
      "101 00:00:00.000007 exit(0) = ?\n"
      "101 00:00:00.000008 +++ exited with 0 +++\n"
      "100 00:00:00.000009 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished "
      "...>\n"
      // The child runs before the parent's clone line completes.
      "102 00:00:00.000010 munmap(0x6d617073c0, 0) = -1 EINVAL (Invalid argument)\n"
      "102 00:00:00.000011 munmap(0x6d617073c1, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000012 <... clone resumed>, child_tidptr=0x7f00) = 102\n"
      "102 00:00:00.000013 munmap(0x7ffff7fc0000, 4096) = 0\n"
      "102 00:00:00.000014 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
      "102 00:00:00.000015 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n"
      "102 00:00:00.000016 +++ killed by SIGPIPE +++\n"
      "100 00:00:00.000017 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000018 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n";
  run_result rr = run(trace, std::move(s));
  ASSERT_EQ(rr.r->comparisons().size(), 4u);
  for (const comparison &c : rr.r->comparisons())
    EXPECT_TRUE(c.matched) << c.file << "\n" << c.diff;
  bool found_child = false;
  for (const auto &m : rr.r->mms()) {
    if (m->pid == 102) {
      found_child = true;
      EXPECT_EQ(m->state, "killed by SIGPIPE");
      EXPECT_EQ(m->label, "fork of 100");
    }
  }
  EXPECT_TRUE(found_child);
}

TEST(Replay, VforkChildSharesTheParentsMmUntilExecve) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.start.101", start_maps);
  s.add("maps.end.100", with(start_maps, anon8k));
  std::string trace =
      "100 00:00:00.000001 execve(\"/bin/prog\", [\"prog\"], 0x1) = 0\n"
      "100 00:00:00.000003 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000004 munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000005 vfork( <unfinished ...>\n"
      // Before its exec, the child's calls change the parent's mm.
      "101 00:00:00.000006 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
      "0) "
      "= 0x7ffff7fbf000\n"
      "101 00:00:00.000007 execve(\"/usr/bin/x\", [\"x\"], 0x1) = -1 ENOENT (No such file or "
      "directory)\n"
      "101 00:00:00.000008 execve(\"/bin/prog\", [\"prog\"], 0x1) = 0\n"
      "100 00:00:00.000009 <... vfork resumed>) = 101\n"
      "101 00:00:00.000010 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
      "101 00:00:00.000011 munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000017 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000018 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n";
  run_result rr = run(trace, std::move(s));
  ASSERT_EQ(rr.r->comparisons().size(), 3u);
  for (const comparison &c : rr.r->comparisons())
    EXPECT_TRUE(c.matched) << c.file << "\n" << c.diff;
}

TEST(Replay, FdTableGivesFileIdentity) {
  // Same fd and path: one open file (the two halves merge); another fd:
  // another open file (no merge, two lines).
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100",
        with(start_maps,
             "7ffff7f00000-7ffff7f02000 r--p 00000000 fe:00 7                          /lib/a\n"
             "7ffff7f02000-7ffff7f03000 r--p 00002000 fe:00 7                          /lib/a\n"));
  std::string trace =
      "100 00:00:00.000001 execve(\"/bin/prog\", [\"prog\"], 0x1) = 0\n"
      "100 00:00:00.000003 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000004 munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000005 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</lib/a>, 0) = "
      "0x7ffff7f00000\n"
      "100 00:00:00.000006 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</lib/a>, 0x1000) = "
      "0x7ffff7f01000\n"
      "100 00:00:00.000007 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4</lib/a>, 0x2000) = "
      "0x7ffff7f02000\n"
      "100 00:00:00.000017 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
      "100 00:00:00.000018 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n";
  run_result rr = run(trace, std::move(s));
  ASSERT_EQ(rr.r->comparisons().size(), 2u);
  for (const comparison &c : rr.r->comparisons())
    EXPECT_TRUE(c.matched) << c.file << "\n" << c.diff;
}

TEST(Replay, ModelRefusalIsADivergence) {
  std::string trace =
      "100 00:00:00.000005 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x10000\n"
      "100 00:00:00.000006 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x10000\n";
  parsed_trace t = parse_trace(trace);
  replayer r(snapshot_set{}, replay_options{});
  r.run(t.events);
  ASSERT_EQ(r.divergences().size(), 1u);
  EXPECT_EQ(r.divergences()[0].line, 2u);
  EXPECT_NE(r.divergences()[0].what.find("File exists"), std::string::npos)
      << r.divergences()[0].what;
}

TEST(Replay, SnapshotNames) {
  EXPECT_EQ(snapshot_name('a', 9661, 1), "maps.start.9661");
  EXPECT_EQ(snapshot_name('b', 9661, 2), "maps.init.9661.2");
  EXPECT_EQ(snapshot_name('c', 9671, 0), "maps.fork.9671");
  EXPECT_EQ(snapshot_name('e', 9671, 0), "maps.end.9671");
}

TEST(CompareMaps, IgnoresStackGrowthAndShmemInodesOnly) {
  std::string kernel =
      "7f0133ea9000-7f0133eb1000 rw-s 00000000 00:01 1028                       /dev/zero "
      "(deleted)\n"
      "7ffdab322000-7ffdab34a000 rw-p 00000000 00:00 0                          [stack]\n";
  std::string model =
      "7f0133ea9000-7f0133eb1000 rw-s 00000000 00:01 1                          /dev/zero "
      "(deleted)\n"
      "7ffdab329000-7ffdab34a000 rw-p 00000000 00:00 0                          [stack]\n";
  std::vector<std::string> ignored;
  EXPECT_EQ(compare_maps(kernel, model, "k", ignored), "");
  ASSERT_EQ(ignored.size(), 2u);
  EXPECT_NE(ignored[0].find("shmem inode"), std::string::npos);
  EXPECT_NE(ignored[1].find("+7 pages"), std::string::npos);
  // A stack that is *larger* in the model is a real difference.
  ignored.clear();
  EXPECT_NE(compare_maps(model, kernel, "k", ignored), "");
}

TEST(UnifiedDiff, Hunks) {
  std::vector<std::string> a, b;
  for (int i = 1; i <= 20; ++i) a.push_back(std::to_string(i));
  b = a;
  b[4] = std::string(1, 'x');  // (GCC 12 -Wrestrict false positive on = "x")
  b.push_back("21");
  EXPECT_EQ(unified_diff(a, b, "a", "b"),
            "--- a\n+++ b\n"
            "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+x\n 6\n 7\n 8\n"
            "@@ -18,3 +18,4 @@\n 18\n 19\n 20\n+21\n");
  EXPECT_EQ(unified_diff(a, a, "a", "b"), "");
  EXPECT_EQ(unified_diff({}, {"only"}, "a", "b"), "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+only\n");
}

// ---- calls the model does not replay ----

const char *markers_start =
    "100 00:00:00.000001 execve(\"/bin/prog\", [\"prog\"], 0x1) = 0\n"
    "100 00:00:00.000002 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
    "100 00:00:00.000003 munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n";
const char *markers_end =
    "100 00:00:00.000098 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
    "100 00:00:00.000099 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n";

TEST(Replay, PrctlOptionsOtherThanSetVmaAreAcceptedAndCounted) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", start_maps);
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000010 prctl(PR_SET_NAME, \"C1 CompilerThre\") = 0\n"
                      "100 00:00:00.000011 prctl(PR_GET_NAME, \"C1 CompilerThre\") = 0\n"
                      "100 00:00:00.000012 prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) = 0\n"
                      "100 00:00:00.000013 prctl(PR_CAPBSET_READ, CAP_MAC_OVERRIDE) = 1\n"
                      "100 00:00:00.000014 prctl(PR_SET_PDEATHSIG, SIGKILL) = 0\n"
                      "100 00:00:00.000015 prctl(0x12345 /* PR_??? */, 0x1, 0, 0, 0) = 0\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  EXPECT_TRUE(rr.r->divergences().empty());
  EXPECT_EQ(rr.r->stats().no_vma_change.at("prctl"), 6u);
  EXPECT_EQ(rr.r->stats().calls.at("prctl"), 6u);
  for (const comparison &c : rr.r->comparisons()) EXPECT_TRUE(c.matched) << c.diff;
}

TEST(Replay, FailedCallsOfAnyKindChangeNothing) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", start_maps);
  std::string trace =
      std::string(markers_start) +
      "100 00:00:00.000010 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x1000, 4096, \"x\") = -1 "
      "EINVAL (Invalid argument)\n"
      "100 00:00:00.000011 mbind(0x7ffff7fbf000, 4096, MPOL_BIND, [0x1], 2, 0) = -1 ENOSYS "
      "(Function not implemented)\n"
      "100 00:00:00.000012 mmap(NULL, 1099511627776, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) "
      "= -1 ENOMEM (Cannot allocate memory)\n"
      "100 00:00:00.000013 prctl(PR_SET_NAME, NULL) = -1 EFAULT (Bad address)\n"
      "100 00:00:00.000014 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ? "
      "ERESTARTNOINTR (To be restarted)\n" +
      markers_end;
  run_result rr = run(trace, std::move(s));
  EXPECT_TRUE(rr.r->divergences().empty());
  EXPECT_EQ(rr.r->stats().failed.at("prctl"), 2u);
  EXPECT_EQ(rr.r->stats().failed.at("mbind"), 1u);
  EXPECT_EQ(rr.r->stats().failed.at("mmap"), 1u);
  EXPECT_EQ(rr.r->stats().restarted.at("mmap"), 1u);
  EXPECT_EQ(rr.r->stats().applied, 0u);
}

TEST(Replay, NotModelledCallsAreCountedPerKindNotDivergences) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  std::string trace =
      std::string(markers_start) +
      "100 00:00:00.000010 mbind(0x7ffff7fbf000, 4096, MPOL_BIND, [0x1], 2, 0) = 0\n"
      "100 00:00:00.000011 mbind(0x7ffff7fbf000, 4096, MPOL_BIND, [0x1], 2, 0) = 0\n"
      "100 00:00:00.000012 mlockall(MCL_CURRENT) = 0\n"
      "100 00:00:00.000013 mbind(0x7ffff7fbf000, 4096, MPOL_BIND, [0x1], 2, 0) = 0\n";
  run_result rr = run(trace, std::move(s));
  EXPECT_TRUE(rr.r->divergences().empty());
  EXPECT_EQ(rr.r->stats().not_modelled.at("mbind"), 3u);
  EXPECT_EQ(rr.r->stats().not_modelled.at("mlockall"), 1u);
}

// ---- new line forms, end to end ----

TEST(Replay, DeletedMemfdMapsUnderTheKernelsName) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100",
        with(start_maps,
             "7ffff7f00000-7ffff7f10000 rw-s 00000000 00:01 34                         "
             "/memfd:pyvma-memfd (deleted)\n"));
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000010 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_SHARED, "
                      "3</memfd:pyvma-memfd>(deleted), 0 <unfinished ...>\n"
                      "100 00:00:00.000011 <... mmap resumed>) = 0x7ffff7f00000\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  ASSERT_EQ(rr.r->comparisons().size(), 2u);
  for (const comparison &c : rr.r->comparisons())
    EXPECT_TRUE(c.matched) << c.file << "\n" << c.diff;
}

TEST(Replay, TraceWithoutPidColumnGetsTheRootsPid) {
  // strace -f to stderr: the first task is shown without a PID until it has
  // a child; the snapshots are named by its PID.
  snapshot_set s;
  s.add("maps.start.1234", start_maps);
  s.add("maps.end.1234", with(start_maps, anon8k));
  s.add("maps.fork.1235", start_maps);
  std::string trace =
      "execve(\"/bin/prog\", [\"prog\"], 0x1 /* 1 var */) = 0\n"
      "munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
      "munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n"
      "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished "
      "...>\n"
      "[pid  1235] munmap(0x6d617073c0, 0) = -1 EINVAL (Invalid argument)\n"
      "[pid  1235] munmap(0x6d617073c1, 0) = -1 EINVAL (Invalid argument)\n"
      "[pid  1234] <... clone resumed>, child_tidptr=0x7f00) = 1235\n"
      "[pid  1235] +++ exited with 0 +++\n"
      "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1235, si_uid=0} ---\n"
      "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fbf000\n"
      "munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
      "munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n"
      "exit_group(0) = ?\n"
      "+++ exited with 0 +++\n";
  run_result rr = run(trace, std::move(s));
  ASSERT_EQ(rr.r->comparisons().size(), 3u);
  for (const comparison &c : rr.r->comparisons())
    EXPECT_TRUE(c.matched) << c.file << "\n" << c.diff;
  EXPECT_TRUE(rr.r->uncompared().empty());
}

// ---- file lifetime, undetermined differences ----

// The comparison of `file`, which must exist.
const comparison &cmp(const run_result &rr, const std::string &file) {
  for (const comparison &c : rr.r->comparisons())
    if (c.file == file) return c;
  ADD_FAILURE() << "no comparison of " << file;
  static const comparison none;
  return none;
}

const char *shm_deleted =
    "7ffff7f00000-7ffff7f10000 rw-s 00000000 00:1a 9                          /dev/shm/psm_x "
    "(deleted)\n";

// A recorder's trace: the file is created, mapped, unlinked while mapped and
// closed; the kernel prints it " (deleted)" with its device and inode.
TEST(ReplayFiles, UnlinkWhileMappedPrintsDeletedAndMatches) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps, shm_deleted));
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000010 openat(AT_FDCWD</tmp>, \"/dev/shm/psm_x\", "
                      "O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600) = 3</dev/shm/psm_x>\n"
                      "100 00:00:00.000011 ftruncate(3</dev/shm/psm_x>, 65536) = 0\n"
                      "100 00:00:00.000012 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_SHARED, "
                      "3</dev/shm/psm_x>, 0) = 0x7ffff7f00000\n"
                      "100 00:00:00.000013 unlink(\"/dev/shm/psm_x\") = 0\n"
                      "100 00:00:00.000014 close(3</dev/shm/psm_x (deleted)>) = 0\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  EXPECT_TRUE(rr.r->file_lifetime_traced());
  const comparison &c = cmp(rr, "maps.end.100");
  EXPECT_EQ(c.result, verdict::match) << c.diff;
  EXPECT_EQ(exit_status_for(overall_verdict(*rr.r)), exit_ok);
  EXPECT_EQ(rr.r->stats().file_calls.at("unlink"), 1u);
}

// The same without the file calls (a plain strace log): the unlink is not
// in the trace, so the ` (deleted)` difference is undetermined, and the
// check exits 3. Without the rule it was a mismatch.
TEST(ReplayFiles, PlainTraceWithoutUnlinkIsUndetermined) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps, shm_deleted));
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000012 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_SHARED, "
                      "3</dev/shm/psm_x>, 0) = 0x7ffff7f00000\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  EXPECT_FALSE(rr.r->file_lifetime_traced());
  const comparison &c = cmp(rr, "maps.end.100");
  EXPECT_EQ(c.result, verdict::undetermined) << c.diff;
  ASSERT_EQ(c.undetermined.size(), 1u);
  EXPECT_EQ(c.undetermined[0], "file lifetime not in the trace: /dev/shm/psm_x");
  EXPECT_EQ(overall_verdict(*rr.r), verdict::undetermined);
  EXPECT_EQ(exit_status_for(overall_verdict(*rr.r)), exit_undetermined);
  EXPECT_EQ(exit_undetermined, 3);
}

// A recorder's trace that shows the file's lifetime but no unlink of it:
// the kernel's ` (deleted)` is then a real difference.
TEST(ReplayFiles, RecordedTraceWithoutTheUnlinkIsAMismatch) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps, shm_deleted));
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000010 openat(AT_FDCWD</tmp>, \"/dev/shm/psm_x\", O_RDWR) = "
                      "3</dev/shm/psm_x>\n"
                      "100 00:00:00.000012 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_SHARED, "
                      "3</dev/shm/psm_x>, 0) = 0x7ffff7f00000\n"
                      "100 00:00:00.000014 close(3</dev/shm/psm_x>) = 0\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  EXPECT_EQ(cmp(rr, "maps.end.100").result, verdict::mismatch);
  EXPECT_EQ(exit_status_for(overall_verdict(*rr.r)), exit_mismatch);
}

// strace shows " (deleted)" on a later call of the same fd: the file was
// deleted in between, and so is the mapping made before.
TEST(ReplayFiles, DeletedDecorationOnALaterMmapDeletesTheOpenFile) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps,
                             "7ffff7f00000-7ffff7f02000 rw-s 00000000 00:1a 9                   "
                             "       /dev/shm/psm_x (deleted)\n"));
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000012 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, "
                      "3</dev/shm/psm_x>, 0) = 0x7ffff7f00000\n"
                      "100 00:00:00.000013 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, "
                      "3</dev/shm/psm_x>(deleted), 0x1000) = 0x7ffff7f01000\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  const comparison &c = cmp(rr, "maps.end.100");
  EXPECT_EQ(c.result, verdict::match) << c.diff;
}

// rename(a, b) over a mapped b deletes b; the mapped a prints as b.
TEST(ReplayFiles, RenameMovesOneNameAndDeletesTheOther) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100",
        with(start_maps,
             "7ffff7f00000-7ffff7f01000 r--s 00000000 fe:00 11                         /w/b\n"
             "7ffff7f01000-7ffff7f02000 r--s 00000000 fe:00 12                         /w/b "
             "(deleted)\n"));
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000010 openat(AT_FDCWD</w>, \"a\", O_RDONLY) = 3</w/a>\n"
                      "100 00:00:00.000011 openat(AT_FDCWD</w>, \"b\", O_RDONLY) = 4</w/b>\n"
                      "100 00:00:00.000012 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</w/a>, 0) = "
                      "0x7ffff7f00000\n"
                      "100 00:00:00.000013 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 4</w/b>, 0) = "
                      "0x7ffff7f01000\n"
                      "100 00:00:00.000014 rename(\"a\", \"b\") = 0\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  const comparison &c = cmp(rr, "maps.end.100");
  EXPECT_EQ(c.result, verdict::match) << c.diff;
}

// dup and F_DUPFD share the open file description (its VMAs merge), close
// drops only the fd, a new open is a new description (no merge), fork copies
// the table with the same descriptions, exec closes the close-on-exec fds.
TEST(ReplayFiles, FdTableThroughDupCloseForkAndExec) {
  auto l = [](const std::string &range, const std::string &offset) {
    return range + " r--p " + offset + " fe:00 7                          /lib/a\n";
  };
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps, l("7ffff7f00000-7ffff7f02000", "00000000") +
                                             l("7ffff7f02000-7ffff7f03000", "00002000")));
  // The child: the inherited fd 4 maps page 2 again, and merges (the same
  // open file as the first two pages).
  s.add("maps.end.101", with(start_maps, l("7ffff7f00000-7ffff7f03000", "00000000")));
  std::string trace =
      std::string(markers_start) +
      "100 00:00:00.000010 openat(AT_FDCWD</>, \"/lib/a\", O_RDONLY|O_CLOEXEC) = 3</lib/a>\n"
      "100 00:00:00.000011 dup(3</lib/a>) = 4</lib/a>\n"
      "100 00:00:00.000012 fcntl(3</lib/a>, F_DUPFD_CLOEXEC, 0) = 5</lib/a>\n"
      "100 00:00:00.000013 close(3</lib/a>) = 0\n"
      "100 00:00:00.000014 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4</lib/a>, 0) = "
      "0x7ffff7f00000\n"
      "100 00:00:00.000015 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 5</lib/a>, 0x1000) = "
      "0x7ffff7f01000\n"
      "100 00:00:00.000016 openat(AT_FDCWD</>, \"/lib/a\", O_RDONLY|O_CLOEXEC) = 3</lib/a>\n"
      "100 00:00:00.000017 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</lib/a>, 0x2000) = "
      "0x7ffff7f02000\n"
      "100 00:00:00.000018 clone(child_stack=NULL, flags=SIGCHLD) = 101\n"
      "101 00:00:00.000019 munmap(0x7ffff7f02000, 4096) = 0\n"
      "101 00:00:00.000020 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 4</lib/a>, 0x2000) = "
      "0x7ffff7f02000\n"
      "101 00:00:00.000021 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
      "101 00:00:00.000022 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n"
      "101 00:00:00.000023 execve(\"/bin/prog\", [\"prog\"], 0x1) = 0\n" +
      markers_end;
  run_result rr = run(trace, std::move(s));
  for (const comparison &c : rr.r->comparisons())
    EXPECT_EQ(c.result, verdict::match) << c.file << "\n" << c.diff;
  std::vector<fd_view> parent = rr.r->fds(100), child = rr.r->fds(101);
  ASSERT_EQ(parent.size(), 3u);  // 3 (the second open), 4, 5
  EXPECT_NE(parent[0].file, parent[1].file);
  EXPECT_EQ(parent[1].file, parent[2].file);
  EXPECT_FALSE(parent[1].cloexec);
  EXPECT_TRUE(parent[2].cloexec);
  ASSERT_EQ(child.size(), 1u);  // exec closed 3 and 5
  EXPECT_EQ(child[0].fd, 4u);
  EXPECT_EQ(child[0].file, parent[1].file);
}

// CLONE_FILES shares the table: the child's close is the parent's.
TEST(ReplayFiles, CloneFilesSharesTheTable) {
  std::string trace =
      "100 00:00:00.000010 openat(AT_FDCWD</>, \"/lib/a\", O_RDONLY) = 3</lib/a>\n"
      "100 00:00:00.000011 clone(child_stack=NULL, flags=CLONE_FILES|SIGCHLD) = 101\n"
      "101 00:00:00.000012 close(3</lib/a>) = 0\n"
      "100 00:00:00.000013 clone(child_stack=NULL, flags=SIGCHLD) = 102\n"
      "101 00:00:00.000014 openat(AT_FDCWD</>, \"/lib/b\", O_RDONLY) = 3</lib/b>\n";
  parsed_trace t = parse_trace(trace);
  replayer r(snapshot_set{}, replay_options{});
  r.run(t.events);
  ASSERT_EQ(r.fds(100).size(), 1u);
  EXPECT_EQ(r.fds(100)[0].path, "/lib/b");
  EXPECT_TRUE(r.fds(102).empty());  // copied when fd 3 was closed
}

// Two written anonymous VMAs with a gap; a third mapping fills it. With
// the mmap touch rule the model keeps prev and next apart (their anon_vmas
// differ); the kernel, whose VMAs were never written, merged all three.
// Faults are not traced: undetermined, naming the VMAs.
TEST(ReplayUndetermined, AnonMergeDecidedByUnwrittenVmas) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps, "7ffff7f00000-7ffff7f03000 rw-p 00000000 00:00 0 \n"));
  auto anon = [](const char *at) {
    return std::string(
               "100 00:00:00.000010 mmap(NULL, 4096, PROT_READ|PROT_WRITE, "
               "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ") +
           at + "\n";
  };
  std::string trace = std::string(markers_start) + anon("0x7ffff7f00000") + anon("0x7ffff7f02000") +
                      anon("0x7ffff7f01000") + markers_end;
  run_result rr = run(trace, std::move(s));
  const comparison &c = cmp(rr, "maps.end.100");
  EXPECT_EQ(c.result, verdict::undetermined) << c.diff;
  ASSERT_EQ(c.undetermined.size(), 1u);
  EXPECT_EQ(c.undetermined[0],
            "whether 7ffff7f00000-7ffff7f02000 and 7ffff7f02000-7ffff7f03000 hold anonymous pages "
            "decides their merge (the model kept them apart, the kernel merged them); faults are "
            "not traced");
  EXPECT_EQ(exit_status_for(overall_verdict(*rr.r)), exit_undetermined);
}

// A boundary that no anon_vma can explain: two read-only shared mappings
// of one open file at contiguous offsets merge in the model; the kernel
// shows them apart. Shared VMAs have no anon_vma: a mismatch.
TEST(ReplayUndetermined, BoundaryBetweenSharedFileVmasIsAMismatch) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100",
        with(start_maps,
             "7ffff7f00000-7ffff7f01000 r--s 00000000 fe:00 7                          /lib/a\n"
             "7ffff7f01000-7ffff7f02000 r--s 00001000 fe:00 7                          /lib/a\n"));
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000012 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</lib/a>, 0) "
                      "= 0x7ffff7f00000\n"
                      "100 00:00:00.000013 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</lib/a>, "
                      "0x1000) = 0x7ffff7f01000\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  EXPECT_EQ(cmp(rr, "maps.end.100").result, verdict::mismatch);
}

// Private file VMAs: a boundary between read-only ones that were never
// writable is a mismatch (no write can have given them anon_vmas); a
// different end is a mismatch whatever the VMAs.
TEST(ReplayUndetermined, RealBoundaryDifferencesOnPrivateFileVmasAreMismatches) {
  const std::string two =
      "7ffff7f00000-7ffff7f01000 r--p 00000000 fe:00 7                          /lib/a\n"
      "7ffff7f01000-7ffff7f02000 r--p 00001000 fe:00 7                          /lib/a\n";
  const std::string shorter =
      "7ffff7f00000-7ffff7f01000 r--p 00000000 fe:00 7                          /lib/a\n";
  for (const std::string &kernel : {two, shorter}) {
    snapshot_set s;
    s.add("maps.start.100", start_maps);
    s.add("maps.end.100", with(start_maps, kernel));
    std::string trace = std::string(markers_start) +
                        "100 00:00:00.000012 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3</lib/a>, "
                        "0) = 0x7ffff7f00000\n" +
                        markers_end;
    run_result rr = run(trace, std::move(s));
    EXPECT_EQ(cmp(rr, "maps.end.100").result, verdict::mismatch) << kernel;
  }
}

// The same boundary on a writable private file mapping (a data segment) is
// the anon_vma question again: undetermined.
TEST(ReplayUndetermined, BoundaryInAWritablePrivateFileMapping) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100",
        with(start_maps,
             "7ffff7f00000-7ffff7f01000 rw-p 00000000 fe:00 7                          /lib/a\n"
             "7ffff7f01000-7ffff7f02000 rw-p 00001000 fe:00 7                          /lib/a\n"));
  std::string trace = std::string(markers_start) +
                      "100 00:00:00.000012 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE, "
                      "3</lib/a>, 0) = 0x7ffff7f00000\n" +
                      markers_end;
  run_result rr = run(trace, std::move(s));
  const comparison &c = cmp(rr, "maps.end.100");
  EXPECT_EQ(c.result, verdict::undetermined) << c.diff;
  ASSERT_EQ(c.undetermined.size(), 1u);
  EXPECT_NE(c.undetermined[0].find("the kernel kept them apart"), std::string::npos);
}

// MAP_POPULATE on a private writable mapping writes it (a known write, not
// a guess): with no touch rule the model still keeps the neighbours apart.
TEST(ReplayUndetermined, PopulatedMappingsAreWritten) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps,
                             "7ffff7f00000-7ffff7f02000 rw-p 00000000 00:00 0 \n"
                             "7ffff7f02000-7ffff7f03000 rw-p 00000000 00:00 0 \n"));
  auto anon = [](const char *flags, const char *at) {
    return std::string("100 00:00:00.000010 mmap(NULL, 4096, PROT_READ|PROT_WRITE, ") + flags +
           ", -1, 0) = " + at + "\n";
  };
  std::string trace = std::string(markers_start) +
                      anon("MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE", "0x7ffff7f00000") +
                      anon("MAP_PRIVATE|MAP_ANONYMOUS|MAP_POPULATE", "0x7ffff7f02000") +
                      anon("MAP_PRIVATE|MAP_ANONYMOUS", "0x7ffff7f01000") + markers_end;
  parsed_trace t = parse_trace(trace);
  replay_options o;
  o.check = true;
  o.touch_on_mmap = o.touch_on_move = o.touch_at_fork = false;
  replayer r(std::move(s), o);
  r.run(t.events);
  ASSERT_EQ(r.comparisons().size(), 2u);
  EXPECT_EQ(r.comparisons()[1].result, verdict::match) << r.comparisons()[1].diff;
}

// ---- concurrent calls: applied in an order their results allow ----

// Process 100 (seeded from start_maps) with threads 101 and 102, and an
// anonymous 128 KiB mapping at 0x7ffff7f80000 that 100 maps first.
const char *threads_prologue =
    "100 00:00:00.000001 execve(\"/bin/prog\", [\"prog\"], 0x1 /* 1 var */) = 0\n"
    "100 00:00:00.000002 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
    "100 00:00:00.000003 munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n"
    "100 00:00:00.000004 clone3({flags=CLONE_VM|CLONE_THREAD, stack=0x1000} => "
    "{parent_tid=[101]}, 88) = 101\n"
    "100 00:00:00.000005 clone3({flags=CLONE_VM|CLONE_THREAD, stack=0x2000} => "
    "{parent_tid=[102]}, 88) = 102\n"
    "100 00:00:00.000006 mmap(NULL, 131072, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
    "0) = 0x7ffff7f80000\n";  // line 6
const char *end_markers =
    "100 00:00:00.000100 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
    "100 00:00:00.000101 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n";
const char *ro128k = "7ffff7f80000-7ffff7fa0000 r--p 00000000 00:00 0 \n";

// strace printed thread 101's mmap result (line 8) before the result of
// thread 100's munmap of that range (started at line 7, resumed at line
// 9): the munmap completed first in the kernel, and is applied first.
TEST(ReplayConcurrent, UnfinishedMunmapIsAppliedBeforeTheMmapThatReusesItsRange) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps, ro128k));
  std::string trace =
      std::string(threads_prologue) +
      "100 00:00:00.000007 munmap(0x7ffff7f80000, 131072 <unfinished ...>\n"
      "101 00:00:00.000008 mmap(NULL, 131072, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x7ffff7f80000\n"
      "100 00:00:00.000009 <... munmap resumed>) = 0\n" +
      end_markers;
  run_result rr = run(trace, std::move(s));  // no divergence
  ASSERT_EQ(rr.r->comparisons().size(), 2u);
  EXPECT_EQ(rr.r->comparisons()[1].result, verdict::match) << rr.r->comparisons()[1].diff;
  ASSERT_EQ(rr.r->reorders().size(), 1u);
  EXPECT_EQ(rr.r->reorders()[0].line, 9u);
  EXPECT_EQ(rr.r->reorders()[0].before, 8u);
  EXPECT_EQ(rr.r->stats().calls.at("munmap"), 5u);  // applied once (4 markers + 1)
}

// Only the calls the result needs are applied early: thread 102's mprotect
// of the neighbouring mapping, in flight too, stays at its own line.
TEST(ReplayConcurrent, OnlyTheCallsTheResultNeedsMoveAhead) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add(
      "maps.end.100",
      with(start_maps, std::string("7ffff7f60000-7ffff7f62000 r--p 00000000 00:00 0 \n") + ro128k));
  std::string trace =
      std::string(threads_prologue) +
      "102 00:00:00.000007 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
      "0) = 0x7ffff7f60000\n"
      "102 00:00:00.000008 mprotect(0x7ffff7f60000, 8192, PROT_READ <unfinished ...>\n"
      "100 00:00:00.000009 munmap(0x7ffff7f80000, 131072 <unfinished ...>\n"
      "101 00:00:00.000010 mmap(NULL, 131072, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x7ffff7f80000\n"
      "102 00:00:00.000011 <... mprotect resumed>) = 0\n"
      "100 00:00:00.000012 <... munmap resumed>) = 0\n" +
      end_markers;
  run_result rr = run(trace, std::move(s));
  ASSERT_EQ(rr.r->reorders().size(), 1u);
  EXPECT_EQ(rr.r->reorders()[0].line, 12u);
  EXPECT_EQ(rr.r->comparisons().at(1).result, verdict::match) << rr.r->comparisons()[1].diff;
}

// A result that print order reproduces keeps print order: the MAP_FIXED
// mmap is applied before the munmap that resumes after it (the trace cannot
// tell the two orders apart, and the snapshot shows this one).
TEST(ReplayConcurrent, PrintOrderStaysWhenItReproducesTheResults) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", start_maps);
  std::string trace = std::string(threads_prologue) +
                      "100 00:00:00.000007 munmap(0x7ffff7f80000, 131072 <unfinished ...>\n"
                      "101 00:00:00.000008 mmap(0x7ffff7f80000, 131072, PROT_READ, "
                      "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7f80000\n"
                      "100 00:00:00.000009 <... munmap resumed>) = 0\n" +
                      end_markers;
  run_result rr = run(trace, std::move(s));
  EXPECT_TRUE(rr.r->reorders().empty());
  EXPECT_EQ(rr.r->comparisons().at(1).result, verdict::match) << rr.r->comparisons()[1].diff;
}

// Calls in flight that do not help, calls that had ended already, and calls
// of another mm (a forked child) are not moved: the divergence stays.
TEST(ReplayConcurrent, NoHelpfulCallInFlightLeavesTheDivergence) {
  std::string trace =
      std::string(threads_prologue) +
      "100 00:00:00.000007 clone(child_stack=NULL, flags=SIGCHLD) = 103\n"
      "103 00:00:00.000008 munmap(0x7ffff7f80000, 131072 <unfinished ...>\n"
      "102 00:00:00.000009 munmap(0x7ffff7f00000, 4096 <unfinished ...>\n"
      "101 00:00:00.000010 mmap(NULL, 131072, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x7ffff7f80000\n"
      "102 00:00:00.000011 <... munmap resumed>) = 0\n"
      "103 00:00:00.000012 <... munmap resumed>) = 0\n";
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  parsed_trace t = parse_trace(trace);
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  replayer r(std::move(s), replay_options{});
  r.run(t.events);
  EXPECT_TRUE(r.reorders().empty());
  ASSERT_EQ(r.divergences().size(), 1u);
  EXPECT_EQ(r.divergences()[0].line, 10u);
  EXPECT_NE(r.divergences()[0].what.find("File exists"), std::string::npos)
      << r.divergences()[0].what;
}

// A moved mremap that did not ask for its address got a free range from
// the kernel: a range the model still maps is a divergence (here too an
// unfinished munmap of another thread frees it first).
TEST(ReplayConcurrent, MremapMovedOntoARangeBeingUnmapped) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  s.add("maps.end.100", with(start_maps,
                             "7ffff7f60000-7ffff7f62000 rw-p 00000000 00:00 0 \n"
                             "7ffff7f80000-7ffff7f84000 rw-p 00000000 00:00 0 \n"));
  std::string trace =
      std::string(threads_prologue) +
      "101 00:00:00.000007 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
      "0) = 0x7ffff7f60000\n"
      "101 00:00:00.000008 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
      "0) = 0x7ffff7f70000\n"
      "100 00:00:00.000009 munmap(0x7ffff7f80000, 131072 <unfinished ...>\n"
      "101 00:00:00.000010 mremap(0x7ffff7f70000, 8192, 16384, MREMAP_MAYMOVE) = 0x7ffff7f80000\n"
      "100 00:00:00.000011 <... munmap resumed>) = 0\n" +
      end_markers;
  run_result rr = run(trace, std::move(s));
  ASSERT_EQ(rr.r->reorders().size(), 1u);
  EXPECT_EQ(rr.r->reorders()[0].before, 10u);
  EXPECT_EQ(rr.r->comparisons().at(1).result, verdict::match) << rr.r->comparisons()[1].diff;

  // Without the munmap in flight, the same mremap diverges.
  std::string alone = std::string(threads_prologue) +
                      "101 00:00:00.000007 mmap(NULL, 8192, PROT_READ|PROT_WRITE, "
                      "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7f70000\n"
                      "101 00:00:00.000008 mremap(0x7ffff7f70000, 8192, 16384, MREMAP_MAYMOVE) "
                      "= 0x7ffff7f80000\n";
  parsed_trace t = parse_trace(alone);
  replayer r(snapshot_set{}, replay_options{});
  r.run(t.events);
  ASSERT_EQ(r.divergences().size(), 1u);
  EXPECT_NE(r.divergences()[0].what.find("still maps"), std::string::npos)
      << r.divergences()[0].what;
}

// ---- trace directories ----

TEST(TraceInput, TraceInDirPrefersThePlainTrace) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "maple-tracedir.XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::filesystem::path dir = tmpl;
  std::string why;
  EXPECT_EQ(trace_in_dir(dir.string(), why), "");
  EXPECT_NE(why.find("no trace.strace or trace.strace.xz"), std::string::npos) << why;
  std::ofstream(dir / "trace.strace.xz") << "x";
  why.clear();
  EXPECT_EQ(trace_in_dir(dir.string(), why), (dir / "trace.strace.xz").string());
  std::ofstream(dir / "trace.strace") << "x";
  EXPECT_EQ(trace_in_dir(dir.string(), why), (dir / "trace.strace").string());
  std::filesystem::remove_all(dir);
}

// ---- the progress bar ----

TEST(ProgressBar, Frames) {
  EXPECT_EQ(progress_bar::frame("replay", "lines", 1200, 2500, 2.0, 100),
            "replay [############.............]  48%  1200/2500 lines  600 lines/s  ETA 0:02");
  EXPECT_EQ(progress_bar::frame("record", "bytes", 56789, 0, 3.0, 100),
            "record 56.8k bytes  18.9k bytes/s  0:03");
  EXPECT_EQ(progress_bar::frame("record", "bytes", 56789, 0, 3.0, 100, "2 snapshots"),
            "record 56.8k bytes  18.9k bytes/s  0:03  2 snapshots");
  // No room for the bar: the numbers only, cut to the terminal's width.
  std::string narrow = progress_bar::frame("replay", "lines", 1200, 2500, 2.0, 30);
  EXPECT_EQ(narrow, "replay  48%  1200/2500 lines ");
  EXPECT_EQ(progress_bar::frame("p", "lines", 9, 10, 0.0, 100).find("ETA"), std::string::npos);
}

TEST(ProgressBar, DrawsOnATerminalOnlyAndClearsAtTheEnd) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  EXPECT_FALSE(progress_bar("x", "lines", 10, true, pipe_fds[1]).active());
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) GTEST_SKIP() << "no pty";
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(slave, 0);
  termios t{};
  ASSERT_EQ(tcgetattr(slave, &t), 0);
  cfmakeraw(&t);  // no output processing: read back what was written
  ASSERT_EQ(tcsetattr(slave, TCSANOW, &t), 0);
  EXPECT_FALSE(progress_bar("x", "lines", 10, false, slave).active());  // --quiet
  {
    progress_bar bar("replay", "lines", 10, true, slave);
    ASSERT_TRUE(bar.active());
    bar.update(3);  // within the first second: nothing
    bar.set_timing(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
    bar.update(5);
  }  // cleared by the destructor
  // A pty may hand the writes over in several chunks: read until none comes
  // for a while (one read() alone sometimes missed the final clear).
  std::string out;
  for (;;) {
    pollfd pfd{master, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) break;
    char buf[512];
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.rfind("\rreplay ", 0), 0u) << out;
  EXPECT_NE(out.find(" 50%  5/10 lines"), std::string::npos) << out;
  EXPECT_EQ(out.find("3/10"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 4), "\r\x1b[K");
  close(slave);
  close(master);
}

}  // namespace
