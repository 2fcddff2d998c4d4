// fuzz/fuzz_trace.cpp - libFuzzer target for maple-vma's strace parser and
// replayer (tools/maple-vma): the input is trace text (split at the first
// "\n#maps\n" line: what follows is used as every snapshot file's text, so
// that seeding and comparing run too). Any input must be parsed or rejected
// with a line number and a reason, never crash; every address space the
// replay builds must validate.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "replay.h"
#include "strace_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  using namespace maple::vma_tool;
  std::string_view in(reinterpret_cast<const char *>(data), size);
  if (size > (1u << 16)) return 0;
  std::string_view trace = in, maps;
  if (std::size_t p = in.find("\n#maps\n"); p != std::string_view::npos) {
    trace = in.substr(0, p + 1);
    maps = in.substr(p + 7);
  }
  parsed_trace t = parse_trace(trace);
  for (const parse_error &e : t.errors) {
    if (e.line == 0 || e.line > t.lines || e.reason.empty()) {
      std::fprintf(stderr, "bad parse error: line %zu of %zu, '%s'\n", e.line, t.lines,
                   e.reason.c_str());
      std::abort();
    }
  }
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
  for (const auto &m : r.mms()) {
    std::string bad = m->as->validate();
    if (!bad.empty()) {
      std::fprintf(stderr, "mm %d does not validate: %s\n", m->id, bad.c_str());
      std::abort();
    }
    (void)m->as->maps();
  }
  return 0;
}
