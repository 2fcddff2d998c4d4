// html_report.h - `maple-vma replay ... --html FILE`: one self-contained
// HTML page (inline SVG and a little inline JavaScript, nothing fetched)
// with, per address space of the replay, its maps at each snapshot and at
// the end, its VMA count and tree shape over the trace, its splits and
// merges per syscall, and with --check each differing snapshot beside the
// kernel's (tools/maple-vma/NOTES.md "HTML report").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "replay.h"

namespace maple::vma_tool {

/// Bounds that keep the page at a few MB on big traces (the rest is listed
/// without a figure, with a note).
struct report_limits {
  std::size_t series_points = 200;    ///< points per chart line (sampled)
  std::size_t max_maps = 100;         ///< maps drawn (snapshots and end states)
  std::size_t max_map_vmas = 9000;    ///< VMA boxes in all maps together
  std::size_t max_diff_lines = 3000;  ///< lines of all side-by-side diffs together
};

/// What the page says about the command besides the replay.
struct report_meta {
  std::string trace, maps_dir;
  bool check = false;
  std::size_t trace_lines = 0, parse_errors = 0;
  int exit_status = 0;
};

/// Records what a replay's observers report (replay_options::on_vma_change
/// and on_snapshot), then renders the page.
class html_report {
 public:
  /// kernel: the snapshot files by name (drawn beside the model's maps
  /// where a comparison differs).
  explicit html_report(std::map<std::string, std::string> kernel);
  /// Sets o's observers to record into *this, which must outlive the run.
  void observe(replay_options &o);
  /// The page, after r.run().
  std::string render(const replayer &r, const report_meta &meta,
                     const report_limits &lim = {}) const;

  struct point {
    std::uint64_t x = 0;  ///< syscall index
    std::uint32_t vmas = 0, nodes = 0, height = 0;
  };
  struct call_counts {
    std::uint64_t calls = 0, splits = 0, merges = 0;
  };
  struct snapshot {
    std::string file;
    std::size_t line = 0;
    std::uint64_t x = 0;
    std::string maps;  ///< the model's
    point at;
  };
  /// What one address space went through.
  struct mm_log {
    std::vector<point> series;
    std::map<std::string, call_counts> calls;  ///< by syscall name (or "maps.start")
    std::uint64_t splits = 0, merges = 0;      ///< mm_stats when last seen
    std::vector<snapshot> snaps;
    bool changed_since_snapshot = false;
  };

 private:
  struct page;
  void changed(std::uint64_t index, const std::string &what, const mm_record &m);
  void snapshot_taken(std::uint64_t index, const std::string &file, std::size_t line,
                      const mm_record &m);

  std::map<std::string, std::string> kernel_;
  std::map<int, mm_log> mms_;  ///< by mm_record::id
};

/// Writes text to path; false with `why` set on failure.
bool write_text_file(const std::string &path, const std::string &text, std::string &why);

}  // namespace maple::vma_tool
