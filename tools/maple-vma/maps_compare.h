// maps_compare.h - compares the model's /proc/PID/maps text with the
// kernel's snapshot and judges the difference (tools/maple-vma; rules in
// docs/mm.md "What the comparison ignores" and "Undetermined differences").
#pragma once

#include <maple/mm.h>

#include <cstdint>
#include <string>
#include <vector>

namespace maple::vma_tool {

/// The result of one comparison.
enum class verdict : std::uint8_t {
  match,         ///< equal, up to the ignored differences
  undetermined,  ///< the differences are explained by state strace cannot show
  mismatch,      ///< anything else
};
/// "MATCH", "UNDETERMINED", "MISMATCH".
const char *verdict_name(verdict v) noexcept;

/// What the judgement may use beyond the two texts.
struct compare_context {
  /// The trace shows file lifetime (unlink/rename, or open and close): the
  /// model then knows which files are deleted, and a ` (deleted)` difference
  /// is a mismatch. Otherwise it is undetermined.
  bool file_lifetime_traced = false;
  /// The model's VMAs in address order (address_space::vmas()): their flags
  /// say which could hold anonymous pages. Empty: the lines' permissions do.
  std::vector<maple::mm::vma_info> model_vmas;
};

struct maps_verdict {
  verdict v = verdict::match;
  std::string diff;                       ///< unified diff (kernel -> model), "" on a match
  std::vector<std::string> ignored;       ///< one note per ignored difference
  std::vector<std::string> undetermined;  ///< undetermined: one reason each
};

/// Compares and judges: a match up to the ignored differences (compare_maps);
/// undetermined when the differences left are only (a) a file the kernel
/// prints ` (deleted)` (with its device and inode) in a trace that does not
/// show file lifetime, and (b) VMA boundaries between lines that would be
/// one line if merged (same permissions, name, device and inode, contiguous
/// offsets, private) where a VMA at the boundary could hold anonymous pages
/// (the hidden anon_vma state decides such merges); a mismatch otherwise.
maps_verdict judge_maps(const std::string &kernel, const std::string &model,
                        const std::string &kernel_name, const compare_context &ctx);

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

/// The lines of a text (no '\n'; a last line without one counts).
std::vector<std::string> split_lines(const std::string &text);

}  // namespace maple::vma_tool
