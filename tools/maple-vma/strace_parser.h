// strace_parser.h - parses strace output into complete events, each with
// its VMA meaning decoded once into a typed call record (tools/maple-vma;
// docs/mm.md "Replaying traces").
//
//   PID HH:MM:SS.uuuuuu name(args) = result            (strace -f -o FILE)
//   [pid PID] HH:MM:SS.uuuuuu name(args) = result      (strace -f to stderr)
//   HH:MM:SS.uuuuuu name(args) = result                (one task, no PID shown)
//   PID TIME name(args <unfinished ...>
//   PID TIME <... name resumed>args) = result
//   PID TIME --- SIGCHLD {...} ---
//   PID TIME +++ exited with 0 +++   /   +++ killed by SIGPIPE (core dumped) +++
//
// TIME: -t, -tt, -ttt or -r form, or none. A split call becomes one event at
// its completion (the resumed line), with the argument text of both halves
// joined. A line that cannot be read is exactly one error (line, column,
// reason) and never a second one on a later line: an unfinished half whose
// line failed still pairs with its resumed line. strace's own messages
// (`strace: ...`, `[ Process PID=N ... ]`, -c tables, -k stack lines) are
// notes, not errors. The parser never reads out of bounds and never recurses
// deeper than a fixed limit (it is fuzzed: fuzz/fuzz_trace.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace maple::vma_tool {

/// One syscall argument, classified.
struct arg {
  enum class kind {
    integer,    ///< 42, 0x7f00, -1, 0644
    null,       ///< NULL
    flags,      ///< PROT_READ|PROT_WRITE, MAP_PRIVATE|0x40000, 21<<MAP_HUGE_SHIFT; 0 is an integer
    fd,         ///< 3</usr/lib/x.so>, 3</memfd:x>(deleted), 5<socket:[123]>, AT_FDCWD</tmp>
    string,     ///< "text" (unescaped into `text`), maybe truncated ("..."...)
    array,      ///< [a, b] (elements in `items`)
    structure,  ///< {key=value, ...} (fields in `items`, each with `key`)
    other,      ///< anything else, kept as raw text
  };
  kind k = kind::other;
  std::string key;                 ///< "flags" for `flags=...` (named arguments and struct fields)
  std::string text;                ///< the raw text (value part), or the unescaped string
  std::uint64_t value = 0;         ///< integer value (two's complement if negative), fd number,
                                   ///< numeric bits of flags
  bool negative = false;           ///< integer written with '-'
  std::vector<std::string> names;  ///< flags: the symbolic names, in order
  /// fd: the file's name as the kernel gives it (/proc/PID/fd readlink, as
  /// /proc/PID/maps prints it): strace's escapes decoded, a -yy device suffix
  /// (`<char 1:5>`) dropped, and " (deleted)" at the end of a deleted file.
  std::string path;
  bool deleted = false;    ///< fd: marked deleted (`N</p>(deleted)` or `N</p (deleted)>`)
  std::vector<arg> items;  ///< array elements / struct fields
  std::vector<arg> out;    ///< `{in} => {out}`: the fields of the out struct
};

/// A syscall's return value.
struct result {
  bool unknown = false;    ///< `= ?` (exit, exit_group, execve of a dying task, ERESTART*)
  std::int64_t value = 0;  ///< as a signed number (`= -1 ENOMEM` -> -1)
  std::string error;       ///< errno name ("ENOMEM", "ERESTARTSYS"), "" on success
  /// A decorated result (`= 3</tmp/x>`, `= 4</memfd:m (deleted)>`): the
  /// name as arg::path gives it; "" when the result has no decoration.
  std::string path;
  bool deleted = false;  ///< the decoration marks the file deleted
  bool failed() const noexcept { return !unknown && value < 0 && !error.empty(); }
  /// `= ? ERESTART...`: interrupted by a signal, to be restarted (a later line).
  bool restarted() const noexcept { return unknown && error.rfind("ERESTART", 0) == 0; }
};

/// What a syscall does to the VMA model, decoded once from its arguments.
enum class call_kind : std::uint8_t {
  none,          ///< cannot change VMAs (personality, prctl(PR_SET_NAME), unknown names)
  mmap,          ///< mmap, mmap2
  munmap,        ///< munmap (not a marker)
  marker,        ///< munmap(0x6d617073XY, 0): a snapshot marker
  mprotect,      ///< mprotect, pkey_mprotect
  mremap,        ///< mremap
  brk,           ///< brk
  madvise,       ///< madvise
  mlock,         ///< mlock, mlock2
  munlock,       ///< munlock
  set_vma,       ///< prctl(PR_SET_VMA, ...)
  create,        ///< clone, clone3, fork, vfork
  exec,          ///< execve, execveat
  exit,          ///< exit, exit_group
  not_modelled,  ///< can change VMAs, not replayed (mbind, shmat, mlockall, io_setup, ...)
  // File lifetime (the fd table and file names; docs/mm.md "File identity"):
  open,         ///< open, openat, openat2, creat, memfd_create: a new open file description
  close,        ///< close
  close_range,  ///< close_range (CLOSE_RANGE_CLOEXEC: sets close-on-exec instead)
  dup,          ///< dup, dup2, dup3, fcntl(F_DUPFD), fcntl(F_DUPFD_CLOEXEC)
  set_cloexec,  ///< fcntl(F_SETFD): the fd's close-on-exec flag
  unlink,       ///< unlink, unlinkat
  rename        ///< rename, renameat, renameat2
};

/// The typed record of one syscall: the numbers the replayer needs, decoded
/// from the arguments in the order the replay reads them. `error` is the
/// first argument that could not be decoded ("argument 3: unknown constant
/// X"); such a call cannot be applied.
struct vma_call {
  call_kind kind = call_kind::none;
  std::string error;
  std::uint64_t addr = 0;     ///< start address (mmap hint, munmap, mprotect, ...; set_vma: arg 3)
  std::uint64_t len = 0;      ///< length (mremap: old length)
  std::uint64_t new_len = 0;  ///< mremap
  std::uint64_t prot = 0;     ///< mmap, mprotect
  std::uint64_t flags = 0;    ///< mmap, mremap, mlock2 flags; madvise advice; create: CLONE_*
  std::uint64_t offset = 0;   ///< mmap: file offset in bytes (mmap2's pages converted)
  std::uint64_t option = 0;   ///< set_vma: the sub-option (PR_SET_VMA_ANON_NAME = 0)
  bool prot_flags_known = false;  ///< mmap: prot and flags decoded (file identity prescan)
  bool has_fd = false;            ///< mmap: an fd<path> argument
  std::uint64_t fd = 0;           ///< mmap, close, dup (old fd), set_cloexec; close_range: first
  /// dup2/dup3: the new fd asked for; close_range: the last fd (unsigned int).
  std::uint64_t fd2 = 0;
  /// mmap: the fd's file name; open: the opened file's name (the result's
  /// decoration, else the argument joined to its directory); unlink, rename:
  /// the (old) name, absolute when strace shows the directory; exec: the
  /// program (string argument).
  std::string path;
  std::string path2;        ///< rename: the new name
  std::string cwd;          ///< the AT_FDCWD</dir> decoration of a dirfd argument: the cwd
  bool deleted = false;     ///< mmap, open: the file's name is marked " (deleted)"
  bool cloexec = false;     ///< open, dup, set_cloexec: the new fd's close-on-exec flag
  int access = -1;          ///< open: O_RDONLY 0, O_WRONLY 1, O_RDWR 2; -1 unknown
  std::string name;         ///< set_vma: the anon name
  char marker = 0;          ///< marker: 'a' start, 'b' init, 'c' fork, 'e' end
  bool marker_end = false;  ///< marker: the closing one (Y = 1)
};

/// A complete event of one task.
struct event {
  enum class type { syscall, signal, exited, killed };
  type t = type::syscall;
  std::size_t line = 0;        ///< the line that completed it (1-based)
  std::size_t start_line = 0;  ///< the line where it began (== line unless split)
  std::int64_t tid = 0;        ///< 0: a task whose PID the trace never shows
  std::string time;            ///< "HH:MM:SS.uuuuuu" ("" if the trace has none)
  std::string name;            ///< syscall name; signal name for `signal`/`killed`
  std::vector<arg> args;
  result res;
  int exit_status = 0;  ///< `exited`
  vma_call call;        ///< syscall: decode_call(*this)
};

struct parse_error {
  std::size_t line = 0;
  std::size_t column = 0;  ///< 1-based byte column of the problem in that line
  std::string reason;
  std::string text;  ///< the offending line (truncated to 200 bytes)
};

/// A line that is not a trace event but no error either (strace's own
/// messages, a resumed call whose first half was unreadable, ...).
struct parse_note {
  std::size_t line = 0;
  std::string what;  ///< the kind of line ("strace message", ...), for counting
};

/// Parses an argument list text ("a, b, {c=d}") into arguments. On error:
/// `why`, and `*where` (if given) gets the byte offset of the problem.
bool parse_args(std::string_view text, std::vector<arg> &out, std::string &why,
                std::size_t *where = nullptr);

/// Parses the text after "= ".
bool parse_result(std::string_view text, result &out, std::string &why,
                  std::size_t *where = nullptr);

/// The typed record of a syscall event (its name, arguments and result).
vma_call decode_call(const event &e);

/// A file name with "." and ".." parts and repeated '/' taken out,
/// lexically ("/a/./b/../c" -> "/a/c"; symbolic links are not followed).
std::string normalize_path(std::string_view p);

/// Turns lines into events: keeps the unfinished halves per task and joins
/// them with their resumed lines. Feed lines in order; events come out in
/// completion order.
class assembler {
 public:
  /// Appends the events this line completes (none, one, or two when a line
  /// held back by a mid-line strace message turns out to stand alone).
  void feed(std::string_view line, std::size_t line_no, std::vector<event> &out);
  /// Ends the input: flushes a held-back line, and gives the events of the
  /// task shown without a PID the PID it had in `[pid N]` lines, if any.
  void finish(std::vector<event> &out);
  /// Calls still unfinished at the end (reported, not errors: a task killed
  /// in a syscall never resumes).
  std::vector<std::pair<std::int64_t, std::string>> pending() const;
  const std::vector<parse_error> &errors() const noexcept { return errors_; }
  const std::vector<parse_note> &notes() const noexcept { return notes_; }

  /// The first half of a split call, kept until its resumed line.
  struct half {
    std::string name;  ///< the syscall
    std::string args;  ///< its argument text so far
    std::string time;
    std::string text;  ///< the line (for an error in this half)
    std::size_t line = 0;
    std::size_t args_at = 0;  ///< offset of `args` in that line
    bool broken = false;      ///< the line was an error: its resumed line adds nothing
    bool suspect = false;     ///< a later line of the task failed (maybe its resumed line)
  };
  struct split;  ///< one line, split (strace_parser.cpp)

 private:
  std::map<std::int64_t, half> open_;
  std::vector<parse_error> errors_;
  std::vector<parse_note> notes_;
  std::set<std::int64_t> live_;           ///< tasks seen or created and not gone
  std::set<std::int64_t> children_;       ///< tids returned by clone/fork/vfork
  std::optional<std::int64_t> root_pid_;  ///< the PID of the task shown as tid 0
  std::int64_t last_implicit_ = 0;        ///< the task of the last line without a PID
  std::size_t orphans_ = 0;  ///< failed lines of no known task: each may have been a half
  bool in_summary_ = false;  ///< inside a -c/-C summary table
  std::string held_;         ///< a line cut by a mid-line "strace: Process N attached"
  std::size_t held_line_ = 0;

  void feed_line(std::string_view line, std::size_t line_no, std::vector<event> &out);
  bool take_note(std::string_view line, std::size_t line_no);
  bool hold_cut_line(std::string_view line, std::size_t line_no, std::vector<event> &out);
  std::int64_t task_of(split &s);
  void on_failed_line(const split &s, std::string_view line, std::size_t line_no);
  void on_unfinished(const split &s, std::string_view line, std::size_t line_no);
  void on_resumed(const split &s, std::string_view line, std::size_t line_no,
                  std::vector<event> &out);
  void on_superseded(const split &s);
  void on_gone(std::int64_t tid);
  void complete(event &e, const split &s, const half *first, std::string_view line,
                std::size_t line_no, std::vector<event> &out);
  void emit(event &e, std::vector<event> &out);
  void fail(std::size_t line_no, std::string_view line, std::size_t column, std::string reason);
  void note(std::size_t line_no, std::string what);
};

/// Parses a whole trace text: every event, and every error (the parse goes
/// on after a malformed line).
struct parsed_trace {
  std::vector<event> events;
  std::vector<parse_error> errors;  ///< at most one per line, in line order
  std::vector<parse_note> notes;
  std::vector<std::pair<std::int64_t, std::string>> unfinished;
  std::size_t lines = 0;
};
/// `progress`, if given, is called now and then with the bytes read and the
/// text's size.
parsed_trace parse_trace(
    std::string_view text,
    const std::function<void(std::size_t done, std::size_t total)> &progress = {});

/// Numeric value of a symbolic constant used by the replayer (PROT_*, MAP_*,
/// MREMAP_*, MADV_*, CLONE_*, MLOCK_*, PR_*, O_*, F_*, MFD_*, AT_*,
/// RENAME_*, CLOSE_RANGE_*); nullopt if unknown.
std::optional<std::uint64_t> constant_value(std::string_view name);

/// The numeric value of an integer, NULL or flags argument (flags: the OR
/// of the known names and the numeric bits). Error text names an unknown
/// flag or an unsuitable argument kind.
bool arg_value(const arg &a, std::uint64_t &out, std::string &why);

}  // namespace maple::vma_tool
