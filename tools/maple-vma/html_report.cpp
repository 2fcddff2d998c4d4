// html_report.cpp - see html_report.h. The figures are drawn by html_svg.cpp;
// this file records the replay and lays out the page.
#include "html_report.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <tuple>
#include <utility>

#include "html_svg.h"
#include "maps_compare.h"

namespace maple::vma_tool {

using svg::escape;

html_report::html_report(std::map<std::string, std::string> kernel) : kernel_(std::move(kernel)) {}

void html_report::observe(replay_options &o) {
  o.on_vma_change = [this](std::uint64_t i, const std::string &what, const mm_record &m) {
    changed(i, what, m);
  };
  o.on_snapshot = [this](std::uint64_t i, const std::string &file, std::size_t line,
                         const mm_record &m) { snapshot_taken(i, file, line, m); };
}

namespace {

html_report::point point_of(std::uint64_t x, const mm_record &m) {
  maple::tree_stats t = m.as->stats().tree;
  return {x, static_cast<std::uint32_t>(m.as->map_count()), static_cast<std::uint32_t>(t.nodes),
          t.height};
}

}  // namespace

// One point per change (the last one per syscall index), and the splits and
// merges since the mm was last seen, counted for this call's name.
void html_report::changed(std::uint64_t index, const std::string &what, const mm_record &m) {
  mm_log &l = mms_[m.id];
  maple::mm::mm_stats s = m.as->stats();
  call_counts &c = l.calls[what];
  ++c.calls;
  c.splits += s.splits - l.splits;
  c.merges += s.merges - l.merges;
  l.splits = s.splits;
  l.merges = s.merges;
  point p = point_of(index, m);
  if (!l.series.empty() && l.series.back().x == index)
    l.series.back() = p;
  else
    l.series.push_back(p);
}

void html_report::snapshot_taken(std::uint64_t index, const std::string &file, std::size_t line,
                                 const mm_record &m) {
  mm_log &l = mms_[m.id];
  l.snaps.push_back({file, line, index, m.as->maps(), point_of(index, m)});
}

bool write_text_file(const std::string &path, const std::string &text, std::string &why) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (out) out.close();
  if (!out) why = "cannot write " + path;
  return static_cast<bool>(out);
}

// ---- the page ---------------------------------------------------------------------

namespace {

std::size_t line_count(const std::string &s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

std::string td(const std::string &key, std::uint64_t v) {
  return "<td data-k=\"" + key + "\">" + std::to_string(v) + "</td>";
}

const char *verdict_class(verdict v) {
  return v == verdict::match ? "ok" : v == verdict::undetermined ? "und" : "bad";
}

// The lines a unified diff removes ('-', the kernel's) and adds ('+', the
// model's), from its first hunk on.
void diff_lines(const std::string &diff, std::set<std::string> &minus,
                std::set<std::string> &plus) {
  bool hunks = false;
  for (const std::string &l : split_lines(diff)) {
    if (l.rfind("@@", 0) == 0) hunks = true;
    if (!hunks || l.empty()) continue;
    if (l[0] == '-') minus.insert(l.substr(1));
    if (l[0] == '+') plus.insert(l.substr(1));
  }
}

// Pairs the removed and added lines of a change side by side.
void flush_change(std::string &o, std::vector<std::string> &minus, std::vector<std::string> &plus,
                  std::size_t &budget) {
  for (std::size_t i = 0; i < std::max(minus.size(), plus.size()) && budget; ++i, --budget) {
    o += "<tr><td class=\"" + std::string(i < minus.size() ? "del" : "") + "\">" +
         (i < minus.size() ? escape(minus[i]) : "") + "</td><td class=\"" +
         std::string(i < plus.size() ? "add" : "") + "\">" +
         (i < plus.size() ? escape(plus[i]) : "") + "</td></tr>";
  }
  minus.clear();
  plus.clear();
}

// A side-by-side table of a unified diff (kernel left, model right); at
// most `budget` rows (the rest cut with a note). data-del / data-add: the
// lines each side has that the other lacks.
std::string diff_table(const std::string &diff, const std::string &kernel_name,
                       std::size_t &budget) {
  std::set<std::string> del, add;
  diff_lines(diff, del, add);
  std::string o = "<table class=\"diff\" data-del=\"" + std::to_string(del.size()) +
                  "\" data-add=\"" + std::to_string(add.size()) + "\"><tr><th>" +
                  escape(kernel_name) + " (kernel)</th><th>model</th></tr>";
  std::vector<std::string> minus, plus;
  bool hunks = false;
  for (const std::string &l : split_lines(diff)) {
    if (l.rfind("@@", 0) == 0) {
      flush_change(o, minus, plus, budget);
      if (hunks && budget) o += "<tr><td class=\"hunk\" colspan=\"2\">&#8942;</td></tr>";
      hunks = true;
      continue;
    }
    if (!hunks || l.empty()) continue;
    if (l[0] == '-') {
      minus.push_back(l.substr(1));
    } else if (l[0] == '+') {
      plus.push_back(l.substr(1));
    } else {
      flush_change(o, minus, plus, budget);
      if (!budget) break;
      o += "<tr><td>" + escape(l.substr(1)) + "</td><td>" + escape(l.substr(1)) + "</td></tr>";
      --budget;
    }
  }
  flush_change(o, minus, plus, budget);
  if (!budget) o += "<tr><td colspan=\"2\">(diff cut: the report's size cap)</td></tr>";
  return o + "</table>";
}

}  // namespace

struct html_report::page {
  const html_report &rep;
  const replayer &r;
  const report_meta &meta;
  const report_limits &lim;
  std::map<std::pair<std::string, std::size_t>, const comparison *> cmps;
  std::map<int, std::string> final_maps;  // by mm id
  std::set<std::string> drawn;            // ids of the maps drawn
  std::size_t maps_total = 0, boxes_drawn = 0, diff_budget = 0, bad_lines = 0;
  std::string o;

  const mm_log *log_of(const mm_record &m) const {
    auto it = rep.mms_.find(m.id);
    return it == rep.mms_.end() ? nullptr : &it->second;
  }
  const comparison *cmp_of(const snapshot &s) const {
    auto it = cmps.find({s.file, s.line});
    return it == cmps.end() ? nullptr : it->second;
  }
  static std::string snap_id(const mm_record &m, std::size_t k) {
    return "m" + std::to_string(m.id) + "-s" + std::to_string(k);
  }
  static std::string end_id(const mm_record &m) { return "m" + std::to_string(m.id) + "-end"; }
  // The snapshot whose maps equal the final state (the last one, if so).
  const snapshot *final_snapshot(const mm_record &m) const {
    const mm_log *l = log_of(m);
    if (!l || l->snaps.empty() || l->snaps.back().maps != final_maps.at(m.id)) return nullptr;
    return &l->snaps.back();
  }

  void plan();
  void head();
  void summary();
  void call_bars();
  void section(const mm_record &m);
  void figures(const mm_record &m, const mm_log *l);
  void snapshot_block(const mm_record &m, const snapshot &s, std::size_t k);
  void end_block(const mm_record &m);
  void draw(const std::string &id, const std::string &model, const std::string *kernel,
            const std::string &diff);
  void script();
};

// Which maps are drawn: the differing snapshots first, then each mm's end
// state, then the other snapshots in trace order, while the limits allow.
void html_report::page::plan() {
  struct cand {
    int prio;
    std::size_t order, cost;
    std::string id;
  };
  std::vector<cand> c;
  for (const auto &mp : r.mms()) {
    if (!mp->used) continue;
    const mm_record &m = *mp;
    final_maps[m.id] = m.as->maps();
    if (const mm_log *l = log_of(m)) {
      for (std::size_t k = 0; k < l->snaps.size(); ++k) {
        const snapshot &s = l->snaps[k];
        const comparison *cm = cmp_of(s);
        bool differs = cm && !cm->diff.empty();
        auto kf = rep.kernel_.find(s.file);
        std::size_t cost =
            line_count(s.maps) + (differs && kf != rep.kernel_.end() ? line_count(kf->second) : 0);
        c.push_back({differs ? 0 : 2, c.size(), cost, snap_id(m, k)});
      }
    }
    if (!final_snapshot(m)) c.push_back({1, c.size(), line_count(final_maps[m.id]), end_id(m)});
  }
  std::sort(c.begin(), c.end(), [](const cand &a, const cand &b) {
    return std::tie(a.prio, a.order) < std::tie(b.prio, b.order);
  });
  for (const cand &x : c) {
    if (drawn.size() >= lim.max_maps || boxes_drawn + x.cost > lim.max_map_vmas) continue;
    drawn.insert(x.id);
    boxes_drawn += x.cost;
  }
  maps_total = c.size();
  diff_budget = lim.max_diff_lines;
}

void html_report::page::head() {
  o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>maple-vma: " +
       escape(meta.trace) +
       "</title><style>"
       "body{font:13px sans-serif;margin:16px;color:#222;max-width:1060px}"
       "h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ccc}"
       "h3{font-size:13px;margin:14px 0 4px}table{border-collapse:collapse;margin:6px 0}"
       "td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;font-size:12px}"
       "table.diff td{font:11px monospace;white-space:pre}td.del{background:#fdd}"
       "td.add{background:#dfd}td.hunk{color:#888;text-align:center}"
       ".ok{color:#1a7f37}.und{color:#b7791f}.bad{color:#c00}.note{color:#666}"
       "#selfcheck{font:11px monospace;color:#666;white-space:pre}" +
       svg::css() + "</style></head><body>\n<h1>maple-vma replay: " + escape(meta.trace) +
       "</h1>\n";
}

void html_report::page::summary() {
  const replay_stats &s = r.stats();
  o += "<p>Trace " + escape(meta.trace) + " (" + std::to_string(meta.trace_lines) + " lines, " +
       std::to_string(s.syscalls) + " syscalls, " + std::to_string(s.applied) +
       " applied to a model, " + std::to_string(meta.parse_errors) +
       " unreadable lines); snapshots from " +
       escape(meta.maps_dir.empty() ? std::string("(none)") : meta.maps_dir) + ". Exit status " +
       std::to_string(meta.exit_status) + ".</p>\n";
  if (meta.check) {
    std::size_t n[3] = {0, 0, 0};
    for (const comparison &c : r.comparisons()) ++n[static_cast<int>(c.result)];
    o += "<p>Check: <span class=\"ok\">" + std::to_string(n[0]) +
         " match</span>, <span class=\"und\">" + std::to_string(n[1]) +
         " undetermined</span>, <span class=\"bad\">" + std::to_string(n[2]) +
         " mismatch</span>, " + std::to_string(r.uncompared().size()) + " not compared, " +
         std::to_string(r.divergences().size()) + " model divergences.</p>\n";
  }
  std::size_t shown = 0;
  for (const divergence &d : r.divergences())
    if (shown++ < 50)
      o += "<p class=\"bad\">line " + std::to_string(d.line) +
           ": model diverges: " + escape(d.what) + "</p>\n";
  for (const std::string &f : r.uncompared())
    o += "<p class=\"bad\">not compared: " + escape(f) + "</p>\n";
  if (drawn.size() < maps_total)
    o += "<p class=\"note\">Maps drawn: " + std::to_string(drawn.size()) + " of " +
         std::to_string(maps_total) + " (the report draws at most " + std::to_string(lim.max_maps) +
         " maps and " + std::to_string(lim.max_map_vmas) +
         " VMA boxes: differing snapshots first, then each address space's end); the others "
         "are listed with their figures only.</p>\n";
  o += "<p class=\"note\">Maps: one box per VMA, its width growing with the log of its size; "
       "gaps of 256 MiB and more are cut (zigzag). Hover a box for its maps line. Charts: x is "
       "the syscall's number in the replay; lines sampled to " +
       std::to_string(lim.series_points) + " points.</p>\n" + svg::legend_svg() + "\n";
}

// The table of address spaces, linking to their sections.
void html_report::page::call_bars() {
  o += "<h2>Address spaces</h2><table class=\"mms\"><tr><th>mm</th><th>pid</th><th>program</th>"
       "<th>state</th><th>VMAs</th><th>splits</th><th>merges</th><th>height</th><th>nodes</th>"
       "<th>snapshots</th></tr>";
  std::map<std::string, html_report::call_counts> all;
  for (const auto &mp : r.mms()) {
    if (!mp->used) continue;
    const mm_record &m = *mp;
    maple::mm::mm_stats st = m.as->stats();
    maple::tree_stats ts = m.as->stats().tree;
    std::string snaps;
    if (const mm_log *l = log_of(m)) {
      for (const snapshot &s : l->snaps) {
        const comparison *c = cmp_of(s);
        snaps += "<span class=\"" + std::string(c ? verdict_class(c->result) : "") + "\">" +
                 escape(s.file) + "</span> ";
      }
      for (const auto &[name, cc] : l->calls) {
        all[name].calls += cc.calls;
        all[name].splits += cc.splits;
        all[name].merges += cc.merges;
      }
    }
    o += "<tr><td><a href=\"#mm-" + std::to_string(m.id) + "\">" + std::to_string(m.id) +
         "</a></td><td>" + std::to_string(m.pid) + "</td><td>" + escape(m.label) + "</td><td>" +
         escape(m.state) + "</td><td>" + std::to_string(m.as->map_count()) + "</td><td>" +
         std::to_string(st.splits) + "</td><td>" + std::to_string(st.merges) + "</td><td>" +
         std::to_string(ts.height) + "</td><td>" + std::to_string(ts.nodes) + "</td><td>" + snaps +
         "</td></tr>";
  }
  o += "</table>\n<h2>Splits and merges per syscall (all address spaces)</h2>";
  std::vector<svg::bar> bars;
  std::string none;
  for (const auto &[name, cc] : all) {
    if (cc.splits + cc.merges)
      bars.push_back({name + " (" + std::to_string(cc.calls) + ")", cc.splits, cc.merges});
    else
      none += (none.empty() ? "" : ", ") + escape(name) + " (" + std::to_string(cc.calls) + ")";
  }
  o += svg::bars_svg(bars, "splits", "merges") + "\n";
  if (!none.empty()) o += "<p class=\"note\">No split or merge: " + none + ".</p>\n";
  o += "<p class=\"note\">(call name (calls applied to a model); maps.start: seeding)</p>\n";
}

void html_report::page::section(const mm_record &m) {
  const mm_log *l = log_of(m);
  const snapshot *fs = final_snapshot(m);
  std::string final_id;
  if (fs) {
    std::size_t k = static_cast<std::size_t>(fs - l->snaps.data());
    if (drawn.count(snap_id(m, k))) final_id = snap_id(m, k);
  } else if (drawn.count(end_id(m))) {
    final_id = end_id(m);
  }
  o += "<section class=\"mm\" id=\"mm-" + std::to_string(m.id) + "\" data-mm=\"" +
       std::to_string(m.id) + "\" data-final=\"" + final_id + "\"><h2>mm " + std::to_string(m.id) +
       ": pid " + std::to_string(m.pid) + ", " + escape(m.label) + "</h2><p>" + escape(m.state) +
       "</p>";
  figures(m, l);
  if (l)
    for (std::size_t k = 0; k < l->snaps.size(); ++k) snapshot_block(m, l->snaps[k], k);
  end_block(m);
  o += "</section>\n";
}

// The end figures (as --stats prints them), the charts and the calls table.
void html_report::page::figures(const mm_record &m, const mm_log *l) {
  maple::mm::mm_stats st = m.as->stats();
  maple::tree_stats ts = m.as->stats().tree;
  o += "<table class=\"fig\"><tr><th>VMAs</th><th>splits</th><th>merges</th><th>tree height</th>"
       "<th>nodes</th><th>tree bytes</th></tr><tr>" +
       td("vmas", m.as->map_count()) + td("splits", st.splits) + td("merges", st.merges) +
       td("height", ts.height) + td("nodes", ts.nodes) + td("bytes", ts.bytes) + "</tr></table>";
  if (!l || l->series.empty()) return;
  std::vector<svg::series> panels{
      {"VMAs", "vmas", {}}, {"tree nodes", "nodes", {}}, {"tree height", "height", {}}};
  for (const point &p : l->series) {
    panels[0].points.emplace_back(p.x, p.vmas);
    panels[1].points.emplace_back(p.x, p.nodes);
    panels[2].points.emplace_back(p.x, p.height);
  }
  o +=
      svg::chart_svg(panels, lim.series_points, "syscall") +
      "<table class=\"calls\"><tr><th>call</th><th>applied</th><th>splits</th><th>merges</th></tr>";
  for (const auto &[name, c] : l->calls)
    o += "<tr data-splits=\"" + std::to_string(c.splits) + "\" data-merges=\"" +
         std::to_string(c.merges) + "\"><td>" + escape(name) + "</td><td>" +
         std::to_string(c.calls) + "</td><td>" + std::to_string(c.splits) + "</td><td>" +
         std::to_string(c.merges) + "</td></tr>";
  o += "</table>";
}

void html_report::page::snapshot_block(const mm_record &m, const snapshot &s, std::size_t k) {
  const comparison *c = cmp_of(s);
  std::string id = snap_id(m, k);
  o += "<div class=\"snap\" data-file=\"" + escape(s.file) + "\"><h3>" + escape(s.file) +
       (c ? std::string(" <span class=\"") + verdict_class(c->result) + "\">" +
                verdict_name(c->result) + "</span>"
          : std::string(meta.check ? " (no snapshot file)" : "")) +
       "</h3><p class=\"note\">trace line " + std::to_string(s.line) + ", syscall " +
       std::to_string(s.x) + ": " + std::to_string(s.at.vmas) + " VMAs, tree height " +
       std::to_string(s.at.height) + ", " + std::to_string(s.at.nodes) + " nodes</p>";
  if (c) {
    for (const std::string &n : c->undetermined)
      o += "<p class=\"und\">undetermined: " + escape(n) + "</p>";
    for (const std::string &n : c->ignored) o += "<p class=\"note\">ignored: " + escape(n) + "</p>";
  }
  auto kf = rep.kernel_.find(s.file);
  bool differs = c && !c->diff.empty() && kf != rep.kernel_.end();
  if (drawn.count(id))
    draw(id, s.maps, differs ? &kf->second : nullptr, differs ? c->diff : std::string{});
  else
    o += "<p class=\"note\">(map not drawn: the report's size cap)</p>";
  if (differs) o += diff_table(c->diff, s.file, diff_budget);
  o += "</div>";
}

void html_report::page::end_block(const mm_record &m) {
  o += "<div class=\"snap end\"><h3>At the end of the trace</h3><p class=\"note\">" +
       std::to_string(m.as->map_count()) + " VMAs";
  if (const snapshot *fs = final_snapshot(m)) {
    o += ", as at " + escape(fs->file) + " (drawn above)</p></div>";
    return;
  }
  o += "</p>";
  if (drawn.count(end_id(m)))
    draw(end_id(m), final_maps.at(m.id), nullptr, {});
  else
    o += "<p class=\"note\">(map not drawn: the report's size cap)</p>";
  o += "</div>";
}

// A map: the model's alone, or the kernel's above the model's with the
// lines of the diff marked.
void html_report::page::draw(const std::string &id, const std::string &model,
                             const std::string *kernel, const std::string &diff) {
  std::set<std::string> minus, plus;
  diff_lines(diff, minus, plus);
  std::vector<svg::lane> lanes;
  if (kernel) {
    lanes.push_back({"kernel", svg::boxes_of(*kernel, minus, bad_lines)});
    o += "<p class=\"note\">Upper row: the kernel's maps; lower row: the model's; outlined: lines "
         "that differ.</p>";
  }
  lanes.push_back({"model", svg::boxes_of(model, plus, bad_lines)});
  o += svg::map_svg(id, lanes);
}

// The self-check: reads the rendered figures back from the page and checks
// that they agree with what is drawn (VMA boxes of the final map, the last
// point of the VMA chart, the calls table's sums, the marked lines of each
// diff); writes its verdict and each mm's figures into #selfcheck.
void html_report::page::script() {
  o += R"(<script>
(function () {
  var out = [], bad = [];
  function boxes(g, sel) {
    var n = 0;
    if (g) g.querySelectorAll(sel).forEach(function (r) {
      var t = r.querySelector('title');
      if (!t || !/\[vsyscall\]$/.test(t.textContent)) n++;
    });
    return n;
  }
  document.querySelectorAll('section.mm').forEach(function (s) {
    var id = s.getAttribute('data-mm'), f = {};
    s.querySelectorAll('table.fig td[data-k]').forEach(function (c) {
      f[c.getAttribute('data-k')] = c.textContent.trim();
    });
    var fin = s.getAttribute('data-final'), drawn = '-';
    if (fin) drawn = String(boxes(document.querySelector('#' + fin + ' g.model'), 'rect.v:not(.c)'));
    if (drawn !== '-' && drawn !== f.vmas) bad.push('mm ' + id + ': ' + drawn + ' boxes drawn, ' + f.vmas + ' VMAs');
    var pl = s.querySelector('polyline[data-series="vmas"]');
    if (pl && pl.getAttribute('data-last') !== f.vmas) bad.push('mm ' + id + ': chart ends at ' + pl.getAttribute('data-last'));
    var sp = 0, mg = 0;
    s.querySelectorAll('table.calls tr[data-splits]').forEach(function (r) {
      sp += +r.getAttribute('data-splits'); mg += +r.getAttribute('data-merges');
    });
    if (pl && (String(sp) !== f.splits || String(mg) !== f.merges)) bad.push('mm ' + id + ': calls table sums ' + sp + '/' + mg);
    out.push('mm ' + id + ' vmas ' + f.vmas + ' splits ' + f.splits + ' merges ' + f.merges + ' height ' + f.height + ' nodes ' + f.nodes);
    out.push('drawn mm ' + id + ' ' + drawn);
  });
  var maps = document.querySelectorAll('svg.map').length, diffs = 0;
  document.querySelectorAll('div.snap').forEach(function (d) {
    var t = d.querySelector('table.diff'), m = d.querySelector('svg.map');
    if (!t || !m) return;
    diffs++;
    var k = m.querySelectorAll('g.kernel rect.d:not(.c)').length;
    var md = m.querySelectorAll('g.model rect.d:not(.c)').length;
    var td = +t.getAttribute('data-del'), ta = +t.getAttribute('data-add');
    if (k !== td || md !== ta || k + md === 0)
      bad.push(d.getAttribute('data-file') + ': ' + k + '/' + md + ' boxes marked, diff ' + td + '/' + ta);
  });
  out.push('maps ' + maps + ' diffs ' + diffs);
  document.getElementById('selfcheck').textContent =
      'self-check: ' + (bad.length ? 'FAIL ' + bad.join('; ') : 'PASS') + '\n' + out.join('\n');
  if (bad.length) console.error('maple-vma report self-check failed: ' + bad.join('; '));
})();
</script>
)";
}

std::string html_report::render(const replayer &r, const report_meta &meta,
                                const report_limits &lim) const {
  page p{*this, r, meta, lim, {}, {}, {}, 0, 0, 0, 0, {}};
  for (const comparison &c : r.comparisons()) p.cmps[{c.file, c.line}] = &c;
  p.plan();
  p.head();
  p.summary();
  p.call_bars();
  for (const auto &mp : r.mms())
    if (mp->used) p.section(*mp);
  p.o += "<div id=\"selfcheck\">self-check: did not run</div>\n";
  p.script();
  p.o += "</body></html>\n";
  return std::move(p.o);
}

}  // namespace maple::vma_tool
