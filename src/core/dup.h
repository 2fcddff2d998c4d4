// Duplication: a node-for-node copy of a tree (the kernel's __mt_dup,
// reference section 6), with an optional per-entry transform (fork).
//
// 1. Count the source's nodes (a walk over internal nodes only) and take
//    them all from the destination's resource up front: a failure there
//    frees what was taken and changes nothing.
// 2. Copy depth-first, pre-order, into a private tree: each node is copied
//    whole (memcpy, whatever its layout), then only the words that name
//    other nodes are rewritten: the parent word keeps its low tag bits with
//    the new parent's address, each child reference keeps its tag bits with
//    the new child's address. Leaf entries are copied verbatim. This cannot
//    fail: every node is already in hand.
// 3. With a transform, each leaf entry is replaced by transform(entry) in the
//    private copy; entries mapped to nullptr are erased there afterwards by
//    normal erases (which can fail: the copy is then freed).
// 4. Publish the private copy's root into the destination with one release
//    store. No reader of the destination ever sees a partial copy, and on any
//    failure the destination stays empty (the failed-fork lesson: the kernel
//    left a marker entry in a visible tree and had to remove that design).
#pragma once

#include "core/engine.h"
#include "core/walk.h"
#include "core/write.h"

#include <cstring>
#include <exception>
#include <vector>

namespace maple::detail {

template <unsigned S>
struct duplicator {
  using E = engine<S>;
  using W = walker<S>;
  using Wr = writer<S>;
  using tree_t = typename E::tree_t;
  using node_t = node<S>;
  using transform_fn = typename tree_t::entry_transform;

  /// Nodes of the subtree under ref (leaves all sit at the same depth, so a
  /// node's children are all leaves or all internal).
  static std::size_t count_nodes(word ref) noexcept {
    if (node_t::ref_is_leaf(ref)) return 1;
    const node_t *n = node_t::from_ref(ref);
    const unsigned e = W::internal_end(n);
    if (node_t::ref_is_leaf(n->slot[0])) return 1 + e + 1;
    std::size_t c = 1;
    for (unsigned i = 0; i <= e; ++i) c += count_nodes(n->slot[i]);
    return c;
  }

  struct job {
    node_supply nodes;  // taken up front, linked through their first word
    transform_fn fn = nullptr;
    void *ctx = nullptr;
    std::vector<std::uint64_t> drops;  // first index of each range mapped to nullptr
    std::exception_ptr thrown;         // from fn (or from growing drops)
    bool reserved = false;             // fn returned a reserved entry
    bool failed() const noexcept { return thrown || reserved; }
  };

  static word retag(const void *n, word old) noexcept {
    return reinterpret_cast<word>(n) | (old & ~node_addr_mask);
  }

  /// Copies the subtree under ref (bounds [min, max]) below parent (nullptr:
  /// the root); returns the copy's tagged reference.
  static word copy(job &j, word ref, const node_t *parent, std::uint64_t min,
                   std::uint64_t max) noexcept {
    const node_t *n = node_t::from_ref(ref);
    auto *c = static_cast<node_t *>(j.nodes.pop());
    std::memcpy(static_cast<void *>(c), n, sizeof(node_t));
    if (parent) c->parent = retag(parent, n->parent);
    if (node_t::ref_is_leaf(ref)) {
      if (j.fn && !j.failed()) transform_leaf(j, c, min, max);
    } else {
      const unsigned e = W::internal_end(c);
      for (unsigned i = 0; i <= e; ++i)
        c->slot[i] = copy(j, c->slot[i], c, c->slot_min(i, min), c->slot_max(i, e, max));
    }
    return retag(c, ref);
  }

  static void transform_leaf(job &j, node_t *c, std::uint64_t min, std::uint64_t max) noexcept {
    const unsigned e = c->end(max);
    try {
      for (unsigned i = 0; i <= e; ++i) {
        if (c->slot[i] == 0) continue;
        void *r = j.fn(j.ctx, reinterpret_cast<void *>(c->slot[i]));
        if (r == nullptr) {
          j.drops.push_back(c->slot_min(i, min));  // erased once the copy is whole
        } else if (is_reserved_entry(r)) {
          j.reserved = true;
          return;
        } else {
          c->slot[i] = reinterpret_cast<word>(r);
        }
      }
    } catch (...) {
      j.thrown = std::current_exception();
    }
  }

  /// dst := copy of src. Caller holds both locks; src != dst.
  static std::error_code dup(const tree_t &src, tree_t &dst, transform_fn fn, void *ctx) {
    if (E::root(dst) != 0 || src.flags() != dst.flags()) return errc::invalid_argument;
    const word root = E::root(src);
    if (root == 0) return {};
    E::bump_epoch(dst);
    tree_t tmp(E::resource(dst));  // private: no reader can see it
    job j;
    j.fn = fn;
    j.ctx = ctx;
    if (!is_node_word(root)) {  // a lone entry at [0, 0] in the root word
      void *r = reinterpret_cast<void *>(root);
      if (fn) r = fn(ctx, r);
      if (r == nullptr) return {};
      if (is_reserved_entry(r)) return errc::invalid_argument;
      if (auto ec = Wr::store(tmp, 0, 0, r)) return ec;
    } else {
      const std::size_t count = count_nodes(root);
      try {
        for (std::size_t i = 0; i < count; ++i) j.nodes.push(E::alloc_node(dst));
      } catch (const std::bad_alloc &) {
        while (j.nodes.available) E::free_node(dst, static_cast<node_t *>(j.nodes.pop()));
        return errc::no_memory;
      }
      E::set_root(tmp, copy(j, root, nullptr, 0, max_index));
      E::set_height(tmp, E::height(src));
      if (j.failed()) {
        tmp.clear();
        if (j.thrown) std::rethrow_exception(j.thrown);
        return errc::invalid_argument;
      }
      for (std::uint64_t first : j.drops) {
        void *old = nullptr;
        std::error_code ec;
        try {
          ec = Wr::erase(tmp, first, old);
        } catch (const std::bad_alloc &) {
          ec = errc::no_memory;
        }
        if (ec) {
          tmp.clear();
          return ec;
        }
      }
    }
    E::set_height(dst, E::height(tmp));
    E::set_root(dst, E::root(tmp));  // publish (release)
    E::set_root(tmp, 0);
    E::set_height(tmp, 0);
    return {};
  }
};

}  // namespace maple::detail