// vma_demo - the maple tree as the VMA index of a real address space.
//
// Loads a /proc/PID/maps snapshot (default: the file embedded at build time,
// data/maps.threads-fork.txt), stores every mapping [start, end - 1] in a
// maple::tree<const Vma *> and checks the tree against a plain std::map model
// after every step:
//   build       one store() per VMA, in address order
//   errors      invalid ranges and inserts over occupied indices are refused
//               and change nothing; one insert() into a gap succeeds
//   map-fixed   MAP_FIXED-like stores of one new VMA over k consecutive VMAs
//               (and the gaps between them), one of them trimming its ends
//   munmap      a hole punched into the middle of a VMA (erase_range)
//   erase       whole ranges removed by an index inside them
// Each check covers load() at both ends, the middle and the byte before each
// range, lookup() of every gap, forward and backward iteration, the
// find()/find_after() and find_rev() chains, windowed iteration, stats() and
// validate(). Prints the tree's figures and the start of its dump.
//
// Usage: maple-vma-demo [--full-dump | --no-dump] [MAPS_FILE]
// Exit status: 0 all checks passed, 1 a check failed, 2 bad usage or input.
#include <maple/maple.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef MAPLE_DEMO_DEFAULT_MAPS
#define MAPLE_DEMO_DEFAULT_MAPS "data/maps.threads-fork.txt"
#endif

namespace {

using u64 = std::uint64_t;
constexpr u64 kPage = 4096;

/// One mapping of the address space: [start, end).
struct alignas(8) Vma {
  u64 start = 0;
  u64 end = 0;  // exclusive
  std::string perms;
  u64 offset = 0;
  std::string path;
  bool synthetic = false;  // made by the demo, not read from the file
  u64 last() const { return end - 1; }
};

/// A private anonymous read-write mapping made by the demo.
Vma synthetic_vma(u64 start, u64 end, std::string label) {
  return Vma{start, end, "rw-p", 0, std::move(label), true};
}

/// Most bytes a demo-made mapping may span (keeps the overwrites VMA-like).
constexpr u64 kMaxSpan = u64{1} << 30;

using VmaTree = maple::tree<const Vma *>;
using Range = maple::typed_range<const Vma *>;

/// Concatenates strings, string views, C strings and chars.
template <class... Parts>
std::string cat(const Parts &...parts) {
  std::string s;
  (s += ... += parts);
  return s;
}

std::string hex(u64 v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string describe(const Vma *v) {
  if (v == nullptr) return "(empty)";
  std::string s = cat(hex(v->start), "-", hex(v->end), " ", v->perms);
  if (!v->path.empty()) s += cat(" ", v->path);
  return s;
}

std::string describe(const Range &r) {
  return cat("[", hex(r.first), ", ", hex(r.last), "] -> ", describe(r.value));
}

// ---- parsing ----------------------------------------------------------------

std::string_view next_field(std::string_view &s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) {
    s = {};
    return {};
  }
  s.remove_prefix(b);
  std::size_t e = s.find_first_of(" \t");
  std::string_view f = s.substr(0, e);
  s.remove_prefix(e == std::string_view::npos ? s.size() : e);
  return f;
}

bool parse_number(std::string_view s, int base, u64 &out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc{} && p == s.data() + s.size();
}

/// Parses "start-end perms offset dev inode [path]"; returns an error text.
std::optional<std::string> parse_line(std::string_view line, Vma &v) {
  std::string_view rest = line;
  std::string_view range = next_field(rest);
  std::string_view perms = next_field(rest);
  std::string_view offset = next_field(rest);
  std::string_view dev = next_field(rest);
  std::string_view inode = next_field(rest);
  std::size_t dash = range.find('-');
  u64 ino = 0;
  if (dash == std::string_view::npos || !parse_number(range.substr(0, dash), 16, v.start) ||
      !parse_number(range.substr(dash + 1), 16, v.end)) {
    return cat("bad address range '", range, "'");
  }
  if (v.start >= v.end) return cat("empty or inverted range '", range, "'");
  if (perms.size() != 4 || (perms[0] != 'r' && perms[0] != '-') ||
      (perms[1] != 'w' && perms[1] != '-') || (perms[2] != 'x' && perms[2] != '-') ||
      (perms[3] != 'p' && perms[3] != 's')) {
    return cat("bad permissions '", perms, "'");
  }
  if (!parse_number(offset, 16, v.offset)) return cat("bad offset '", offset, "'");
  if (dev.size() < 3 || dev.find(':') == std::string_view::npos) {
    return cat("bad device '", dev, "'");
  }
  if (!parse_number(inode, 10, ino)) return cat("bad inode '", inode, "'");
  v.perms = std::string(perms);
  std::size_t b = rest.find_first_not_of(" \t");
  std::size_t e = rest.find_last_not_of(" \t\r");
  v.path = b == std::string_view::npos ? std::string() : std::string(rest.substr(b, e - b + 1));
  return std::nullopt;
}

/// Reads a maps file; the VMAs come back sorted by address, non-overlapping.
bool load_maps(const std::string &file, std::vector<Vma> &out) {
  std::ifstream in(file);
  if (!in) {
    std::cerr << "maple-vma-demo: cannot open " << file << "\n";
    return false;
  }
  std::string line;
  for (unsigned lineno = 1; std::getline(in, line); ++lineno) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Vma v;
    if (auto err = parse_line(line, v)) {
      std::cerr << file << ":" << lineno << ": " << *err << "\n";
      return false;
    }
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const Vma &a, const Vma &b) { return a.start < b.start; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].start < out[i - 1].end) {
      std::cerr << file << ": overlapping mappings " << describe(&out[i - 1]) << " and "
                << describe(&out[i]) << "\n";
      return false;
    }
  }
  if (out.empty()) {
    std::cerr << file << ": no mappings\n";
    return false;
  }
  return true;
}

// ---- the reference model ----------------------------------------------------

/// What the tree must hold: first -> (last, vma), with the maple tree's
/// store semantics (overwrite, trimming partial overlaps; no merging).
class Model {
 public:
  void store(u64 first, u64 last, const Vma *v) {
    auto it = m_.lower_bound(first);
    if (it != m_.begin()) {  // a range starting before `first` may reach into it
      auto prev = std::prev(it);
      auto [plast, pv] = prev->second;
      if (plast >= first) {
        prev->second.first = first - 1;
        if (plast > last) m_.emplace(last + 1, std::pair{plast, pv});
      }
    }
    it = m_.lower_bound(first);
    while (it != m_.end() && it->first <= last) {
      auto [l, val] = it->second;
      it = m_.erase(it);
      if (l > last) {
        m_.emplace(last + 1, std::pair{l, val});
        break;
      }
    }
    if (v != nullptr) m_.emplace(first, std::pair{last, v});
  }

  /// Removes the range holding `index`; returns its entry.
  const Vma *erase(u64 index) {
    auto it = m_.upper_bound(index);
    if (it == m_.begin()) return nullptr;
    --it;
    if (it->second.first < index) return nullptr;
    const Vma *v = it->second.second;
    m_.erase(it);
    return v;
  }

  std::vector<Range> ranges() const {
    std::vector<Range> r;
    r.reserve(m_.size());
    for (const auto &[first, lv] : m_) r.push_back({first, lv.first, lv.second});
    return r;
  }
  std::size_t size() const { return m_.size(); }

 private:
  std::map<u64, std::pair<u64, const Vma *>> m_;
};

// ---- checks -----------------------------------------------------------------

class Checker {
 public:
  void fail(std::string_view stage, const std::string &what) {
    if (++failures_ <= 40) std::cerr << "FAIL [" << stage << "] " << what << "\n";
  }
  void expect(bool ok, std::string_view stage, const std::string &what) {
    if (!ok) fail(stage, what);
  }
  unsigned failures() const { return failures_; }

 private:
  unsigned failures_ = 0;
};

bool same(const Range &a, const Range &b) {
  return a.first == b.first && a.last == b.last && a.value == b.value;
}

void expect_load(Checker &c, std::string_view stage, const VmaTree &t, u64 index, const Vma *want) {
  const Vma *got = t.load(index);
  if (got != want) {
    c.fail(stage, cat("load(", hex(index), ") = ", describe(got), ", want ", describe(want)));
  }
}

void expect_lookup(Checker &c, std::string_view stage, const VmaTree &t, u64 index,
                   const Range &want) {
  maple::range_entry r = t.raw().lookup(index);
  Range got{r.first, r.last, static_cast<const Vma *>(r.entry)};
  if (!same(got, want)) {
    c.fail(stage, cat("lookup(", hex(index), ") = ", describe(got), ", want ", describe(want)));
  }
}

void expect_sequence(Checker &c, std::string_view stage, std::string_view how,
                     const std::vector<Range> &got, const std::vector<Range> &want) {
  if (got.size() != want.size()) {
    c.fail(stage, cat(how, " yields ", std::to_string(got.size()), " ranges, want ",
                      std::to_string(want.size())));
  }
  for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    if (!same(got[i], want[i])) {
      c.fail(stage, cat(how, " #", std::to_string(i), ": ", describe(got[i]), ", want ",
                        describe(want[i])));
      return;
    }
  }
}

void validate_or_abort(const VmaTree &t, std::string_view stage) {
  maple::check_report rep = t.validate();
  if (!rep) {
    std::cerr << "FAIL [" << stage << "] validate(): " << rep.message << "\n";
    std::abort();
  }
}

/// Compares the whole tree with the model.
void check_tree(Checker &c, std::string_view stage, const VmaTree &t, const Model &model) {
  validate_or_abort(t, stage);
  const std::vector<Range> want = model.ranges();
  const std::size_t cap = want.size() + 2;  // stops a runaway iterator

  std::vector<Range> got;
  for (auto it = t.begin(); it != t.end() && got.size() < cap; ++it) got.push_back(*it);
  expect_sequence(c, stage, "forward iteration", got, want);

  got.clear();
  for (auto it = t.end(); it != t.begin() && got.size() < cap;) got.push_back(*--it);
  std::reverse(got.begin(), got.end());
  expect_sequence(c, stage, "backward iteration", got, want);

  got.clear();
  for (auto r = t.find(0); r && got.size() < cap; r = t.find_after(r->last)) got.push_back(*r);
  expect_sequence(c, stage, "find/find_after chain", got, want);

  got.clear();
  for (auto r = t.find_rev(maple::max_index); r && got.size() < cap;
       r = r->first == 0 ? std::nullopt : t.find_rev(r->first - 1)) {
    got.push_back(*r);
  }
  std::reverse(got.begin(), got.end());
  expect_sequence(c, stage, "find_rev chain", got, want);

  // Point reads: both ends, the middle, the byte before and the gaps.
  u64 next_free = 0;  // first index after the previous range
  for (std::size_t i = 0; i < want.size(); ++i) {
    const Range &r = want[i];
    expect_load(c, stage, t, r.first, r.value);
    expect_load(c, stage, t, r.last, r.value);
    expect_load(c, stage, t, r.first + (r.last - r.first) / 2, r.value);
    expect_lookup(c, stage, t, r.first + (r.last - r.first) / 2, r);
    if (r.first > 0) {
      if (i > 0 && want[i - 1].last + 1 == r.first) {  // adjacent: the byte before is the prev
        expect_load(c, stage, t, r.first - 1, want[i - 1].value);
      } else {  // a gap before the range
        expect_load(c, stage, t, r.first - 1, nullptr);
        expect_lookup(c, stage, t, r.first - 1, {next_free, r.first - 1, nullptr});
      }
    }
    next_free = r.last + 1;
  }
  if (!want.empty() && want.back().last != maple::max_index) {
    expect_load(c, stage, t, next_free, nullptr);
    expect_lookup(c, stage, t, next_free, {next_free, maple::max_index, nullptr});
  }

  // Windowed iteration: every range intersecting [lo, hi], reported whole.
  if (!want.empty()) {
    const Range &a = want[want.size() / 4];
    const Range &b = want[want.size() / 2];
    const u64 windows[][2] = {
        {a.first + (a.last - a.first) / 2, b.first + (b.last - b.first) / 2},
        {a.last, a.last},
        {want.front().first, want.back().last},
        {0, maple::max_index},
    };
    for (const auto &w : windows) {
      std::vector<Range> in;
      for (const Range &r : want) {
        if (r.last >= w[0] && r.first <= w[1]) in.push_back(r);
      }
      got.clear();
      for (Range r : t.ranges(w[0], w[1])) {
        if (got.size() == cap) break;
        got.push_back(r);
      }
      expect_sequence(c, stage, cat("ranges(", hex(w[0]), ", ", hex(w[1]), ")"), got, in);
    }
  }

  maple::tree_stats s = t.stats();
  if (s.ranges != want.size()) {
    c.fail(stage, cat("stats().ranges = ", std::to_string(s.ranges), ", want ",
                      std::to_string(want.size())));
  }
  c.expect(t.empty() == want.empty(), stage, "empty() disagrees with the model");
}

void print_stats(std::string_view what, const VmaTree &t) {
  maple::tree_stats s = t.stats();
  char per[32];
  std::snprintf(per, sizeof per, "%.1f",
                s.ranges ? static_cast<double>(s.bytes) / static_cast<double>(s.ranges) : 0.0);
  std::cout << "  " << what << ": " << s.ranges << " ranges, height " << s.height << ", " << s.nodes
            << " nodes (" << s.leaves << " leaves, " << s.leaf_slots << " leaf slots used), "
            << s.bytes << " bytes = " << per << " bytes/range\n";
}

/// Index of the first entry at or after `from` (wrapping) that satisfies
/// `ok`, or npos.
template <class Pred>
std::size_t pick(const std::vector<Range> &rs, std::size_t from, Pred ok) {
  for (std::size_t n = 0; n < rs.size(); ++n) {
    std::size_t i = (from + n) % rs.size();
    if (ok(i)) return i;
  }
  return static_cast<std::size_t>(-1);
}

constexpr std::size_t npos = static_cast<std::size_t>(-1);

}  // namespace

int main(int argc, char **argv) {
  std::string file = MAPLE_DEMO_DEFAULT_MAPS;
  bool full_dump = false, no_dump = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--full-dump") {
      full_dump = true;
    } else if (a == "--no-dump") {
      no_dump = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: maple-vma-demo [--full-dump | --no-dump] [MAPS_FILE]\n"
                << "  MAPS_FILE  a /proc/PID/maps snapshot (default " MAPLE_DEMO_DEFAULT_MAPS ")\n";
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "maple-vma-demo: unknown option " << a << " (try --help)\n";
      return 2;
    } else {
      file = a;
    }
  }

  std::vector<Vma> vmas;  // never resized after loading: the tree points into it
  if (!load_maps(file, vmas)) return 2;
  std::deque<Vma> extra;  // VMAs made by the demo (stable addresses)

  std::size_t gaps = 0;
  u64 mapped = 0;
  for (std::size_t i = 0; i < vmas.size(); ++i) {
    mapped += vmas[i].end - vmas[i].start;
    if (i > 0 && vmas[i - 1].end != vmas[i].start) ++gaps;
  }
  std::cout << "maple-vma-demo: " << file << "\n"
            << "  " << vmas.size() << " VMAs, " << mapped / 1024 << " KiB mapped, span "
            << hex(vmas.front().start) << "-" << hex(vmas.back().end) << ", " << gaps
            << " gaps between them\n";

  Checker c;
  VmaTree t;
  Model model;
  auto ok = [&](std::string_view stage, unsigned failures_before, const std::string &note) {
    std::cout << (c.failures() == failures_before ? "  [ok]   " : "  [FAIL] ") << stage << ": "
              << note << "\n";
  };

  // 1. Build: one store per VMA, [start, end - 1].
  unsigned before = c.failures();
  for (const Vma &v : vmas) {
    if (std::error_code ec = t.store(v.start, v.last(), &v)) {
      c.fail("build", cat("store(", describe(&v), "): ", ec.message()));
    }
    model.store(v.start, v.last(), &v);
  }
  check_tree(c, "build", t, model);
  ok("build", before,
     cat(std::to_string(vmas.size()), " stores; every range, gap and order checked"));
  print_stats("tree after build", t);

  // 2. Errors change nothing; insert() into a gap works.
  before = c.failures();
  {
    const Vma &v = vmas[vmas.size() / 2];
    std::error_code ec = t.store(v.last(), v.start, &v);
    c.expect(ec == maple::errc::invalid_argument, "errors",
             cat("store(last, first) returned '", ec.message(), "', want invalid argument"));
    ec = t.insert(v.start, v.last(), &v);
    c.expect(ec == maple::errc::exists, "errors",
             cat("insert over ", describe(&v), " returned '", ec.message(), "', want exists"));
    ec = t.insert(v.last(), v.last() + kPage, &v);  // straddles the end of v
    c.expect(ec == maple::errc::exists, "errors",
             cat("insert over the end of ", describe(&v), " returned '", ec.message(), "'"));
    ec = t.insert(v.start, v.last(), nullptr);
    c.expect(ec == maple::errc::invalid_argument, "errors",
             cat("insert(nullptr) returned '", ec.message(), "', want invalid argument"));
    check_tree(c, "errors", t, model);

    // The first gap of at least 3 pages: insert one page in its middle.
    for (std::size_t i = 1; i < vmas.size(); ++i) {
      if (vmas[i].start - vmas[i - 1].end < 3 * kPage) continue;
      const Vma &nv = extra.emplace_back(
          synthetic_vma(vmas[i - 1].end + kPage, vmas[i - 1].end + 2 * kPage, "[demo insert]"));
      ec = t.insert(nv.start, nv.last(), &nv);
      c.expect(!ec, "errors", cat("insert into a gap failed: ", ec.message()));
      model.store(nv.start, nv.last(), &nv);
      check_tree(c, "insert", t, model);
      const Vma *gone = nullptr;
      ec = t.erase(nv.start, &gone);
      c.expect(!ec && gone == &nv, "errors",
               cat("erase of the inserted range returned ", describe(gone)));
      model.erase(nv.start);
      break;
    }
    check_tree(c, "errors", t, model);
  }
  ok("errors", before, "invalid range and occupied inserts refused, tree unchanged; gap insert ok");

  // 3. MAP_FIXED-like overwrites: one new VMA over k consecutive ones (and the
  //    gaps between them); the neighbours on both sides stay as they were.
  before = c.failures();
  std::size_t overwrites = 0;
  for (std::size_t k : {2, 3, 5, 8}) {
    std::vector<Range> rs = model.ranges();
    if (rs.size() < k + 2) continue;
    // k ranges with neighbours on both sides, spanning at most kMaxSpan.
    const std::size_t i = pick(rs, 1 + (k * 7) % (rs.size() - k - 1), [&](std::size_t j) {
      return j >= 1 && j + k < rs.size() && rs[j + k - 1].last - rs[j].first < kMaxSpan;
    });
    if (i == npos) continue;
    const Range left = rs[i - 1], right = rs[i + k];
    const Vma &nv = extra.emplace_back(synthetic_vma(rs[i].first, rs[i + k - 1].last + 1,
                                                     cat("[map-fixed k=", std::to_string(k), "]")));
    const std::size_t count = model.size();
    if (std::error_code ec = t.store(nv.start, nv.last(), &nv)) {
      c.fail("map-fixed", cat("store(", describe(&nv), "): ", ec.message()));
    }
    model.store(nv.start, nv.last(), &nv);
    if (std::size_t now = t.stats().ranges; now != count - k + 1) {
      c.fail("map-fixed", cat("count after overwriting ", std::to_string(k), " VMAs: ",
                              std::to_string(now), ", want ", std::to_string(count - k + 1)));
    }
    for (std::size_t j = i; j < i + k; ++j) {
      expect_load(c, "map-fixed", t, rs[j].first, &nv);
      expect_load(c, "map-fixed", t, rs[j].last, &nv);
    }
    expect_lookup(c, "map-fixed", t, left.last, left);
    expect_lookup(c, "map-fixed", t, right.first, right);
    expect_lookup(c, "map-fixed", t, nv.start, {nv.start, nv.last(), &nv});
    check_tree(c, "map-fixed", t, model);
    ++overwrites;
  }
  // One overwrite that trims: from the 2nd page of a VMA to the last page
  // but one of the VMA two further on.
  {
    std::vector<Range> rs = model.ranges();
    auto big = [&](std::size_t j) { return rs[j].last - rs[j].first + 1 >= 2 * kPage; };
    std::size_t a = pick(rs, rs.size() / 3, [&](std::size_t j) {
      return j + 2 < rs.size() && big(j) && big(j + 2) && rs[j + 2].last - rs[j].first < kMaxSpan;
    });
    if (a != npos) {
      const Range ra = rs[a], rb = rs[a + 2];
      const Vma &nv = extra.emplace_back(
          synthetic_vma(ra.first + kPage, rb.last + 1 - kPage, "[map-fixed trimming]"));
      if (std::error_code ec = t.store(nv.start, nv.last(), &nv)) {
        c.fail("map-fixed", cat("store(", describe(&nv), "): ", ec.message()));
      }
      model.store(nv.start, nv.last(), &nv);
      expect_lookup(c, "map-fixed", t, ra.first, {ra.first, nv.start - 1, ra.value});
      expect_lookup(c, "map-fixed", t, rb.last, {nv.last() + 1, rb.last, rb.value});
      check_tree(c, "map-fixed", t, model);
      ++overwrites;
    }
  }
  ok("map-fixed", before,
     cat(std::to_string(overwrites), " overwrites (of 2, 3, 5, 8 VMAs; one trimming both ends)"));

  // 4. munmap-like hole in the middle of the largest VMA read from the file:
  //    it splits in two.
  before = c.failures();
  {
    std::vector<Range> rs = model.ranges();
    auto largest = std::max_element(rs.begin(), rs.end(), [](const Range &x, const Range &y) {
      auto size = [](const Range &r) { return r.value->synthetic ? 0 : r.last - r.first; };
      return size(x) < size(y);
    });
    const Range r = *largest;
    if (r.last - r.first + 1 >= 3 * kPage) {
      const u64 hole_first = r.first + kPage, hole_last = r.last - kPage;
      if (std::error_code ec = t.erase_range(hole_first, hole_last)) {
        c.fail("munmap", cat("erase_range: ", ec.message()));
      }
      model.store(hole_first, hole_last, nullptr);
      expect_lookup(c, "munmap", t, r.first, {r.first, hole_first - 1, r.value});
      expect_lookup(c, "munmap", t, r.last, {hole_last + 1, r.last, r.value});
      expect_lookup(c, "munmap", t, hole_first, {hole_first, hole_last, nullptr});
      check_tree(c, "munmap", t, model);
      ok("munmap", before,
         cat("hole of ", std::to_string((r.last - r.first + 1) / kPage - 2), " pages punched into ",
             describe(r)));
    }
  }

  // 5. erase(): every 6th range, by an index inside it; a gap erases nothing.
  before = c.failures();
  {
    std::vector<Range> rs = model.ranges();
    std::size_t erased = 0;
    for (std::size_t i = 0; i < rs.size(); i += 6) {
      const Range &r = rs[i];
      const Vma *gone = nullptr;
      std::error_code ec = t.erase(r.first + (r.last - r.first) / 2, &gone);
      c.expect(!ec && gone == r.value, "erase",
               cat("erase inside ", describe(r), " returned ", describe(gone)));
      model.erase(r.first);
      ++erased;
    }
    std::size_t g = pick(rs, 0, [&](std::size_t j) {
      return j + 1 < rs.size() && rs[j].last + 1 < rs[j + 1].first &&
             t.load(rs[j].last + 1) == nullptr;
    });
    if (g != npos) {
      const Vma *gone = nullptr;
      std::error_code ec = t.erase(rs[g].last + 1, &gone);
      c.expect(!ec && gone == nullptr, "erase", cat("erase in a gap returned ", describe(gone)));
    }
    check_tree(c, "erase", t, model);
    ok("erase", before,
       cat(std::to_string(erased), " ranges erased by an index inside them; a gap erase: nothing"));
  }

  validate_or_abort(t, "final");
  std::cout << "  [ok]   validate(): every structural invariant holds\n";
  print_stats("final tree", t);

  if (!no_dump) {
    std::ostringstream os;
    t.dump(os);
    const std::string dump = os.str();
    std::istringstream lines(dump);
    std::string line;
    std::size_t n = 0;
    const auto total = static_cast<std::size_t>(std::count(dump.begin(), dump.end(), '\n'));
    const std::size_t limit = full_dump ? total : 60;
    std::cout << "\ntree dump (" << (total > limit ? "first 60 of " : "") << total << " lines):\n";
    while (n < limit && std::getline(lines, line)) {
      std::cout << line << "\n";
      ++n;
    }
    if (total > limit) std::cout << "... (" << total - limit << " more lines; --full-dump)\n";
  }

  if (c.failures() != 0) {
    std::cout << "\nmaple-vma-demo: " << c.failures() << " check(s) FAILED\n";
    return 1;
  }
  std::cout << "\nmaple-vma-demo: all checks passed\n";
  return 0;
}
