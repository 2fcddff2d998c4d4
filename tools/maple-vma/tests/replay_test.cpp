// The replayer of maple-vma on small hand-written traces: seeding from
// maps.start at the start marker, threads and forks, markers, ignore rules,
// the diff.
#include <gtest/gtest.h>

#include <string>

#include "replay.h"
#include "strace_parser.h"

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

}  // namespace
