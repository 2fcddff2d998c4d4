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

#include "strace_parser.h"

namespace maple::vma_tool {

/// The snapshot files of a trace directory: maps.{start,init,fork,end}.PID[.N].
struct snapshot_set {
  /// file name -> contents
  std::map<std::string, std::string> files;
  /// path -> (dev major, dev minor, inode), from every maps line of every file
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
  bool matched = false;
  std::string diff;                  ///< unified diff (kernel file -> model), "" if matched
  std::vector<std::string> ignored;  ///< what the comparison ignored, one note each
};

/// A successful syscall the model refused, or one it could not apply.
struct divergence {
  std::size_t line = 0;
  std::string what;
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
  std::function<void(std::size_t done, std::size_t total)> progress;  ///< called now and then
};

class replayer {
 public:
  replayer(snapshot_set snaps, replay_options opt);
  ~replayer();
  /// Replays every event (the trace's events, in completion order).
  void run(const std::vector<event> &events);

  const std::vector<std::unique_ptr<mm_record>> &mms() const noexcept { return mms_; }
  const std::vector<comparison> &comparisons() const noexcept { return cmps_; }
  const std::vector<divergence> &divergences() const noexcept { return divs_; }
  const replay_stats &stats() const noexcept { return st_; }
  /// Snapshot files of the set never compared (no marker pair seen).
  std::vector<std::string> uncompared() const;

  struct impl;

 private:
  std::unique_ptr<impl> p_;
  std::vector<std::unique_ptr<mm_record>> mms_;
  std::vector<comparison> cmps_;
  std::vector<divergence> divs_;
  replay_stats st_;
};

/// Compares the model's maps text with a kernel maps file, ignoring exactly
/// what strace cannot show (docs/mm.md): [stack] growth by page faults (same
/// end, lower start in the kernel), and the inode numbers of shared
/// anonymous memory (`/dev/zero (deleted)`). `ignored` gets one note per
/// ignored difference; returns the unified diff ("" when equal).
std::string compare_maps(const std::string &kernel, const std::string &model,
                         const std::string &kernel_name, std::vector<std::string> &ignored);

/// A unified diff of two line lists (LCS), with 3 lines of context.
std::string unified_diff(const std::vector<std::string> &a, const std::vector<std::string> &b,
                         const std::string &a_name, const std::string &b_name);

}  // namespace maple::vma_tool
