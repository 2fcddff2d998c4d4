// strace_parser.cpp - see strace_parser.h.
#include "strace_parser.h"

#include <algorithm>
#include <array>
#include <utility>

namespace maple::vma_tool {

namespace {

constexpr std::size_t max_depth = 32;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident(char c) { return is_ident_start(c) || is_digit(c); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// 'text' (built by appending: GCC 12 warns falsely about "'" + std::string).
std::string quoted(std::string_view s) {
  std::string q(1, '\'');
  q.append(s);
  q.push_back('\'');
  return q;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || !is_ident_start(s.front())) return false;
  return std::all_of(s.begin(), s.end(), is_ident);
}

// Parses an unsigned number: 0x hex, 0 octal, or decimal. Whole string.
bool parse_unsigned(std::string_view s, std::uint64_t &out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    if (s.size() > 16) return false;
    for (char c : s) {
      if (!is_hex(c)) return false;
      unsigned d = is_digit(c) ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10);
      v = (v << 4) | d;
    }
  } else if (s.size() > 1 && s[0] == '0') {
    s.remove_prefix(1);
    if (s.size() > 21) return false;
    for (char c : s) {
      if (c < '0' || c > '7') return false;
      if (v >> 61) return false;
      v = (v << 3) | unsigned(c - '0');
    }
  } else {
    for (char c : s) {
      if (!is_digit(c)) return false;
      unsigned d = unsigned(c - '0');
      if (v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
    }
  }
  out = v;
  return true;
}

// A signed integer: optional '-', then parse_unsigned.
bool parse_integer(std::string_view s, std::uint64_t &out, bool &negative) {
  negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  std::uint64_t v = 0;
  if (!parse_unsigned(s, v)) return false;
  out = negative ? (~v + 1) : v;
  return true;
}

// The bracket scanner shared by every part of the parser: walks text from
// `pos`, keeping a stack of open brackets, skipping strings, comments and fd
// paths (`3</a, b>`), and stops at the first `stop` character met at depth 0
// (or at the end). Returns the position, or npos with `why` on unbalanced
// input.
std::size_t scan(std::string_view t, std::size_t pos, std::string_view stops, std::string &why) {
  std::array<char, max_depth> stack{};
  std::size_t depth = 0;
  while (pos < t.size()) {
    char c = t[pos];
    if (depth == 0 && stops.find(c) != std::string_view::npos) return pos;
    if (c == '"') {
      ++pos;
      while (pos < t.size() && t[pos] != '"') pos += (t[pos] == '\\') ? 2 : 1;
      if (pos >= t.size()) {
        why = "unterminated string";
        return std::string_view::npos;
      }
      ++pos;
      continue;
    }
    if (c == '/' && pos + 1 < t.size() && t[pos + 1] == '*') {
      std::size_t e = t.find("*/", pos + 2);
      if (e == std::string_view::npos) {
        why = "unterminated comment";
        return std::string_view::npos;
      }
      pos = e + 2;
      continue;
    }
    if (c == '<' && pos > 0 && (is_digit(t[pos - 1]) || is_ident(t[pos - 1]))) {
      // fd path: up to a '>' that ends the argument.
      std::size_t q = pos + 1;
      for (;;) {
        q = t.find('>', q);
        if (q == std::string_view::npos) {
          why = "unterminated fd path";
          return std::string_view::npos;
        }
        if (q + 1 == t.size() || std::string_view(",)]} ").find(t[q + 1]) != std::string_view::npos)
          break;
        ++q;
      }
      pos = q + 1;
      continue;
    }
    if (c == '(' || c == '[' || c == '{') {
      if (depth == max_depth) {
        why = "brackets nested too deep";
        return std::string_view::npos;
      }
      stack[depth++] = c == '(' ? ')' : c == '[' ? ']' : '}';
    } else if (c == ')' || c == ']' || c == '}') {
      if (depth == 0 || stack[depth - 1] != c) {
        why = std::string("unbalanced '") + c + "'";
        return std::string_view::npos;
      }
      --depth;
    }
    ++pos;
  }
  if (depth != 0) {
    why = "unbalanced brackets";
    return std::string_view::npos;
  }
  return pos;
}

// Removes /* comments */ outside strings.
std::string strip_comments(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '"') {
      std::size_t j = i + 1;
      while (j < s.size() && s[j] != '"') j += (s[j] == '\\') ? 2 : 1;
      j = std::min(j + 1, s.size());
      out.append(s.substr(i, j - i));
      i = j;
    } else if (s[i] == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      std::size_t e = s.find("*/", i + 2);
      i = e == std::string_view::npos ? s.size() : e + 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

bool parse_list(std::string_view text, std::vector<arg> &out, std::string &why, std::size_t depth);

bool parse_string(std::string_view s, arg &a, std::string &why) {
  // s starts with '"'.
  std::string v;
  std::size_t i = 1;
  for (;;) {
    if (i >= s.size()) {
      why = "unterminated string";
      return false;
    }
    char c = s[i];
    if (c == '"') break;
    if (c != '\\') {
      v.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) {
      why = "unterminated string";
      return false;
    }
    char e = s[i + 1];
    i += 2;
    switch (e) {
      case 'n': v.push_back('\n'); break;
      case 't': v.push_back('\t'); break;
      case 'r': v.push_back('\r'); break;
      case 'v': v.push_back('\v'); break;
      case 'f': v.push_back('\f'); break;
      case '\\': v.push_back('\\'); break;
      case '"': v.push_back('"'); break;
      case 'x': {
        unsigned x = 0, n = 0;
        while (n < 2 && i < s.size() && is_hex(s[i])) {
          char h = s[i++];
          x = x * 16 + (is_digit(h) ? unsigned(h - '0') : unsigned((h | 0x20) - 'a' + 10));
          ++n;
        }
        if (n == 0) {
          why = "bad \\x escape in string";
          return false;
        }
        v.push_back(char(x));
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          unsigned x = unsigned(e - '0'), n = 1;
          while (n < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') {
            x = x * 8 + unsigned(s[i++] - '0');
            ++n;
          }
          v.push_back(char(x & 0xff));
        } else {
          why = std::string("bad escape '\\") + e + "' in string";
          return false;
        }
    }
  }
  std::string_view rest = s.substr(i + 1);
  if (!rest.empty() && rest != "...") {
    why = "unexpected text after a string";
    return false;
  }
  a.k = arg::kind::string;
  a.text = std::move(v);
  return true;
}

bool parse_one(std::string_view raw, arg &a, std::string &why, std::size_t depth) {
  if (depth >= max_depth) {
    why = "arguments nested too deep";
    return false;
  }
  std::string cleaned = strip_comments(raw);
  std::string_view s = trim(cleaned);
  // key=value (named argument or struct field); not "=>".
  {
    std::size_t k = 0;
    while (k < s.size() && is_ident(s[k])) ++k;
    if (k > 0 && is_ident_start(s[0]) && k < s.size() && s[k] == '=' &&
        (k + 1 >= s.size() || s[k + 1] != '>')) {
      a.key = std::string(s.substr(0, k));
      s = trim(s.substr(k + 1));
    }
  }
  if (s.empty()) {
    why = "empty argument";
    return false;
  }
  a.text = std::string(s);
  if (s.front() == '"') return parse_string(s, a, why);
  if (s.front() == '[' || s.front() == '{') {
    char close = s.front() == '[' ? ']' : '}';
    std::string w;
    std::size_t end = scan(s, 0, "", w);  // whole text must balance
    if (end == std::string_view::npos) {
      why = w;
      return false;
    }
    // Find the bracket matching the first one.
    std::size_t m = scan(s, 1, std::string_view(&close, 1), w);
    if (m == std::string_view::npos || m >= s.size()) {
      why = "unbalanced brackets";
      return false;
    }
    a.k = s.front() == '[' ? arg::kind::array : arg::kind::structure;
    if (!parse_list(s.substr(1, m - 1), a.items, why, depth + 1)) return false;
    std::string_view rest = trim(s.substr(m + 1));
    if (rest.empty()) return true;
    if (a.k == arg::kind::structure && starts_with(rest, "=>")) {
      rest = trim(rest.substr(2));
      if (rest.size() < 2 || rest.front() != '{' || rest.back() != '}') {
        why = "expected {...} after =>";
        return false;
      }
      std::size_t m2 = scan(rest, 1, "}", w);
      if (m2 != rest.size() - 1) {
        why = "unexpected text after the => struct";
        return false;
      }
      return parse_list(rest.substr(1, rest.size() - 2), a.out, why, depth + 1);
    }
    why = "unexpected text after a bracketed argument";
    return false;
  }
  if (s == "NULL") {
    a.k = arg::kind::null;
    return true;
  }
  if (s.back() == '>') {
    std::size_t lt = s.find('<');
    if (lt != std::string_view::npos && lt > 0) {
      std::uint64_t v = 0;
      bool neg = false;
      if (parse_integer(s.substr(0, lt), v, neg)) {
        a.k = arg::kind::fd;
        a.value = v;
        a.negative = neg;
        a.path = std::string(s.substr(lt + 1, s.size() - lt - 2));
        return true;
      }
    }
    a.k = arg::kind::other;
    return true;
  }
  {
    std::uint64_t v = 0;
    bool neg = false;
    if (is_digit(s.front()) || s.front() == '-') {
      if (s.find('|') == std::string_view::npos) {
        if (!parse_integer(s, v, neg)) {
          // "1.5", "7 s", "0x1g"...: keep it raw unless it looks numeric.
          // A word of letters and digits that starts like a number is a
          // bad number ("0x12g4"); "1.5", "7 s"... are kept raw.
          bool numeric_chars = std::all_of(s.begin() + (s.front() == '-'), s.end(), is_ident);
          if (numeric_chars) {
            why = "bad number " + quoted(s.substr(0, 40));
            return false;
          }
          a.k = arg::kind::other;
          return true;
        }
        a.k = arg::kind::integer;
        a.value = v;
        a.negative = neg;
        return true;
      }
    }
  }
  // FLAG|FLAG|0x40: every part an identifier or a number.
  {
    std::vector<std::string> names;
    std::uint64_t bits = 0;
    bool ok = true;
    std::string_view rest = s;
    while (ok) {
      std::size_t bar = rest.find('|');
      std::string_view part = trim(rest.substr(0, bar));
      std::uint64_t v = 0;
      bool neg = false;
      if (is_identifier(part)) {
        names.emplace_back(part);
      } else if (!part.empty() && parse_integer(part, v, neg) && !neg) {
        bits |= v;
      } else {
        ok = false;
      }
      if (bar == std::string_view::npos) break;
      rest = rest.substr(bar + 1);
    }
    if (ok) {
      a.k = arg::kind::flags;
      a.names = std::move(names);
      a.value = bits;
      return true;
    }
  }
  a.k = arg::kind::other;
  return true;
}

bool parse_list(std::string_view text, std::vector<arg> &out, std::string &why, std::size_t depth) {
  out.clear();
  if (depth >= max_depth) {
    why = "arguments nested too deep";
    return false;
  }
  if (trim(text).empty()) return true;
  std::size_t pos = 0;
  for (;;) {
    std::size_t comma = scan(text, pos, ",", why);
    if (comma == std::string_view::npos) return false;
    arg a;
    if (!parse_one(text.substr(pos, comma - pos), a, why, depth)) return false;
    out.push_back(std::move(a));
    if (comma >= text.size()) break;
    pos = comma + 1;
  }
  return true;
}

struct constant {
  std::string_view name;
  std::uint64_t value;
};

constexpr constant constants[] = {
    {"PROT_NONE", 0x0},
    {"PROT_READ", 0x1},
    {"PROT_WRITE", 0x2},
    {"PROT_EXEC", 0x4},
    {"PROT_SEM", 0x8},
    {"PROT_GROWSDOWN", 0x01000000},
    {"PROT_GROWSUP", 0x02000000},
    {"MAP_FILE", 0x0},
    {"MAP_SHARED", 0x01},
    {"MAP_PRIVATE", 0x02},
    {"MAP_SHARED_VALIDATE", 0x03},
    {"MAP_FIXED", 0x10},
    {"MAP_ANONYMOUS", 0x20},
    {"MAP_ANON", 0x20},
    {"MAP_32BIT", 0x40},
    {"MAP_GROWSDOWN", 0x100},
    {"MAP_DENYWRITE", 0x800},
    {"MAP_EXECUTABLE", 0x1000},
    {"MAP_LOCKED", 0x2000},
    {"MAP_NORESERVE", 0x4000},
    {"MAP_POPULATE", 0x8000},
    {"MAP_NONBLOCK", 0x10000},
    {"MAP_STACK", 0x20000},
    {"MAP_HUGETLB", 0x40000},
    {"MAP_SYNC", 0x80000},
    {"MAP_FIXED_NOREPLACE", 0x100000},
    {"MAP_UNINITIALIZED", 0x4000000},
    {"MAP_HUGE_2MB", std::uint64_t{21} << 26},
    {"MAP_HUGE_1GB", std::uint64_t{30} << 26},
    {"MREMAP_MAYMOVE", 1},
    {"MREMAP_FIXED", 2},
    {"MREMAP_DONTUNMAP", 4},
    {"MADV_NORMAL", 0},
    {"MADV_RANDOM", 1},
    {"MADV_SEQUENTIAL", 2},
    {"MADV_WILLNEED", 3},
    {"MADV_DONTNEED", 4},
    {"MADV_FREE", 8},
    {"MADV_REMOVE", 9},
    {"MADV_DONTFORK", 10},
    {"MADV_DOFORK", 11},
    {"MADV_MERGEABLE", 12},
    {"MADV_UNMERGEABLE", 13},
    {"MADV_HUGEPAGE", 14},
    {"MADV_NOHUGEPAGE", 15},
    {"MADV_DONTDUMP", 16},
    {"MADV_DODUMP", 17},
    {"MADV_WIPEONFORK", 18},
    {"MADV_KEEPONFORK", 19},
    {"MADV_COLD", 20},
    {"MADV_PAGEOUT", 21},
    {"MADV_POPULATE_READ", 22},
    {"MADV_POPULATE_WRITE", 23},
    {"MADV_DONTNEED_LOCKED", 24},
    {"MADV_COLLAPSE", 25},
    {"MADV_HWPOISON", 100},
    {"MADV_SOFT_OFFLINE", 101},
    {"MADV_GUARD_INSTALL", 102},
    {"MADV_GUARD_REMOVE", 103},
    {"MLOCK_ONFAULT", 1},
    {"MCL_CURRENT", 1},
    {"MCL_FUTURE", 2},
    {"MCL_ONFAULT", 4},
    {"CLONE_VM", 0x100},
    {"CLONE_FS", 0x200},
    {"CLONE_FILES", 0x400},
    {"CLONE_SIGHAND", 0x800},
    {"CLONE_PIDFD", 0x1000},
    {"CLONE_PTRACE", 0x2000},
    {"CLONE_VFORK", 0x4000},
    {"CLONE_PARENT", 0x8000},
    {"CLONE_THREAD", 0x10000},
    {"CLONE_NEWNS", 0x20000},
    {"CLONE_SYSVSEM", 0x40000},
    {"CLONE_SETTLS", 0x80000},
    {"CLONE_PARENT_SETTID", 0x100000},
    {"CLONE_CHILD_CLEARTID", 0x200000},
    {"CLONE_DETACHED", 0x400000},
    {"CLONE_UNTRACED", 0x800000},
    {"CLONE_CHILD_SETTID", 0x1000000},
    {"CLONE_NEWCGROUP", 0x2000000},
    {"CLONE_NEWUTS", 0x4000000},
    {"CLONE_NEWIPC", 0x8000000},
    {"CLONE_NEWUSER", 0x10000000},
    {"CLONE_NEWPID", 0x20000000},
    {"CLONE_NEWNET", 0x40000000},
    {"CLONE_IO", 0x80000000},
    {"CLONE_CLEAR_SIGHAND", 0x100000000},
    {"CLONE_INTO_CGROUP", 0x200000000},
    {"SIGHUP", 1},
    {"SIGINT", 2},
    {"SIGQUIT", 3},
    {"SIGKILL", 9},
    {"SIGUSR1", 10},
    {"SIGSEGV", 11},
    {"SIGUSR2", 12},
    {"SIGPIPE", 13},
    {"SIGALRM", 14},
    {"SIGTERM", 15},
    {"SIGCHLD", 17},
    {"PR_SET_VMA", 0x53564d41},
    {"PR_SET_VMA_ANON_NAME", 0},
};

}  // namespace

std::optional<std::uint64_t> constant_value(std::string_view name) {
  for (const constant &c : constants)
    if (c.name == name) return c.value;
  return std::nullopt;
}

bool arg_value(const arg &a, std::uint64_t &out, std::string &why) {
  switch (a.k) {
    case arg::kind::integer: out = a.value; return true;
    case arg::kind::null: out = 0; return true;
    case arg::kind::flags: {
      std::uint64_t v = a.value;
      for (const std::string &n : a.names) {
        std::optional<std::uint64_t> c = constant_value(n);
        if (!c) {
          why = "unknown constant " + n;
          return false;
        }
        v |= *c;
      }
      out = v;
      return true;
    }
    default: why = "expected a number, got '" + a.text.substr(0, 60) + "'"; return false;
  }
}

bool parse_args(std::string_view text, std::vector<arg> &out, std::string &why) {
  return parse_list(text, out, why, 0);
}

bool parse_result(std::string_view text, result &out, std::string &why) {
  out = result{};
  std::string_view s = trim(text);
  std::size_t sp = 0;
  while (sp < s.size() && !is_space(s[sp])) ++sp;
  std::string_view num = s.substr(0, sp);
  std::string_view rest = trim(s.substr(sp));
  if (num == "?") {
    out.unknown = true;
  } else {
    std::uint64_t v = 0;
    bool neg = false;
    if (!parse_integer(num, v, neg)) {
      why = num.empty() ? "missing result" : "bad result " + quoted(num.substr(0, 40));
      return false;
    }
    out.value = static_cast<std::int64_t>(v);
  }
  if (rest.empty()) return true;
  if (is_ident_start(rest.front())) {
    std::size_t k = 0;
    while (k < rest.size() && is_ident(rest[k])) ++k;
    out.error = std::string(rest.substr(0, k));
    rest = trim(rest.substr(k));
  }
  if (rest.empty()) return true;
  if (rest.front() == '(' && rest.back() == ')') return true;
  if (rest.front() == '<' && rest.back() == '>') return true;  // "<unavailable>"
  why = "unexpected text after the result";
  return false;
}

bool split_line(std::string_view line, raw_line &out, std::string &why) {
  out = raw_line{};
  std::string_view s = trim(line);
  if (s.empty()) {
    out.f = raw_line::form::blank;
    return true;
  }
  std::size_t i = 0;
  std::uint64_t tid = 0;
  while (i < s.size() && is_digit(s[i])) {
    if (i >= 9) {
      why = "PID too large";
      return false;
    }
    tid = tid * 10 + unsigned(s[i] - '0');
    ++i;
  }
  if (i == 0) {
    why = "line does not start with a PID";
    return false;
  }
  if (i >= s.size() || !is_space(s[i])) {
    why = "expected a space after the PID";
    return false;
  }
  out.tid = static_cast<std::int64_t>(tid);
  s = trim(s.substr(i));
  // Optional time stamp: digits, ':' and '.' only (-t, -tt, -ttt).
  {
    std::size_t k = 0;
    bool punct = false;
    while (k < s.size() && (is_digit(s[k]) || s[k] == ':' || s[k] == '.')) {
      if (s[k] == ':' || s[k] == '.') punct = true;
      ++k;
    }
    if (k > 0 && punct && (k == s.size() || is_space(s[k]))) {
      out.time = s.substr(0, k);
      s = trim(s.substr(k));
    }
  }
  if (s.empty()) {
    why = "nothing after the PID";
    return false;
  }
  if (starts_with(s, "---")) {
    if (!ends_with(s, "---") || s.size() < 8) {
      why = "unterminated signal line";
      return false;
    }
    std::string_view body = trim(s.substr(3, s.size() - 6));
    std::size_t k = 0;
    while (k < body.size() && is_ident(body[k])) ++k;
    if (k == 0) {
      why = "signal line without a signal name";
      return false;
    }
    out.f = raw_line::form::signal;
    out.name = body.substr(0, k);
    return true;
  }
  if (starts_with(s, "+++")) {
    if (!ends_with(s, "+++") || s.size() < 8) {
      why = "unterminated exit line";
      return false;
    }
    std::string_view body = trim(s.substr(3, s.size() - 6));
    if (starts_with(body, "exited with ")) {
      std::uint64_t v = 0;
      if (!parse_unsigned(trim(body.substr(12)), v) || v > 255) {
        why = "bad exit status";
        return false;
      }
      out.f = raw_line::form::exited;
      out.exit_status = static_cast<int>(v);
      return true;
    }
    if (starts_with(body, "killed by ")) {
      std::string_view sig = body.substr(10);
      std::size_t k = 0;
      while (k < sig.size() && is_ident(sig[k])) ++k;
      if (k == 0) {
        why = "killed by what?";
        return false;
      }
      out.f = raw_line::form::killed;
      out.name = sig.substr(0, k);
      return true;
    }
    if (starts_with(body, "superseded by execve")) {
      out.f = raw_line::form::signal;  // informational
      out.name = "superseded";
      return true;
    }
    why = "unknown +++ line";
    return false;
  }
  std::string_view after;  // text after the argument list's ')'
  if (starts_with(s, "<...")) {
    std::string_view r = trim(s.substr(4));
    std::size_t k = 0;
    while (k < r.size() && (is_ident(r[k]) || r[k] == '?')) ++k;
    if (k == 0) {
      why = "resumed line without a syscall name";
      return false;
    }
    out.name = r.substr(0, k);
    r = r.substr(k);
    if (!starts_with(r, " resumed>")) {
      why = "expected ' resumed>'";
      return false;
    }
    r = r.substr(9);
    std::size_t close = scan(r, 0, ")", why);
    if (close == std::string_view::npos) return false;
    if (close >= r.size()) {
      why = "resumed line without ')'";
      return false;
    }
    out.f = raw_line::form::resumed;
    out.args = r.substr(0, close);
    after = r.substr(close + 1);
  } else {
    std::size_t k = 0;
    while (k < s.size() && (is_ident(s[k]) || s[k] == '?')) ++k;
    if (k == 0 || k >= s.size() || s[k] != '(') {
      why = "expected 'name('";
      return false;
    }
    out.name = s.substr(0, k);
    std::string_view r = s.substr(k + 1);
    constexpr std::string_view unfinished = "<unfinished ...>";
    if (ends_with(r, unfinished)) {
      out.f = raw_line::form::unfinished;
      out.args = trim(r.substr(0, r.size() - unfinished.size()));
      std::string w;
      if (scan(out.args, 0, "", w) == std::string_view::npos) {
        // An open bracket is fine in an unfinished half; a bad string is not.
        if (w != "unbalanced brackets") {
          why = w;
          return false;
        }
      }
      return true;
    }
    std::size_t close = scan(r, 0, ")", why);
    if (close == std::string_view::npos) return false;
    if (close >= r.size()) {
      why = "no ')' closing the arguments";
      return false;
    }
    out.f = raw_line::form::complete;
    out.args = r.substr(0, close);
    after = r.substr(close + 1);
  }
  after = trim(after);
  if (after.empty() || after.front() != '=') {
    why = "expected '= result' after the arguments";
    return false;
  }
  out.result = trim(after.substr(1));
  if (out.result.empty()) {
    why = "missing result";
    return false;
  }
  return true;
}

void assembler::fail(std::size_t line_no, std::string_view line, std::string reason) {
  errors_.push_back({line_no, std::move(reason), std::string(line.substr(0, 200))});
}

std::optional<event> assembler::feed(std::string_view line, std::size_t line_no) {
  raw_line r;
  std::string why;
  if (!split_line(line, r, why)) {
    fail(line_no, line, why);
    return std::nullopt;
  }
  event e;
  e.line = e.start_line = line_no;
  e.tid = r.tid;
  e.time = std::string(r.time);
  switch (r.f) {
    case raw_line::form::blank: return std::nullopt;
    case raw_line::form::signal:
      e.t = event::type::signal;
      e.name = std::string(r.name);
      return e;
    case raw_line::form::exited:
      open_.erase(r.tid);
      e.t = event::type::exited;
      e.exit_status = r.exit_status;
      return e;
    case raw_line::form::killed:
      open_.erase(r.tid);
      e.t = event::type::killed;
      e.name = std::string(r.name);
      return e;
    case raw_line::form::unfinished: {
      if (open_.count(r.tid)) {
        fail(line_no, line, "a second unfinished call of task " + std::to_string(r.tid));
      }
      half &h = open_[r.tid];
      h.name = std::string(r.name);
      h.args = std::string(r.args);
      h.time = std::string(r.time);
      h.line = line_no;
      return std::nullopt;
    }
    case raw_line::form::resumed: {
      auto it = open_.find(r.tid);
      if (it == open_.end()) {
        fail(line_no, line, quoted(r.name) + " resumed without an unfinished call");
        return std::nullopt;
      }
      if (it->second.name != r.name) {
        fail(line_no, line,
             quoted(r.name) + " resumed but the unfinished call is " + it->second.name);
        open_.erase(it);
        return std::nullopt;
      }
      std::string joined = it->second.args;
      joined.append(r.args);
      e.start_line = it->second.line;
      e.time = it->second.time;
      e.name = std::move(it->second.name);
      open_.erase(it);
      if (!parse_args(joined, e.args, why) || !parse_result(r.result, e.res, why)) {
        fail(line_no, line, why);
        return std::nullopt;
      }
      return e;
    }
    case raw_line::form::complete:
      e.name = std::string(r.name);
      if (!parse_args(r.args, e.args, why) || !parse_result(r.result, e.res, why)) {
        fail(line_no, line, why);
        return std::nullopt;
      }
      return e;
  }
  return std::nullopt;
}

std::vector<std::pair<std::int64_t, std::string>> assembler::pending() const {
  std::vector<std::pair<std::int64_t, std::string>> v;
  for (const auto &[tid, h] : open_) v.emplace_back(tid, h.name);
  return v;
}

parsed_trace parse_trace(std::string_view text) {
  parsed_trace t;
  assembler a;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    ++line_no;
    if (std::optional<event> e = a.feed(text.substr(pos, nl - pos), line_no))
      t.events.push_back(std::move(*e));
    pos = nl + 1;
  }
  t.lines = line_no;
  t.errors = a.errors();
  t.unfinished = a.pending();
  return t;
}

}  // namespace maple::vma_tool
