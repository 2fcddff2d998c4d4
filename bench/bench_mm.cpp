// bench/bench_mm.cpp - the address-space model (maple::mm, issue 7).
//
//   mm_fork/<how>/vmas:<n>      fork of an address space with n VMAs:
//       dup      address_space::fork (one structural tree copy, dup_mmap)
//       reinsert a child built by inserting each VMA (the pre-v6.8 way)
//   mm_fault/<how>/writer:<w>   page-fault lookups of mapped addresses in an
//       address space of 10^4 VMAs; with w = 1 a writer thread keeps running
//       mprotect / munmap / MAP_FIXED mmap on its own region:
//       rcu       address_space::fault (lock_vma_under_rcu, no lock)
//       mmap_lock vma_lookup under the mmap lock (the fallback path)
//   Counters: faults_per_s (reader), writer_ops_per_s.
//   mm_replay/<trace>   replay of a real trace (parsed beforehand) into
//       fresh address spaces, with --check's comparisons off: syscalls_per_s.
//       Traces: data/traces/* and, when present, ../shared/traces/*.
//       /lockless: the spaces keep lock-free lookups on (frees wait for
//       grace periods), as a peer for maple-vma's default (off).
#include <maple/mm.h>

#include "replay.h"
#include "trace_input.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace mm = maple::mm;

namespace {

constexpr std::uint64_t base = 0x100000000ULL;

// Room for 10^5 VMAs (vm.max_map_count is 65530 by default).
mm::layout big_layout() {
  mm::layout l;
  l.max_map_count = 1 << 20;
  return l;
}

// n one-page VMAs, every other page, alternating protections (no merging).
void populate(mm::address_space &as, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t a = base + 2 * i * mm::page_size, out = 0;
    unsigned prot = (i % 2) ? mm::prot_read : mm::prot_read | mm::prot_write;
    if (as.mmap(a, mm::page_size, prot, mm::map_private | mm::map_anonymous | mm::map_fixed, {}, 0,
                out)) {
      std::abort();
    }
  }
}

void BM_fork_dup(benchmark::State &state) {
  mm::address_space parent(big_layout());
  populate(parent, static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    mm::address_space child(big_layout());
    if (parent.fork(child)) state.SkipWithError("fork failed");
    benchmark::DoNotOptimize(child.map_count());
  }
  state.counters["vmas"] = static_cast<double>(state.range(0));
}

void BM_fork_reinsert(benchmark::State &state) {
  mm::address_space parent(big_layout());
  populate(parent, static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    mm::address_space child(big_layout());
    for (const mm::vma_info &v : parent.vmas()) {
      if (child.insert_vma(v)) state.SkipWithError("insert failed");
    }
    benchmark::DoNotOptimize(child.map_count());
  }
  state.counters["vmas"] = static_cast<double>(state.range(0));
}

constexpr std::size_t fault_vmas = 10000;

template <bool Rcu>
void BM_fault(benchmark::State &state) {
  mm::address_space as;
  populate(as, fault_vmas);
  std::vector<std::uint64_t> addrs(4096);
  std::mt19937_64 rng(42);
  for (auto &a : addrs) a = base + 2 * (rng() % fault_vmas) * mm::page_size + (rng() % 4096);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> writes{0};
  std::thread writer;
  if (state.range(0)) {
    writer = std::thread([&] {
      // The writer's own region, above the readers' VMAs.
      const std::uint64_t w = base + 4 * fault_vmas * mm::page_size;
      std::uint64_t out = 0, n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        as.mmap(w, 16 * mm::page_size, mm::prot_read | mm::prot_write,
                mm::map_private | mm::map_anonymous | mm::map_fixed, {}, 0, out);
        as.mprotect(w + 4 * mm::page_size, 4 * mm::page_size, mm::prot_read);
        as.munmap(w + 8 * mm::page_size, 4 * mm::page_size);
        n += 3;
        writes.store(n, std::memory_order_relaxed);
      }
    });
  }
  std::size_t i = 0, found = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    for (int k = 0; k < 256; ++k) {
      std::uint64_t a = addrs[i++ & 4095];
      if constexpr (Rcu) {
        found += as.lock_vma_under_rcu(a) ? 1 : 0;
      } else {
        found += as.vma_lookup(a) ? 1 : 0;
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  if (writer.joinable()) writer.join();
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 256);
  state.counters["faults_per_s"] = static_cast<double>(state.iterations()) * 256 / secs;
  state.counters["writer_ops_per_s"] = static_cast<double>(writes.load()) / secs;
}

}  // namespace

void BM_replay(benchmark::State &state, const std::string &dir, bool lockless) {
  namespace vt = maple::vma_tool;
  std::string text, why;
  std::string trace = std::filesystem::exists(dir + "/trace.strace") ? dir + "/trace.strace"
                                                                     : dir + "/trace.strace.xz";
  if (!vt::read_trace(trace, text, why)) {
    state.SkipWithError(why.c_str());
    return;
  }
  vt::parsed_trace parsed = vt::parse_trace(text);
  vt::snapshot_set snaps = vt::snapshot_set::load(dir, why);
  std::uint64_t syscalls = 0;
  for (auto _ : state) {
    vt::replay_options o;
    o.lockless_lookups = lockless;
    vt::replayer r(snaps, o);
    r.run(parsed.events);
    syscalls += r.stats().syscalls;
  }
  state.counters["syscalls_per_s"] =
      benchmark::Counter(static_cast<double>(syscalls), benchmark::Counter::kIsRate);
}

// One benchmark per trace directory found.
int register_replays() {
  for (const char *root :
       {MAPLE_BENCH_SOURCE_DIR "/data/traces", MAPLE_BENCH_SOURCE_DIR "/../shared/traces"}) {
    std::error_code ec;
    for (const auto &d : std::filesystem::directory_iterator(root, ec)) {
      if (!d.is_directory()) continue;
      std::string dir = d.path().string();
      std::string name =
          std::string("mm_replay/") +
          (std::string(root).find("shared") != std::string::npos ? "shared/" : "data/") +
          d.path().filename().string();
      // As maple-vma replays (lock-free lookups off), and with them on: the
      // cost of RCU-deferred frees.
      for (bool lockless : {false, true}) {
        benchmark::RegisterBenchmark((name + (lockless ? "/lockless" : "")).c_str(), BM_replay, dir,
                                     lockless)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  return 0;
}
const int replays_registered = register_replays();

BENCHMARK(BM_fork_dup)
    ->Name("mm_fork/dup")
    ->ArgName("vmas")
    ->RangeMultiplier(10)
    ->Range(100, 100000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_fork_reinsert)
    ->Name("mm_fork/reinsert")
    ->ArgName("vmas")
    ->RangeMultiplier(10)
    ->Range(100, 100000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_fault<true>)->Name("mm_fault/rcu")->ArgName("writer")->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_fault<false>)
    ->Name("mm_fault/mmap_lock")
    ->ArgName("writer")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime();

BENCHMARK_MAIN();
