// html_svg.cpp - see html_svg.h.
#include "html_svg.h"

#include <maple/mm.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace maple::vma_tool::svg {

namespace {

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f", v);
  return b;
}

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%" PRIx64, v);
  return b;
}

// 4.0 KiB, 12 MiB, 21 TiB: a size for a title.
std::string human(std::uint64_t bytes) {
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char b[32];
  std::snprintf(b, sizeof b, v < 10 && u ? "%.1f %s" : "%.0f %s", v, unit[u]);
  return b;
}

}  // namespace

std::string escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

char kind_of(const std::string &name, bool shared) {
  if (shared) return 'm';
  if (name.empty() || name.rfind("[anon:", 0) == 0) return 'a';
  if (name == "[heap]") return 'h';
  if (name.rfind("[stack", 0) == 0) return 's';
  if (name.front() == '[') return 'x';
  return 'f';
}

std::vector<box> boxes_of(const std::string &maps, const std::set<std::string> &marked,
                          std::size_t &bad) {
  std::vector<box> out;
  std::size_t pos = 0;
  while (pos < maps.size()) {
    std::size_t nl = maps.find('\n', pos);
    if (nl == std::string::npos) nl = maps.size();
    std::string line = maps.substr(pos, nl - pos);
    pos = nl + 1;
    maple::mm::maps_line ml;
    if (maple::mm::parse_maps_line(line, ml) || ml.end <= ml.start) {
      ++bad;
      continue;
    }
    box b;
    b.start = ml.start;
    b.end = ml.end;
    b.kind = kind_of(ml.name, ml.shared);
    b.prot = (ml.r ? 4u : 0u) | (ml.w ? 2u : 0u) | (ml.x ? 1u : 0u);
    b.marked = marked.count(line) != 0;
    b.line = std::move(line);
    out.push_back(std::move(b));
  }
  return out;
}

// ---- maps -----------------------------------------------------------------------

namespace {

constexpr int map_width = 1000, gutter = 112, bar_h = 13, lane_h = 15, row_gap = 7;
constexpr std::uint64_t cut_bytes = std::uint64_t{256} << 20;

// One piece of the scale: the range between two consecutive boundaries of
// any lane's boxes, with where it is drawn.
struct cell {
  std::uint64_t lo = 0, hi = 0;
  bool covered = false, cut = false;
  int row = 0, x = 0, w = 0;
};

// The scale: the boundaries of every box, each range's width from the log
// of its size, wrapped into rows of the plot's width.
std::vector<cell> scale(const std::vector<lane> &lanes, int &rows) {
  std::vector<std::uint64_t> at;
  for (const lane &l : lanes)
    for (const box &b : l.boxes) {
      at.push_back(b.start);
      at.push_back(b.end);
    }
  std::sort(at.begin(), at.end());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  std::vector<int> cover(at.size() + 1, 0);
  for (const lane &l : lanes)
    for (const box &b : l.boxes) {
      ++cover[std::lower_bound(at.begin(), at.end(), b.start) - at.begin()];
      --cover[std::lower_bound(at.begin(), at.end(), b.end) - at.begin()];
    }
  std::vector<cell> cells;
  int depth = 0, row = 0, x = 0;
  const int plot = map_width - gutter - 4;
  for (std::size_t i = 0; i + 1 < at.size(); ++i) {
    depth += cover[i];
    cell c{at[i], at[i + 1], depth > 0};
    double pages = std::max(1.0, static_cast<double>(c.hi - c.lo) / 4096.0);
    c.cut = !c.covered && c.hi - c.lo >= cut_bytes;
    c.w = c.covered ? static_cast<int>(std::lround(4 + 2.5 * std::log2(pages)))
          : c.cut   ? 12
                    : static_cast<int>(std::lround(2 + 1.2 * std::log2(pages)));
    if (x > 0 && x + c.w > plot) {
      ++row;
      x = 0;
    }
    c.row = row;
    c.x = x;
    x += c.w;
    cells.push_back(c);
  }
  rows = cells.empty() ? 0 : row + 1;
  return cells;
}

int row_top(int row, std::size_t lanes) {
  return 4 + row * (static_cast<int>(lanes) * lane_h + row_gap);
}

// A box's rectangles: one per row it spans (the later ones class "c").
void draw_box(std::string &o, const box &b, const std::vector<cell> &cells, std::size_t lane_no,
              std::size_t lanes) {
  auto first = std::lower_bound(cells.begin(), cells.end(), b.start,
                                [](const cell &c, std::uint64_t a) { return c.lo < a; });
  std::string cls = std::string("v ") + b.kind + " p" + std::to_string(b.prot);
  if (b.marked) cls += " d";
  bool cont = false;
  for (auto it = first; it != cells.end() && it->lo < b.end;) {
    int row = it->row, x = it->x, w = 0;
    for (; it != cells.end() && it->lo < b.end && it->row == row; ++it) w += it->w;
    int y = row_top(row, lanes) + static_cast<int>(lane_no) * lane_h;
    o += "<rect x=\"" + std::to_string(gutter + x) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
         std::to_string(w) + "\" height=\"" + std::to_string(bar_h) + "\" class=\"" + cls +
         (cont ? " c" : "") + "\"><title>" + escape(b.line) + "</title></rect>";
    cont = true;
  }
}

// Row labels (each row's first address) and the cut marks of big gaps.
void draw_axis(std::string &o, const std::vector<cell> &cells, std::size_t lanes) {
  int row = -1;
  int h = static_cast<int>(lanes) * lane_h - 2;
  for (const cell &c : cells) {
    int top = row_top(c.row, lanes);
    if (c.row != row) {
      row = c.row;
      o += "<text class=\"ax\" x=\"2\" y=\"" + std::to_string(top + 11) + "\">" + hex(c.lo) +
           "</text>";
    }
    if (!c.cut) continue;
    int x = gutter + c.x + 2;
    o += "<path class=\"cut\" d=\"M" + std::to_string(x) + " " + std::to_string(top) + "l4 " +
         std::to_string(h / 2) + "l-4 " + std::to_string(h - h / 2) + "m5 -" + std::to_string(h) +
         "l4 " + std::to_string(h / 2) + "l-4 " + std::to_string(h - h / 2) + "\"><title>gap " +
         hex(c.lo) + "-" + hex(c.hi) + " (" + human(c.hi - c.lo) + ", not to scale)</title></path>";
  }
}

}  // namespace

std::string map_svg(const std::string &id, const std::vector<lane> &lanes) {
  int rows = 0;
  std::vector<cell> cells = scale(lanes, rows);
  int height = row_top(std::max(rows, 1), lanes.size());
  std::string o = "<svg class=\"map\" id=\"" + escape(id) + "\" width=\"" +
                  std::to_string(map_width) + "\" height=\"" + std::to_string(height) +
                  "\" viewBox=\"0 0 " + std::to_string(map_width) + " " + std::to_string(height) +
                  "\" xmlns=\"http://www.w3.org/2000/svg\">";
  draw_axis(o, cells, lanes.size());
  for (std::size_t i = 0; i < lanes.size(); ++i) {
    o += "<g class=\"" + escape(lanes[i].cls) + "\">";
    for (const box &b : lanes[i].boxes) draw_box(o, b, cells, i, lanes.size());
    o += "</g>";
  }
  return o + "</svg>";
}

// ---- charts -----------------------------------------------------------------------

std::vector<std::pair<std::uint64_t, std::uint64_t>> sample(
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> &v, std::size_t max_points) {
  if (v.size() <= max_points || max_points < 4) return v;
  std::size_t buckets = (max_points - 2) / 2, n = v.size();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out{v.front()};
  for (std::size_t b = 0; b < buckets; ++b) {
    std::size_t lo = 1 + b * (n - 2) / buckets, hi = 1 + (b + 1) * (n - 2) / buckets;
    if (lo >= hi) continue;
    std::size_t mn = lo, mx = lo;
    for (std::size_t i = lo; i < hi; ++i) {
      if (v[i].second < v[mn].second) mn = i;
      if (v[i].second > v[mx].second) mx = i;
    }
    out.push_back(v[std::min(mn, mx)]);
    if (mn != mx) out.push_back(v[std::max(mn, mx)]);
  }
  out.push_back(v.back());
  return out;
}

namespace {

constexpr int panel_w = 320, plot_w = 262, plot_h = 64, plot_x = 46, plot_y = 18;

void draw_panel(std::string &o, const series &s, int left, std::size_t max_points,
                const std::string &x_label) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pts = sample(s.points, max_points);
  std::uint64_t x0 = pts.empty() ? 0 : pts.front().first, x1 = pts.empty() ? 1 : pts.back().first;
  std::uint64_t ymax = 1;
  for (const auto &p : s.points) ymax = std::max(ymax, p.second);
  int px = left + plot_x, py = plot_y;
  o += "<text class=\"ct\" x=\"" + std::to_string(px) + "\" y=\"12\">" + escape(s.title) +
       "</text><rect class=\"pl\" x=\"" + std::to_string(px) + "\" y=\"" + std::to_string(py) +
       "\" width=\"" + std::to_string(plot_w) + "\" height=\"" + std::to_string(plot_h) + "\"/>";
  auto lab = [&](int x, int y, const std::string &t, const char *anchor) {
    o += "<text class=\"ax\" text-anchor=\"" + std::string(anchor) + "\" x=\"" + std::to_string(x) +
         "\" y=\"" + std::to_string(y) + "\">" + escape(t) + "</text>";
  };
  lab(px - 3, py + 8, std::to_string(ymax), "end");
  lab(px - 3, py + plot_h, "0", "end");
  lab(px, py + plot_h + 12, std::to_string(x0), "start");
  lab(px + plot_w, py + plot_h + 12, std::to_string(x1) + " " + x_label, "end");
  std::string p;
  for (const auto &[x, y] : pts) {
    double fx = x1 > x0 ? double(x - x0) / double(x1 - x0) : 0.5;
    double fy = double(y) / double(ymax);
    p += num(px + fx * plot_w) + "," + num(py + plot_h - fy * plot_h) + " ";
  }
  if (!p.empty()) p.pop_back();
  o += "<polyline class=\"ln\" data-series=\"" + escape(s.key) + "\" data-last=\"" +
       (s.points.empty() ? std::string("-") : std::to_string(s.points.back().second)) +
       "\" points=\"" + p + "\"/>";
}

}  // namespace

std::string chart_svg(const std::vector<series> &panels, std::size_t max_points,
                      const std::string &x_label) {
  int w = panel_w * static_cast<int>(panels.size()), h = plot_y + plot_h + 18;
  std::string o = "<svg class=\"chart\" width=\"" + std::to_string(w) + "\" height=\"" +
                  std::to_string(h) + "\" xmlns=\"http://www.w3.org/2000/svg\">";
  for (std::size_t i = 0; i < panels.size(); ++i)
    draw_panel(o, panels[i], static_cast<int>(i) * panel_w, max_points, x_label);
  return o + "</svg>";
}

std::string bars_svg(const std::vector<bar> &bars, const std::string &a_name,
                     const std::string &b_name) {
  constexpr int label_w = 110, len = 420, row = 24;
  std::uint64_t mx = 1;
  for (const bar &b : bars) mx = std::max({mx, b.a, b.b});
  int h = 22 + row * static_cast<int>(bars.size());
  std::string o = "<svg class=\"bars\" width=\"" + std::to_string(label_w + len + 80) +
                  "\" height=\"" + std::to_string(h) + "\" xmlns=\"http://www.w3.org/2000/svg\">" +
                  "<rect class=\"ba\" x=\"" + std::to_string(label_w) +
                  "\" y=\"3\" width=\"10\" height=\"8\"/><text class=\"ax\" x=\"" +
                  std::to_string(label_w + 14) + "\" y=\"11\">" + escape(a_name) +
                  "</text><rect class=\"bb\" x=\"" + std::to_string(label_w + 90) +
                  "\" y=\"3\" width=\"10\" height=\"8\"/><text class=\"ax\" x=\"" +
                  std::to_string(label_w + 104) + "\" y=\"11\">" + escape(b_name) + "</text>";
  int y = 18;
  for (const bar &b : bars) {
    o += "<text class=\"ax\" text-anchor=\"end\" x=\"" + std::to_string(label_w - 6) + "\" y=\"" +
         std::to_string(y + 14) + "\">" + escape(b.label) + "</text>";
    int k = 0;
    for (std::uint64_t v : {b.a, b.b}) {
      int w = static_cast<int>(std::lround(double(v) / double(mx) * len));
      int yy = y + 2 + k * 10;
      o += "<rect class=\"" + std::string(k ? "bb" : "ba") + "\" x=\"" + std::to_string(label_w) +
           "\" y=\"" + std::to_string(yy) + "\" width=\"" + std::to_string(w) +
           "\" height=\"9\"/><text class=\"ax\" x=\"" + std::to_string(label_w + w + 4) +
           "\" y=\"" + std::to_string(yy + 8) + "\">" + std::to_string(v) + "</text>";
      ++k;
    }
    y += row;
  }
  return o + "</svg>";
}

// ---- colours ----------------------------------------------------------------------

namespace {

struct kind_colour {
  char k;
  const char *name;
  int hue, sat;
};
constexpr kind_colour kinds[] = {{'f', "file", 212, 60}, {'a', "anonymous", 130, 45},
                                 {'h', "heap", 30, 85},  {'s', "stack", 280, 45},
                                 {'x', "special", 0, 0}, {'m', "shared", 340, 65}};
// Lightness by protection (index r 4 | w 2 | x 1): darker with more rights.
constexpr int lightness[8] = {94, 46, 64, 36, 78, 40, 56, 30};

}  // namespace

std::string legend_svg() {
  std::string o = "<svg class=\"legend\" width=\"760\" height=\"" +
                  std::to_string(8 + 17 * int(std::size(kinds))) +
                  "\" xmlns=\"http://www.w3.org/2000/svg\">";
  const unsigned prots[] = {4, 6, 5, 7, 0};
  const char *pname[] = {"r--", "rw-", "r-x", "rwx", "---"};
  int y = 4;
  for (const kind_colour &k : kinds) {
    o += "<text class=\"ax\" x=\"0\" y=\"" + std::to_string(y + 10) + "\">" + k.name + "</text>";
    for (int i = 0; i < 5; ++i) {
      int x = 80 + i * 70;
      o += "<rect class=\"v " + std::string(1, k.k) + " p" + std::to_string(prots[i]) + "\" x=\"" +
           std::to_string(x) + "\" y=\"" + std::to_string(y) +
           "\" width=\"22\" height=\"12\"/><text class=\"ax\" x=\"" + std::to_string(x + 26) +
           "\" y=\"" + std::to_string(y + 10) + "\">" + pname[i] + "</text>";
    }
    y += 17;
  }
  o += "<rect class=\"v f p4 d\" x=\"440\" y=\"4\" width=\"22\" height=\"12\"/><text class=\"ax\" "
       "x=\"468\" y=\"14\">a line that differs (kernel vs model)</text>";
  return o + "</svg>";
}

std::string css() {
  std::string o =
      ".v{stroke:#fff;stroke-width:.6}.v.d{stroke:#e00;stroke-width:2.2}"
      ".ax{font:10px monospace;fill:#444}.ct{font:bold 11px sans-serif;fill:#222}"
      ".cut{fill:none;stroke:#888;stroke-width:1.2}.pl{fill:#fafafa;stroke:#ccc}"
      ".ln{fill:none;stroke:#2a62b0;stroke-width:1.4}.ba{fill:#d9822b}.bb{fill:#3a8f5a}";
  char rule[64];
  for (const kind_colour &k : kinds)
    for (int p = 0; p < 8; ++p) {
      std::snprintf(rule, sizeof rule, ".%c.p%d{fill:hsl(%d,%d%%,%d%%)}", k.k, p, k.hue, k.sat,
                    lightness[p]);
      o += rule;
    }
  return o;
}

}  // namespace maple::vma_tool::svg
