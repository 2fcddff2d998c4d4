// tests/support/tree_shape.h - the node structure of a tree, recovered from its
// public dump() (dec format) so that tests can aim writes at exact node
// boundaries (the last pivot of a leaf, a parent's max, ...) without
// reaching into engine internals.
//
// A node line of the dump has the kernel's mt_dump layout:
//   "<indent><min>-<max>: node <ptr> depth <d> type <t> ..."   (or "<min>:"
// when min == max); leaf slot lines carry no ": node " marker.
#pragma once

#include <maple/raw_tree.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace maple_test {

struct node_info {
  std::uint64_t min = 0, max = 0;
  unsigned depth = 0;  // root: 0
  int parent = -1;     // index into the shape vector, -1 for the root
  bool leaf = false;   // depth == deepest depth found
  std::vector<int> children;
};

/// Parses the dump (see header comment). Nodes come in dump (pre-)order.
template <class Tree>
std::vector<node_info> shape_of(const Tree &t) {
  std::ostringstream os;
  t.dump(os, maple::dump_format::dec);
  std::istringstream in(os.str());
  std::vector<node_info> nodes;
  std::vector<int> last_at_depth;
  std::string line;
  unsigned deepest = 0;
  while (std::getline(in, line)) {
    auto mark = line.find(": node ");
    if (mark == std::string::npos) continue;
    std::string head = line.substr(0, mark);
    auto b = head.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    head = head.substr(b);
    node_info n;
    auto dash = head.find('-');
    try {
      n.min = std::stoull(head.substr(0, dash));
      n.max = dash == std::string::npos ? n.min : std::stoull(head.substr(dash + 1));
    } catch (...) {
      continue;
    }
    auto d = line.find("depth ", mark);
    if (d != std::string::npos) n.depth = static_cast<unsigned>(std::stoul(line.substr(d + 6)));
    if (last_at_depth.size() <= n.depth) last_at_depth.resize(n.depth + 1, -1);
    if (n.depth > 0) n.parent = last_at_depth[n.depth - 1];
    int idx = static_cast<int>(nodes.size());
    last_at_depth[n.depth] = idx;
    if (n.parent >= 0) nodes[static_cast<std::size_t>(n.parent)].children.push_back(idx);
    deepest = std::max(deepest, n.depth);
    nodes.push_back(n);
  }
  for (auto &n : nodes) n.leaf = n.depth == deepest;
  return nodes;
}

/// Leaves in index order.
inline std::vector<node_info> leaves_of(const std::vector<node_info> &shape) {
  std::vector<node_info> out;
  for (const auto &n : shape)
    if (n.leaf) out.push_back(n);
  std::sort(out.begin(), out.end(),
            [](const node_info &a, const node_info &b) { return a.min < b.min; });
  return out;
}

}  // namespace maple_test
