// The strace parser of maple-vma: every line form of the traces, and
// malformed input rejected with its line number and reason.
#include <gtest/gtest.h>

#include <string>

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
      {"garbage\n", 1, "does not start with a PID"},
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

}  // namespace
