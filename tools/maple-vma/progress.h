// progress.h - a progress bar on stderr for long runs of maple-vma (the
// replay, the recorder): done / total, rate and ETA (or, with no total, the
// elapsed time), and an optional note, on one line that is
// redrawn at most 10 times a second and cleared at the end. Nothing is drawn
// when the stream is not a terminal, when disabled (--quiet), or before the
// run has taken a second.
//
//   progress_bar bar("replay", "lines", total, !quiet);
//   for (...) bar.update(done);     // cheap: one clock read per call
//   bar.finish();                   // or let the destructor clear it
//
// Not thread-safe: one thread updates a bar.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace maple::vma_tool {

class progress_bar {
 public:
  using clock = std::chrono::steady_clock;

  /// label: what runs ("replay"); unit: what is counted ("lines", "bytes");
  /// total: 0 when not known (no percentage, no ETA). enabled: false for
  /// --quiet; fd: the stream (drawn only if isatty(fd)).
  progress_bar(std::string label, std::string unit, std::uint64_t total, bool enabled = true,
               int fd = 2);
  ~progress_bar();
  progress_bar(const progress_bar &) = delete;
  progress_bar &operator=(const progress_bar &) = delete;

  /// Will anything be drawn (enabled and a terminal)?
  bool active() const noexcept { return active_; }
  void set_total(std::uint64_t total) noexcept { total_ = total; }
  /// The work done so far; redraws when due. `note`: shown after the
  /// numbers ("12 snapshots"), "" for none.
  void update(std::uint64_t done, const std::string &note = "");
  /// Clears the line if anything was drawn; later updates draw nothing.
  void finish();

  /// One frame's text, at most `width` - 1 columns (for tests too), e.g.
  /// "replay [#####.....]  48%  1200/2500 lines  600 lines/s  ETA 0:02", or
  /// with no total "record 56.8k bytes  18.9k bytes/s  0:03  2 snapshots"
  /// (the elapsed time, then the note).
  static std::string frame(const std::string &label, const std::string &unit, std::uint64_t done,
                           std::uint64_t total, double seconds, std::size_t width,
                           const std::string &note = "");

  /// Before the first frame (1 s) and between frames (100 ms).
  void set_timing(std::chrono::milliseconds delay, std::chrono::milliseconds interval) noexcept {
    delay_ = delay;
    interval_ = interval;
  }

 private:
  std::string label_, unit_;
  std::uint64_t total_ = 0;
  int fd_ = 2;
  bool active_ = false, drawn_ = false;
  std::chrono::milliseconds delay_{1000}, interval_{100};
  clock::time_point start_, last_;
  void draw(const std::string &text) const;
};

}  // namespace maple::vma_tool
