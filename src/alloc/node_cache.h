// The default node memory resource: a slab of 256-byte, 256-aligned blocks
// with a per-thread free-list cache (blocks move between threads in batches
// of 256, so frees on one thread refill another at one lock per batch).
//
// Why not plain aligned operator new: glibc serves 256-byte alignment
// through its memalign path (512 bytes of address space per node; 52 ns per
// allocate/free pair and 0.3-0.4 us per node when a batch is allocated, in
// bench/bench_alloc.cpp), while a slab carves 1 MiB chunks and recycles
// blocks through a thread-local list (6 ns per pair; 1.4x faster whole-tree
// builds, 2-3x faster dup; docs/design.md, "Memory").
// Blocks of other sizes or alignments fall through to aligned operator new.
// Chunks are kept for the life of the process (like a kernel slab without
// shrinking); freed blocks are reused by any tree.
#pragma once

#include <cstddef>
#include <memory_resource>

namespace maple::detail {

/// Bytes per cached block (the default node size).
inline constexpr std::size_t node_block_size = 256;

/// The process-wide default node resource.
std::pmr::memory_resource *default_node_resource() noexcept;

/// Figures of the default resource (for tests and benchmarks).
struct node_cache_stats {
  std::size_t chunks = 0;       ///< 1 MiB chunks obtained so far
  std::size_t global_free = 0;  ///< blocks parked in the shared list
};
node_cache_stats default_node_cache_stats() noexcept;

}  // namespace maple::detail
