// trace_input.h - reads a trace: a plain file, an .xz file (liblzma), or
// standard input ("-"); xz is recognised by its magic bytes.
#pragma once

#include <string>

namespace maple::vma_tool {

/// Reads `path` ("-": stdin) into `out`, decompressing xz. On failure
/// returns false with `why`.
bool read_trace(const std::string &path, std::string &out, std::string &why);

/// Decompresses an xz stream held in memory.
bool xz_decompress(const std::string &in, std::string &out, std::string &why);

}  // namespace maple::vma_tool
