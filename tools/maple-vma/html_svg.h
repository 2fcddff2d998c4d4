// html_svg.h - the inline SVG figures of the HTML report (html_report.h):
// address-space maps on a segmented scale, time-series charts, bar charts.
// Internal to tools/maple-vma.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace maple::vma_tool::svg {

/// Escapes text for HTML element content and quoted attribute values.
std::string escape(std::string_view s);

/// One VMA as drawn: a maps line and what its colour says.
struct box {
  std::uint64_t start = 0, end = 0;
  std::string line;     ///< the maps line (shown on hover)
  char kind = 'a';      ///< f file, a anonymous, h heap, s stack, x special, m shared
  unsigned prot = 0;    ///< r 4, w 2, x 1
  bool marked = false;  ///< a line that differs (drawn outlined)
};

/// The kind letter of a maps line's name and sharing.
char kind_of(const std::string &name, bool shared);

/// The boxes of a maps text (lines that do not parse are left out and
/// counted in `bad`); those whose line is in `marked` are marked.
std::vector<box> boxes_of(const std::string &maps, const std::set<std::string> &marked,
                          std::size_t &bad);

/// One row of boxes per lane (kernel above model, or the model alone).
struct lane {
  std::string cls;  ///< the <g> element's class ("model", "kernel")
  std::vector<box> boxes;
};

/// A map of the lanes on one scale: a box's width grows with the log of
/// its size so that a page stays visible beside gigabytes, gaps likewise;
/// gaps of 256 MiB and more are cut (a zigzag, the size on hover). The
/// strip wraps into rows, each labelled with its first address.
std::string map_svg(const std::string &id, const std::vector<lane> &lanes);

/// One panel of a chart: a series of (x, y) points.
struct series {
  std::string title;                                            ///< shown above the panel
  std::string key;                                              ///< the polyline's data-series
  std::vector<std::pair<std::uint64_t, std::uint64_t>> points;  ///< x ascending
};

/// At most max_points of v: per bucket its lowest and highest point (so
/// spikes survive), and always the first and last.
std::vector<std::pair<std::uint64_t, std::uint64_t>> sample(
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> &v, std::size_t max_points);

/// Panels side by side, each a line over x (sampled to max_points); the
/// polyline carries data-last (the series' last value).
std::string chart_svg(const std::vector<series> &panels, std::size_t max_points,
                      const std::string &x_label);

/// A horizontal bar chart: per label two bars (a above b).
struct bar {
  std::string label;
  std::uint64_t a = 0, b = 0;
};
std::string bars_svg(const std::vector<bar> &bars, const std::string &a_name,
                     const std::string &b_name);

/// The colour key of the maps: kinds by hue, protections by shade.
std::string legend_svg();

/// The style rules for the classes the figures use.
std::string css();

}  // namespace maple::vma_tool::svg
