// replay.h - replays a parsed strace log into maple::mm address spaces and
// compares them with the recorded /proc/PID/maps snapshots
// (tools/maple-vma; rules in docs/mm.md "Replaying traces").
#pragma once

#include <maple/mm.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "maps_compare.h"
#include "strace_parser.h"

namespace maple::vma_tool {

/// The snapshot files of a trace directory: maps.{start,init,fork,end}.PID[.N].
struct snapshot_set {
  /// file name -> contents
  std::map<std::string, std::string> files;
  /// name -> (dev major, dev minor, inode), from every maps line of every
  /// file (a deleted file under its name with " (deleted)")
  struct ident {
    unsigned major = 0, minor = 0;
    std::uint64_t inode = 0;
  };
  std::map<std::string, ident> paths;
  /// Loads every maps.* file of `dir` (none if it does not exist).
  static snapshot_set load(const std::string &dir, std::string &why);
  /// Adds one file (tests, fuzzing).
  void add(const std::string &name, std::string text);
};

/// The snapshot name for a marker: kind 'a'/'b'/'c'/'e', the pid (TGID) and
/// the number of successful execves of that pid so far (0: a forked image).
std::string snapshot_name(char kind, std::int64_t pid, int execs);

/// One comparison at a marker pair.
struct comparison {
  std::string file;
  std::int64_t pid = 0;
  std::size_t line = 0;  ///< the trace line of the closing marker
  bool matched = false;  ///< result == verdict::match
  verdict result = verdict::match;
  std::string diff;                       ///< unified diff (kernel file -> model), "" if matched
  std::vector<std::string> ignored;       ///< what the comparison ignored, one note each
  std::vector<std::string> undetermined;  ///< result undetermined: why, one reason each
};

/// A successful syscall the model refused, or one it could not apply.
struct divergence {
  std::size_t line = 0;
  std::string what;
};

/// A call applied ahead of its result line (docs/mm.md "Concurrent calls"):
/// it was in flight (its first line printed, its result not yet) when the
/// call completing at `before` completed, and the model reproduces that
/// call's result only with it applied first.
struct reorder {
  std::size_t line = 0;    ///< the result line of the call applied early
  std::size_t before = 0;  ///< the result line of the call it was applied before
};

/// One address space of the run.
struct mm_record {
  int id = 0;
  std::int64_t pid = 0;  ///< owner TGID
  int execs = 0;         ///< successful execves of pid when created (0: forked image)
  std::string label;     ///< program path or "fork of PID"
  std::string state = "live";
  std::unique_ptr<maple::mm::address_space> as;
  bool awaiting_start = false;  ///< skip calls until the start marker (maps.start seeds it)
  bool seeded = false;
  bool used = false;  ///< a syscall was applied or it was seeded
  bool brk_known = false;
  std::optional<std::uint64_t> first_brk, last_brk;  ///< brk results seen before seeding
};

struct replay_stats {
  std::map<std::string, std::uint64_t> calls;      ///< syscall name -> events
  std::map<std::string, std::uint64_t> failed;     ///< failed in the trace (skipped)
  std::map<std::string, std::uint64_t> restarted;  ///< `= ? ERESTART...` (skipped)
  std::map<std::string, std::uint64_t> skipped;    ///< before a start marker (in maps.start)
  /// Succeeded, cannot change VMAs (personality, prctl other than PR_SET_VMA).
  std::map<std::string, std::uint64_t> no_vma_change;
  /// Succeeded, can change VMAs, not replayed by the model (mbind, shmat, ...):
  /// reported once per name with the count, not as divergences.
  std::map<std::string, std::uint64_t> not_modelled;
  /// Succeeded, change the fd table or file names only (open, close, dup,
  /// unlink, rename, ...).
  std::map<std::string, std::uint64_t> file_calls;
  std::uint64_t syscalls = 0, applied = 0, markers = 0;
  double seconds = 0;
};

struct replay_options {
  bool check = false;         ///< compare at the marker pairs
  bool touch_at_fork = true;  ///< writable private VMAs count as written at a fork
  bool touch_on_move = true;  ///< a moved/grown mremap source counts as written
  bool touch_on_mmap = true;  ///< private writable anonymous mmaps count as written at once
  /// Address spaces keep lock-free lookups on (RCU-deferred frees); off by
  /// default: the replay looks VMAs up on its own thread only.
  bool lockless_lookups = false;
  /// Called now and then (every few thousand events, and at the end) with
  /// the trace lines done and the trace's last line.
  std::function<void(std::size_t done, std::size_t total)> progress;
  /// Observers (the HTML report): `index` is the syscall's number in the
  /// replay (1-based, replay_stats::syscalls). on_vma_change: after a call
  /// was applied to m (`what`: its name; a divergence too), a fork made m
  /// (and after it for the parent), or m was seeded ("maps.start").
  std::function<void(std::uint64_t index, const std::string &what, const mm_record &m)>
      on_vma_change;
  /// At a snapshot's closing marker, with or without check (after its
  /// comparison, if any): the snapshot file's name and m at that point.
  std::function<void(std::uint64_t index, const std::string &file, std::size_t line,
                     const mm_record &m)>
      on_snapshot;
};

/// One fd of a process's table, as the replay sees it (tests, debugging).
struct fd_view {
  std::uint64_t fd = 0;
  std::uint64_t file = 0;  ///< the open file description's id (0: not known yet)
  std::string path;        ///< as maps would print it
  bool cloexec = false;
};

class replayer {
 public:
  replayer(snapshot_set snaps, replay_options opt);
  ~replayer();
  /// Replays every event (the trace's events, in completion order; a call
  /// in flight beside one whose result the model reproduces only after it
  /// is applied ahead of its result line: docs/mm.md "Concurrent calls").
  void run(const std::vector<event> &events);

  const std::vector<std::unique_ptr<mm_record>> &mms() const noexcept { return mms_; }
  const std::vector<comparison> &comparisons() const noexcept { return cmps_; }
  const std::vector<divergence> &divergences() const noexcept { return divs_; }
  /// Calls applied ahead of their result lines, in the order applied.
  const std::vector<reorder> &reorders() const noexcept { return reorders_; }
  const replay_stats &stats() const noexcept { return st_; }
  /// Snapshot files of the set never compared (no marker pair seen).
  std::vector<std::string> uncompared() const;
  /// The trace shows file lifetime (unlink/rename, or open and close):
  /// ` (deleted)` differences are then mismatches (docs/mm.md).
  bool file_lifetime_traced() const noexcept;
  /// The fd table of the process of task `tid` (empty if the task is gone).
  std::vector<fd_view> fds(std::int64_t tid) const;

  struct impl;

 private:
  std::unique_ptr<impl> p_;
  std::vector<std::unique_ptr<mm_record>> mms_;
  std::vector<comparison> cmps_;
  std::vector<divergence> divs_;
  std::vector<reorder> reorders_;
  replay_stats st_;
};

/// Exit statuses of `maple-vma replay` (tools/maple-vma/main.cpp).
inline constexpr int exit_ok = 0;        ///< success; with --check every snapshot matched
inline constexpr int exit_mismatch = 1;  ///< --check: a mismatch, divergence or file never compared
inline constexpr int exit_bad_input = 2;     ///< bad usage, an unreadable or malformed trace
inline constexpr int exit_undetermined = 3;  ///< --check: only undetermined differences

/// The verdict of a checked replay: a mismatch when a comparison mismatched,
/// a snapshot file was never compared or the model diverged; else
/// undetermined when a comparison was; else a match.
verdict overall_verdict(const replayer &r);
/// exit_ok, exit_mismatch or exit_undetermined.
int exit_status_for(verdict v) noexcept;

}  // namespace maple::vma_tool
