// bench/bench_readers.cpp - read scalability: lookups per second from 1..N
// reader threads (N = hardware threads), with 0 or 1 writer thread running
// beside them, on the standard VMA-like workload (workload.h).
//
//   readers/<subject>/N:<n>/writers:<w>/threads:<t>
//
// Readers run W3 lookups (each thread from its own offset in the shared
// address batch); the writer, when there is one, repeats W5 cycles (one
// store covering k consecutive ranges, then the k ranges stored back) as fast
// as it can. Counters: lookups_per_s (all reader threads together, wall
// clock), writer_cycles_per_s.
//
// A subject is a peer (peers.h) plus its concurrency control: each peer
// behind a std::shared_mutex (readers share it, the writer holds it alone),
// and the maple tree in RCU mode (maple+rcu: lookups take no lock, each in
// its own read section; the writer serialises on the tree's own lock).
//
// Aims: maple+rcu reader throughput with one writer at least 80% of that
// without; at least 5x the shared_mutex peers under the same write load.
//
// MAPLE_BENCH_PIN=1 pins reader thread i to CPU i and the writer to the CPU
// after the readers (modulo the CPUs this process may use), so that on a
// 2-core machine one reader and the writer each own a core; the maple
// writer's deferred frees then run on its core (maple::rcu::set_callback_cpu).
#include "peers.h"
#include "workload.h"

#include <maple/rcu.h>

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

namespace mb = maple_bench;

namespace {

constexpr std::size_t lookups_per_iteration = 1024;

/// The CPUs this process may run on, read once at start-up: threads
/// inherit their creator's affinity, so a later read would see a pinned
/// thread's single CPU.
const cpu_set_t &allowed_cpus() {
  static const cpu_set_t set = [] {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (sched_getaffinity(0, sizeof s, &s) != 0) CPU_ZERO(&s);
    return s;
  }();
  return set;
}
[[maybe_unused]] const cpu_set_t &allowed_at_start = allowed_cpus();

/// Pins the calling thread to the k-th CPU this process may run on, when
/// MAPLE_BENCH_PIN=1; returns that CPU, or -1.
int pin_to(unsigned k) {
  const char *env = std::getenv("MAPLE_BENCH_PIN");
  if (env == nullptr || std::string(env) != "1") return -1;
  const cpu_set_t &allowed = allowed_cpus();
  const int count = CPU_COUNT(&allowed);
  if (count == 0) return -1;
  int want = static_cast<int>(k % static_cast<unsigned>(count));
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed) || want-- != 0) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0 ? cpu : -1;
  }
  return -1;
}

// A peer behind a reader-writer lock.
template <class Peer>
struct rwlocked {
  static std::string name() { return std::string(Peer::name) + "+shared_mutex"; }
  Peer peer;
  mutable std::shared_mutex lock;

  mb::Obj *lookup(std::uint64_t index) const {
    std::shared_lock g(lock);
    return peer.lookup(index);
  }
  void store(std::uint64_t first, std::uint64_t last, mb::Obj *v) {
    std::unique_lock g(lock);
    peer.store(first, last, v);
  }
};

// The maple tree in RCU mode: readers never block.
struct maple_rcu {
  static std::string name() { return "maple+rcu"; }
  maple::raw_tree t{maple::tree_flags::rcu};

  mb::Obj *lookup(std::uint64_t index) const { return static_cast<mb::Obj *>(t.load(index)); }
  void store(std::uint64_t first, std::uint64_t last, mb::Obj *v) {
    if (t.store(first, last, v)) mb::die("maple store failed");
  }
  ~maple_rcu() {
    t.clear();
    maple::rcu::barrier();  // every deferred node freed before the next run
  }
};

// The writer: W5 cycles until told to stop.
template <class Subject>
class writer_thread {
 public:
  writer_thread(Subject &s, const mb::Workload &w, unsigned cpu)
      : thread_([this, &s, &w, cpu] {
          // Pinned, its node frees run on its own core too (set_callback_cpu).
          if (int c = pin_to(cpu); c >= 0) maple::rcu::set_callback_cpu(c);
          run(s, w);
        }) {}
  writer_thread(const writer_thread &) = delete;
  writer_thread &operator=(const writer_thread &) = delete;
  ~writer_thread() { stop(); }

  /// Stops the writer; returns its cycles per second.
  double stop() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
    return rate_;
  }

 private:
  void run(Subject &s, const mb::Workload &w) {
    auto start = std::chrono::steady_clock::now();
    std::size_t cycles = 0;
    for (std::size_t c = 0; !stop_.load(std::memory_order_relaxed); ++c) {
      const mb::W5Pick &p = w.w5[c % w.w5.size()];
      s.store(w.ranges[p.index].first, w.ranges[p.index + p.k - 1].last, w.w5_value(c));
      for (std::uint32_t i = p.index; i < p.index + p.k; ++i)
        s.store(w.ranges[i].first, w.ranges[i].last, w.value(i));
      ++cycles;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rate_ = secs > 0 ? static_cast<double>(cycles) / secs : 0;
  }

  std::atomic<bool> stop_{false};
  double rate_ = 0;
  std::thread thread_;  // last: starts after the members it uses
};

// Shared by the benchmark's threads: built by thread 0 before the timed
// loop (Google Benchmark starts every thread's loop together), torn down by
// thread 0 after it (and after every thread has left the loop).
template <class Subject>
struct shared_run {
  static inline std::unique_ptr<Subject> subject;
  static inline std::unique_ptr<writer_thread<Subject>> writer;
};

template <class Subject>
void bm_readers(benchmark::State &st, std::size_t n, bool with_writer) {
  using run = shared_run<Subject>;
  const mb::Workload &w = mb::workload(n);
  if (st.thread_index() == 0) {
    run::subject = std::make_unique<Subject>();
    for (std::uint32_t i : w.shuffled)
      run::subject->store(w.ranges[i].first, w.ranges[i].last, w.value(i));
    if (with_writer)
      run::writer = std::make_unique<writer_thread<Subject>>(*run::subject, w,
                                                             static_cast<unsigned>(st.threads()));
  }
  (void)pin_to(static_cast<unsigned>(st.thread_index()));
  const std::size_t batch = w.lookups.size();
  std::size_t at = (batch / static_cast<std::size_t>(st.threads())) *
                   static_cast<std::size_t>(st.thread_index());
  std::size_t found = 0;
  for (auto _ : st) {
    const Subject &s = *run::subject;
    for (std::size_t i = 0; i < lookups_per_iteration; ++i) {
      found += s.lookup(w.lookups[at]) != nullptr;
      if (++at == batch) at = 0;
    }
  }
  benchmark::DoNotOptimize(found);
  st.counters["lookups_per_s"] = benchmark::Counter(
      static_cast<double>(st.iterations() * lookups_per_iteration), benchmark::Counter::kIsRate);
  if (st.thread_index() == 0) {
    if (run::writer) {
      st.counters["writer_cycles_per_s"] = run::writer->stop();
      run::writer.reset();
    }
    run::subject.reset();
  }
}

template <class Subject>
void register_subject(std::size_t n, unsigned max_threads) {
  for (int writers = 0; writers <= 1; ++writers) {
    std::string name = "readers/" + Subject::name() + "/N:" + std::to_string(n) +
                       "/writers:" + std::to_string(writers);
    benchmark::RegisterBenchmark(name.c_str(), bm_readers<Subject>, n, writers != 0)
        ->DenseThreadRange(1, static_cast<int>(max_threads))
        ->UseRealTime();
  }
}

void register_all() {
  unsigned hw = std::thread::hardware_concurrency();
  if (hw == 0) hw = 1;
  for (std::size_t n : {std::size_t{100000}, std::size_t{1000000}}) {
    register_subject<rwlocked<mb::StdMapPeer>>(n, hw);
    register_subject<rwlocked<mb::AbslPeer>>(n, hw);
    register_subject<rwlocked<mb::MaplePeer>>(n, hw);
    register_subject<maple_rcu>(n, hw);
  }
}

}  // namespace

int main(int argc, char **argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
