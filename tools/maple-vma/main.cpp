// maple-vma - replays a real strace log of a program's memory syscalls into
// maple::mm address spaces and checks them against the kernel's own
// /proc/PID/maps snapshots (docs/mm.md "Replaying traces").
//
//   maple-vma                      the shipped trace (data/traces/threads-fork)
//                                  with --check --stats
//   maple-vma replay TRACE|DIR [--maps-dir DIR] [--check] [--pid PID] [--stats] [--quiet]
//                              [--html FILE]
//
// TRACE: a file (plain or .xz) or - for stdin; DIR: a trace directory (its
// trace.strace or trace.strace.xz, and its maps files). Each snapshot is MATCH,
// MISMATCH or UNDETERMINED (the difference is state strace cannot show:
// docs/mm.md "Undetermined differences"). Exit status: 0 success (and every
// snapshot matched with --check), 1 a snapshot mismatched, was never
// compared, or a call the kernel accepted was refused by the model
// (--check), 2 bad usage, an unreadable or malformed trace, 3 (--check) no
// mismatch and no divergence, but some snapshots undetermined. --html FILE
// also writes an HTML report (html_report.h); it changes no exit status but
// 2 when FILE cannot be written.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "html_report.h"
#include "progress.h"
#include "record.h"
#include "replay.h"
#include "strace_parser.h"
#include "trace_input.h"

#ifndef MAPLE_VMA_DEFAULT_TRACE
#define MAPLE_VMA_DEFAULT_TRACE ""
#endif

namespace {

using namespace maple::vma_tool;

int usage(std::ostream &o, int rc) {
  o << "usage: maple-vma [replay TRACE|DIR [--maps-dir DIR] [--check] [--pid PID] [--stats] "
       "[--quiet] [--html FILE]]\n"
       "  TRACE        strace -f -tt -y log (plain, .xz, or - for stdin)\n"
       "  DIR          a trace directory (a recording, e.g. data/corpus/NAME): its\n"
       "               trace.strace or trace.strace.xz and its maps files\n"
       "  --maps-dir   directory of maps.{start,init,fork,end}.PID files (default: TRACE's)\n"
       "  --check      compare with every maps file at its marker pair: MATCH, MISMATCH or\n"
       "               UNDETERMINED (only state strace cannot show differs); exit 0 all match,\n"
       "               1 a mismatch or divergence, 3 only undetermined differences\n"
       "  --pid PID    print only the address spaces of PID\n"
       "  --stats      syscalls, VMAs, splits/merges, tree shape, throughput; the calls\n"
       "               applied ahead of their result lines (docs/mm.md \"Concurrent calls\")\n"
       "  --quiet      do not print the final maps (nor a progress bar)\n"
       "  --touch LIST when VMAs count as written (anon_vma): any of mmap,mremap,fork, or\n"
       "               none (default: mmap,mremap,fork; docs/mm.md \"Replaying traces\")\n"
       "  --html FILE  also write a self-contained HTML report: per address space its maps\n"
       "               at each snapshot and at the end, VMAs and tree shape over the trace,\n"
       "               splits/merges per syscall; with --check the differing snapshots beside\n"
       "               the kernel's, marked, and a side-by-side diff (exit statuses as above;\n"
       "               2 if FILE cannot be written)\n"
       "With no arguments: replay " MAPLE_VMA_DEFAULT_TRACE " --check --stats\n"
    << record_usage();
  return rc;
}

struct options {
  std::string trace;
  std::optional<std::string> maps_dir;
  bool check = false, stats = false, quiet = false;
  std::optional<std::int64_t> pid;
  std::string touch = "mmap,mremap,fork";
  std::optional<std::string> html;
};

// Parse errors (the first 20 in full, then the count), and the lines that
// were no trace events, counted by kind.
void report_parse(const std::string &trace, const parsed_trace &pt) {
  for (std::size_t i = 0; i < pt.errors.size() && i < 20; ++i) {
    const parse_error &e = pt.errors[i];
    std::cerr << trace << ":" << e.line << ":" << e.column << ": " << e.reason << "\n    " << e.text
              << "\n";
  }
  if (pt.errors.size() > 20) std::cerr << "... " << pt.errors.size() - 20 << " more errors\n";
  if (!pt.errors.empty())
    std::cerr << "maple-vma: " << pt.errors.size() << " unreadable lines (skipped)\n";
  std::map<std::string, std::size_t> notes;
  for (const parse_note &n : pt.notes) ++notes[n.what];
  if (notes.empty()) return;
  std::cerr << "maple-vma: lines skipped:";
  const char *sep = " ";
  for (const auto &[what, count] : notes) {
    std::cerr << sep << what << " x" << count;
    sep = ", ";
  }
  std::cerr << "\n";
}

// Calls that could change VMAs but that the model does not replay: once
// per name, with the count.
void report_not_modelled(const replay_stats &s) {
  if (s.not_modelled.empty()) return;
  std::cerr << "maple-vma: not modelled (succeeded in the trace, not replayed):";
  const char *sep = " ";
  for (const auto &[name, count] : s.not_modelled) {
    std::cerr << sep << name << " x" << count;
    sep = ", ";
  }
  std::cerr << "\n";
}

// Calls applied ahead of their result lines (docs/mm.md "Concurrent
// calls"): one line with the count; each with --stats.
void report_reorders(const std::string &trace, const replayer &r, bool each) {
  if (r.reorders().empty()) return;
  std::cerr << "maple-vma: " << r.reorders().size()
            << " calls applied ahead of their result lines (in flight when a call that needs "
               "them completed)\n";
  if (!each) return;
  for (const reorder &o : r.reorders())
    std::cerr << trace << ":" << o.line << ": applied before line " << o.before << "\n";
}

// Reads the command line into o; returns an exit status when it is done
// (help, bad usage), nullopt to go on.
std::optional<int> parse_options(const std::vector<std::string> &args, options &o) {
  if (args.empty()) {
    o.trace = MAPLE_VMA_DEFAULT_TRACE;
    o.check = o.stats = true;
    return o.trace.empty() ? std::optional<int>(usage(std::cerr, 2)) : std::nullopt;
  }
  if (args[0] == "-h" || args[0] == "--help") return usage(std::cout, 0);
  if (args[0] != "replay") return usage(std::cerr, 2);
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string &a = args[i];
    std::optional<std::string> v;
    if (a == "--maps-dir" || a == "--touch" || a == "--pid" || a == "--html") {
      if (i + 1 >= args.size()) return usage(std::cerr, 2);
      v = args[++i];
    }
    if (a == "--check") {
      o.check = true;
    } else if (a == "--stats") {
      o.stats = true;
    } else if (a == "--quiet") {
      o.quiet = true;
    } else if (a == "--maps-dir") {
      o.maps_dir = v;
    } else if (a == "--touch") {
      o.touch = *v;
    } else if (a == "--html") {
      if (v->empty()) return usage(std::cerr, 2);
      o.html = v;
    } else if (a == "--pid") {
      if (v->empty() || v->find_first_not_of("0123456789") != std::string::npos)
        return usage(std::cerr, 2);
      o.pid = std::stoll(*v);
    } else if (o.trace.empty() && (a == "-" || a.rfind("-", 0) != 0)) {
      o.trace = a;
    } else {
      std::cerr << "maple-vma: unknown argument '" << a << "'\n";
      return usage(std::cerr, 2);
    }
  }
  if (o.trace.empty()) return usage(std::cerr, 2);
  return std::nullopt;
}

void print_maps(const replayer &r, const options &o) {
  for (const auto &m : r.mms()) {
    if (!m->used) continue;
    if (o.pid && m->pid != *o.pid) continue;
    std::cout << "== mm " << m->id << ": pid " << m->pid << " " << m->label << " (" << m->state
              << "), " << m->as->map_count() << " VMAs ==\n"
              << m->as->maps();
  }
}

// Every comparison with its verdict, the files never compared, and the
// summary line.
void print_check(const replayer &r, const options &o) {
  std::size_t counts[3] = {0, 0, 0};
  std::cout << "== check against " << (*o.maps_dir).c_str() << " ==\n";
  for (const comparison &c : r.comparisons()) {
    std::cout << verdict_name(c.result) << " " << c.file << " (pid " << c.pid << ", marker at line "
              << c.line << ")\n";
    for (const std::string &n : c.ignored) std::cout << "      ignored: " << n << "\n";
    for (const std::string &n : c.undetermined) std::cout << "      undetermined: " << n << "\n";
    if (c.result != verdict::match) std::cout << c.diff;
    ++counts[static_cast<int>(c.result)];
  }
  std::vector<std::string> missing = r.uncompared();
  for (const std::string &f : missing)
    std::cout << "NOT COMPARED " << f << " (no marker pair for it in the trace)\n";
  std::size_t total = r.comparisons().size() + missing.size();
  std::cout << "check: " << counts[0] << "/" << total << " snapshot files match, " << counts[1]
            << " undetermined, " << counts[2] << " mismatch";
  if (!missing.empty()) std::cout << ", " << missing.size() << " not compared";
  if (!r.divergences().empty()) std::cout << ", " << r.divergences().size() << " model divergences";
  std::cout << "\n";
}

// One line per syscall name: count, failed, skipped, interrupted, ...
void print_call_stats(const replay_stats &s) {
  for (const auto &[name, count] : s.calls) {
    std::cout << "  " << std::left << std::setw(14) << name << std::right << std::setw(8) << count;
    for (const auto &[map, what] :
         {std::pair{&s.failed, "failed"}, std::pair{&s.skipped, "before the start marker"},
          std::pair{&s.restarted, "interrupted (ERESTART*)"},
          std::pair{&s.no_vma_change, "cannot change VMAs"},
          std::pair{&s.file_calls, "fd table or file names"},
          std::pair{&s.not_modelled, "not modelled"}}) {
      auto n = map->find(name);
      if (n != map->end()) std::cout << "  (" << n->second << " " << what << ")";
    }
    std::cout << "\n";
  }
}

// Per address space and in total: VMAs, splits, merges, tree shape.
void print_mm_stats(const replayer &r) {
  std::uint64_t vmas = 0, splits = 0, merges = 0, created = 0, nodes = 0, bytes = 0;
  unsigned height = 0;
  int mms = 0;
  for (const auto &m : r.mms()) {
    if (!m->used) continue;
    ++mms;
    maple::mm::mm_stats ms = m->as->stats();
    maple::tree_stats ts = m->as->stats().tree;
    vmas += m->as->map_count();
    splits += ms.splits;
    merges += ms.merges;
    created += ms.vmas_created;
    nodes += ts.nodes;
    bytes += ts.bytes;
    height = std::max(height, ts.height);
    std::cout << "  mm " << m->id << " (pid " << m->pid << "): " << m->as->map_count() << " VMAs, "
              << ms.splits << " splits, " << ms.merges << " merges, tree height " << ts.height
              << ", " << ts.nodes << " nodes, " << ts.bytes << " bytes\n";
  }
  std::cout << "address spaces: " << mms << ", VMAs at the end: " << vmas << ", created " << created
            << ", splits " << splits << ", merges " << merges << "\n"
            << "tree: max height " << height << ", " << nodes << " nodes, " << bytes << " bytes";
  if (vmas)
    std::cout << " (" << std::fixed << std::setprecision(1) << double(bytes) / double(vmas)
              << " bytes per VMA)";
  std::cout << "\n";
}

void print_stats(const replayer &r, const parsed_trace &pt) {
  const replay_stats &s = r.stats();
  std::cout << "== stats ==\n"
            << "trace: " << pt.lines << " lines, " << pt.events.size() << " events, " << s.syscalls
            << " syscalls (" << s.applied << " applied to a model, " << s.markers << " markers), "
            << pt.errors.size() << " unreadable lines, " << pt.notes.size()
            << " other lines skipped\n";
  print_call_stats(s);
  print_mm_stats(r);
  double rate = s.seconds > 0 ? double(s.syscalls) / s.seconds : 0;
  std::cout << "replay: " << std::fixed << std::setprecision(3) << s.seconds * 1e3 << " ms, "
            << std::setprecision(0) << rate << " syscalls/s\n";
}

// The HTML report of the run (--html); false when it cannot be written.
bool write_report(const html_report &report, const replayer &r, const parsed_trace &pt,
                  const options &o, int rc) {
  report_meta meta;
  meta.trace = o.trace;
  meta.maps_dir = o.maps_dir.value_or("");
  meta.check = o.check;
  meta.trace_lines = pt.lines;
  meta.parse_errors = pt.errors.size();
  meta.exit_status = rc;
  std::string why;
  if (write_text_file(*o.html, report.render(r, meta), why)) return true;
  std::cerr << "maple-vma: --html: " << why << "\n";
  return false;
}

replay_options replay_options_for(const options &o) {
  replay_options ro;
  ro.check = o.check;
  ro.touch_on_mmap = o.touch.find("mmap") != std::string::npos;
  ro.touch_on_move = o.touch.find("mremap") != std::string::npos;
  ro.touch_at_fork = o.touch.find("fork") != std::string::npos;
  return ro;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc >= 2 && std::string(argv[1]) == "record") return record_main({argv + 2, argv + argc});
  options o;
  if (std::optional<int> rc = parse_options({argv + 1, argv + argc}, o)) return *rc;
  std::string text, why;
  if (std::error_code ec; o.trace != "-" && std::filesystem::is_directory(o.trace, ec)) {
    // A trace directory: its trace file, and its maps files.
    if (!o.maps_dir) o.maps_dir = o.trace;
    o.trace = trace_in_dir(o.trace, why);
    if (o.trace.empty()) {
      std::cerr << "maple-vma: " << why << "\n";
      return exit_bad_input;
    }
  }
  if (!o.maps_dir) {
    o.maps_dir =
        o.trace == "-" ? std::string{} : std::filesystem::path(o.trace).parent_path().string();
    if (o.maps_dir->empty() && o.trace != "-") o.maps_dir = ".";
  }
  if (!read_trace(o.trace, text, why)) {
    std::cerr << "maple-vma: " << why << "\n";
    return 2;
  }
  parsed_trace pt;
  {
    progress_bar bar("parse", "bytes", text.size(), !o.quiet);
    pt = parse_trace(text, [&](std::size_t done, std::size_t) { bar.update(done); });
  }
  text.clear();
  text.shrink_to_fit();
  report_parse(o.trace, pt);

  snapshot_set snaps = snapshot_set::load(*o.maps_dir, why);
  if (!why.empty()) std::cerr << "maple-vma: " << why << "\n";
  if (o.check && snaps.files.empty()) {
    std::cerr << "maple-vma: --check: no maps.* files in '" << *o.maps_dir << "'\n";
    return 2;
  }
  progress_bar bar("replay", "lines", pt.lines, !o.quiet);
  replay_options ro = replay_options_for(o);
  if (bar.active()) ro.progress = [&bar](std::size_t done, std::size_t) { bar.update(done); };
  std::optional<html_report> report;
  if (o.html) {
    report.emplace(snaps.files);
    report->observe(ro);
  }
  replayer r(std::move(snaps), std::move(ro));
  r.run(pt.events);
  bar.finish();

  if (!o.quiet) print_maps(r, o);
  for (const divergence &d : r.divergences())
    std::cerr << o.trace << ":" << d.line << ": model diverges: " << d.what << "\n";
  report_not_modelled(r.stats());
  report_reorders(o.trace, r, o.stats);
  if (o.check) print_check(r, o);
  if (o.stats) print_stats(r, pt);
  int rc = !pt.errors.empty() ? exit_bad_input
           : o.check          ? exit_status_for(overall_verdict(r))
                              : exit_ok;
  if (report && !write_report(*report, r, pt, o, rc)) return exit_bad_input;
  return rc;
}
