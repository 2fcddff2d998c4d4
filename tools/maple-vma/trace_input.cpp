// trace_input.cpp - see trace_input.h.
#include "trace_input.h"

#include <lzma.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace maple::vma_tool {

bool xz_decompress(const std::string &in, std::string &out, std::string &why) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
    why = "xz: cannot start the decoder";
    return false;
  }
  out.clear();
  s.next_in = reinterpret_cast<const std::uint8_t *>(in.data());
  s.avail_in = in.size();
  std::uint8_t buf[1 << 16];
  lzma_ret rc = LZMA_OK;
  while (rc == LZMA_OK) {
    s.next_out = buf;
    s.avail_out = sizeof buf;
    rc = lzma_code(&s, LZMA_FINISH);
    out.append(reinterpret_cast<const char *>(buf), sizeof buf - s.avail_out);
  }
  lzma_end(&s);
  if (rc != LZMA_STREAM_END) {
    why = rc == LZMA_DATA_ERROR || rc == LZMA_FORMAT_ERROR ? "xz: corrupt data"
          : rc == LZMA_BUF_ERROR                           ? "xz: truncated input"
                                                           : "xz: decoder error";
    return false;
  }
  return true;
}

std::string trace_in_dir(const std::string &dir, std::string &why) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const char *name : {"trace.strace", "trace.strace.xz"}) {
    fs::path p = fs::path(dir) / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  why = "no trace.strace or trace.strace.xz in directory " + dir;
  return {};
}

bool read_trace(const std::string &path, std::string &out, std::string &why) {
  std::string raw;
  if (path == "-") {
    raw.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
      why = "cannot open " + path;
      return false;
    }
    std::ostringstream o;
    o << f.rdbuf();
    raw = std::move(o).str();
  }
  static const char magic[] = {'\xfd', '7', 'z', 'X', 'Z', '\0'};
  if (raw.size() >= 6 && raw.compare(0, 6, std::string(magic, 6)) == 0) {
    return xz_decompress(raw, out, why);
  }
  out = std::move(raw);
  return true;
}

}  // namespace maple::vma_tool
