// strace_parser.h - parses `strace -f -tt -v -y` output into complete events
// (tools/maple-vma; docs/mm.md "Replaying traces").
//
//   PID HH:MM:SS.uuuuuu name(args) = result
//   PID HH:MM:SS.uuuuuu name(args <unfinished ...>
//   PID HH:MM:SS.uuuuuu <... name resumed>args) = result
//   PID HH:MM:SS.uuuuuu --- SIGCHLD {...} ---
//   PID HH:MM:SS.uuuuuu +++ exited with 0 +++    /   +++ killed by SIGPIPE +++
//
// A split call becomes one event at its completion (the resumed line), with
// the argument text of both halves joined. Malformed input is rejected with
// the line number and a reason; the parser never reads out of bounds and
// never recurses deeper than a fixed limit (it is fuzzed: fuzz/fuzz_trace.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace maple::vma_tool {

/// One syscall argument, classified.
struct arg {
  enum class kind {
    integer,    ///< 42, 0x7f00, -1, 0644
    null,       ///< NULL
    flags,      ///< PROT_READ|PROT_WRITE, MAP_PRIVATE|0x40000, 0 is an integer
    fd,         ///< 3</usr/lib/x.so>
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
  std::string path;                ///< fd: the path between < and >
  std::vector<arg> items;          ///< array elements / struct fields
  std::vector<arg> out;            ///< `{in} => {out}`: the fields of the out struct
};

/// A syscall's return value.
struct result {
  bool unknown = false;    ///< `= ?` (exit, exit_group, execve of a dying task)
  std::int64_t value = 0;  ///< as a signed number (`= -1 ENOMEM` -> -1)
  std::string error;       ///< errno name ("ENOMEM"), "" on success
  bool failed() const noexcept { return !unknown && value < 0 && !error.empty(); }
};

/// A complete event of one task.
struct event {
  enum class type { syscall, signal, exited, killed };
  type t = type::syscall;
  std::size_t line = 0;        ///< the line that completed it (1-based)
  std::size_t start_line = 0;  ///< the line where it began (== line unless split)
  std::int64_t tid = 0;
  std::string time;  ///< "HH:MM:SS.uuuuuu" ("" if the trace has none)
  std::string name;  ///< syscall name; signal name for `signal`/`killed`
  std::vector<arg> args;
  result res;
  int exit_status = 0;  ///< `exited`
};

struct parse_error {
  std::size_t line = 0;
  std::string reason;
  std::string text;  ///< the offending line (truncated to 200 bytes)
};

/// The pieces of one line, before split calls are joined.
struct raw_line {
  enum class form { complete, unfinished, resumed, signal, exited, killed, blank };
  form f = form::blank;
  std::int64_t tid = 0;
  std::string_view time;
  std::string_view name;
  std::string_view args;    ///< argument text (for `resumed`: the part after "resumed>")
  std::string_view result;  ///< text after "= " (complete/resumed)
  int exit_status = 0;
};

/// Splits one line (without its '\n'). On error returns false and sets `why`.
bool split_line(std::string_view line, raw_line &out, std::string &why);

/// Parses an argument list text ("a, b, {c=d}") into arguments.
bool parse_args(std::string_view text, std::vector<arg> &out, std::string &why);

/// Parses the text after "= ".
bool parse_result(std::string_view text, result &out, std::string &why);

/// Turns lines into events: keeps the unfinished halves per task and joins
/// them with their resumed lines. Feed lines in order; events come out in
/// completion order.
class assembler {
 public:
  /// Returns the event completed by this line, if any; on a malformed line
  /// returns nullopt and records the error (errors()).
  std::optional<event> feed(std::string_view line, std::size_t line_no);
  /// Calls still unfinished at the end (reported, not errors: a task killed
  /// in a syscall never resumes).
  std::vector<std::pair<std::int64_t, std::string>> pending() const;
  const std::vector<parse_error> &errors() const noexcept { return errors_; }

 private:
  struct half {
    std::string name;
    std::string args;
    std::string time;
    std::size_t line = 0;
  };
  std::map<std::int64_t, half> open_;
  std::vector<parse_error> errors_;
  void fail(std::size_t line_no, std::string_view line, std::string reason);
};

/// Parses a whole trace text: every event, and every error (the parse goes
/// on after a malformed line).
struct parsed_trace {
  std::vector<event> events;
  std::vector<parse_error> errors;
  std::vector<std::pair<std::int64_t, std::string>> unfinished;
  std::size_t lines = 0;
};
parsed_trace parse_trace(std::string_view text);

/// Numeric value of a symbolic constant used by the replayer (PROT_*, MAP_*,
/// MREMAP_*, MADV_*, CLONE_*, MLOCK_*, PR_*); nullopt if unknown.
std::optional<std::uint64_t> constant_value(std::string_view name);

/// The numeric value of an integer, NULL or flags argument (flags: the OR
/// of the known names and the numeric bits). Error text names an unknown
/// flag or an unsuitable argument kind.
bool arg_value(const arg &a, std::uint64_t &out, std::string &why);

}  // namespace maple::vma_tool
