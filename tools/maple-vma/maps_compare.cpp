// maps_compare.cpp - see maps_compare.h. The rules are documented in
// docs/mm.md "What the comparison ignores" and "Undetermined differences".
#include "maps_compare.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace maple::vma_tool {

namespace mmns = maple::mm;

std::vector<std::string> split_lines(const std::string &text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.emplace_back(text, pos, nl - pos);
    pos = nl + 1;
  }
  return out;
}

const char *verdict_name(verdict v) noexcept {
  switch (v) {
    case verdict::match: return "MATCH";
    case verdict::undetermined: return "UNDETERMINED";
    case verdict::mismatch: return "MISMATCH";
  }
  return "?";
}

// ---- the diff ----------------------------------------------------------------------

std::string unified_diff(const std::vector<std::string> &a, const std::vector<std::string> &b,
                         const std::string &a_name, const std::string &b_name) {
  // Common prefix and suffix, then an LCS table over the middle.
  std::size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  std::size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    ++suf;
  std::size_t n = a.size() - pre - suf, m = b.size() - pre - suf;
  if (n == 0 && m == 0) return {};
  // ops: ' ' keep, '-' a only, '+' b only; with indices.
  struct op {
    char c;
    std::size_t ai, bi;
  };
  std::vector<op> ops;
  for (std::size_t i = 0; i < pre; ++i) ops.push_back({' ', i, i});
  constexpr std::size_t max_cells = std::size_t{1} << 24;
  if (n != 0 && m != 0 && (n + 1) * (m + 1) <= max_cells) {
    std::vector<std::uint32_t> t((n + 1) * (m + 1), 0);
    auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t & { return t[i * (m + 1) + j]; };
    for (std::size_t i = n; i-- > 0;)
      for (std::size_t j = m; j-- > 0;)
        at(i, j) =
            a[pre + i] == b[pre + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[pre + i] == b[pre + j]) {
        ops.push_back({' ', pre + i++, pre + j++});
      } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
        ops.push_back({'-', pre + i++, pre + j});
      } else {
        ops.push_back({'+', pre + i, pre + j++});
      }
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) ops.push_back({'-', pre + i, pre});
    for (std::size_t j = 0; j < m; ++j) ops.push_back({'+', pre + n, pre + j});
  }
  for (std::size_t i = 0; i < suf; ++i) ops.push_back({' ', pre + n + i, pre + m + i});

  std::string out = "--- " + a_name + "\n+++ " + b_name + "\n";
  constexpr std::size_t ctx = 3;
  std::size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].c == ' ') {
      ++k;
      continue;
    }
    // A hunk: from ctx before this change to ctx after the last change that
    // is within 2*ctx of the previous one.
    std::size_t s = k >= ctx ? k - ctx : 0;
    std::size_t e = k;
    for (std::size_t q = k; q < ops.size(); ++q) {
      if (ops[q].c != ' ')
        e = q;
      else if (q - e > 2 * ctx)
        break;
    }
    std::size_t stop = std::min(ops.size(), e + ctx + 1);
    std::size_t a0 = ops[s].ai, b0 = ops[s].bi, al = 0, bl = 0;
    for (std::size_t q = s; q < stop; ++q) {
      if (ops[q].c != '+') ++al;
      if (ops[q].c != '-') ++bl;
    }
    out += "@@ -" + std::to_string(al ? a0 + 1 : a0) + "," + std::to_string(al) + " +" +
           std::to_string(bl ? b0 + 1 : b0) + "," + std::to_string(bl) + " @@\n";
    for (std::size_t q = s; q < stop; ++q) {
      out += ops[q].c;
      out += ops[q].c == '+' ? b[ops[q].bi] : a[ops[q].ai];
      out += '\n';
    }
    k = stop;
  }
  return out;
}

// ---- ignored differences -------------------------------------------------------

namespace {

std::string hex_range(std::uint64_t a, std::uint64_t b) {
  std::ostringstream o;
  o << std::hex << a << "-" << b;
  return o.str();
}

std::string unformatted(const mmns::maps_line &l) {
  std::string s = mmns::format_maps_line(l);
  s.pop_back();
  return s;
}

// The ignore rules on one model line against a kernel line with the same
// end; true (and the line rewritten, a note added) if one applies.
bool ignore_rule(const mmns::maps_line &kl, std::string &line, const mmns::maps_line &ml,
                 std::vector<std::string> &ignored) {
  bool same_rest = kl.r == ml.r && kl.w == ml.w && kl.x == ml.x && kl.shared == ml.shared &&
                   kl.offset == ml.offset && kl.dev_major == ml.dev_major &&
                   kl.dev_minor == ml.dev_minor && kl.name == ml.name;
  // 1. [stack] grown down by page faults: same end, lower start.
  if (ml.name == "[stack]" && kl.name == "[stack]" && same_rest && kl.inode == ml.inode &&
      kl.end == ml.end && kl.start < ml.start) {
    std::ostringstream o;
    o << "[stack] grew by page faults (not in strace): model " << hex_range(ml.start, ml.end)
      << ", kernel " << hex_range(kl.start, kl.end) << " (+" << (ml.start - kl.start) / 4096
      << " pages)";
    ignored.push_back(o.str());
    mmns::maps_line fixed = ml;
    fixed.start = kl.start;
    line = unformatted(fixed);
    return true;
  }
  // 2. shmem inode numbers of shared anonymous memory.
  if (ml.name == "/dev/zero (deleted)" && same_rest && kl.start == ml.start && kl.end == ml.end &&
      kl.inode != ml.inode) {
    std::ostringstream o;
    o << "/dev/zero (deleted) at " << std::hex << ml.start << std::dec << ": shmem inode (kernel "
      << kl.inode << ", model " << ml.inode << ") is not in strace";
    ignored.push_back(o.str());
    mmns::maps_line fixed = ml;
    fixed.inode = kl.inode;
    line = unformatted(fixed);
    return true;
  }
  return false;
}

// Applies the ignore rules to the model's lines `b` (kernel lines `a`).
void apply_ignores(const std::vector<std::string> &a, std::vector<std::string> &b,
                   std::vector<std::string> &ignored) {
  std::multimap<std::uint64_t, mmns::maps_line> by_end;  // both rules need the same end
  for (const std::string &l : a) {
    mmns::maps_line kl;
    if (!mmns::parse_maps_line(l, kl)) by_end.emplace(kl.end, std::move(kl));
  }
  for (std::string &line : b) {
    mmns::maps_line ml;
    if (mmns::parse_maps_line(line, ml)) continue;
    auto [lo, hi] = by_end.equal_range(ml.end);
    for (auto it = lo; it != hi; ++it)
      if (ignore_rule(it->second, line, ml, ignored)) break;
  }
}

}  // namespace

std::string compare_maps(const std::string &kernel, const std::string &model,
                         const std::string &kernel_name, std::vector<std::string> &ignored) {
  std::vector<std::string> a = split_lines(kernel), b = split_lines(model);
  apply_ignores(a, b, ignored);
  return unified_diff(a, b, kernel_name + " (kernel)", "model");
}

// ---- undetermined differences ------------------------------------------------

namespace {

bool parse_all(const std::vector<std::string> &text, std::vector<mmns::maps_line> &out) {
  out.resize(text.size());
  for (std::size_t i = 0; i < text.size(); ++i)
    if (mmns::parse_maps_line(text[i], out[i])) return false;
  return true;
}

bool same_lines(const std::vector<mmns::maps_line> &a, const std::vector<mmns::maps_line> &b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (mmns::format_maps_line(a[i]) != mmns::format_maps_line(b[i])) return false;
  return true;
}

bool is_file_name(const std::string &n) { return !n.empty() && n.front() != '['; }

// (a) File lifetime: a model line naming a file that the kernel prints
// " (deleted)" over an overlapping range takes the kernel's name, device
// and inode; one reason per file.
void file_lifetime_rule(const std::vector<mmns::maps_line> &k, std::vector<mmns::maps_line> &m,
                        std::vector<std::string> &reasons) {
  std::set<std::string> named;
  for (mmns::maps_line &ml : m) {
    if (!is_file_name(ml.name)) continue;
    const std::string deleted = ml.name + " (deleted)";
    auto it =
        std::lower_bound(k.begin(), k.end(), ml.start,
                         [](const mmns::maps_line &l, std::uint64_t a) { return l.end <= a; });
    for (; it != k.end() && it->start < ml.end; ++it) {
      if (it->name != deleted) continue;
      if (named.insert(ml.name).second)
        reasons.push_back("file lifetime not in the trace: " + ml.name);
      ml.name = deleted;
      ml.dev_major = it->dev_major;
      ml.dev_minor = it->dev_minor;
      ml.inode = it->inode;
      break;
    }
  }
}

// Could x and y be one VMA but for its anon_vma? Adjacent, same
// permissions, private (shared VMAs have no anon_vma), same name, device
// and inode, contiguous file offsets, and not a special mapping. (maps
// prints 0 as an anonymous VMA's offset: its pgoff is checked on the
// model's VMAs, anon_vma_rule.)
bool mergeable(const mmns::maps_line &x, const mmns::maps_line &y) {
  bool file = is_file_name(x.name);
  bool plain_name = x.name.empty() || file || x.name == "[heap]" || x.name.rfind("[anon:", 0) == 0;
  bool offsets = file ? y.offset == x.offset + (y.start - x.start) : y.offset == x.offset;
  return x.end == y.start && x.r == y.r && x.w == y.w && x.x == y.x && !x.shared && !y.shared &&
         x.name == y.name && plain_name && x.dev_major == y.dev_major &&
         x.dev_minor == y.dev_minor && x.inode == y.inode && offsets;
}

// Runs of mergeable lines: each one merged line and its inner boundaries.
struct run {
  mmns::maps_line line;
  std::vector<std::uint64_t> cuts;
};

std::vector<run> coalesce(const std::vector<mmns::maps_line> &lines) {
  std::vector<run> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!out.empty() && i > 0 && mergeable(lines[i - 1], lines[i])) {
      out.back().line.end = lines[i].end;
      out.back().cuts.push_back(lines[i].start);
    } else {
      out.push_back({lines[i], {}});
    }
  }
  return out;
}

const mmns::vma_info *vma_at(const std::vector<mmns::vma_info> &vmas, std::uint64_t addr) {
  auto it = std::upper_bound(vmas.begin(), vmas.end(), addr,
                             [](std::uint64_t a, const mmns::vma_info &v) { return a < v.end; });
  return it == vmas.end() || it->start > addr ? nullptr : &*it;
}

// Could the VMA hold anonymous pages the replay cannot know of? A private
// VMA that is or was writable (VM_WRITE, or VM_ACCOUNT: charged when it
// became writable, kept after) and is no special mapping.
bool may_hold_anon_pages(const mmns::vma_info *v) {
  return v && !(v->flags & (mmns::vm::mayshare | mmns::vm::special)) && v->special_name.empty() &&
         (v->flags & (mmns::vm::write | mmns::vm::account));
}

// Is the boundary at `cut` one that the anon_vma alone can explain, as far
// as the model's VMAs show? One of the VMAs around it may hold anonymous
// pages, and where the model has two VMAs there, their pgoffs are contiguous
// (an anonymous VMA's pgoff is not in maps).
bool anon_vma_can_explain(const std::vector<mmns::vma_info> &vmas, std::uint64_t cut) {
  const mmns::vma_info *lo = vma_at(vmas, cut - 1), *hi = vma_at(vmas, cut);
  if (!may_hold_anon_pages(lo) && !may_hold_anon_pages(hi)) return false;
  if (!lo || !hi || lo == hi) return true;
  return hi->pgoff == lo->pgoff + ((lo->end - lo->start) >> mmns::page_shift);
}

// The line of `lines` ending at `cut` and the one starting there.
std::string pieces_at(const std::vector<mmns::maps_line> &lines, std::uint64_t cut) {
  auto it = std::lower_bound(lines.begin(), lines.end(), cut,
                             [](const mmns::maps_line &l, std::uint64_t a) { return l.start < a; });
  if (it == lines.begin() || it == lines.end()) return "?";
  return hex_range(std::prev(it)->start, cut) + " and " + hex_range(cut, it->end);
}

// (b) The hidden anon_vma state: the two sides coalesce to the same lines,
// and at every boundary only one side has, a VMA could hold anonymous
// pages. One reason per such boundary.
bool anon_vma_rule(const std::vector<mmns::maps_line> &k, const std::vector<mmns::maps_line> &m,
                   const compare_context &ctx, std::vector<std::string> &reasons) {
  std::vector<run> rk = coalesce(k), rm = coalesce(m);
  if (rk.size() != rm.size()) return false;
  std::vector<std::string> found;
  for (std::size_t i = 0; i < rk.size(); ++i) {
    if (mmns::format_maps_line(rk[i].line) != mmns::format_maps_line(rm[i].line)) return false;
    std::vector<std::uint64_t> only;
    std::set_symmetric_difference(rk[i].cuts.begin(), rk[i].cuts.end(), rm[i].cuts.begin(),
                                  rm[i].cuts.end(), std::back_inserter(only));
    for (std::uint64_t cut : only) {
      bool kernel_cut = std::binary_search(rk[i].cuts.begin(), rk[i].cuts.end(), cut);
      bool may = ctx.model_vmas.empty() ? rm[i].line.w : anon_vma_can_explain(ctx.model_vmas, cut);
      if (!may) return false;
      found.push_back("whether " + pieces_at(kernel_cut ? k : m, cut) +
                      " hold anonymous pages decides their merge (" +
                      (kernel_cut ? "the kernel kept them apart, the model merged them"
                                  : "the model kept them apart, the kernel merged them") +
                      "); faults are not traced");
    }
  }
  reasons.insert(reasons.end(), found.begin(), found.end());
  return true;
}

}  // namespace

maps_verdict judge_maps(const std::string &kernel, const std::string &model,
                        const std::string &kernel_name, const compare_context &ctx) {
  maps_verdict out;
  std::vector<std::string> a = split_lines(kernel), b = split_lines(model);
  apply_ignores(a, b, out.ignored);
  out.diff = unified_diff(a, b, kernel_name + " (kernel)", "model");
  if (out.diff.empty()) return out;
  out.v = verdict::mismatch;
  std::vector<mmns::maps_line> k, m;
  if (!parse_all(a, k) || !parse_all(b, m)) return out;
  std::vector<std::string> reasons;
  if (!ctx.file_lifetime_traced) file_lifetime_rule(k, m, reasons);
  if (!same_lines(k, m) && !anon_vma_rule(k, m, ctx, reasons)) return out;
  if (reasons.empty()) return out;  // equal only once reformatted: not explained
  out.v = verdict::undetermined;
  out.undetermined = std::move(reasons);
  return out;
}

}  // namespace maple::vma_tool
