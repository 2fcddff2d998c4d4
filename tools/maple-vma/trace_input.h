// trace_input.h - reads a trace: a plain file, an .xz file (liblzma), or
// standard input ("-"); xz is recognised by its magic bytes. A trace
// directory names its trace file.
#pragma once

#include <string>

namespace maple::vma_tool {

/// Reads `path` ("-": stdin) into `out`, decompressing xz. On failure
/// returns false with `why`.
bool read_trace(const std::string &path, std::string &out, std::string &why);

/// The trace of a trace directory (a recording of `maple-vma record`, or
/// one of data/corpus): DIR/trace.strace, else DIR/trace.strace.xz.
/// Empty, with `why`, when it holds neither.
std::string trace_in_dir(const std::string &dir, std::string &why);

/// Decompresses an xz stream held in memory.
bool xz_decompress(const std::string &in, std::string &out, std::string &why);

}  // namespace maple::vma_tool
