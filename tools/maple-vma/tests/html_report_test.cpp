// The HTML report of maple-vma (html_report.h, html_svg.h) without a
// browser: escaping, the segmented scale, sampling, the marked lines of a
// differing snapshot, and the size bounds on a trace of 64 processes and
// 10^5 syscalls. (run_html_report.sh opens real reports in Chromium.)
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "html_report.h"
#include "html_svg.h"
#include "replay.h"
#include "strace_parser.h"

namespace {

using namespace maple::vma_tool;

std::size_t count(const std::string &s, const std::string &what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

struct run_result {
  std::unique_ptr<replayer> r;
  parsed_trace t;
  std::string page;
};

run_result run(const std::string &trace, snapshot_set s, bool check,
               const report_limits &lim = {}) {
  run_result out;
  out.t = parse_trace(trace);
  EXPECT_TRUE(out.t.errors.empty());
  html_report rep(s.files);
  replay_options o;
  o.check = check;
  rep.observe(o);
  out.r = std::make_unique<replayer>(std::move(s), o);
  out.r->run(out.t.events);
  report_meta meta;
  meta.trace = "t<&>\"'.strace";
  meta.check = check;
  out.page = rep.render(*out.r, meta, lim);
  return out;
}

const char *start_maps =
    "555555554000-555555555000 r--p 00000000 fe:00 100                        /bin/prog\n"
    "555555555000-555555556000 r-xp 00001000 fe:00 100                        /bin/prog\n"
    "7ffff7fc5000-7ffff7fc7000 r-xp 00000000 00:00 0                          [vdso]\n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

// execve, the start marker (seeds from maps.start), one mmap, the end marker.
std::string small_trace(const std::string &mmap_result) {
  return "100 00:00:00.000001 execve(\"/bin/prog\", [\"prog\"], 0x7ffe /* 1 var */) = 0\n"
         "100 00:00:00.000002 munmap(0x6d617073a0, 0) = -1 EINVAL (Invalid argument)\n"
         "100 00:00:00.000002 munmap(0x6d617073a1, 0) = -1 EINVAL (Invalid argument)\n"
         "100 00:00:00.000002 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, "
         "-1, 0) = " +
         mmap_result +
         "\n"
         "100 00:00:00.000002 munmap(0x6d617073e0, 0) = -1 EINVAL (Invalid argument)\n"
         "100 00:00:00.000002 munmap(0x6d617073e1, 0) = -1 EINVAL (Invalid argument)\n"
         "100 00:00:00.000002 exit_group(0) = ?\n"
         "100 00:00:00.000002 +++ exited with 0 +++\n";
}

TEST(HtmlReport, EscapesText) {
  EXPECT_EQ(svg::escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

TEST(HtmlReport, KindsFromNames) {
  EXPECT_EQ(svg::kind_of("/usr/lib/libc.so.6", false), 'f');
  EXPECT_EQ(svg::kind_of("", false), 'a');
  EXPECT_EQ(svg::kind_of("[anon:glibc]", false), 'a');
  EXPECT_EQ(svg::kind_of("[heap]", false), 'h');
  EXPECT_EQ(svg::kind_of("[stack]", false), 's');
  EXPECT_EQ(svg::kind_of("[vvar]", false), 'x');
  EXPECT_EQ(svg::kind_of("/dev/zero (deleted)", true), 'm');
}

TEST(HtmlReport, SampleKeepsEndsAndSpikes) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> v;
  for (std::uint64_t i = 0; i < 10000; ++i) v.emplace_back(i, i == 5000 ? 999 : 3);
  auto s = svg::sample(v, 100);
  EXPECT_LE(s.size(), 100u);
  EXPECT_EQ(s.front(), v.front());
  EXPECT_EQ(s.back(), v.back());
  bool spike = false;
  for (const auto &p : s) spike |= p.second == 999;
  EXPECT_TRUE(spike);
}

TEST(HtmlReport, SmallAndHugeMappingsAreBothVisibleAndBigGapsCut) {
  std::size_t bad = 0;
  std::string maps =
      "10000-11000 r--p 00000000 00:00 0 \n"
      "11000-40011000 rw-p 00000000 00:00 0 \n"
      "7f0000000000-7f0000001000 r--s 00000000 00:01 5                /x\n";
  svg::lane l{"model", svg::boxes_of(maps, {}, bad)};
  EXPECT_EQ(bad, 0u);
  std::string s = svg::map_svg("m", {l});
  std::regex w("width=\"([0-9]+)\" height=\"13\"");
  std::vector<int> widths;
  for (std::sregex_iterator it(s.begin(), s.end(), w), end; it != end; ++it)
    widths.push_back(std::stoi((*it)[1]));
  ASSERT_EQ(widths.size(), 3u);
  EXPECT_GE(widths[0], 4);    // one page
  EXPECT_LT(widths[1], 100);  // a GiB, not 2^18 times wider
  EXPECT_GT(widths[1], widths[0]);
  EXPECT_EQ(count(s, "class=\"cut\""), 1u);  // the 127 TiB gap
  EXPECT_NE(s.find("class=\"v m p4\""), std::string::npos);
}

TEST(HtmlReport, DifferingSnapshotIsDrawnBesideTheKernelsWithTheLinesMarked) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  std::string end = start_maps;
  // The kernel placed it elsewhere than the trace says: a mismatch.
  end.insert(end.find("7ffff7fc5000"), "7ffff7000000-7ffff7002000 rw-p 00000000 00:00 0 \n");
  s.add("maps.end.100", end);
  run_result r = run(small_trace("0x7ffff7100000"), std::move(s), true);
  ASSERT_EQ(r.r->comparisons().size(), 2u);
  EXPECT_EQ(r.r->comparisons()[1].result, verdict::mismatch);
  EXPECT_EQ(count(r.page, "<g class=\"kernel\">"), 1u);
  EXPECT_EQ(count(r.page, "<table class=\"diff\" data-del=\"1\" data-add=\"1\">"), 1u);
  EXPECT_EQ(count(r.page, " d\"><title>"), 2u);  // one marked box per side
  EXPECT_NE(r.page.find("MISMATCH"), std::string::npos);
  // Trace text is escaped.
  EXPECT_EQ(r.page.find("t<&>"), std::string::npos);
  EXPECT_NE(r.page.find("t&lt;&amp;&gt;&quot;&#39;.strace"), std::string::npos);
  EXPECT_EQ(r.page.find("<script src"), std::string::npos);
}

TEST(HtmlReport, FiguresMatchTheReplay) {
  snapshot_set s;
  s.add("maps.start.100", start_maps);
  run_result r = run(small_trace("0x7ffff7100000"), std::move(s), false);
  const mm_record &m = *r.r->mms().back();
  std::string vmas = "<td data-k=\"vmas\">" + std::to_string(m.as->map_count()) + "</td>";
  EXPECT_NE(r.page.find(vmas), std::string::npos);
  EXPECT_NE(r.page.find("data-series=\"vmas\" data-last=\"" + std::to_string(m.as->map_count())),
            std::string::npos);
  // No --check: the snapshot maps are the model's only.
  EXPECT_EQ(count(r.page, "<g class=\"kernel\">"), 0u);
  EXPECT_GE(count(r.page, "<svg class=\"map\""), 2u);  // maps.start, maps.end
}

// 64 processes (forks of one), 10^5 syscalls: the page stays small, the
// charts are sampled and the maps capped, with a note.
TEST(HtmlReport, BigTracesStayAFewMegabytes) {
  std::string t =
      "1 00:00:00.000001 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x100000\n";
  char b[200];
  for (int p = 0; p < 64; ++p) {
    std::snprintf(b, sizeof b, "1 00:00:00.000002 clone(child_stack=NULL, flags=SIGCHLD) = %d\n",
                  1000 + p);
    t += b;
  }
  for (int i = 0; i < 100000; ++i) {
    int pid = 1000 + i % 64;
    std::uint64_t a = 0x200000000ull + std::uint64_t(i / 64 % 400) * 0x2000;
    if (i / 64 / 400 % 2 == 1)  // the last phase maps
      std::snprintf(b, sizeof b,
                    "%d 00:00:00.000003 mmap(0x%llx, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, "
                    "-1, 0) = 0x%llx\n",
                    pid, (unsigned long long)a, (unsigned long long)a);
    else
      std::snprintf(b, sizeof b, "%d 00:00:00.000003 munmap(0x%llx, 4096) = 0\n", pid,
                    (unsigned long long)a);
    t += b;
  }
  run_result r = run(t, {}, false);
  EXPECT_EQ(r.r->stats().syscalls, 100065u);
  EXPECT_EQ(count(r.page, "<section class=\"mm\""), 65u);
  EXPECT_LT(r.page.size(), std::size_t{4} << 20) << r.page.size();
  EXPECT_NE(r.page.find("Maps drawn: "), std::string::npos);
  // Each chart line has at most series_points points.
  std::size_t pl = r.page.find("data-series=\"vmas\"");
  ASSERT_NE(pl, std::string::npos);
  std::size_t end = r.page.find("/>", pl);
  EXPECT_LE(count(r.page.substr(pl, end - pl), ","), report_limits{}.series_points);
}

}  // namespace
