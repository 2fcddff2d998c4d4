// tests/support/mm_support.h - helpers shared by the maple::mm tests: a compact text
// form of an address space's VMAs, checked wrappers around the syscalls, and
// the switch for tests that document known model bugs.
#pragma once

#include <maple/mm.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace mm_test {

namespace mm = maple::mm;
inline constexpr std::uint64_t pg = mm::page_size;

/// Marks the checks that caught real bugs of the model (fixed since): each
/// names the bug it would show again.
#define MM_MODEL_BUG(why) ADD_FAILURE() << "model bug: " << why

/// "start-end rwxp pgoff[ name]" (s/p from VM_MAYSHARE; pgoff in pages;
/// name: the anon name or the file path).
inline std::string describe(const mm::vma_info &v) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%llx-%llx %c%c%c%c %llx",
                static_cast<unsigned long long>(v.start), static_cast<unsigned long long>(v.end),
                (v.flags & mm::vm::read) ? 'r' : '-', (v.flags & mm::vm::write) ? 'w' : '-',
                (v.flags & mm::vm::exec) ? 'x' : '-', (v.flags & mm::vm::mayshare) ? 's' : 'p',
                static_cast<unsigned long long>(v.pgoff));
  std::string s = buf;
  if (!v.anon_name.empty()) s += " [anon:" + v.anon_name + "]";
  if (v.file && v.anon_name.empty()) s += " " + v.file->path;
  return s;
}

inline std::vector<std::string> describe(const mm::address_space &as) {
  std::vector<std::string> out;
  for (const auto &v : as.vmas()) out.push_back(describe(v));
  return out;
}

inline std::errc errc_of(std::error_code ec) { return static_cast<std::errc>(ec.value()); }

/// A file description with a fresh identity.
inline mm::file_ref make_file(const std::string &path, bool writable = true,
                              std::uint64_t inode = 0) {
  static std::uint64_t next_id = 1000;
  auto f = std::make_shared<mm::file>();
  f->id = ++next_id;
  f->path = path;
  f->dev_major = 0xfe;
  f->dev_minor = 0;
  f->inode = inode ? inode : f->id;
  f->writable = writable;
  return f;
}

}  // namespace mm_test
