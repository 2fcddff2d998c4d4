// Bulk building: a tree from sorted, non-overlapping ranges in one pass.
//
// The leaf items (gaps as empty ranges, then each range) are streamed into
// leaves packed full (one short when an empty range would end a leaf: a
// non-rightmost leaf may not end empty), then each internal level groups
// the level below by S. The last node of each level is the rightmost one,
// exempt from minimum occupancy; internal levels still even out their last
// two nodes. Everything is built aside and published with one root store,
// so a failure (bad input is caught before any allocation; no memory frees
// what was built) leaves the tree as it was. This replaces the kernel's
// expected-entries bulk mode (reference section 5.3) with a direct build.
#pragma once

#include "engine/engine.h"
#include "engine/write.h"

#include <span>
#include <vector>

namespace maple::detail {

template <unsigned S>
struct bulk_builder {
  using E = engine<S>;
  using Wr = writer<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;
  using item = typename Wr::item;
  using G = gap_tracker<S>;
  static constexpr unsigned P = S - 1;

  static std::error_code check_input(std::span<const range_entry> in) noexcept {
    bool have_prev = false;
    std::uint64_t prev_last = 0;
    for (const range_entry &r : in) {
      // Every range counts, nullptr ones too: one rule for the whole input.
      if (r.first > r.last || is_reserved_entry(r.entry)) return errc::invalid_argument;
      if (have_prev && r.first <= prev_last)
        return errc::invalid_argument;  // unsorted or overlapping
      have_prev = true;
      prev_last = r.last;
    }
    return {};
  }

  struct build {
    tree_t &t;
    std::vector<node_t *> all;  // every node allocated, for cleanup
    std::vector<item> level;    // (max, ref) of the nodes of the level being built
    node_t *leaf = nullptr;
    unsigned count = 0;  // items in the open leaf

    explicit build(tree_t &tr) : t(tr) {}

    node_t *new_node() {
      node_t *n = E::alloc_node(t);
      all.push_back(n);  // capacity reserved up front: cannot throw
      return n;
    }
    void close_leaf() {
      Wr::fill_from(leaf, count, nullptr, count);  // clears the tail, sets metadata
      level.push_back({last_piv, node_t::make_ref(leaf, node_kind::leaf)});
      leaf = nullptr;
      count = 0;
    }
    std::uint64_t last_piv = 0;
    void emit(std::uint64_t piv, word w, bool final) {
      if (leaf && (count == S || (count == S - 1 && w == 0 && !final))) close_leaf();
      if (!leaf) leaf = new_node();
      if (count < P) leaf->pivot[count] = piv;
      leaf->slot[count++] = w;
      last_piv = piv;
    }
  };

  /// Builds internal levels over b.level until one node remains; returns it.
  static item build_up(build &b, unsigned &height) {
    height = 1;
    const bool gaps = E::tracks_gaps(b.t);
    const unsigned cap = E::internal_cap(b.t), kmin = E::internal_min(b.t);
    while (b.level.size() > 1) {
      std::vector<item> up;
      up.reserve(b.level.size() / (cap - 1) + 2);
      const std::size_t n = b.level.size();
      std::size_t groups = (n + cap - 1) / cap;
      std::size_t pos = 0;
      for (std::size_t g = 0; g < groups; ++g) {
        std::size_t take = std::min<std::size_t>(cap, n - pos);
        std::size_t after = n - pos - take;
        // Even out the last two groups so the second-to-last is not left
        // full while the last is tiny.
        if (g + 2 == groups && after < kmin) take = (n - pos + 1) / 2;
        node_t *p = b.new_node();
        const item *c = &b.level[pos];
        if (gaps) {
          Wr::fill_gap_node(p, c, static_cast<unsigned>(take));
          G::compute(p, pos ? b.level[pos - 1].piv + 1 : 0, c[take - 1].piv);
        } else {
          Wr::fill(p, c, static_cast<unsigned>(take));
        }
        for (std::size_t i = 0; i < take; ++i)
          node_t::from_ref(c[i].w)->set_parent(p, static_cast<unsigned>(i));
        pos += take;
        up.push_back({b.level[pos - 1].piv, node_t::make_ref(p, E::internal_kind(b.t))});
      }
      b.level.swap(up);
      ++height;
    }
    return b.level[0];
  }

  /// Replaces an empty tree's contents with `in`. Caller holds the lock.
  static std::error_code load(tree_t &t, std::span<const range_entry> in) {
    if (E::root(t) != 0) return errc::invalid_argument;  // only into an empty tree
    if (auto ec = check_input(in)) return ec;
    std::size_t stored = 0;
    const range_entry *only = nullptr;
    for (const range_entry &r : in)
      if (r.entry) ++stored, only = &r;
    if (stored == 0) return {};
    E::bump_epoch(t);
    if (stored == 1 && only->first == 0 && only->last == 0 &&
        !is_node_word(reinterpret_cast<word>(only->entry))) {
      E::set_root(t, reinterpret_cast<word>(only->entry));
      E::set_height(t, 0);
      return {};
    }
    build b(t);
    try {
      // Items <= 2 * stored + 1; each non-final leaf holds >= S - 1 of them.
      std::size_t leaves = (2 * stored + 1) / (S - 1) + 2;
      b.all.reserve(2 * leaves + E::kMaxHeight);
      b.level.reserve(leaves);
      std::uint64_t next = 0;  // first index not yet covered
      bool covered_all = false;
      for (const range_entry &r : in) {
        if (!r.entry) continue;
        if (r.first > next) b.emit(r.first - 1, 0, false);
        bool final = r.last == max_index;
        b.emit(r.last, reinterpret_cast<word>(r.entry), final);
        if (final)
          covered_all = true;
        else
          next = r.last + 1;
      }
      if (!covered_all) b.emit(max_index, 0, true);
      b.close_leaf();
      unsigned height = 0;
      item root = build_up(b, height);
      node_t *rn = node_t::from_ref(root.w);
      rn->set_root();
      E::set_height(t, height);
      E::set_root(t, root.w);
    } catch (const std::bad_alloc &) {
      for (node_t *n : b.all) E::free_node(t, n);
      return errc::no_memory;
    }
    return {};
  }
};

}  // namespace maple::detail
