// record.h - `maple-vma record`: runs a program under strace with the
// snapshot modules (tools/maple-vma/snap/) and writes a trace directory in
// the layout `maple-vma replay --check` reads (docs/mm.md "Recording a
// trace").
#pragma once

#include <string>
#include <vector>

namespace maple::vma_tool {

/// Exit statuses of `maple-vma record` other than the program's own (the
/// conventions of env(1) and timeout(1)).
inline constexpr int record_error = 125;           ///< usage, strace, modules, DIR
inline constexpr int record_cannot_execute = 126;  ///< CMD found but not executable
inline constexpr int record_not_found = 127;       ///< CMD not found

/// The syscalls `record` traces (strace -e trace=...): every VMA syscall the
/// replayer knows, and the calls that decide file identity and lifetime.
/// Names strace may not know are prefixed with '?'.
const std::vector<std::string> &recorded_syscalls();

/// `maple-vma record [-o DIR] [--quiet] [--no-seccomp] -- CMD [ARGS...]`:
/// `args` are the arguments after "record". Returns the program's exit
/// status (128 + signal when a signal killed it), or one of the statuses
/// above.
int record_main(const std::vector<std::string> &args);

/// The usage lines of `record` (also printed by `maple-vma --help`).
const char *record_usage();

}  // namespace maple::vma_tool
