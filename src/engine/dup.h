// Duplication: a node-for-node copy of a tree (the kernel's __mt_dup,
// reference section 6), with an optional per-entry transform (fork).
//
// 1. Copy depth-first, pre-order, into a private tree: each node is copied
//    whole (memcpy, whatever its layout), linked into its copied parent at
//    once, and then only the words that name other nodes are rewritten: the
//    parent word keeps its low tag bits with the new parent's address, each
//    child reference keeps its tag bits with the new child's address. Leaf
//    entries are copied verbatim. A copied node's slots still name source
//    nodes until their turn comes, so the partial copy is always walkable:
//    a child is ours iff its parent word names the copy. If an allocation
//    fails, that walk frees exactly the nodes allocated so far.
// 2. With a transform, each leaf entry is replaced by transform(entry) as
//    the leaf is copied; entries mapped to nullptr are erased from the
//    private copy afterwards by normal erases (which can fail: the copy is
//    then freed).
// 3. Publish the private copy's root into the destination with one release
//    store. No reader of the destination ever sees a partial copy, and on any
//    failure the destination stays empty (the failed-fork lesson: the kernel
//    left a marker entry in a visible tree and had to remove that design).
#pragma once

#include "engine/engine.h"
#include "engine/teardown.h"
#include "engine/walk.h"
#include "engine/write.h"

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
  using transform_fn = entry_transform;

  struct job {
    explicit job(tree_t &d) : dst(d) {}
    tree_t &dst;  // whose resource the nodes come from
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

  /// A fresh copy of the node `ref` names, child of `parent` (nullptr: root).
  /// Throws std::bad_alloc.
  static node_t *clone(job &j, word ref, const node_t *parent) {
    const node_t *n = node_t::from_ref(ref);
    node_t *c = E::alloc_node(j.dst);
    std::memcpy(static_cast<void *>(c), n, sizeof(node_t));
    if (parent) c->parent = retag(parent, n->parent);
    return c;
  }

  /// Replaces the source children named by the copied internal node c
  /// (bounds [min, max]) with copies, depth-first. Throws std::bad_alloc;
  /// the partial copy stays walkable by free_partial().
  static void copy_children(job &j, node_t *c, std::uint64_t min, std::uint64_t max) {
    const unsigned e = W::internal_end(c);
    const bool leaves = node_t::ref_is_leaf(c->slot[0]);
    for (unsigned i = 0; i <= e; ++i) {
      if (i + 1 <= e) W::prefetch_node(node_t::from_ref(c->slot[i + 1]), 0);
      const word ref = c->slot[i];
      node_t *k = clone(j, ref, c);
      c->slot[i] = retag(k, ref);
      const std::uint64_t kmin = c->slot_min(i, min), kmax = c->slot_max(i, e, max);
      if (!leaves)
        copy_children(j, k, kmin, kmax);
      else if (j.fn && !j.failed())
        transform_leaf(j, k, kmin, kmax);
    }
  }

  /// Frees a partial copy: the copies among c's children are those whose
  /// parent word names c (the others are still source nodes).
  static void free_partial(tree_t &dst, word ref) noexcept {
    node_t *c = node_t::from_ref(ref);
    if (!node_t::ref_is_leaf(ref)) {
      const unsigned e = W::internal_end(c);
      for (unsigned i = 0; i <= e; ++i) {
        if (node_t::from_ref(c->slot[i])->parent_node() != c) break;
        free_partial(dst, c->slot[i]);
      }
    }
    E::free_node(dst, c);
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
    if (E::root(dst) != 0 || E::flags(src) != E::flags(dst)) return errc::invalid_argument;
    const word root = E::root(src);
    if (root == 0) return {};
    E::bump_epoch(dst);
    // Private (no reader can see it, so not in RCU mode), with the same gap
    // tracking so that dropping entries keeps the records.
    scratch_tree<S> aside(E::tracks_gaps(dst) ? tree_flags::alloc : tree_flags::none,
                          E::resource(dst));
    tree_t &tmp = aside.core;
    job j(dst);
    j.fn = fn;
    j.ctx = ctx;
    if (!is_node_word(root)) {  // a lone entry at [0, 0] in the root word
      void *r = reinterpret_cast<void *>(root);
      if (fn) r = fn(ctx, r);
      if (r == nullptr) return {};
      if (is_reserved_entry(r)) return errc::invalid_argument;
      if (auto ec = Wr::store(tmp, 0, 0, r)) return ec;
    } else {
      node_t *c = nullptr;
      try {
        c = clone(j, root, nullptr);
      } catch (const std::bad_alloc &) {
        return errc::no_memory;
      }
      const word copy = retag(c, root);
      try {
        if (node_t::ref_is_leaf(root)) {
          if (fn) transform_leaf(j, c, 0, max_index);
        } else {
          copy_children(j, c, 0, max_index);
        }
      } catch (const std::bad_alloc &) {
        free_partial(dst, copy);
        return errc::no_memory;
      }
      E::set_root(tmp, copy);
      E::set_height(tmp, E::height(src));
      if (j.failed()) {
        destroy_tree<S>(tmp);
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
          destroy_tree<S>(tmp);
          return ec;
        }
      }
      // A root leaf holding only [0, 0] is kept as a leaf when its entry
      // looks like a node reference; a transform may have replaced that entry
      // by an ordinary one, which belongs in the root word (found by
      // fuzz_dup).
      const word top = E::root(tmp);
      if (is_node_word(top) && node_t::ref_is_leaf(top)) {
        node_t *n = node_t::from_ref(top);
        const word only0 = n->slot[0];
        if (n->end(max_index) == 1 && n->pivot[0] == 0 && n->slot[1] == 0 && only0 != 0 &&
            !is_node_word(only0)) {
          E::set_root(tmp, only0);
          E::set_height(tmp, 0);
          E::free_node(dst, n);
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