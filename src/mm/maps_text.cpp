// /proc/PID/maps text (fs/proc/task_mmu.c: show_vma_header_prefix,
// get_vma_name) and validate_mm.
#include "mm/mm_impl.h"

#include <charconv>
#include <cstdio>
#include <mutex>

namespace maple::mm {

using detail::vma_object;

std::string format_maps_line(const maps_line &l) {
  char buf[160];
  int n = std::snprintf(buf, sizeof buf, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu ",
                        static_cast<unsigned long long>(l.start),
                        static_cast<unsigned long long>(l.end), l.r ? 'r' : '-', l.w ? 'w' : '-',
                        l.x ? 'x' : '-', l.shared ? 's' : 'p',
                        static_cast<unsigned long long>(l.offset), l.dev_major, l.dev_minor,
                        static_cast<unsigned long long>(l.inode));
  std::string s(buf, static_cast<std::size_t>(n));
  if (!l.name.empty()) {
    // The name starts at column 73 (25 + 6 * sizeof(void *) - 1) or right
    // after the prefix when that is longer.
    if (s.size() < 73) s.append(73 - s.size(), ' ');
    s += l.name;
  }
  s += '\n';
  return s;
}

namespace {

bool hex(std::string_view &s, std::uint64_t &out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  if (ec != std::errc{} || p == s.data()) return false;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return true;
}

bool expect(std::string_view &s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::error_code parse_maps_line(std::string_view line, maps_line &out, std::string *why) {
  auto fail = [&](const char *reason) {
    if (why) *why = reason;
    return detail::einval();
  };
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::string_view s = line;
  maps_line l;
  if (!hex(s, l.start) || !expect(s, '-') || !hex(s, l.end)) return fail("bad address range");
  if (l.start >= l.end) return fail("empty or inverted range");
  if (!expect(s, ' ') || s.size() < 4) return fail("missing permissions");
  auto flag = [&](char on, bool &b) {
    if (s.front() == on)
      b = true;
    else if (s.front() != '-')
      return false;
    s.remove_prefix(1);
    return true;
  };
  if (!flag('r', l.r) || !flag('w', l.w) || !flag('x', l.x)) return fail("bad permissions");
  if (s.front() == 's')
    l.shared = true;
  else if (s.front() != 'p')
    return fail("bad share flag (want s or p)");
  s.remove_prefix(1);
  std::uint64_t major = 0, minor = 0;
  if (!expect(s, ' ') || !hex(s, l.offset)) return fail("bad offset");
  if (!expect(s, ' ') || !hex(s, major) || !expect(s, ':') || !hex(s, minor) || major > 0xfff ||
      minor > 0xfffff) {
    return fail("bad device");
  }
  l.dev_major = static_cast<unsigned>(major);
  l.dev_minor = static_cast<unsigned>(minor);
  if (!expect(s, ' ')) return fail("missing inode");
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), l.inode, 10);
  if (ec != std::errc{} || p == s.data()) return fail("bad inode");
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  if (!s.empty() && s.front() != ' ') return fail("junk after inode");
  std::size_t i = s.find_first_not_of(' ');
  l.name = i == std::string_view::npos ? std::string() : std::string(s.substr(i));
  out = std::move(l);
  return {};
}

// ---- maps -------------------------------------------------------------------------------

namespace {

std::string vma_name(const vma_info &v, const layout &lay) {
  if (v.file) {
    if (!v.anon_name.empty()) return "[anon_shmem:" + v.anon_name + "]";
    return v.file->path;
  }
  if (!v.special_name.empty()) return v.special_name;
  if (v.start < lay.brk && v.end > lay.start_brk) return "[heap]";
  if (v.start <= lay.start_stack && lay.start_stack <= v.end && lay.start_stack) return "[stack]";
  if (!v.anon_name.empty()) return "[anon:" + v.anon_name + "]";
  return {};
}

}  // namespace

std::string address_space::maps() const {
  impl::reader g(*p_);
  std::string out;
  for (range_entry r : p_->mt) {
    const vma_info &v = static_cast<const vma_object *>(r.entry)->v;
    maps_line l;
    l.start = v.start;
    l.end = v.end;
    l.r = v.flags & vm::read;
    l.w = v.flags & vm::write;
    l.x = v.flags & vm::exec;
    l.shared = v.flags & vm::mayshare;
    if (v.file) {
      l.offset = v.pgoff << page_shift;
      l.dev_major = v.file->dev_major;
      l.dev_minor = v.file->dev_minor;
      l.inode = v.file->inode;
    }
    l.name = vma_name(v, p_->lay);
    out += format_maps_line(l);
  }
  if (p_->lay.show_vsyscall) {
    out += format_maps_line({0xffffffffff600000ULL, 0xffffffffff601000ULL, false, false, true,
                             false, 0, 0, 0, 0, "[vsyscall]"});
  }
  return out;
}

namespace {
maple::check_report fail(std::string why) { return {false, std::move(why)}; }
}  // namespace

maple::check_report address_space::impl::check() const {
  if (check_report r = mt.validate(); !r) return fail("tree: " + r.message);
  std::size_t n = 0;
  std::uint64_t prev_end = 0;
  char buf[200];
  for (range_entry r : mt) {
    const vma_object *o = static_cast<const vma_object *>(r.entry);
    const vma_info &v = o->v;
    ++n;
    if (r.first != v.start || r.last + 1 != v.end) {
      std::snprintf(
          buf, sizeof buf, "range [%llx, %llx] holds VMA %llx-%llx",
          static_cast<unsigned long long>(r.first), static_cast<unsigned long long>(r.last),
          static_cast<unsigned long long>(v.start), static_cast<unsigned long long>(v.end));
      return fail(buf);
    }
    if ((v.start | v.end) & detail::page_mask || v.start >= v.end || v.start < prev_end) {
      std::snprintf(buf, sizeof buf, "bad VMA %llx-%llx", static_cast<unsigned long long>(v.start),
                    static_cast<unsigned long long>(v.end));
      return fail(buf);
    }
    if (o->refcnt.load(std::memory_order_relaxed) == 0)
      return fail("a VMA in the tree is detached");
    prev_end = v.end;
  }
  if (n != map_count) {
    return fail("map_count " + std::to_string(map_count) + " but the tree holds " +
                std::to_string(n));
  }
  return {};
}

maple::check_report address_space::validate() const {
  impl::reader g(*p_);
  return p_->check();
}

}  // namespace maple::mm
