// strace_parser.cpp - see strace_parser.h. Layers, bottom up: characters and
// numbers; the scanner (strings, comments, fd decorations, brackets); one
// argument and argument lists; results; constants; typed call records; one
// line split into its parts; the assembler (tasks, split calls, errors).
#include "strace_parser.h"

#include <algorithm>
#include <array>
#include <utility>

namespace maple::vma_tool {

namespace {

constexpr std::size_t max_depth = 32;
constexpr std::size_t npos = std::string_view::npos;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_ident(char c) { return is_ident_start(c) || is_digit(c); }
unsigned hex_digit(char c) {
  return is_digit(c) ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::size_t skip_spaces(std::string_view s, std::size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
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

// The length of the name at the start of s (letters, digits, '_', and '?'
// for strace's "????" and "E???").
std::size_t name_length(std::string_view s) {
  std::size_t k = 0;
  while (k < s.size() && (is_ident(s[k]) || s[k] == '?')) ++k;
  return k;
}

// A problem found while reading: where (a byte offset) and why.
struct failure {
  std::size_t pos = 0;
  std::string why;
};

bool fail_at(failure &f, std::size_t pos, std::string why) {
  f.pos = pos;
  f.why = std::move(why);
  return false;
}

// For scanners that return a position: npos after fail_at().
std::size_t fail_pos(failure &f, std::size_t pos, std::string why) {
  fail_at(f, pos, std::move(why));
  return std::string_view::npos;
}

// A failure in a part that starts at `base` of the caller's text.
bool fail_from(failure &f, std::size_t base) {
  f.pos += base;
  return false;
}

// ---- numbers -------------------------------------------------------------------

bool parse_hex(std::string_view s, std::uint64_t &v) {
  if (s.empty() || s.size() > 16) return false;
  v = 0;
  for (char c : s) {
    if (!is_hex(c)) return false;
    v = (v << 4) | hex_digit(c);
  }
  return true;
}

bool parse_octal(std::string_view s, std::uint64_t &v) {
  if (s.size() > 22) return false;
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '7' || (v >> 61)) return false;
    v = (v << 3) | unsigned(c - '0');
  }
  return true;
}

bool parse_decimal(std::string_view s, std::uint64_t &v) {
  v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    unsigned d = unsigned(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  return true;
}

// An unsigned number: 0x hex, 0 octal, or decimal. Whole string.
bool parse_unsigned(std::string_view s, std::uint64_t &out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  bool ok = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? parse_hex(s.substr(2), v)
            : s.size() > 1 && s[0] == '0' ? parse_octal(s.substr(1), v)
                                          : parse_decimal(s, v);
  if (ok) out = v;
  return ok;
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

// ---- escapes ---------------------------------------------------------------------

// Decodes the escape at s[i] == '\\' (strace's: \n \t \r \v \f \\ \" \xHH,
// octal \NNN) onto `out` and moves i past it. False for an unknown escape.
bool decode_escape(std::string_view s, std::size_t &i, std::string &out) {
  if (i + 1 >= s.size()) return false;
  char e = s[i + 1];
  std::size_t j = i + 2;
  static constexpr std::string_view from = "ntrvf\\\"", to = "\n\t\r\v\f\\\"";
  if (std::size_t k = from.find(e); k != npos) {
    out.push_back(to[k]);
  } else if (e == 'x') {
    unsigned x = 0, n = 0;
    for (; n < 2 && j < s.size() && is_hex(s[j]); ++n) x = x * 16 + hex_digit(s[j++]);
    if (n == 0) return false;
    out.push_back(char(x));
  } else if (e >= '0' && e <= '7') {
    unsigned x = unsigned(e - '0');
    for (unsigned n = 1; n < 3 && j < s.size() && s[j] >= '0' && s[j] <= '7'; ++n)
      x = x * 8 + unsigned(s[j++] - '0');
    out.push_back(char(x & 0xff));
  } else {
    return false;
  }
  i = j;
  return true;
}

// A path as strace quotes it inside <...>: escapes decoded, anything else
// (a backslash strace would not write) kept as it is.
std::string decode_path(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '\\' && decode_escape(s, i, out)) continue;
    out.push_back(s[i++]);
  }
  return out;
}

// ---- the scanner ----------------------------------------------------------------

std::size_t skip_string(std::string_view t, std::size_t pos) {
  ++pos;
  while (pos < t.size() && t[pos] != '"') pos += t[pos] == '\\' ? 2 : 1;
  return pos < t.size() ? pos + 1 : npos;
}

std::size_t skip_comment(std::string_view t, std::size_t pos) {
  std::size_t e = t.find("*/", pos + 2);
  return e == npos ? npos : e + 2;
}

bool comment_at(std::string_view t, std::size_t pos) {
  return t[pos] == '/' && pos + 1 < t.size() && t[pos + 1] == '*';
}

// Does an fd decoration `<...>` open at t[pos]? Right after a number or a
// name (3</x>, AT_FDCWD</x>, 1234<comm>), and not a shift (21<<MAP_HUGE_SHIFT).
bool fd_opens_at(std::string_view t, std::size_t pos) {
  return t[pos] == '<' && pos > 0 && is_ident(t[pos - 1]) &&
         !(pos + 1 < t.size() && t[pos + 1] == '<');
}

// Can an fd decoration end before t[k]? At the end, before ',', ')', ']',
// '}' or a comment, or before '<' after a space (`<unfinished ...>`, -T's
// `<0.000012>`).
bool ends_decoration(std::string_view t, std::size_t e) {
  std::size_t k = skip_spaces(t, e);
  if (k == t.size()) return true;
  if (std::string_view(",)]}").find(t[k]) != npos || comment_at(t, k)) return true;
  return k > e && t[k] == '<';
}

// The end of the fd decoration opened at t[pos]: just past the first '>'
// (and a "(deleted)" right after it) that ends_decoration() accepts. A '>'
// followed by anything else belongs to the name: -yy's `<TCP:[a:1->b:2]>`,
// `</dev/pts/0<char 136:0>>`, a raw `>` in a file name.
std::size_t fd_decoration_end(std::string_view t, std::size_t pos) {
  constexpr std::string_view deleted = "(deleted)";
  for (std::size_t q = t.find('>', pos + 1); q != npos; q = t.find('>', q + 1)) {
    std::size_t e = q + 1;
    if (t.substr(e, deleted.size()) == deleted && ends_decoration(t, e + deleted.size()))
      return e + deleted.size();
    if (ends_decoration(t, e)) return e;
  }
  return npos;
}

// Past a string, comment or fd decoration at t[pos]; pos if there is none
// there; npos (and f) if it does not end.
std::size_t skip_opaque(std::string_view t, std::size_t pos, failure &f) {
  std::size_t e = pos;
  if (t[pos] == '"') {
    if ((e = skip_string(t, pos)) == npos) fail_at(f, pos, "unterminated string");
  } else if (comment_at(t, pos)) {
    if ((e = skip_comment(t, pos)) == npos) fail_at(f, pos, "unterminated comment");
  } else if (fd_opens_at(t, pos)) {
    if ((e = fd_decoration_end(t, pos)) == npos) fail_at(f, pos, "unterminated fd path");
  }
  return e;
}

char closer(char c) { return c == '(' ? ')' : c == '[' ? ']' : c == '{' ? '}' : 0; }

// Walks t from pos, skipping strings, comments and fd decorations, keeping
// a stack of open brackets; stops at the first character of `stops` met at
// depth 0, or at the end. npos on unbalanced input (f: where and why).
std::size_t scan(std::string_view t, std::size_t pos, std::string_view stops, failure &f) {
  std::array<char, max_depth> stack;          // only [0, depth) is read
  std::array<std::size_t, max_depth> opened;  // (not zeroed: scan runs per argument)
  std::size_t depth = 0;
  while (pos < t.size()) {
    char c = t[pos];
    if (depth == 0 && stops.find(c) != npos) return pos;
    if (c == '"' || c == '/' || c == '<') {
      std::size_t next = skip_opaque(t, pos, f);
      if (next == npos) return npos;
      if (next != pos) {
        pos = next;
        continue;
      }
    }
    if (char close = closer(c)) {
      if (depth == max_depth) return fail_pos(f, pos, "brackets nested too deep");
      opened[depth] = pos;
      stack[depth++] = close;
    } else if (c == ')' || c == ']' || c == '}') {
      if (depth == 0 || stack[depth - 1] != c)
        return fail_pos(f, pos, std::string("unbalanced '") + c + "'");
      --depth;
    }
    ++pos;
  }
  if (depth != 0) return fail_pos(f, opened[depth - 1], "unbalanced brackets");
  return pos;
}

// The text without its /* comments */ (strings and fd decorations kept).
std::string strip_comments(std::string_view s) {
  if (s.find("/*") == npos) return std::string(s);
  std::string out;
  out.reserve(s.size());
  failure ignored;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t e = skip_opaque(s, i, ignored);
    if (e == npos) e = s.size();
    if (e == i) e = i + 1;
    if (!comment_at(s, i)) out.append(s.substr(i, e - i));
    i = e;
  }
  return out;
}

}  // namespace

// ---- arguments -------------------------------------------------------------------

namespace {

bool parse_list(std::string_view t, std::size_t base, std::vector<arg> &out, failure &f,
                std::size_t depth);

// "text" with escapes, maybe followed by "..." (strace's truncation).
bool parse_string(std::string_view s, std::size_t base, arg &a, failure &f) {
  std::string v;
  std::size_t i = 1;
  while (i < s.size() && s[i] != '"') {
    if (s[i] != '\\') {
      v.push_back(s[i++]);
    } else if (i + 1 >= s.size()) {
      break;
    } else if (!decode_escape(s, i, v)) {
      return fail_at(f, base + i, std::string("bad escape '\\") + s[i + 1] + "' in string");
    }
  }
  if (i >= s.size()) return fail_at(f, base, "unterminated string");
  std::string_view rest = s.substr(i + 1);
  if (!rest.empty() && rest != "...")
    return fail_at(f, base + i + 1, "unexpected text after a string");
  a.k = arg::kind::string;
  a.text = std::move(v);
  return true;
}

// [a, b] or {k=v, ...}, a struct maybe followed by `=> {out}` (clone3).
bool parse_bracketed(std::string_view s, std::size_t base, arg &a, failure &f, std::size_t depth) {
  const char close = s.front() == '[' ? ']' : '}';
  if (scan(s, 0, "", f) == npos) return fail_from(f, base);  // the whole text must balance
  std::size_t m = scan(s, 1, std::string_view(&close, 1), f);
  if (m == npos || m >= s.size()) return fail_at(f, base, "unbalanced brackets");
  a.k = s.front() == '[' ? arg::kind::array : arg::kind::structure;
  if (!parse_list(s.substr(1, m - 1), base + 1, a.items, f, depth + 1)) return false;
  std::size_t r = skip_spaces(s, m + 1);
  if (r == s.size()) return true;
  if (a.k != arg::kind::structure || s.substr(r, 2) != "=>")
    return fail_at(f, base + r, "unexpected text after a bracketed argument");
  std::size_t o = skip_spaces(s, r + 2);
  std::string_view out = trim(s.substr(o));
  if (out.size() < 2 || out.front() != '{' || out.back() != '}')
    return fail_at(f, base + o, "expected {...} after =>");
  if (scan(out, 1, "}", f) != out.size() - 1)
    return fail_at(f, base + o, "unexpected text after the => struct");
  return parse_list(out.substr(1, out.size() - 2), base + o + 1, a.out, f, depth + 1);
}

// The fd's name from the text inside <...>: decoded, without a -yy device
// suffix, " (deleted)" when strace marked it so after the '>'.
void set_fd_path(std::string_view inner, bool deleted_after, std::string &path, bool &deleted) {
  std::string p = decode_path(inner);
  if (!p.empty() && p.back() == '>') {
    std::size_t c = p.rfind("<char "), b = p.rfind("<block ");
    std::size_t dev = c == std::string::npos ? b : b == std::string::npos ? c : std::max(c, b);
    if (dev != std::string::npos && dev > 0) p.resize(dev);
  }
  deleted = deleted_after || ends_with(p, " (deleted)");
  if (deleted_after) p += " (deleted)";
  path = std::move(p);
}

// The decoration `<...>` or `<...>(deleted)` that is all of s.
void set_decoration(std::string_view s, std::string &path, bool &deleted) {
  bool deleted_after = ends_with(s, ">(deleted)");
  std::size_t gt = s.size() - (deleted_after ? 10 : 1);
  set_fd_path(s.substr(1, gt - 1), deleted_after, path, deleted);
}

// N<path>, N<path>(deleted), AT_FDCWD<path>, N<socket:[ino]>, ...: the whole
// of s. False if s is not one.
bool parse_fd(std::string_view s, arg &a) {
  std::size_t lt = s.find('<');
  if (lt == npos || lt == 0 || !fd_opens_at(s, lt) || fd_decoration_end(s, lt) != s.size())
    return false;
  std::string_view num = s.substr(0, lt);
  std::uint64_t v = 0;
  bool neg = false;
  if (!parse_integer(num, v, neg)) {
    if (!is_identifier(num)) return false;
    v = constant_value(num).value_or(0);  // AT_FDCWD
  }
  a.k = arg::kind::fd;
  a.value = v;
  a.negative = neg;
  set_decoration(s.substr(lt), a.path, a.deleted);
  return true;
}

// 42, -1, 0x7f00, 0644; "1.5" or "7 s" stay raw; "0x12g4" is an error.
bool parse_number(std::string_view s, std::size_t base, arg &a, failure &f) {
  std::uint64_t v = 0;
  bool neg = false;
  if (!parse_integer(s, v, neg)) {
    bool numeric_chars = std::all_of(s.begin() + (s.front() == '-'), s.end(), is_ident);
    if (numeric_chars) return fail_at(f, base, "bad number " + quoted(s.substr(0, 40)));
    a.k = arg::kind::other;
    return true;
  }
  a.k = arg::kind::integer;
  a.value = v;
  a.negative = neg;
  return true;
}

// One part of FLAG|FLAG|0x40|21<<MAP_HUGE_SHIFT.
bool add_flag_part(std::string_view part, std::vector<std::string> &names, std::uint64_t &bits) {
  std::uint64_t v = 0;
  bool neg = false;
  if (is_identifier(part)) {
    names.emplace_back(part);
    return true;
  }
  if (!part.empty() && parse_integer(part, v, neg) && !neg) {
    bits |= v;
    return true;
  }
  std::size_t sh = part.find("<<");
  if (sh == npos || !parse_unsigned(part.substr(0, sh), v)) return false;
  std::string_view by = part.substr(sh + 2);
  std::uint64_t n = 0;
  if (std::optional<std::uint64_t> c = constant_value(by)) {
    n = *c;
  } else if (!parse_unsigned(by, n)) {
    if (!is_identifier(by)) return false;
    names.emplace_back(part);  // unknown shift: reported by arg_value
    return true;
  }
  if (n < 64) bits |= v << n;
  return true;
}

bool parse_flags(std::string_view s, arg &a) {
  std::vector<std::string> names;
  std::uint64_t bits = 0;
  for (std::string_view rest = s;;) {
    std::size_t bar = rest.find('|');
    if (!add_flag_part(trim(rest.substr(0, bar)), names, bits)) return false;
    if (bar == npos) break;
    rest = rest.substr(bar + 1);
  }
  a.k = arg::kind::flags;
  a.names = std::move(names);
  a.value = bits;
  return true;
}

// `key=` of a named argument or struct field (not "=>" or "==").
std::string_view take_key(std::string_view s, arg &a) {
  std::size_t k = 0;
  while (k < s.size() && is_ident(s[k])) ++k;
  if (k == 0 || !is_ident_start(s[0]) || k >= s.size() || s[k] != '=') return s;
  if (k + 1 < s.size() && (s[k + 1] == '>' || s[k + 1] == '=')) return s;
  a.key = std::string(s.substr(0, k));
  return trim(s.substr(k + 1));
}

bool parse_one(std::string_view raw, std::size_t base, arg &a, failure &f, std::size_t depth) {
  if (depth >= max_depth) return fail_at(f, base, "arguments nested too deep");
  base += skip_spaces(raw, 0);
  std::string cleaned = strip_comments(raw);
  std::string_view s = take_key(trim(cleaned), a);
  if (s.empty()) return fail_at(f, base, "empty argument");
  base += trim(cleaned).size() - s.size();
  a.text = std::string(s);
  if (s.front() == '"') return parse_string(s, base, a, f);
  if (s.front() == '[' || s.front() == '{') return parse_bracketed(s, base, a, f, depth);
  if (s == "NULL") {
    a.k = arg::kind::null;
    return true;
  }
  bool has_lt = s.find('<') != npos;
  if (has_lt && parse_fd(s, a)) return true;
  if ((is_digit(s.front()) || s.front() == '-') && !has_lt && s.find('|') == npos)
    return parse_number(s, base, a, f);
  if (!parse_flags(s, a)) a.k = arg::kind::other;
  return true;
}

bool parse_list(std::string_view t, std::size_t base, std::vector<arg> &out, failure &f,
                std::size_t depth) {
  out.clear();
  if (depth >= max_depth) return fail_at(f, base, "arguments nested too deep");
  std::string_view trimmed = trim(t);
  if (trimmed.empty() || (trimmed.substr(0, 2) == "/*" && trim(strip_comments(t)).empty()))
    return true;  // (), [/* 20 vars */]
  for (std::size_t pos = 0;;) {
    std::size_t comma = scan(t, pos, ",", f);
    if (comma == npos) return fail_from(f, base);
    arg a;
    if (!parse_one(t.substr(pos, comma - pos), base + pos, a, f, depth)) return false;
    out.push_back(std::move(a));
    if (comma >= t.size()) return true;
    pos = comma + 1;
  }
}

}  // namespace

bool parse_args(std::string_view text, std::vector<arg> &out, std::string &why,
                std::size_t *where) {
  failure f;
  if (parse_list(text, 0, out, f, 0)) return true;
  why = std::move(f.why);
  if (where) *where = std::min(f.pos, text.size());
  return false;
}

// ---- results ---------------------------------------------------------------------

namespace {

// The value: `?` or a number, maybe decorated (`3</path>`, `1234<comm>`).
bool parse_result_value(std::string_view s, std::size_t &i, result &out, failure &f) {
  if (i < s.size() && s[i] == '?') {
    out.unknown = true;
    ++i;
    return true;
  }
  std::size_t k = i + (i < s.size() && s[i] == '-');
  while (k < s.size() && is_ident(s[k])) ++k;
  std::string_view num = s.substr(i, k - i);
  std::uint64_t v = 0;
  bool neg = false;
  if (!parse_integer(num, v, neg))
    return fail_at(f, i,
                   num.empty() ? "missing result" : "bad result " + quoted(num.substr(0, 40)));
  out.value = static_cast<std::int64_t>(v);
  if (k < s.size() && fd_opens_at(s, k)) {
    std::size_t e = fd_decoration_end(s, k);
    if (e == npos) return fail_at(f, k, "unterminated fd path");
    set_decoration(s.substr(k, e - k), out.path, out.deleted);
    k = e;
  }
  i = k;
  return true;
}

// What may follow the value: an errno name, then `(text)` groups (the
// errno text, "To be restarted", "flags ...", "INJECTED") and `<...>`
// groups (-T's time, "<unavailable>").
bool parse_result_tail(std::string_view s, std::size_t i, result &out, failure &f) {
  for (i = skip_spaces(s, i); i < s.size(); i = skip_spaces(s, i)) {
    std::size_t e = npos;
    if (is_ident_start(s[i]) && out.error.empty()) {
      e = i + name_length(s.substr(i));
      out.error = std::string(s.substr(i, e - i));
    } else if (s[i] == '(') {
      failure ignored;
      e = scan(s, i + 1, ")", ignored);
      e = e == npos || e >= s.size() ? npos : e + 1;
    } else if (s[i] == '<') {
      e = s.find('>', i);
      if (e != npos) ++e;
    }
    if (e == npos || e > s.size()) return fail_at(f, i, "unexpected text after the result");
    i = e;
  }
  return true;
}

}  // namespace

bool parse_result(std::string_view text, result &out, std::string &why, std::size_t *where) {
  out = result{};
  failure f;
  std::size_t i = skip_spaces(text, 0);
  if (parse_result_value(text, i, out, f) && parse_result_tail(text, i, out, f)) return true;
  why = std::move(f.why);
  if (where) *where = std::min(f.pos, text.size());
  return false;
}

// ---- constants -------------------------------------------------------------------

namespace {

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
    {"MAP_HUGE_SHIFT", 26},
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
    {"AT_FDCWD", std::uint64_t(-100)},
    {"AT_REMOVEDIR", 0x200},
    {"O_RDONLY", 0},
    {"O_WRONLY", 01},
    {"O_RDWR", 02},
    {"O_ACCMODE", 03},
    {"O_CREAT", 0100},
    {"O_EXCL", 0200},
    {"O_NOCTTY", 0400},
    {"O_TRUNC", 01000},
    {"O_APPEND", 02000},
    {"O_NONBLOCK", 04000},
    {"O_NDELAY", 04000},
    {"O_DSYNC", 010000},
    {"O_ASYNC", 020000},
    {"FASYNC", 020000},
    {"O_DIRECT", 040000},
    {"O_LARGEFILE", 0100000},
    {"O_DIRECTORY", 0200000},
    {"O_NOFOLLOW", 0400000},
    {"O_NOATIME", 01000000},
    {"O_CLOEXEC", 02000000},
    {"O_SYNC", 04010000},
    {"O_PATH", 010000000},
    {"O_TMPFILE", 020200000},
    {"F_DUPFD", 0},
    {"F_GETFD", 1},
    {"F_SETFD", 2},
    {"F_DUPFD_CLOEXEC", 1030},
    {"FD_CLOEXEC", 1},
    {"MFD_CLOEXEC", 1},
    {"MFD_ALLOW_SEALING", 2},
    {"MFD_HUGETLB", 4},
    {"MFD_NOEXEC_SEAL", 8},
    {"MFD_EXEC", 0x10},
    {"CLOSE_RANGE_UNSHARE", 2},
    {"CLOSE_RANGE_CLOEXEC", 4},
    {"RENAME_NOREPLACE", 1},
    {"RENAME_EXCHANGE", 2},
    {"RENAME_WHITEOUT", 4},
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

// ---- typed call records -------------------------------------------------------

namespace {

constexpr std::uint64_t marker_base = 0x6d617073;  // "maps"
constexpr std::uint64_t pr_set_vma = 0x53564d41;
constexpr std::uint64_t map_anonymous = 0x20;
constexpr std::uint64_t clone_vm = 0x100, clone_vfork = 0x4000;

// Reads numeric arguments in the replay's order; the first one that cannot
// be read becomes the call's error and stops the reading.
struct numbers {
  const event &e;
  vma_call &c;
  bool operator()(std::size_t i, std::uint64_t &v) {
    if (!c.error.empty()) return false;
    std::string why;
    if (i >= e.args.size())
      c.error = "argument " + std::to_string(i + 1) + " missing";
    else if (!arg_value(e.args[i], v, why))
      c.error = "argument " + std::to_string(i + 1) + ": " + why;
    return c.error.empty();
  }
};

void decode_mmap(const event &e, vma_call &c) {
  c.kind = call_kind::mmap;
  std::string why;
  c.prot_flags_known =
      e.args.size() >= 4 && arg_value(e.args[2], c.prot, why) && arg_value(e.args[3], c.flags, why);
  if (e.args.size() >= 5 && e.args[4].k == arg::kind::fd) {
    c.has_fd = true;
    c.fd = e.args[4].value;
    c.path = e.args[4].path;
    c.deleted = e.args[4].deleted;
  }
  numbers n{e, c};
  if (!(n(0, c.addr) && n(1, c.len) && n(2, c.prot) && n(3, c.flags) && n(5, c.offset))) return;
  if (e.name == "mmap2") c.offset <<= 12;
  if (!(c.flags & map_anonymous) && !c.has_fd)
    c.error = "a file mapping without an fd<path> argument";
}

// munmap(0x6d617073XY, 0): X = a/b/c/e, Y = 0 (before the snapshot) or 1.
bool decode_marker(const event &e, vma_call &c) {
  if (e.args.size() != 2 || e.args[0].k != arg::kind::integer ||
      (e.args[0].value >> 8) != marker_base || e.args[1].k != arg::kind::integer ||
      e.args[1].value != 0)
    return false;
  std::uint64_t x = (e.args[0].value >> 4) & 0xf, y = e.args[0].value & 0xf;
  if ((x != 0xa && x != 0xb && x != 0xc && x != 0xe) || y > 1) return false;
  c.kind = call_kind::marker;
  c.marker = static_cast<char>('a' + (x - 0xa));
  c.marker_end = y == 1;
  return true;
}

// prctl: only PR_SET_VMA can change VMAs; every other option (PR_SET_NAME,
// an unknown number...) is a call without VMA effect.
void decode_prctl(const event &e, vma_call &c) {
  std::uint64_t option = 0;
  std::string why;
  if (e.args.empty() || !arg_value(e.args[0], option, why) || option != pr_set_vma) return;
  c.kind = call_kind::set_vma;
  numbers n{e, c};
  if (!(n(1, c.option) && n(2, c.addr) && n(3, c.len))) return;
  if (e.args.size() > 4 && e.args[4].k == arg::kind::string) c.name = e.args[4].text;
}

// clone's flags= argument, clone3's {flags=...}; vfork: CLONE_VM|CLONE_VFORK.
void decode_create(const event &e, vma_call &c) {
  c.kind = call_kind::create;
  std::string why;
  if (e.name == "vfork") c.flags = clone_vm | clone_vfork;
  for (const arg &a : e.args) {
    if (e.name == "clone" && a.key == "flags") (void)arg_value(a, c.flags, why);
    if (e.name == "clone3" && a.k == arg::kind::structure)
      for (const arg &f : a.items)
        if (f.key == "flags") (void)arg_value(f, c.flags, why);
  }
}

void decode_exec(const event &e, vma_call &c) {
  c.kind = call_kind::exec;
  std::size_t path_arg = e.name == "execve" ? 0 : 1;
  if (e.args.size() > path_arg && e.args[path_arg].k == arg::kind::string)
    c.path = e.args[path_arg].text;
}

// ---- file lifetime: only what the fd table and the file names need ----

constexpr std::uint64_t o_accmode = 03, o_cloexec = 02000000, fd_cloexec = 1, mfd_cloexec = 1;
constexpr std::uint64_t at_fdcwd = std::uint64_t(-100);

// The bits of a flags or integer argument; unknown names count as 0 (a flag
// the replay does not need is no error).
std::uint64_t lenient_bits(const arg &a) {
  if (a.k == arg::kind::integer) return a.value;
  if (a.k != arg::kind::flags) return 0;
  std::uint64_t v = a.value;
  for (const std::string &n : a.names) v |= constant_value(n).value_or(0);
  return v;
}

// An fd argument's number: `3</x>`, `3`, `-1` (the kernel's unsigned int).
bool fd_number(const event &e, std::size_t i, std::uint64_t &fd) {
  if (i >= e.args.size()) return false;
  const arg &a = e.args[i];
  if (a.k != arg::kind::fd && a.k != arg::kind::integer) return false;
  fd = a.value & 0xffffffffu;
  return true;
}

// Is argument i the named command (fcntl's F_*), by name or number?
bool is_command(const event &e, std::size_t i, std::string_view name) {
  if (i >= e.args.size()) return false;
  const arg &a = e.args[i];
  if (a.k == arg::kind::flags) return a.names.size() == 1 && a.names[0] == name && a.value == 0;
  return a.k == arg::kind::integer && constant_value(name) == a.value;
}

// "a/./b/../c" -> "a/c", "//" -> "/" (lexically: the kernel's names are
// already resolved, a traced name may not be).
std::string lexical_path(std::string_view p) {
  std::vector<std::string_view> parts;
  bool absolute = !p.empty() && p.front() == '/';
  for (std::size_t i = 0; i <= p.size();) {
    std::size_t e = std::min(p.find('/', i), p.size());
    std::string_view part = p.substr(i, e - i);
    if (part == ".." && !parts.empty() && parts.back() != "..")
      parts.pop_back();
    else if (part == ".." && absolute)
      ;  // "/.." is "/"
    else if (!part.empty() && part != ".")
      parts.push_back(part);
    i = e + 1;
  }
  std::string out = absolute ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

// The name argument `name_at`, joined to the directory of the dirfd
// argument `dir_at` (npos: none) when it is relative and strace showed the
// directory (`AT_FDCWD</cwd>`, `3</dir>`); an AT_FDCWD decoration is also
// the task's cwd.
std::string name_arg(const event &e, std::size_t dir_at, std::size_t name_at, vma_call &c) {
  if (name_at >= e.args.size() || e.args[name_at].k != arg::kind::string) return {};
  const std::string &name = e.args[name_at].text;
  const arg *dir =
      dir_at < e.args.size() && e.args[dir_at].k == arg::kind::fd && !e.args[dir_at].deleted
          ? &e.args[dir_at]
          : nullptr;
  if (dir && dir->value == at_fdcwd && !dir->path.empty()) c.cwd = dir->path;
  if (!name.empty() && name.front() == '/') return lexical_path(name);
  if (dir && !dir->path.empty() && dir->path.front() == '/')
    return lexical_path(dir->path + "/" + name);
  return name;
}

// open(name, flags), openat(dirfd, name, flags), openat2(dirfd, name,
// {flags=...}), creat(name, mode), memfd_create(name, flags). The file's name
// is the result's decoration (the kernel's name) when there is one.
void decode_open(const event &e, vma_call &c) {
  c.kind = call_kind::open;
  const std::string &n = e.name;
  bool at = n == "openat" || n == "openat2";
  std::uint64_t flags = 0;
  if (n == "creat") {
    flags = 01 | 0100 | 01000;  // O_WRONLY|O_CREAT|O_TRUNC
  } else if (n == "openat2" && e.args.size() > 2 && e.args[2].k == arg::kind::structure) {
    for (const arg &f : e.args[2].items)
      if (f.key == "flags") flags = lenient_bits(f);
  } else if (std::size_t i = at ? 2 : 1; i < e.args.size()) {
    flags = lenient_bits(e.args[i]);
  }
  if (n == "memfd_create") {
    c.access = 2;  // memfd files are O_RDWR
    c.cloexec = flags & mfd_cloexec;
    if (!e.args.empty() && e.args[0].k == arg::kind::string)
      c.path = "/memfd:" + e.args[0].text + " (deleted)";
    c.deleted = true;
  } else {
    c.access = static_cast<int>(flags & o_accmode);
    c.cloexec = flags & o_cloexec;
    c.path = name_arg(e, at ? 0 : npos, at ? 1 : 0, c);
  }
  if (!e.res.path.empty()) {
    c.path = e.res.path;
    c.deleted = e.res.deleted;
  }
}

// dup(old), dup2(old, new), dup3(old, new, flags), fcntl(fd, F_DUPFD[_CLOEXEC],
// min), fcntl(fd, F_SETFD, flags); other fcntl commands change no fd.
void decode_fd_call(const event &e, vma_call &c) {
  const std::string &n = e.name;
  if (!fd_number(e, 0, c.fd)) return;
  if (e.args[0].k == arg::kind::fd) {
    c.path = e.args[0].path;  // dup: the old fd's file
    c.deleted = e.args[0].deleted;
  }
  if (n == "fcntl" || n == "fcntl64") {
    if (is_command(e, 1, "F_SETFD")) {
      c.kind = call_kind::set_cloexec;
      c.cloexec = e.args.size() > 2 && (lenient_bits(e.args[2]) & fd_cloexec);
    } else if (is_command(e, 1, "F_DUPFD") || is_command(e, 1, "F_DUPFD_CLOEXEC")) {
      c.kind = call_kind::dup;
      c.cloexec = is_command(e, 1, "F_DUPFD_CLOEXEC");
    }
    return;
  }
  c.kind = n == "close" ? call_kind::close : call_kind::dup;
  if (n == "dup2" || n == "dup3") (void)fd_number(e, 1, c.fd2);
  if (n == "dup3") c.cloexec = e.args.size() > 2 && (lenient_bits(e.args[2]) & o_cloexec);
}

// close_range(first, last, flags).
void decode_close_range(const event &e, vma_call &c) {
  c.kind = call_kind::close_range;
  c.fd2 = 0xffffffffu;
  if (!fd_number(e, 0, c.fd)) c.error = "argument 1: expected an fd";
  (void)fd_number(e, 1, c.fd2);  // ~0U may come as text: every fd
  if (e.args.size() > 2) c.flags = lenient_bits(e.args[2]);
}

// unlink(name), unlinkat(dirfd, name, flags), rename(old, new),
// renameat(olddirfd, old, newdirfd, new), renameat2(..., flags).
void decode_name_call(const event &e, vma_call &c) {
  const std::string &n = e.name;
  if (n == "unlink" || n == "unlinkat") {
    c.kind = call_kind::unlink;
    bool at = n == "unlinkat";
    c.path = name_arg(e, at ? 0 : npos, at ? 1 : 0, c);
    if (at && e.args.size() > 2) c.flags = lenient_bits(e.args[2]);
  } else {
    c.kind = call_kind::rename;
    bool at = n != "rename";
    c.path = name_arg(e, at ? 0 : npos, at ? 1 : 0, c);
    c.path2 = name_arg(e, at ? 2 : npos, at ? 3 : 1, c);
    if (n == "renameat2" && e.args.size() > 4) c.flags = lenient_bits(e.args[4]);
  }
  if (c.path.empty() || (c.kind == call_kind::rename && c.path2.empty()))
    c.error = "a name argument is not a string";
}

constexpr std::string_view open_calls[] = {"open", "openat", "openat2", "creat", "memfd_create"};
constexpr std::string_view fd_calls[] = {"close", "dup", "dup2", "dup3", "fcntl", "fcntl64"};
constexpr std::string_view name_calls[] = {"unlink", "unlinkat", "rename", "renameat", "renameat2"};

template <std::size_t N>
bool one_of(const std::string_view (&names)[N], std::string_view n) {
  return std::find(std::begin(names), std::end(names), n) != std::end(names);
}

// The calls whose arguments are just numbers: kind and how many are read.
struct plain_call {
  std::string_view name;
  call_kind kind;
  std::size_t args;
};
constexpr plain_call plain_calls[] = {
    {"munmap", call_kind::munmap, 2},
    {"mprotect", call_kind::mprotect, 3},
    {"pkey_mprotect", call_kind::mprotect, 3},
    {"mremap", call_kind::mremap, 4},
    {"brk", call_kind::brk, 1},
    {"madvise", call_kind::madvise, 3},
    {"mlock", call_kind::mlock, 2},
    {"mlock2", call_kind::mlock, 3},
    {"munlock", call_kind::munlock, 2},
};

// Calls that can change VMAs but are not replayed.
constexpr std::string_view not_modelled_calls[] = {
    "mlockall",
    "munlockall",
    "mbind",
    "shmat",
    "shmdt",
    "remap_file_pages",
    "io_setup",
    "io_destroy",
    "mseal",
    "process_madvise",
    "set_mempolicy_home_node",
    "map_shadow_stack",
};

// Where the arguments of a plain call go, in order.
std::array<std::uint64_t *, 4> slots(call_kind k, vma_call &c) {
  switch (k) {
    case call_kind::mremap: return {&c.addr, &c.len, &c.new_len, &c.flags};
    case call_kind::mprotect: return {&c.addr, &c.len, &c.prot, nullptr};
    default: return {&c.addr, &c.len, &c.flags, nullptr};  // madvise: advice; mlock2: flags
  }
}

void decode_plain(const event &e, const plain_call &p, vma_call &c) {
  c.kind = p.kind;
  numbers n{e, c};
  std::array<std::uint64_t *, 4> to = slots(p.kind, c);
  for (std::size_t i = 0; i < p.args; ++i)
    if (!n(i, *to[i])) return;
  std::uint64_t new_address = 0;  // mremap's fifth argument: read, not used
  if (p.kind == call_kind::mremap && e.args.size() > 4) (void)n(4, new_address);
}

}  // namespace

std::string normalize_path(std::string_view p) { return lexical_path(p); }

vma_call decode_call(const event &e) {
  vma_call c;
  const std::string &n = e.name;
  if (n == "mmap" || n == "mmap2") {
    decode_mmap(e, c);
  } else if (n == "munmap" && decode_marker(e, c)) {
  } else if (n == "prctl") {
    decode_prctl(e, c);
  } else if (n == "clone" || n == "clone3" || n == "fork" || n == "vfork") {
    decode_create(e, c);
  } else if (n == "execve" || n == "execveat") {
    decode_exec(e, c);
  } else if (n == "exit" || n == "exit_group") {
    c.kind = call_kind::exit;
  } else if (one_of(open_calls, n)) {
    decode_open(e, c);
  } else if (one_of(fd_calls, n)) {
    decode_fd_call(e, c);
  } else if (n == "close_range") {
    decode_close_range(e, c);
  } else if (one_of(name_calls, n)) {
    decode_name_call(e, c);
  } else if (one_of(not_modelled_calls, n)) {
    c.kind = call_kind::not_modelled;
  } else {
    for (const plain_call &p : plain_calls)
      if (p.name == n) decode_plain(e, p, c);
  }
  return c;
}

// ---- lines -----------------------------------------------------------------------

/// One line split into its parts (offsets are into the line).
struct assembler::split {
  enum class form {
    blank,
    note,
    call,
    unfinished,
    detached,
    resumed,
    signal,
    exited,
    killed,
    superseded
  };
  form f = form::blank;
  bool has_tid = false;
  std::int64_t tid = 0;
  std::string_view time, name;
  std::string_view args;    ///< call/unfinished: the argument text
  std::string_view rest;    ///< call: the result text; resumed: the text after "resumed>"
  std::size_t body_at = 0;  ///< where the part after PID and time starts
  std::size_t args_at = 0, rest_at = 0;
  int exit_status = 0;
  std::int64_t other = 0;   ///< superseded: the task whose execve it was
  std::string what;         ///< note: the kind of line
  bool unfinished = false;  ///< the line ends with "<unfinished ...>" (even if it fails)
  std::size_t err_at = 0;   ///< on failure: where and why
  std::string why;
};

namespace {

using split = assembler::split;
using form = split::form;

constexpr std::string_view unfinished_mark = "<unfinished ...>";
constexpr std::string_view detached_mark = "<detached ...>";

bool fail_split(split &s, std::size_t at, std::string why) {
  s.err_at = at;
  s.why = std::move(why);
  return false;
}

// "Process N attached" (also detached, suspended...) with nothing after.
bool is_process_message(std::string_view s) {
  if (!starts_with(s, "Process ")) return false;
  std::size_t k = 8;
  while (k < s.size() && is_digit(s[k])) ++k;
  return k > 8 && k < s.size() && s[k] == ' ' && is_identifier(trim(s.substr(k + 1)));
}

// A PID: digits (at most 9), maybe `<comm>` (--decode-pids=comm), then a
// space or the end. Moves i past it.
bool read_pid(std::string_view line, std::size_t &i, split &s) {
  std::size_t k = i;
  while (k < line.size() && is_digit(line[k])) ++k;
  std::size_t digits = k - i;
  if (digits == 0) return false;
  if (k < line.size() && line[k] == '<') {
    std::size_t gt = line.find('>', k);
    if (gt == npos) return false;
    k = gt + 1;
  }
  if (k < line.size() && !is_space(line[k])) return false;  // a time stamp, a name
  if (digits > 9) return fail_split(s, i, "PID too large");
  std::uint64_t v = 0;
  (void)parse_decimal(line.substr(i, digits), v);
  s.has_tid = true;
  s.tid = static_cast<std::int64_t>(v);
  i = k;
  return true;
}

// `[pid  1234] ` (strace -f writing to stderr).
bool read_bracket_pid(std::string_view line, std::size_t &i, split &s) {
  if (line.substr(i, 4) != "[pid") return false;
  std::size_t close = line.find(']', i);
  std::size_t j = skip_spaces(line, i + 4);
  if (close == npos || !read_pid(line.substr(0, close), j, s) || skip_spaces(line, j) != close)
    return s.why.empty() ? fail_split(s, i, "bad [pid N] prefix") : false;
  i = close + 1;
  return true;
}

// -t, -tt, -ttt, -r time stamps: digits, ':' and '.' with one of them.
bool read_time(std::string_view line, std::size_t &i, split &s) {
  std::size_t k = i;
  bool punct = false;
  for (; k < line.size() && (is_digit(line[k]) || line[k] == ':' || line[k] == '.'); ++k)
    punct = punct || !is_digit(line[k]);
  if (k == i || !punct || (k < line.size() && !is_space(line[k]))) return false;
  s.time = line.substr(i, k - i);
  i = k;
  return true;
}

// -n's `[ 9] ` and -i's `[00007f0e8a4b7a3b] ` before the call.
bool skip_bracket_number(std::string_view line, std::size_t &i) {
  if (i >= line.size() || line[i] != '[' || line.substr(i, 4) == "[pid") return false;
  std::size_t k = i + 1;
  while (k < line.size() && (is_hex(line[k]) || line[k] == ' ' || line[k] == '?')) ++k;
  if (k >= line.size() || line[k] != ']' || k == i + 1) return false;
  i = k + 1;
  return true;
}

// The prefix: [pid N] or PID, time stamp, syscall number / address.
bool read_head(std::string_view line, std::size_t &i, split &s) {
  i = skip_spaces(line, 0);
  if (!read_bracket_pid(line, i, s) && !read_pid(line, i, s) && !s.why.empty()) return false;
  i = skip_spaces(line, i);
  if (read_time(line, i, s)) i = skip_spaces(line, i);
  while (skip_bracket_number(line, i)) i = skip_spaces(line, i);
  return true;
}

// --- SIGCHLD {...} ---   /   --- stopped by SIGSTOP ---
bool split_signal(std::string_view b, std::size_t at, split &s) {
  if (!ends_with(b, "---") || b.size() < 8) return fail_split(s, at, "unterminated signal line");
  std::string_view body = trim(b.substr(3, b.size() - 6));
  std::size_t k = name_length(body);
  if (k == 0) return fail_split(s, at, "signal line without a signal name");
  s.f = form::signal;
  s.name = body.substr(0, k);
  return true;
}

// +++ exited with N +++, +++ killed by SIG... [(core dumped)] +++,
// +++ superseded by execve in pid N +++
bool split_exit(std::string_view b, std::size_t at, split &s) {
  if (!ends_with(b, "+++") || b.size() < 8) return fail_split(s, at, "unterminated exit line");
  std::string_view body = trim(b.substr(3, b.size() - 6));
  std::uint64_t v = 0;
  if (starts_with(body, "exited with ")) {
    if (!parse_unsigned(trim(body.substr(12)), v) || v > 255)
      return fail_split(s, at, "bad exit status");
    s.f = form::exited;
    s.exit_status = static_cast<int>(v);
  } else if (starts_with(body, "killed by ")) {
    std::size_t k = name_length(body.substr(10));
    if (k == 0) return fail_split(s, at, "killed by what?");
    s.f = form::killed;
    s.name = body.substr(10, k);
  } else if (starts_with(body, "superseded by execve")) {
    std::string_view pid = trim(body.substr(20));
    if (starts_with(pid, "in pid ") && parse_unsigned(trim(pid.substr(7)), v))
      s.other = static_cast<std::int64_t>(v);
    s.f = form::superseded;
    s.name = "superseded";
  } else {
    return fail_split(s, at, "unknown +++ line");
  }
  return true;
}

// <... name resumed>rest   (rest: the arguments' second half, ") = result";
// " <unfinished ...>) = ?" when the task died in the call)
bool split_resumed(std::string_view line, std::size_t at, split &s) {
  std::size_t i = skip_spaces(line, at + 4);
  std::size_t k = name_length(line.substr(i));
  if (k == 0) return fail_split(s, i, "resumed line without a syscall name");
  s.name = line.substr(i, k);
  i += k;
  if (line.substr(i, 9) != " resumed>") return fail_split(s, i, "expected ' resumed>'");
  i += 9;
  std::size_t j = skip_spaces(line, i);
  if (line.substr(j, unfinished_mark.size()) == unfinished_mark) i = j + unfinished_mark.size();
  s.f = form::resumed;
  s.rest = line.substr(i);
  s.rest_at = i;
  return true;
}

// The result after the arguments' ')': "= result".
bool split_result(std::string_view line, std::size_t close, split &s) {
  std::size_t i = skip_spaces(line, close + 1);
  if (i >= line.size() || line[i] != '=')
    return fail_split(s, i, "expected '= result' after the arguments");
  std::size_t r = skip_spaces(line, i + 1);
  std::string_view res = trim(line.substr(r));
  if (res.empty()) return fail_split(s, r, "missing result");
  s.rest = res;
  s.rest_at = r;
  return true;
}

// name(args) = result, name(args <unfinished ...>, name(args <detached ...>
bool split_call(std::string_view line, std::size_t at, split &s) {
  std::size_t k = name_length(line.substr(at));
  if (k == 0 || at + k >= line.size() || line[at + k] != '(')
    return fail_split(
        s, at,
        s.has_tid || !s.time.empty() ? "expected 'name('" : "not a trace line: expected 'name('");
  s.name = line.substr(at, k);
  std::size_t open = at + k + 1;
  std::string_view t = trim(line);
  std::size_t t_end = skip_spaces(line, 0) + t.size();
  s.args_at = open;
  for (auto [mark, f] :
       {std::pair{unfinished_mark, form::unfinished}, std::pair{detached_mark, form::detached}}) {
    if (!ends_with(t, mark) || t_end - mark.size() < open) continue;
    s.f = f;
    s.args = rtrim(line.substr(open, t_end - mark.size() - open));
    return true;
  }
  failure fl;
  std::size_t close = scan(line, open, ")", fl);
  if (close == npos) return fail_split(s, fl.pos, fl.why);
  if (close >= line.size()) return fail_split(s, open - 1, "no ')' closing the arguments");
  s.f = form::call;
  s.args = line.substr(open, close - open);
  return split_result(line, close, s);
}

// Splits one line. On failure: false, with s.why, s.err_at and whatever of
// the head (tid) was read.
bool split_line(std::string_view line, split &s) {
  s.unfinished = ends_with(trim(line), unfinished_mark);
  std::size_t i = 0;
  if (!read_head(line, i, s)) return false;
  if (i >= line.size()) {
    if (!s.has_tid && s.time.empty()) return true;  // blank
    return fail_split(s, i, "nothing after the PID");
  }
  std::string_view b = trim(line.substr(i));
  s.body_at = i;
  if (starts_with(b, "---")) return split_signal(b, i, s);
  if (starts_with(b, "+++")) return split_exit(b, i, s);
  if (starts_with(b, "<...")) {
    s.f = form::resumed;
    return split_resumed(line, i, s);
  }
  if (starts_with(b, "[ Process ") || starts_with(b, "> ") || b == ">") {
    s.f = form::note;
    s.what = b.front() == '>' ? "stack trace line (-k)" : "strace message";
    return true;
  }
  return split_call(line, i, s);
}

}  // namespace

// ---- the assembler ---------------------------------------------------------------

namespace {

bool is_creation(std::string_view name) {
  return name == "clone" || name == "clone3" || name == "fork" || name == "vfork";
}

// Parses a call's arguments and result into e. On failure f.pos is an
// offset into `args`, or args.size() + an offset into `res`.
bool read_call(event &e, std::string_view args, std::string_view res, failure &f) {
  std::size_t at = 0;
  std::string why;
  if (!parse_args(args, e.args, why, &at)) return fail_at(f, at, std::move(why));
  if (!parse_result(res, e.res, why, &at)) return fail_at(f, args.size() + at, std::move(why));
  return true;
}

// An unfinished half and its resumed line as one call line: j.args and
// j.rest (the result) point into `joined`; false with j.err_at (an offset
// into `joined`) and j.why.
bool join_halves(const assembler::half &first, std::string_view joined, split &j) {
  failure f;
  std::size_t close = scan(joined, 0, ")", f);
  if (close == npos) return fail_split(j, f.pos, f.why);
  if (close >= joined.size()) return fail_split(j, joined.size(), "resumed line without ')'");
  if (close < first.args.size()) return fail_split(j, close, "unbalanced ')'");
  j.args = joined.substr(0, close);
  j.args_at = 0;
  return split_result(joined, close, j);
}

}  // namespace

void assembler::fail(std::size_t line_no, std::string_view line, std::size_t column,
                     std::string reason) {
  errors_.push_back({line_no, column, std::move(reason), std::string(line.substr(0, 200))});
}

void assembler::note(std::size_t line_no, std::string what) {
  notes_.push_back({line_no, std::move(what)});
}

// Lines that are not the trace's: strace's own messages, a -c table.
bool assembler::take_note(std::string_view line, std::size_t line_no) {
  std::string_view t = trim(line);
  const char *what = nullptr;
  if (starts_with(t, "% time")) in_summary_ = true;
  if (in_summary_ && !t.empty() && t.find('(') == npos)
    what = "summary table (-c)";
  else if (starts_with(t, "strace: ") || is_process_message(t))
    what = "strace message";
  in_summary_ = what != nullptr && in_summary_;
  if (what) note(line_no, what);
  return what != nullptr;
}

// "name(args...strace: Process N attached": strace writing to stderr cut a
// line with its message; the line goes on at the start of the next one.
bool assembler::hold_cut_line(std::string_view line, std::size_t line_no, std::vector<event> &out) {
  std::string_view t = rtrim(line);
  if (!is_identifier(t.substr(t.rfind(' ') + 1))) return false;  // "attached", ... (npos + 1: 0)
  std::size_t m = line.rfind("strace: ");
  if (m == npos || m == 0 || trim(line.substr(0, m)).empty()) return false;
  if (!is_process_message(trim(line.substr(m + 8)))) return false;
  note(line_no, "strace message");
  std::string_view head = line.substr(0, m);
  split s;
  if (split_line(head, s)) {
    feed_line(head, line_no, out);
  } else {
    held_ = std::string(head);
    held_line_ = line_no;
  }
  return true;
}

void assembler::feed(std::string_view line, std::size_t line_no, std::vector<event> &out) {
  if (!held_.empty()) {
    std::string head = std::move(held_);
    held_.clear();
    // The rest of a cut line starts with ")", ",", " <unfinished ...>", " =>"...;
    // a line of its own starts with a PID, "[pid N]", a time or a name.
    bool rest = !line.empty() && !is_ident(line.front()) && line.front() != '[';
    std::string joined = head + std::string(line);
    split s;
    if (rest && split_line(joined, s)) return feed_line(joined, held_line_, out);
    feed_line(head, held_line_, out);
  }
  if (hold_cut_line(line, line_no, out)) return;
  feed_line(line, line_no, out);
}

void assembler::feed_line(std::string_view line, std::size_t line_no, std::vector<event> &out) {
  if (take_note(line, line_no)) return;
  split s;
  if (!split_line(line, s)) return on_failed_line(s, line, line_no);
  if (s.f == form::blank) return;
  if (s.f == form::note) return note(line_no, s.what);
  event e;
  e.line = e.start_line = line_no;
  e.tid = task_of(s);
  e.time = std::string(s.time);
  e.name = std::string(s.name);
  switch (s.f) {
    case form::unfinished: return on_unfinished(s, line, line_no);
    case form::resumed: return on_resumed(s, line, line_no, out);
    case form::call: return complete(e, s, nullptr, line, line_no, out);
    case form::detached:
      open_.erase(s.tid);
      return note(line_no, "call left unfinished by strace (detached)");
    case form::exited: e.t = event::type::exited; break;
    case form::killed: e.t = event::type::killed; break;
    default: e.t = event::type::signal; break;  // signal, superseded
  }
  e.exit_status = s.exit_status;
  if (s.f == form::superseded) on_superseded(s);
  if (s.f == form::exited || s.f == form::killed) on_gone(s.tid);
  out.push_back(std::move(e));
}

// The task of a line. A line without a PID is the only live task's (strace
// shows [pid N] only while it traces several), tid 0 while its PID is not
// known; it becomes known at the first [pid N] line that cannot be a child.
std::int64_t assembler::task_of(split &s) {
  if (!s.has_tid) {
    std::int64_t t = live_.size() == 1             ? *live_.begin()
                     : live_.count(last_implicit_) ? last_implicit_
                                                   : 0;
    last_implicit_ = t;
    live_.insert(t);
    return s.tid = t;
  }
  if (root_pid_ && s.tid == *root_pid_) return s.tid = 0;
  if (!root_pid_ && live_.count(0) && !live_.count(s.tid) && !children_.count(s.tid)) {
    auto h = open_.find(0);
    bool child = s.f != form::resumed && h != open_.end() && is_creation(h->second.name);
    if (!child) {
      root_pid_ = s.tid;
      return s.tid = 0;
    }
  }
  live_.insert(s.tid);
  return s.tid;
}

// One error for the line, and nothing more from it: an unfinished call's
// half is kept (broken) so that its resumed line pairs and adds nothing; a
// half the task had open is marked suspect (the line may have been its
// resumed line) so that the task's next unfinished call is no error.
void assembler::on_failed_line(const split &s, std::string_view line, std::size_t line_no) {
  fail(line_no, line, s.err_at + 1, s.why);
  if (!s.has_tid) {
    ++orphans_;
    return;
  }
  split known = s;
  std::int64_t tid = task_of(known);
  if (s.unfinished) {
    half &h = open_[tid];
    h = half{};
    h.broken = true;
    h.line = line_no;
  } else if (auto it = open_.find(tid); it != open_.end()) {
    it->second.suspect = true;
  }
}

void assembler::on_unfinished(const split &s, std::string_view line, std::size_t line_no) {
  auto it = open_.find(s.tid);
  if (it != open_.end()) {
    if (it->second.broken || it->second.suspect) {
      note(line_no, "unfinished call after an unreadable line of its task");
    } else if (orphans_ > 0) {
      --orphans_;
      note(line_no, "unfinished call after an unreadable line");
    } else {
      // The earlier call never resumed: its line is the one in error.
      const half &old = it->second;
      fail(old.line, old.text, old.args_at,
           "unfinished call never resumed (task " + std::to_string(s.tid) +
               " started another call at line " + std::to_string(line_no) + ")");
    }
  }
  half &h = open_[s.tid];
  h = half{};
  h.name = std::string(s.name);
  h.args = std::string(s.args);
  h.time = std::string(s.time);
  h.text = std::string(line.substr(0, 200));
  h.line = line_no;
  h.args_at = s.args_at;
}

void assembler::on_resumed(const split &s, std::string_view line, std::size_t line_no,
                           std::vector<event> &out) {
  auto it = open_.find(s.tid);
  if (it == open_.end() && orphans_ > 0) {
    --orphans_;
    return note(line_no, "resumed call whose first half was unreadable");
  }
  if (it == open_.end())
    return fail(line_no, line, s.body_at + 1,
                quoted(s.name) + " resumed without an unfinished call");
  half h = std::move(it->second);
  open_.erase(it);
  if (h.broken) return note(line_no, "resumed call whose first half was unreadable");
  if (h.name != s.name)
    return fail(line_no, line, s.body_at + 1,
                quoted(s.name) + " resumed but the unfinished call is " + h.name);
  event e;
  e.line = line_no;
  e.start_line = h.line;
  e.tid = s.tid;
  e.time = h.time;
  e.name = std::move(h.name);
  complete(e, s, &h, line, line_no, out);
}

// The arguments and result of a call line, or of an unfinished half joined
// with its resumed line; an error goes on the line that holds it.
void assembler::complete(event &e, const split &s, const half *first, std::string_view line,
                         std::size_t line_no, std::vector<event> &out) {
  std::string joined = first ? first->args + std::string(s.rest) : std::string();
  split j = s;
  failure f;
  if ((!first || join_halves(*first, joined, j)) && read_call(e, j.args, j.rest, f))
    return emit(e, out);
  std::size_t at = !j.why.empty()          ? j.err_at
                   : f.pos < j.args.size() ? j.args_at + f.pos
                                           : j.rest_at + (f.pos - j.args.size());
  std::string why = j.why.empty() ? f.why : j.why;
  if (!first) return fail(line_no, line, at + 1, why);
  if (at < first->args.size()) return fail(first->line, first->text, first->args_at + at + 1, why);
  fail(line_no, line, s.rest_at + (at - first->args.size()) + 1, why);
}

void assembler::emit(event &e, std::vector<event> &out) {
  e.call = decode_call(e);
  if (e.call.kind == call_kind::create && !e.res.unknown && e.res.value > 0) {
    children_.insert(e.res.value);
    live_.insert(e.res.value);
  }
  out.push_back(std::move(e));
}

// `L +++ superseded by execve in pid M +++`: thread M's execve completes as
// the leader L (`L <... execve resumed>`); L's own call is gone.
void assembler::on_superseded(const split &s) {
  open_.erase(s.tid);
  if (s.other <= 0) return;
  std::int64_t m = root_pid_ && s.other == *root_pid_ ? 0 : s.other;
  if (auto it = open_.find(m); it != open_.end() && m != s.tid) {
    open_[s.tid] = std::move(it->second);
    open_.erase(m);
  }
  live_.erase(m);
}

void assembler::on_gone(std::int64_t tid) {
  open_.erase(tid);
  live_.erase(tid);
}

void assembler::finish(std::vector<event> &out) {
  if (!held_.empty()) {
    std::string head = std::move(held_);
    held_.clear();
    feed_line(head, held_line_, out);
  }
  if (!root_pid_) return;
  for (event &e : out)
    if (e.tid == 0) e.tid = *root_pid_;
}

std::vector<std::pair<std::int64_t, std::string>> assembler::pending() const {
  std::vector<std::pair<std::int64_t, std::string>> v;
  for (const auto &[tid, h] : open_)
    if (!h.broken) v.emplace_back(tid == 0 && root_pid_ ? *root_pid_ : tid, h.name);
  return v;
}

parsed_trace parse_trace(std::string_view text,
                         const std::function<void(std::size_t done, std::size_t total)> &progress) {
  parsed_trace t;
  assembler a;
  t.events.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == npos) nl = text.size();
    a.feed(text.substr(pos, nl - pos), ++line_no, t.events);
    pos = nl + 1;
    if (progress && line_no % 4096 == 0) progress(pos, text.size());
  }
  a.finish(t.events);
  t.lines = line_no;
  t.errors = a.errors();
  std::stable_sort(t.errors.begin(), t.errors.end(),
                   [](const parse_error &x, const parse_error &y) { return x.line < y.line; });
  t.notes = a.notes();
  t.unfinished = a.pending();
  return t;
}

}  // namespace maple::vma_tool
