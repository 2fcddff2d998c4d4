// Smoke test of an installed maple: a few stores and loads through both the
// typed and the raw API, and one deferred free through the RCU layer (which
// links liburcu in the default build). Returns nonzero on any mismatch.
#include <maple/maple.h>
#include <maple/mm.h>
#include <maple/xarray.h>

#include <cstdio>
#include <optional>

namespace {

int failures = 0;

void expect(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAIL %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  maple::tree<unsigned long> t;
  expect(!t.store(0x1000, 0x1fff, 1), "store [0x1000, 0x1fff]");
  expect(!t.store(0x3000, 0x3fff, 2), "store [0x3000, 0x3fff]");
  expect(!t.store(0x1800, 0x37ff, 3), "store [0x1800, 0x37ff] over both");
  expect(t.load(0x1000) == std::optional<unsigned long>(1), "load 0x1000");
  expect(t.load(0x17ff) == std::optional<unsigned long>(1), "load 0x17ff (trimmed)");
  expect(t.load(0x2800) == std::optional<unsigned long>(3), "load 0x2800 (gap filled)");
  expect(t.load(0x3800) == std::optional<unsigned long>(2), "load 0x3800 (trimmed)");
  expect(!t.load(0x4000), "load 0x4000 is empty");
  expect(t.insert(0x2000, 4) == maple::errc::exists, "insert over an occupied index");
  expect(t.store(5, 4, 1) == maple::errc::invalid_argument, "store with first > last");
  int n = 0;
  for (auto r : t) n += r.value != 0;
  expect(n == 3, "three ranges iterated");
  expect(t.validate().ok, "validate typed tree");

  maple::raw_tree raw;
  expect(!raw.store(10, 20, maple::make_value_entry(7)), "raw store");
  expect(maple::value_of_entry(raw.load(15)) == 7, "raw load");
  expect(raw.load(21) == nullptr, "raw load past the range");
  auto r = raw.find(0);
  expect(r && r->first == 10 && r->last == 20, "raw find");
  expect(maple::value_of_entry(raw.erase(10)) == 7 && raw.empty(), "raw erase");
  expect(raw.validate().ok, "validate raw tree");

  maple::xarray xa;
  expect(!xa.store_order(512, 9, maple::make_value_entry(9)), "xarray order-9 store");
  expect(maple::value_of_entry(xa.load(1000)) == 9, "xarray load inside it");
  expect(xa.get_order(600) == 9 && xa.validate().ok, "xarray order and validate");
  expect(maple::value_of_entry(xa.erase(777)) == 9 && xa.empty(), "xarray erase");

  maple::mm::address_space as;
  std::uint64_t at = 0;
  expect(!as.mmap(0, 3 * 4096, maple::mm::prot_read | maple::mm::prot_write,
                  maple::mm::map_private | maple::mm::map_anonymous, {}, 0, at),
         "mm mmap");
  expect(!as.mprotect(at + 4096, 4096, maple::mm::prot_read) && as.map_count() == 3,
         "mm mprotect splits");
  expect(as.validate().empty() && as.maps().find("r--p") != std::string::npos, "mm maps");

  static int freed = 0;
  {
    maple::rcu::read_guard g;
    expect(maple::rcu::in_read_section(), "inside a read section");
  }
  maple::rcu::defer([](void *p) { *static_cast<int *>(p) = 1; }, &freed);
  maple::rcu::barrier();
  expect(freed == 1, "deferred callback ran after barrier");

  if (failures == 0) std::printf("consumer: ok (RCU backend %s)\n", maple::rcu::backend_name());
  return failures == 0 ? 0 : 1;
}
