// The strace parser of maple-vma: every line form strace 6.x prints for the
// traced calls, malformed input rejected with its line number, column and
// reason (one error per bad line, never a cascade), and the typed call
// records decoded from the events.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "strace_parser.h"

namespace {

using namespace maple::vma_tool;

event one(const std::string &line) {
  parsed_trace t = parse_trace(line);
  EXPECT_TRUE(t.errors.empty()) << (t.errors.empty() ? "" : t.errors[0].reason);
  EXPECT_EQ(t.events.size(), 1u);
  return t.events.empty() ? event{} : t.events[0];
}

// The first error of a trace text.
parse_error first_error(const std::string &text) {
  parsed_trace t = parse_trace(text);
  EXPECT_FALSE(t.errors.empty()) << "accepted: " << text;
  return t.errors.empty() ? parse_error{} : t.errors[0];
}

std::uint64_t value(const arg &a) {
  std::uint64_t v = 0;
  std::string why;
  EXPECT_TRUE(arg_value(a, v, why)) << why;
  return v;
}

TEST(StraceParser, MmapWithSymbolicFlagsAndFdPath) {
  event e =
      one("9324  09:26:48.104072 mmap(0x7fe62ac77000, 40960, PROT_READ|PROT_WRITE, "
          "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3</usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6>, "
          "0x155000) = 0x7fe62ac77000");
  EXPECT_EQ(e.t, event::type::syscall);
  EXPECT_EQ(e.tid, 9324);
  EXPECT_EQ(e.time, "09:26:48.104072");
  EXPECT_EQ(e.name, "mmap");
  ASSERT_EQ(e.args.size(), 6u);
  EXPECT_EQ(e.args[0].k, arg::kind::integer);
  EXPECT_EQ(e.args[0].value, 0x7fe62ac77000u);
  EXPECT_EQ(e.args[1].value, 40960u);
  EXPECT_EQ(e.args[2].k, arg::kind::flags);
  EXPECT_EQ(value(e.args[2]), 3u);
  EXPECT_EQ(value(e.args[3]), 0x2u | 0x10u | 0x800u);
  EXPECT_EQ(e.args[4].k, arg::kind::fd);
  EXPECT_EQ(e.args[4].value, 3u);
  EXPECT_EQ(e.args[4].path, "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6");
  EXPECT_EQ(e.args[5].value, 0x155000u);
  EXPECT_EQ(e.res.value, 0x7fe62ac77000);
  EXPECT_FALSE(e.res.failed());
}

TEST(StraceParser, AnonymousMmapNullAndMinusOne) {
  event e =
      one("9792  09:26:56.187749 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, "
          "-1, 0) = 0x7fdf81ad7000");
  ASSERT_EQ(e.args.size(), 6u);
  EXPECT_EQ(e.args[0].k, arg::kind::null);
  EXPECT_EQ(value(e.args[0]), 0u);
  EXPECT_EQ(e.args[4].k, arg::kind::integer);
  EXPECT_TRUE(e.args[4].negative);
  EXPECT_EQ(static_cast<std::int64_t>(e.args[4].value), -1);
  EXPECT_EQ(e.args[5].k, arg::kind::integer);
  EXPECT_EQ(value(e.args[5]), 0u);
}

TEST(StraceParser, ProtNoneAndHexUnknownBitsWithComment) {
  event e = one("1 00:00:00.000001 mprotect(0x1000, 4096, PROT_NONE) = 0");
  EXPECT_EQ(value(e.args[2]), 0u);
  e =
      one("1 00:00:00.000001 madvise(0x1000, 4096, 0xffffffff /* MADV_??? */) = -1 EINVAL "
          "(Invalid argument)");
  EXPECT_EQ(value(e.args[2]), 0xffffffffu);
  EXPECT_TRUE(e.res.failed());
  e = one("1 00:00:00.000001 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|0x40000000, -1, 0) = 0x1000");
  EXPECT_EQ(e.args[3].names.size(), 1u);
  EXPECT_EQ(value(e.args[3]), 0x40000002u);
  e = one("1 00:00:00.000001 madvise(0x1000, 4096, MADV_DONTFORK) = 0");
  EXPECT_EQ(value(e.args[2]), 10u);
}

TEST(StraceParser, UnknownFlagNameIsReportedByArgValue) {
  event e = one("1 00:00:00.000001 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_BOGUS, -1, 0) = 1");
  std::uint64_t v = 0;
  std::string why;
  EXPECT_FALSE(arg_value(e.args[3], v, why));
  EXPECT_NE(why.find("MAP_BOGUS"), std::string::npos);
}

TEST(StraceParser, ErrorResult) {
  event e = one("9792  09:26:56.188411 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)");
  EXPECT_EQ(e.res.value, -1);
  EXPECT_EQ(e.res.error, "EINVAL");
  EXPECT_TRUE(e.res.failed());
  e = one(
      "5 00:00:00.000001 mmap(NULL, 1099511627776, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) "
      "= -1 ENOMEM (Cannot allocate memory)");
  EXPECT_EQ(e.res.error, "ENOMEM");
}

TEST(StraceParser, PaddedResultAndUnknownResult) {
  event e = one("9792  09:26:56.187533 brk(NULL)         = 0x55f5958c2000");
  EXPECT_EQ(e.name, "brk");
  EXPECT_EQ(e.res.value, 0x55f5958c2000);
  e = one("9662  09:26:54.693578 exit(0)           = ?");
  EXPECT_TRUE(e.res.unknown);
  EXPECT_FALSE(e.res.failed());
}

TEST(StraceParser, Clone3StructWithOutStruct) {
  event e =
      one("9661  09:26:54.039712 "
          "clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|"
          "CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
          "child_tid=0x7f01333ff990, "
          "parent_tid=0x7f01333ff990, exit_signal=0, stack=0x7f0132bff000, stack_size=0x7fff00, "
          "tls=0x7f01333ff6c0} => {parent_tid=[9662]}, 88) = 9662");
  ASSERT_EQ(e.args.size(), 2u);
  const arg &s = e.args[0];
  EXPECT_EQ(s.k, arg::kind::structure);
  ASSERT_EQ(s.items.size(), 7u);
  EXPECT_EQ(s.items[0].key, "flags");
  EXPECT_EQ(value(s.items[0]) & 0x10100u, 0x10100u);  // CLONE_VM | CLONE_THREAD
  EXPECT_EQ(s.items[4].key, "stack");
  EXPECT_EQ(s.items[4].value, 0x7f0132bff000u);
  ASSERT_EQ(s.out.size(), 1u);
  EXPECT_EQ(s.out[0].key, "parent_tid");
  EXPECT_EQ(s.out[0].k, arg::kind::array);
  ASSERT_EQ(s.out[0].items.size(), 1u);
  EXPECT_EQ(s.out[0].items[0].value, 9662u);
  EXPECT_EQ(e.args[1].value, 88u);
  EXPECT_EQ(e.res.value, 9662);
}

TEST(StraceParser, CloneNamedArgumentsWithSignal) {
  event e = one(
      "9792  09:26:56.190420 clone(child_stack=NULL, "
      "flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fdf81ad8090) = 9793");
  ASSERT_EQ(e.args.size(), 3u);
  EXPECT_EQ(e.args[0].key, "child_stack");
  EXPECT_EQ(e.args[0].k, arg::kind::null);
  EXPECT_EQ(e.args[1].key, "flags");
  EXPECT_EQ(value(e.args[1]), 0x200000u | 0x1000000u | 17u);
}

TEST(StraceParser, UnfinishedAndResumedJoinAtCompletion) {
  parsed_trace t = parse_trace(
      "9792  09:26:56.191075 clone(child_stack=NULL, "
      "flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>\n"
      "9793  09:26:56.191281 munmap(0x6d617073c1, 0 <unfinished ...>\n"
      "9792  09:26:56.191299 <... clone resumed>, child_tidptr=0x7fdf81ad8090) = 9795\n"
      "9793  09:26:56.191325 <... munmap resumed>) = -1 EINVAL (Invalid argument)\n"
      "9062  09:26:35.573584 vfork( <unfinished ...>\n"
      "9062  09:26:35.573995 <... vfork resumed>) = 9063\n"
      "9661  09:26:54.040162 clone3({flags=CLONE_VM|CLONE_THREAD, stack=0x7f01323fe000} "
      "<unfinished ...>\n"
      "9661  09:26:54.040238 <... clone3 resumed> => {parent_tid=[9663]}, 88) = 9663\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  ASSERT_EQ(t.events.size(), 4u);
  EXPECT_EQ(t.events[0].name, "clone");
  EXPECT_EQ(t.events[0].line, 3u);
  EXPECT_EQ(t.events[0].start_line, 1u);
  EXPECT_EQ(t.events[0].time, "09:26:56.191075");
  ASSERT_EQ(t.events[0].args.size(), 3u);
  EXPECT_EQ(t.events[0].args[2].key, "child_tidptr");
  EXPECT_EQ(t.events[0].res.value, 9795);
  EXPECT_EQ(t.events[1].name, "munmap");
  EXPECT_EQ(t.events[1].tid, 9793);
  ASSERT_EQ(t.events[1].args.size(), 2u);
  EXPECT_EQ(t.events[1].args[0].value, 0x6d617073c1u);
  EXPECT_EQ(t.events[1].res.error, "EINVAL");
  EXPECT_EQ(t.events[2].name, "vfork");
  EXPECT_TRUE(t.events[2].args.empty());
  EXPECT_EQ(t.events[2].res.value, 9063);
  ASSERT_EQ(t.events[3].args.size(), 2u);
  EXPECT_EQ(t.events[3].args[0].out.size(), 1u);
  EXPECT_EQ(t.events[3].args[0].out[0].items[0].value, 9663u);
}

TEST(StraceParser, ExecveStringsArraysAndComments) {
  event e =
      one("9792  09:26:56.187303 execve(\"/bin/sh\", [\"/bin/sh\", \"-c\", \"echo \\\"x\\\" | "
          "wc\"], 0x7ffd /* 7 vars */) = 0");
  ASSERT_EQ(e.args.size(), 3u);
  EXPECT_EQ(e.args[0].k, arg::kind::string);
  EXPECT_EQ(e.args[0].text, "/bin/sh");
  EXPECT_EQ(e.args[1].k, arg::kind::array);
  ASSERT_EQ(e.args[1].items.size(), 3u);
  EXPECT_EQ(e.args[1].items[2].text, "echo \"x\" | wc");
  EXPECT_EQ(e.args[2].value, 0x7ffdu);
  e = one(
      "1 00:00:00.000001 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x1000, 4096, \"a\\x62\\n\"...) "
      "= 0");
  EXPECT_EQ(value(e.args[0]), 0x53564d41u);
  EXPECT_EQ(e.args[4].text, "ab\n");
}

TEST(StraceParser, FdPathsWithCommasSpacesAndBrackets) {
  event e =
      one("1 00:00:00.000001 mmap(NULL, 32768, PROT_READ|PROT_WRITE, MAP_SHARED, 4</dev/zero "
          "(deleted)>, 0) = 0x1000");
  EXPECT_EQ(e.args[4].path, "/dev/zero (deleted)");
  e =
      one("1 00:00:00.000001 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 5</tmp/a, b)[c]>, 0x2000) = "
          "0x1000");
  EXPECT_EQ(e.args[4].value, 5u);
  EXPECT_EQ(e.args[4].path, "/tmp/a, b)[c]");
  EXPECT_EQ(e.args[5].value, 0x2000u);
}

TEST(StraceParser, SignalsAndExits) {
  parsed_trace t = parse_trace(
      "9661  09:26:54.736330 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=9671, "
      "si_uid=0, si_status=0, si_utime=745 /* 7.45 s */, si_stime=0} ---\n"
      "9671  09:26:54.736294 +++ exited with 3 +++\n"
      "9794  09:26:56.5 +++ killed by SIGPIPE +++\n"
      "9795  09:26:56.6 +++ killed by SIGSEGV (core dumped) +++\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  ASSERT_EQ(t.events.size(), 4u);
  EXPECT_EQ(t.events[0].t, event::type::signal);
  EXPECT_EQ(t.events[0].name, "SIGCHLD");
  EXPECT_EQ(t.events[1].t, event::type::exited);
  EXPECT_EQ(t.events[1].exit_status, 3);
  EXPECT_EQ(t.events[2].t, event::type::killed);
  EXPECT_EQ(t.events[2].name, "SIGPIPE");
  EXPECT_EQ(t.events[3].name, "SIGSEGV");
}

TEST(StraceParser, TimeStampIsOptionalAndBlankLinesAreSkipped) {
  parsed_trace t = parse_trace(
      "\n42 munmap(0x1000, 4096) = 0\n\n"
      "43 1700000000.123456 munmap(0x2000, 4096) = 0\n");
  ASSERT_TRUE(t.errors.empty());
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[0].time, "");
  EXPECT_EQ(t.events[0].line, 2u);
  EXPECT_EQ(t.events[1].time, "1700000000.123456");
  EXPECT_EQ(t.lines, 4u);
}

// ---- malformed input: line number and reason ----

struct bad_case {
  const char *text;
  std::size_t line;
  const char *reason;  // a substring of the reason
};

TEST(StraceParser, MalformedLinesAreRejectedWithLineAndReason) {
  const bad_case cases[] = {
      {"garbage\n", 1, "not a trace line"},
      {"1 00:00:00.0 munmap(0x1000, 4096) = 0\n12345678901 munmap(0x1000, 4096) = 0\n", 2,
       "PID too large"},
      {"1 00:00:00.0 munmap(0x1000, 4096\n", 1, "no ')' closing the arguments"},
      {"1 00:00:00.0 munmap(0x1000, 4096)\n", 1, "expected '= result'"},
      {"1 00:00:00.0 munmap(0x1000, 4096) =\n", 1, "missing result"},
      {"1 00:00:00.0 munmap(0x1000, 4096) = zz\n", 1, "bad result"},
      {"1 00:00:00.0 munmap(0x1000, 4096) = 0 trailing junk\n", 1,
       "unexpected text after the result"},
      {"1 00:00:00.0 munmap(0x10000000000000000000, 4096) = 0\n", 1, "bad number"},
      {"1 00:00:00.0 munmap(0x1000, 0x12g4) = 0\n", 1, "bad number"},
      {"1 00:00:00.0 execve(\"/bin/sh, [], []) = 0\n", 1, "unterminated string"},
      {"1 00:00:00.0 execve(\"/bin/\\q\", [], []) = 0\n", 1, "bad escape"},
      {"1 00:00:00.0 clone3({flags=CLONE_VM]) = 0\n", 1, "unbalanced"},
      {"1 00:00:00.0 munmap(, 4096) = 0\n", 1, "empty argument"},
      {"1 00:00:00.0 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</x, 0) = 0\n", 1,
       "unterminated fd path"},
      {"1 00:00:00.0 madvise(0x1000, 4096, 4 /* x) = 0\n", 1, "unterminated comment"},
      {"1 00:00:00.0 <... munmap resumed>) = 0\n", 1, "without an unfinished call"},
      {"1 00:00:00.0 munmap(0x1000, 4096 <unfinished ...>\n1 00:00:00.1 <... mmap resumed>) = 0\n",
       2, "resumed but the unfinished call is munmap"},
      {"1 00:00:00.0 <... munmap resumed) = 0\n", 1, "resumed>"},
      {"1 00:00:00.0 --- SIGCHLD {si_signo=SIGCHLD}\n", 1, "unterminated signal line"},
      {"1 00:00:00.0 +++ exited with x +++\n", 1, "bad exit status"},
      {"1 00:00:00.0 +++ vanished +++\n", 1, "unknown +++ line"},
      {"1 00:00:00.0 (0x1000) = 0\n", 1, "expected 'name('"},
      {"1 00:00:00.0 munmap(0x1000, 4096) = 0\n2 00:00:00.0\n", 2, "nothing after the PID"},
      {"1 00:00:00.0 "
       "clone3({a=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}) = "
       "0\n",
       1, "too deep"},
      {"1 00:00:00.0 clone3({flags=0} => [1]) = 0\n", 1, "expected {...} after =>"},
  };
  for (const bad_case &c : cases) {
    parse_error e = first_error(c.text);
    EXPECT_EQ(e.line, c.line) << c.text;
    EXPECT_NE(e.reason.find(c.reason), std::string::npos)
        << c.text << " gave: '" << e.reason << "', expected '" << c.reason << "'";
  }
}

TEST(StraceParser, ParsingGoesOnAfterAnError) {
  parsed_trace t =
      parse_trace("1 00:00:00.0 munmap(0x1000\n1 00:00:00.0 munmap(0x1000, 4096) = 0\n");
  ASSERT_EQ(t.errors.size(), 1u);
  EXPECT_EQ(t.errors[0].line, 1u);
  EXPECT_EQ(t.errors[0].text, "1 00:00:00.0 munmap(0x1000");
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].line, 2u);
}

TEST(StraceParser, CallsLeftUnfinishedAreListed) {
  parsed_trace t = parse_trace("7 00:00:00.0 mmap(NULL, 4096, PROT_READ <unfinished ...>\n");
  EXPECT_TRUE(t.errors.empty());
  EXPECT_TRUE(t.events.empty());
  ASSERT_EQ(t.unfinished.size(), 1u);
  EXPECT_EQ(t.unfinished[0].first, 7);
  EXPECT_EQ(t.unfinished[0].second, "mmap");
  // A task that dies inside a call: the half is dropped at its +++ line.
  t = parse_trace(
      "7 00:00:00.0 futex(0x1, FUTEX_WAIT <unfinished ...>\n7 00:00:00.1 +++ killed "
      "by SIGKILL +++\n");
  EXPECT_TRUE(t.errors.empty());
  EXPECT_TRUE(t.unfinished.empty());
}

// ---- fd decorations (strace -y, -yy) ----

// The fd argument of `mmap(NULL, 4096, PROT_READ, MAP_SHARED, FD, 0x2000)`.
arg mmap_fd(const std::string &fd) {
  event e = one("1 00:00:00.000001 mmap(NULL, 4096, PROT_READ, MAP_SHARED, " + fd +
                ", 0x2000) = 0x7f0000000000");
  EXPECT_EQ(e.args.size(), 6u);
  if (e.args.size() != 6) return arg{};
  EXPECT_EQ(e.args[5].value, 0x2000u) << fd;
  EXPECT_EQ(e.args[4].k, arg::kind::fd) << fd;
  return e.args[4];
}

TEST(StraceParserFd, DeletedAfterTheBracket) {
  // strace 6.x: the kernel's " (deleted)" moved behind the '>'.
  arg a = mmap_fd("3</memfd:pyvma-memfd>(deleted)");
  EXPECT_EQ(a.value, 3u);
  EXPECT_EQ(a.path, "/memfd:pyvma-memfd (deleted)");
  EXPECT_TRUE(a.deleted);
  a = mmap_fd("8</tmp/pyvma-lrdd_wjx.dat>(deleted)");
  EXPECT_EQ(a.path, "/tmp/pyvma-lrdd_wjx.dat (deleted)");
}

TEST(StraceParserFd, DeletedInsideTheBracket) {
  arg a = mmap_fd("3</memfd:name (deleted)>");
  EXPECT_EQ(a.path, "/memfd:name (deleted)");
  EXPECT_TRUE(a.deleted);
  a = mmap_fd("4</dev/zero (deleted)>");
  EXPECT_EQ(a.path, "/dev/zero (deleted)");
  EXPECT_TRUE(a.deleted);
}

TEST(StraceParserFd, NameContainingDeleted) {
  arg a = mmap_fd("3</tmp/x (deleted) y>");
  EXPECT_EQ(a.path, "/tmp/x (deleted) y");
  EXPECT_FALSE(a.deleted);
  // A deleted file whose name ends in " (deleted)": both, as the kernel prints it.
  a = mmap_fd("3</tmp/x (deleted)>(deleted)");
  EXPECT_EQ(a.path, "/tmp/x (deleted) (deleted)");
  EXPECT_TRUE(a.deleted);
}

TEST(StraceParserFd, SocketAnonInodePipe) {
  EXPECT_EQ(mmap_fd("5<socket:[123456]>").path, "socket:[123456]");
  EXPECT_EQ(mmap_fd("6<anon_inode:[eventfd]>").path, "anon_inode:[eventfd]");
  EXPECT_EQ(mmap_fd("7<anon_inode:bpf-map>").path, "anon_inode:bpf-map");
  EXPECT_EQ(mmap_fd("8<pipe:[98765]>").path, "pipe:[98765]");
  arg a = mmap_fd("9</dev/dri/renderD128>");
  EXPECT_EQ(a.value, 9u);
  EXPECT_FALSE(a.deleted);
}

TEST(StraceParserFd, PathWithSpacesAndAngleBrackets) {
  EXPECT_EQ(mmap_fd("3</tmp/a b/c d.so>").path, "/tmp/a b/c d.so");
  EXPECT_EQ(mmap_fd("3</tmp/a<b>c.so>").path, "/tmp/a<b>c.so");
  EXPECT_EQ(mmap_fd("3</tmp/x> y.so>").path, "/tmp/x> y.so");
}

TEST(StraceParserFd, PathEscapesAreDecoded) {
  EXPECT_EQ(mmap_fd(R"(3</tmp/a\x20b\"c\\d>)").path, "/tmp/a b\"c\\d");
  EXPECT_EQ(mmap_fd(R"(3</tmp/\303\251t\303\251\74x\76>)").path, "/tmp/\xc3\xa9t\xc3\xa9<x>");
  EXPECT_EQ(mmap_fd(R"(3</tmp/new\nline>)").path, "/tmp/new\nline");
}

TEST(StraceParserFd, VerboseDecorations) {
  // -yy: sockets with addresses (a '>' inside), devices with their numbers.
  EXPECT_EQ(mmap_fd("3<TCP:[127.0.0.1:80->127.0.0.1:5555]>").path,
            "TCP:[127.0.0.1:80->127.0.0.1:5555]");
  EXPECT_EQ(mmap_fd("0</dev/zero<char 1:5>>").path, "/dev/zero");
}

TEST(StraceParserFd, AtFdcwdAndDecoratedResults) {
  event e =
      one("1 00:00:00.000001 execveat(AT_FDCWD</home/u>, \"/bin/true\", [\"true\"], 0x7ffd /* 3 "
          "vars */, "
          "0) = 0");
  ASSERT_EQ(e.args.size(), 5u);
  EXPECT_EQ(e.args[0].k, arg::kind::fd);
  EXPECT_EQ(static_cast<std::int64_t>(e.args[0].value), -100);
  EXPECT_EQ(e.args[0].path, "/home/u");
  e = one("1 00:00:00.000001 memfd_create(\"x\", MFD_CLOEXEC) = 3</memfd:x (deleted)>");
  EXPECT_EQ(e.res.value, 3);
  e = one("1 00:00:00.000001 openat(AT_FDCWD</w>, \"f\", O_RDONLY) = 4</w/f> <0.000012>");
  EXPECT_EQ(e.res.value, 4);
}

TEST(StraceParserFd, DeletedFdInASplitCallPairsWithItsResumedLine) {
  // Today's cascade: "unterminated fd path", then "resumed without an
  // unfinished call".
  parsed_trace t = parse_trace(
      "14621 10:02:49.283385 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_SHARED, "
      "3</memfd:pyvma-memfd>(deleted), 0 <unfinished ...>\n"
      "14622 10:02:49.283390 munmap(0x7f0000000000, 4096) = 0\n"
      "14621 10:02:49.283400 <... mmap resumed>) = 0x7f84325f0000\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[1].name, "mmap");
  EXPECT_EQ(t.events[1].args[4].path, "/memfd:pyvma-memfd (deleted)");
  EXPECT_EQ(t.events[1].res.value, 0x7f84325f0000);
}

// ---- split calls ----

TEST(StraceParserSplit, HundredsOfThreadsInterleaved) {
  // 150 threads each start an mmap, then all resume in another order.
  constexpr int n = 150;
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::string text;
  for (int i : order)
    text += std::to_string(1000 + i) + " 10:00:00.000001 mmap(NULL, " +
            std::to_string(4096 * (i + 1)) + ", PROT_READ <unfinished ...>\n";
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (int i : order)
    text += std::to_string(1000 + i) +
            " 10:00:00.000002 <... mmap resumed>, MAP_PRIVATE|MAP_ANONYMOUS, " +
            "-1, 0) = " + std::to_string(0x10000000 + i * 0x100000) + "\n";
  parsed_trace t = parse_trace(text);
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  ASSERT_EQ(t.events.size(), std::size_t(n));
  for (const event &e : t.events) {
    int i = static_cast<int>(e.tid) - 1000;
    ASSERT_EQ(e.args.size(), 6u);
    EXPECT_EQ(e.args[1].value, 4096u * (i + 1));
    EXPECT_EQ(e.res.value, 0x10000000 + i * 0x100000);
    EXPECT_EQ(e.start_line, std::size_t(i + 1));
  }
  EXPECT_TRUE(t.unfinished.empty());
}

TEST(StraceParserSplit, TaskDiedInsideTheCall) {
  // strace closes the half of a task that died in a call so.
  parsed_trace t = parse_trace(
      "7 00:00:00.1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>\n"
      "7 00:00:00.2 <... mmap resumed> <unfinished ...>) = ?\n"
      "7 00:00:00.3 +++ killed by SIGKILL +++\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[0].args.size(), 6u);
  EXPECT_TRUE(t.events[0].res.unknown);
  EXPECT_EQ(t.events[1].t, event::type::killed);
}

TEST(StraceParserSplit, ExecveOfAThreadSupersedesTheLeader) {
  parsed_trace t = parse_trace(
      "100 00:00:00.1 futex(0x7f00, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>\n"
      "101 00:00:00.2 execve(\"/bin/true\", [\"true\"], 0x7ffd /* 3 vars */ <unfinished ...>\n"
      "100 00:00:00.3 +++ superseded by execve in pid 101 +++\n"
      "100 00:00:00.4 <... execve resumed>) = 0\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  ASSERT_EQ(t.events.size(), 2u);
  EXPECT_EQ(t.events[1].name, "execve");
  EXPECT_EQ(t.events[1].tid, 100);
  EXPECT_EQ(t.events[1].start_line, 2u);
  EXPECT_TRUE(t.unfinished.empty());
}

TEST(StraceParserSplit, DetachedCallIsANote) {
  parsed_trace t = parse_trace("7 00:00:00.1 read(0,  <detached ...>\n");
  EXPECT_TRUE(t.errors.empty());
  EXPECT_TRUE(t.events.empty());
  EXPECT_EQ(t.notes.size(), 1u);
  EXPECT_TRUE(t.unfinished.empty());
}

// ---- results ----

TEST(StraceParserResult, RestartedCalls) {
  for (const char *r :
       {"ERESTARTSYS (To be restarted if SA_RESTART is set)", "ERESTARTNOINTR (To be restarted)",
        "ERESTART_RESTARTBLOCK (Interrupted by signal)",
        "ERESTARTNOHAND (To be restarted if no handler)"}) {
    event e = one(std::string("7 00:00:00.1 clone(child_stack=NULL, flags=SIGCHLD) = ? ") + r);
    EXPECT_TRUE(e.res.unknown) << r;
    EXPECT_TRUE(e.res.restarted()) << r;
    EXPECT_FALSE(e.res.failed()) << r;
  }
}

TEST(StraceParserResult, UnavailableAndExitResults) {
  event e =
      one("7 00:00:00.1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ? "
          "<unavailable>");
  EXPECT_TRUE(e.res.unknown);
  EXPECT_FALSE(e.res.restarted());
  e = one("7 00:00:00.1 exit_group(0) = ?");
  EXPECT_TRUE(e.res.unknown);
}

TEST(StraceParserResult, ErrnoWithTimingAndInjection) {
  event e =
      one("7 00:00:00.1 mmap(NULL, 1099511627776, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, "
          "0) = -1 ENOMEM (Cannot allocate memory) <0.000010>");
  EXPECT_EQ(e.res.error, "ENOMEM");
  EXPECT_TRUE(e.res.failed());
  e = one("7 00:00:00.1 munmap(0x1000, 4096) = 0 <0.000012>");
  EXPECT_EQ(e.res.value, 0);
  e =
      one("7 00:00:00.1 mbind(0x1000, 4096, MPOL_BIND, [0x1], 2, 0) = -1 ENOSYS (Function not "
          "implemented) (INJECTED)");
  EXPECT_EQ(e.res.error, "ENOSYS");
}

// ---- lines that are not events ----

TEST(StraceParserLines, StraceMessagesAreNotesNotErrors) {
  parsed_trace t = parse_trace(
      "strace: Process 1234 attached\n"
      "[ Process PID=1234 runs in 32 bit mode. ]\n"
      "1234 00:00:00.1 [ Process PID=1234 runs in 64 bit mode. ]\n"
      "strace: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n"
      "Process 1234 detached\n"
      "strace: Process 1234 detached\n"
      "1234 00:00:00.2 munmap(0x1000, 4096) = 0\n");
  EXPECT_TRUE(t.errors.empty()) << t.errors[0].reason;
  EXPECT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.notes.size(), 6u);
}

TEST(StraceParserLines, AttachMessageInTheMiddleOfALine) {
  // strace -f writing to stderr: its message cuts the clone line.
  parsed_trace t = parse_trace(
      "1234  10:00:00.000001 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|"
      "SIGCHLD, child_tidptr=0x7f00strace: Process 1235 attached\n"
      " <unfinished ...>\n"
      "1235  10:00:00.000002 munmap(0x1000, 4096) = 0\n"
      "1234  10:00:00.000003 <... clone resumed>) = 1235\n"
      "1234  10:00:00.000004 vfork(strace: Process 1236 attached\n"
      ") = 1236\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason << " at " << t.errors[0].line;
  ASSERT_EQ(t.events.size(), 3u);
  EXPECT_EQ(t.events[1].name, "clone");
  EXPECT_EQ(t.events[1].start_line, 1u);
  EXPECT_EQ(t.events[1].args.size(), 3u);
  EXPECT_EQ(t.events[1].res.value, 1235);
  EXPECT_EQ(t.events[2].name, "vfork");
  EXPECT_EQ(t.events[2].res.value, 1236);
  EXPECT_EQ(t.notes.size(), 2u);
}

TEST(StraceParserLines, SummaryTableAndStackTracesAreNotes) {
  parsed_trace t = parse_trace(
      "1 00:00:00.1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x7f0000000000\n"
      " > /usr/lib/x86_64-linux-gnu/libc.so.6(mmap64+0x23) [0xf1234]\n"
      " > /usr/bin/prog(main+0x10) [0x1130]\n"
      "% time     seconds  usecs/call     calls    errors syscall\n"
      "------ ----------- ----------- --------- --------- ----------------\n"
      "100.00    0.000010          10         1           mmap\n"
      "------ ----------- ----------- --------- --------- ----------------\n"
      "100.00    0.000010          10         1           total\n");
  EXPECT_TRUE(t.errors.empty()) << t.errors[0].reason << " at " << t.errors[0].line;
  EXPECT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.notes.size(), 7u);
}

// ---- prefixes: PIDs and time stamps ----

TEST(StraceParserPrefix, TimeStampForms) {
  parsed_trace t = parse_trace(
      "42 10:02:23 munmap(0x1000, 4096) = 0\n"              // -t
      "42 10:02:23.123456 munmap(0x1000, 4096) = 0\n"       // -tt
      "42 1700000000.123456 munmap(0x1000, 4096) = 0\n"     // -ttt
      "42      0.000123 munmap(0x1000, 4096) = 0\n"         // -r
      "42 1700000000.123456789 munmap(0x1000, 4096) = 0\n"  // --timestamps=unix,ns
      "42 munmap(0x1000, 4096) = 0\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  ASSERT_EQ(t.events.size(), 6u);
  const char *times[] = {"10:02:23", "10:02:23.123456",      "1700000000.123456",
                         "0.000123", "1700000000.123456789", ""};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(t.events[i].time, times[i]);
    EXPECT_EQ(t.events[i].tid, 42);
  }
}

TEST(StraceParserPrefix, NoPidWithTimeStamps) {
  // strace without -f, or -f to stderr while one task is traced.
  parsed_trace t = parse_trace(
      "10:02:23.123456 munmap(0x1000, 4096) = 0\n"
      "1700000000.123456 munmap(0x2000, 4096) = 0\n"
      "     0.000123 munmap(0x3000, 4096) = 0\n"
      "munmap(0x4000, 4096) = 0\n"
      "+++ exited with 0 +++\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason;
  ASSERT_EQ(t.events.size(), 5u);
  EXPECT_EQ(t.events[0].time, "10:02:23.123456");
  EXPECT_EQ(t.events[2].time, "0.000123");
  for (const event &e : t.events) EXPECT_EQ(e.tid, 0);
}

TEST(StraceParserPrefix, PidBracketsWithoutDashFf) {
  // strace -f to stderr: [pid N] only while several tasks are traced; the
  // first task's PID shows once a child exists.
  parsed_trace t = parse_trace(
      "10:00:00.000001 execve(\"/bin/sh\", [\"sh\"], 0x7ffd /* 3 vars */) = 0\n"
      "10:00:00.000002 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD <unfinished "
      "...>\n"
      "[pid  1235] 10:00:00.000003 munmap(0x1000, 4096) = 0\n"
      "[pid  1234] 10:00:00.000004 <... clone resumed>, child_tidptr=0x7f00) = 1235\n"
      "[pid  1235] 10:00:00.000005 +++ exited with 0 +++\n"
      "10:00:00.000006 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1235} ---\n"
      "10:00:00.000007 clone(child_stack=NULL, flags=SIGCHLD, child_tidptr=0x7f00) = 1236\n"
      "[pid  1236] 10:00:00.000008 munmap(0x2000, 4096) = 0\n"
      "[pid  1234] 10:00:00.000009 munmap(0x3000, 4096) = 0\n"
      "[pid  1236] 10:00:00.000010 +++ exited with 0 +++\n"
      "10:00:00.000011 exit_group(0) = ?\n"
      "10:00:00.000012 +++ exited with 0 +++\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason << " at " << t.errors[0].line;
  std::vector<std::int64_t> tids;
  for (const event &e : t.events) tids.push_back(e.tid);
  EXPECT_EQ(tids, (std::vector<std::int64_t>{1234, 1235, 1234, 1235, 1234, 1234, 1236, 1234, 1236,
                                             1234, 1234}));
}

TEST(StraceParserPrefix, SyscallNumbersAddressesAndCommNames) {
  parsed_trace t = parse_trace(
      "42 10:00:00.1 [ 11] munmap(0x1000, 4096) = 0\n"               // -n
      "42 10:00:00.2 [00007f0e8a4b7a3b] munmap(0x1000, 4096) = 0\n"  // -i
      "42<python3> 10:00:00.3 munmap(0x1000, 4096) = 0\n"            // --decode-pids=comm
      "[pid    42<python3>] 10:00:00.4 munmap(0x1000, 4096) = 0\n");
  ASSERT_TRUE(t.errors.empty()) << t.errors[0].reason << " at " << t.errors[0].line;
  ASSERT_EQ(t.events.size(), 4u);
  for (const event &e : t.events) {
    EXPECT_EQ(e.tid, 42);
    EXPECT_EQ(e.name, "munmap");
  }
}

// ---- flags ----

TEST(StraceParser, HugePageSizeShift) {
  event e =
      one("1 00:00:00.1 mmap(NULL, 2097152, PROT_READ|PROT_WRITE, "
          "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0) = 0x7f0000000000");
  EXPECT_EQ(e.args[3].k, arg::kind::flags);
  EXPECT_EQ(value(e.args[3]), 0x02u | 0x20u | 0x40000u | (std::uint64_t{21} << 26));
}

// ---- errors: one per bad line, with a column, never a cascade ----

TEST(StraceParserErrors, ColumnOfTheProblem) {
  const std::string line = "1 00:00:00.0 munmap(0x1000, 0x12g4) = 0";
  parse_error e = first_error(line + "\n");
  EXPECT_EQ(e.column, line.find("0x12g4") + 1);
  const std::string res = "1 00:00:00.0 munmap(0x1000, 4096) = zz";
  EXPECT_EQ(first_error(res + "\n").column, res.find("zz") + 1);
}

TEST(StraceParserErrors, BadUnfinishedLineThenItsResumedLineIsOneError) {
  // The half's line cannot be split at all; its resumed line adds nothing.
  parsed_trace t = parse_trace(
      "7 00:00:00.1 mm@p(NULL, 4096 <unfinished ...>\n"
      "8 00:00:00.2 munmap(0x1000, 4096) = 0\n"
      "7 00:00:00.3 <... mmap resumed>, PROT_READ, MAP_SHARED, 3</x>, 0) = 0x1000\n"
      "7 00:00:00.4 munmap(0x1000, 4096) = 0\n");
  ASSERT_EQ(t.errors.size(), 1u) << t.errors[1].reason << " at " << t.errors[1].line;
  EXPECT_EQ(t.errors[0].line, 1u);
  EXPECT_EQ(t.events.size(), 2u);
  EXPECT_TRUE(t.unfinished.empty());
}

TEST(StraceParserErrors, BadArgumentInTheFirstHalfIsOneErrorOnItsLine) {
  const std::string first = "7 00:00:00.1 mmap(NULL, 0x12g4, PROT_READ <unfinished ...>";
  parsed_trace t = parse_trace(first +
                               "\n"
                               "7 00:00:00.2 <... mmap resumed>, MAP_SHARED, 3</x>, 0) = 0x1000\n"
                               "7 00:00:00.3 munmap(0x1000, 4096) = 0\n");
  ASSERT_EQ(t.errors.size(), 1u);
  EXPECT_EQ(t.errors[0].line, 1u);
  EXPECT_EQ(t.errors[0].column, first.find("0x12g4") + 1);
  EXPECT_EQ(t.errors[0].text, first);
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].name, "munmap");
}

TEST(StraceParserErrors, UnreadableLineWithoutPidThenAResumedLine) {
  parsed_trace t = parse_trace(
      "\x01\x02 garbage <unfinished ...>\n"
      "7 00:00:00.2 <... mmap resumed>) = 0x1000\n");
  ASSERT_EQ(t.errors.size(), 1u);
  EXPECT_EQ(t.errors[0].line, 1u);
  EXPECT_EQ(t.notes.size(), 1u);
}

TEST(StraceParserErrors, UnreadableResumedLineThenTheTasksNextCall) {
  parsed_trace t = parse_trace(
      "7 00:00:00.1 mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</x>, 0 <unfinished ...>\n"
      "7 00:00:00.2 <.. mmap resumed>) = 0x1000\n"
      "7 00:00:00.3 munmap(0x1000, 4096 <unfinished ...>\n"
      "7 00:00:00.4 <... munmap resumed>) = 0\n");
  ASSERT_EQ(t.errors.size(), 1u) << t.errors[1].reason;
  EXPECT_EQ(t.errors[0].line, 2u);
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].name, "munmap");
}

TEST(StraceParserErrors, EveryBadLineOnceInAMixedTrace) {
  parsed_trace t = parse_trace(
      "1 00:00:00.1 munmap(0x1000\n"
      "1 00:00:00.2 mmap(NULL, \"x <unfinished ...>\n"
      "1 00:00:00.3 <... mmap resumed>) = 1\n"
      "1 00:00:00.4 munmap(0x1000, 4096) = 0\n"
      "1 00:00:00.5 +++ vanished +++\n");
  ASSERT_EQ(t.errors.size(), 3u);
  EXPECT_EQ(t.errors[0].line, 1u);
  EXPECT_EQ(t.errors[1].line, 2u);
  EXPECT_EQ(t.errors[1].reason, "unterminated string");
  EXPECT_EQ(t.errors[2].line, 5u);
  EXPECT_EQ(t.events.size(), 1u);
}

TEST(StraceParserErrors, CallNeverResumedIsAnErrorOnItsOwnLine) {
  // Line 1's call never resumes; line 2's own bad argument is a second,
  // separate error; neither is reported twice or on the other's line.
  parsed_trace t = parse_trace(
      "7 00:00:00.1 mmap(NULL, 4096, PROT_READ <unfinished ...>\n"
      "7 00:00:00.2 munmap(0x12g4, 4096 <unfinished ...>\n"
      "7 00:00:00.3 <... munmap resumed>) = 0\n");
  ASSERT_EQ(t.errors.size(), 2u);
  EXPECT_EQ(t.errors[0].line, 1u);
  EXPECT_NE(t.errors[0].reason.find("never resumed"), std::string::npos) << t.errors[0].reason;
  EXPECT_EQ(t.errors[1].line, 2u);
  EXPECT_NE(t.errors[1].reason.find("bad number"), std::string::npos) << t.errors[1].reason;
  EXPECT_TRUE(t.events.empty());
}

// ---- typed call records ----

TEST(StraceParserCalls, MmapRecord) {
  event e =
      one("1 00:00:00.1 mmap2(0x1000, 8192, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED, "
          "3</lib/a.so>, 0x10) = 0x1000");
  EXPECT_EQ(e.call.kind, call_kind::mmap);
  EXPECT_TRUE(e.call.error.empty()) << e.call.error;
  EXPECT_EQ(e.call.addr, 0x1000u);
  EXPECT_EQ(e.call.len, 8192u);
  EXPECT_EQ(e.call.prot, 5u);
  EXPECT_EQ(e.call.flags, 0x12u);
  EXPECT_EQ(e.call.offset, 0x10000u);  // mmap2: pages
  EXPECT_TRUE(e.call.has_fd);
  EXPECT_EQ(e.call.fd, 3u);
  EXPECT_EQ(e.call.path, "/lib/a.so");
  e = one("1 00:00:00.1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0) = 0x1000");
  EXPECT_EQ(e.call.error, "a file mapping without an fd<path> argument");
  e = one("1 00:00:00.1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_BOGUS, -1, 0) = 0x1000");
  EXPECT_EQ(e.call.error, "argument 4: unknown constant MAP_BOGUS");
}

TEST(StraceParserCalls, MarkersMremapPrctlClone) {
  event e = one("1 00:00:00.1 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)");
  EXPECT_EQ(e.call.kind, call_kind::marker);
  EXPECT_EQ(e.call.marker, 'e');
  EXPECT_TRUE(e.call.marker_end);
  e = one("1 00:00:00.1 munmap(0x6d617073d1, 0) = -1 EINVAL (Invalid argument)");
  EXPECT_EQ(e.call.kind, call_kind::munmap);
  e = one("1 00:00:00.1 mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE) = 0x2000");
  EXPECT_EQ(e.call.kind, call_kind::mremap);
  EXPECT_EQ(e.call.len, 4096u);
  EXPECT_EQ(e.call.new_len, 8192u);
  EXPECT_EQ(e.call.flags, 1u);
  e = one("1 00:00:00.1 prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, 0x1000, 4096, \"buf\") = 0");
  EXPECT_EQ(e.call.kind, call_kind::set_vma);
  EXPECT_EQ(e.call.name, "buf");
  for (const char *o : {"PR_SET_NAME, \"C1 CompilerThre\"", "PR_GET_NAME, \"x\"",
                        "PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0", "PR_CAPBSET_READ, CAP_MAC_OVERRIDE",
                        "PR_SET_PDEATHSIG, SIGKILL", "0x12345 /* PR_??? */, 0x1, 0, 0, 0"}) {
    e = one(std::string("1 00:00:00.1 prctl(") + o + ") = 0");
    EXPECT_EQ(e.call.kind, call_kind::none) << o;
  }
  e =
      one("1 00:00:00.1 clone3({flags=CLONE_VM|CLONE_VFORK, exit_signal=SIGCHLD, "
          "stack=0x7f00, stack_size=0x9000}, 88) = 42");
  EXPECT_EQ(e.call.kind, call_kind::create);
  EXPECT_EQ(e.call.flags, 0x4100u);
  e = one("1 00:00:00.1 mbind(0x1000, 4096, MPOL_BIND, [0x1], 2, 0) = 0");
  EXPECT_EQ(e.call.kind, call_kind::not_modelled);
}

// ---- file lifetime calls (a recorder's trace) ----

event call(const std::string &text) { return one("1 00:00:00.1 " + text); }

TEST(StraceParserFiles, OpenFamilyNamesTheFileByItsResult) {
  event e = call(
      "openat(AT_FDCWD</tmp>, \"/dev/shm/psm_x\", O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, "
      "0600) = 3</dev/shm/psm_x>");
  EXPECT_EQ(e.call.kind, call_kind::open);
  EXPECT_EQ(e.res.value, 3);
  EXPECT_EQ(e.res.path, "/dev/shm/psm_x");
  EXPECT_EQ(e.call.path, "/dev/shm/psm_x");
  EXPECT_EQ(e.call.cwd, "/tmp");
  EXPECT_EQ(e.call.access, 2);
  EXPECT_TRUE(e.call.cloexec);
  EXPECT_FALSE(e.call.deleted);
  // No decoration on the result: the name joined to the directory.
  e = call("openat(AT_FDCWD</home/u>, \"./a/../lib.so\", O_RDONLY) = 4");
  EXPECT_EQ(e.call.path, "/home/u/lib.so");
  EXPECT_EQ(e.call.access, 0);
  EXPECT_FALSE(e.call.cloexec);
  e = call("open(\"/etc/x\", O_WRONLY|O_APPEND) = 5</etc/x>");
  EXPECT_EQ(e.call.kind, call_kind::open);
  EXPECT_EQ(e.call.access, 1);
  e = call("creat(\"out.o\", 0644) = 6</w/out.o>");
  EXPECT_EQ(e.call.access, 1);
  EXPECT_EQ(e.call.path, "/w/out.o");
  e = call(
      "openat2(AT_FDCWD</w>, \"f\", {flags=O_RDWR|O_CLOEXEC, mode=0, resolve=RESOLVE_NO_XDEV}, "
      "24) = 7</w/f>");
  EXPECT_EQ(e.call.kind, call_kind::open);
  EXPECT_EQ(e.call.access, 2);
  EXPECT_TRUE(e.call.cloexec);
  e = call("memfd_create(\"name\", MFD_CLOEXEC|MFD_ALLOW_SEALING) = 4</memfd:name (deleted)>");
  EXPECT_EQ(e.call.kind, call_kind::open);
  EXPECT_EQ(e.call.path, "/memfd:name (deleted)");
  EXPECT_TRUE(e.call.deleted);
  EXPECT_TRUE(e.call.cloexec);
  EXPECT_EQ(e.call.access, 2);
  e = call("memfd_create(\"m\", 0) = 8</memfd:m>(deleted)");
  EXPECT_EQ(e.res.path, "/memfd:m (deleted)");
  EXPECT_TRUE(e.res.deleted);
  EXPECT_FALSE(e.call.cloexec);
  e = call("openat(AT_FDCWD</tmp>, \"nope\", O_RDONLY) = -1 ENOENT (No such file or directory)");
  EXPECT_EQ(e.call.kind, call_kind::open);
  EXPECT_TRUE(e.res.failed());
}

TEST(StraceParserFiles, FdCalls) {
  event e = call("close(3</dev/shm/psm_x>) = 0");
  EXPECT_EQ(e.call.kind, call_kind::close);
  EXPECT_EQ(e.call.fd, 3u);
  e = call("close(7) = 0");
  EXPECT_EQ(e.call.fd, 7u);
  e = call("dup(3</a>) = 4</a>");
  EXPECT_EQ(e.call.kind, call_kind::dup);
  EXPECT_EQ(e.call.fd, 3u);
  EXPECT_EQ(e.call.path, "/a");
  EXPECT_FALSE(e.call.cloexec);
  e = call("dup2(3</a>, 1</dev/pts/0>) = 1</a>");
  EXPECT_EQ(e.call.fd2, 1u);
  e = call("dup3(3</a>, 9</b>, O_CLOEXEC) = 9</a>");
  EXPECT_EQ(e.call.fd2, 9u);
  EXPECT_TRUE(e.call.cloexec);
  e = call("fcntl(3</a>, F_DUPFD_CLOEXEC, 0) = 4</a>");
  EXPECT_EQ(e.call.kind, call_kind::dup);
  EXPECT_TRUE(e.call.cloexec);
  e = call("fcntl(3</a>, F_DUPFD, 10) = 10</a>");
  EXPECT_EQ(e.call.kind, call_kind::dup);
  EXPECT_FALSE(e.call.cloexec);
  e = call("fcntl(3</a>, F_SETFD, FD_CLOEXEC) = 0");
  EXPECT_EQ(e.call.kind, call_kind::set_cloexec);
  EXPECT_TRUE(e.call.cloexec);
  e = call("fcntl(3</a>, F_SETFD, 0) = 0");
  EXPECT_EQ(e.call.kind, call_kind::set_cloexec);
  EXPECT_FALSE(e.call.cloexec);
  e = call("fcntl(3</a>, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)");
  EXPECT_EQ(e.call.kind, call_kind::none);
  e = call("close_range(3, 4294967295, 0) = 0");
  EXPECT_EQ(e.call.kind, call_kind::close_range);
  EXPECT_EQ(e.call.fd, 3u);
  EXPECT_EQ(e.call.fd2, 0xffffffffu);
  e = call("close_range(3</a>, -1, CLOSE_RANGE_CLOEXEC) = 0");
  EXPECT_EQ(e.call.fd2, 0xffffffffu);
  EXPECT_EQ(e.call.flags, 4u);
  e = call("close_range(5, ~0U, CLOSE_RANGE_UNSHARE) = 0");
  EXPECT_EQ(e.call.fd, 5u);
  EXPECT_EQ(e.call.fd2, 0xffffffffu);
  EXPECT_EQ(e.call.flags, 2u);
}

TEST(StraceParserFiles, NamesAreJoinedToTheirDirectories) {
  event e = call("unlink(\"/dev/shm/psm_x\") = 0");
  EXPECT_EQ(e.call.kind, call_kind::unlink);
  EXPECT_EQ(e.call.path, "/dev/shm/psm_x");
  e = call("unlink(\"rel\") = 0");
  EXPECT_EQ(e.call.path, "rel");  // the replay joins it to the task's cwd
  e = call("unlinkat(AT_FDCWD</tmp>, \"x//y\", 0) = 0");
  EXPECT_EQ(e.call.path, "/tmp/x/y");
  EXPECT_EQ(e.call.cwd, "/tmp");
  e = call("unlinkat(5</var/d>, \"sub\", AT_REMOVEDIR) = 0");
  EXPECT_EQ(e.call.path, "/var/d/sub");
  EXPECT_EQ(e.call.flags, 0x200u);
  EXPECT_TRUE(e.call.cwd.empty());
  e = call("rename(\"/tmp/a\", \"/tmp/b\") = 0");
  EXPECT_EQ(e.call.kind, call_kind::rename);
  EXPECT_EQ(e.call.path, "/tmp/a");
  EXPECT_EQ(e.call.path2, "/tmp/b");
  e = call("renameat2(AT_FDCWD</w>, \"a\", 4</x>, \"b\", RENAME_EXCHANGE) = 0");
  EXPECT_EQ(e.call.path, "/w/a");
  EXPECT_EQ(e.call.path2, "/x/b");
  EXPECT_EQ(e.call.flags, 2u);
  e = call("renameat(AT_FDCWD</w>, \"a\", AT_FDCWD</w>, \"../b\") = 0");
  EXPECT_EQ(e.call.path2, "/b");
  EXPECT_EQ(normalize_path("/a/./b/../../../c"), "/c");
  EXPECT_EQ(normalize_path("a/../../b"), "../b");
  EXPECT_EQ(normalize_path("/"), "/");
}

TEST(StraceParserFiles, MmapOfADeletedFile) {
  event e = call(
      "mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_SHARED, 3</dev/shm/x (deleted)>, 0) = 0x1000");
  EXPECT_EQ(e.call.path, "/dev/shm/x (deleted)");
  EXPECT_TRUE(e.call.deleted);
  e = call("mmap(NULL, 65536, PROT_READ, MAP_SHARED, 3</dev/shm/x>, 0) = 0x1000");
  EXPECT_FALSE(e.call.deleted);
}

}  // namespace
