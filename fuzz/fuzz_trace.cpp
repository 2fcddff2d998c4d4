// fuzz/fuzz_trace.cpp - libFuzzer target for maple-vma's strace parser and
// replayer (tools/maple-vma): the input is trace text (split at the first
// "\n#maps\n" line: what follows is used as every snapshot file's text, so
// that seeding and comparing run too). Any input must be parsed or rejected
// with a line number, a column and a reason, never crash; a bad line is one
// error and never a second one on another line (at most one error per line,
// no more errors than lines with text); events and notes name lines of the
// input; every address space the replay builds must validate; every
// comparison's verdict (MATCH, MISMATCH, UNDETERMINED) comes with its diff
// and reasons. Inputs hold file lifetime calls too (open*, close, dup*,
// fcntl, unlink*, rename*, memfd_create, close_range: fuzz/corpus).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "replay.h"
#include "strace_parser.h"

namespace {

using namespace maple::vma_tool;

[[noreturn]] void bad(const char *what, std::size_t line, std::size_t lines,
                      const std::string &why) {
  std::fprintf(stderr, "%s: line %zu of %zu, '%s'\n", what, line, lines, why.c_str());
  std::abort();
}

// The lines of the text that hold something besides spaces.
std::size_t lines_with_text(std::string_view text) {
  std::size_t n = 0;
  bool text_seen = false;
  for (char c : text) {
    if (c == '\n') {
      n += text_seen;
      text_seen = false;
    } else if (c != ' ' && c != '\t' && c != '\r') {
      text_seen = true;
    }
  }
  return n + text_seen;
}

void check_parse(std::string_view trace, const parsed_trace &t) {
  std::size_t prev = 0;
  for (const parse_error &e : t.errors) {
    if (e.line == 0 || e.line > t.lines || e.reason.empty() || e.column == 0)
      bad("bad parse error", e.line, t.lines, e.reason);
    if (e.line == prev) bad("two errors on one line (a cascade)", e.line, t.lines, e.reason);
    prev = e.line;
  }
  if (t.errors.size() > lines_with_text(trace))
    bad("more errors than lines", t.errors.size(), t.lines, "");
  for (const parse_note &n : t.notes)
    if (n.line == 0 || n.line > t.lines || n.what.empty()) bad("bad note", n.line, t.lines, n.what);
  for (const event &e : t.events) {
    if (e.line == 0 || e.line > t.lines || e.start_line == 0 || e.start_line > e.line)
      bad("bad event lines", e.line, t.lines, e.name);
  }
}

// Each verdict comes with what explains it: a match has no diff, a
// mismatch has one, an undetermined difference has a diff and its reasons;
// every fd table of a live task names open files.
void check_replay(const replayer &r, const parsed_trace &t) {
  for (const comparison &c : r.comparisons()) {
    bool ok = c.result == verdict::match      ? c.diff.empty() && c.undetermined.empty()
              : c.result == verdict::mismatch ? !c.diff.empty()
                                              : !c.diff.empty() && !c.undetermined.empty();
    if (!ok || c.matched != (c.result == verdict::match))
      bad("verdict without its reason", c.line, t.lines, c.file);
  }
  for (const event &e : t.events) {
    for (const fd_view &f : r.fds(e.tid))
      if (f.file == 0 && !f.path.empty()) bad("fd without a file", e.line, t.lines, f.path);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char *>(data), size);
  if (size > (1u << 16)) return 0;
  std::string_view trace = in, maps;
  if (std::size_t p = in.find("\n#maps\n"); p != std::string_view::npos) {
    trace = in.substr(0, p + 1);
    maps = in.substr(p + 7);
  }
  parsed_trace t = parse_trace(trace);
  check_parse(trace, t);
  snapshot_set snaps;
  if (!maps.empty()) {
    // Every pid of the trace gets the same snapshots.
    for (const event &e : t.events) {
      for (char k : {'a', 'b', 'c', 'e'}) {
        std::string name = snapshot_name(k, e.tid, 1);
        if (!snaps.files.count(name)) snaps.add(name, std::string(maps));
      }
      if (snaps.files.size() > 64) break;
    }
  }
  replay_options o;
  o.check = true;
  replayer r(std::move(snaps), o);
  r.run(t.events);
  check_replay(r, t);
  for (const auto &m : r.mms()) {
    std::string bad = m->as->validate().message;
    if (!bad.empty()) {
      std::fprintf(stderr, "mm %d does not validate: %s\n", m->id, bad.c_str());
      std::abort();
    }
    (void)m->as->maps();
  }
  return 0;
}
