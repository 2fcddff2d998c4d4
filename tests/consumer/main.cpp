// Smoke test of an installed maple. The tree part uses only the typed API,
// maple::tree<T> (typed cursors, gap search, preallocation, moving), never
// raw() or void *; then the XArray, the address-space model and one
// deferred free through the RCU layer (which links liburcu in the default
// build). Built with -Wall -Wextra -Werror. Returns nonzero on any mismatch.
#include <maple/maple.h>
#include <maple/mm.h>
#include <maple/xarray.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAIL %s\n", what);
    ++failures;
  }
}

struct alignas(8) region {
  int id;
};

void typed_values() {
  maple::tree<unsigned long> t;
  expect(!t.store(0x1000, 0x1fff, 1), "store [0x1000, 0x1fff]");
  expect(!t.store(0x3000, 0x3fff, 2), "store [0x3000, 0x3fff]");
  expect(!t.store(0x1800, 0x37ff, 3), "store [0x1800, 0x37ff] over both");
  expect(t.load(0x17ff) == std::optional<unsigned long>(1), "load 0x17ff (trimmed)");
  expect(t.load(0x2800) == std::optional<unsigned long>(3), "load 0x2800 (gap filled)");
  expect(!t.load(0x4000), "load 0x4000 is empty");
  expect(t.insert(0x2000, 4) == maple::errc::exists, "insert over an occupied index");
  expect(t.store(5, 4, 1) == maple::errc::invalid_argument, "store with first > last");
  auto slot = t.lookup(0x4000);
  expect(slot.first == 0x4000 && !slot.value, "lookup of an empty range");
  std::optional<unsigned long> was;
  expect(!t.erase(0x3900, &was) && was == 2u, "erase returns the old value");
  int n = 0;
  for (const auto &r : t) n += r.value != 0;
  expect(n == 2, "two ranges iterated");
  expect(t.validate().ok, "validate typed tree");
}

void typed_pointers() {
  static region a{1}, b{2}, c{3};
  maple::tree<region *> t(maple::tree_flags::alloc);
  std::uint64_t at = 0;
  expect(!t.alloc_range(&a, 0x1000, 0x10000, 0xfffff, at) && at == 0x10000, "alloc_range");
  expect(!t.empty_area_rev(0, 0xfffff, 0x1000, at) && at == 0xff000, "empty_area_rev");
  {
    maple::tree<region *>::write_guard w(t);
    auto wc = w.cursor();
    expect(!wc.empty_area(0x10000, 0xfffff, 0x2000), "cursor gap search");
    expect(!wc.preallocate(&b), "preallocate");
    wc.store_prealloc(&b);  // cannot fail
  }
  expect(t.load(0x11000) == &b && t.load(0x12fff) == &b, "store_prealloc filled the gap");
  {
    maple::tree<region *>::read_guard r(t);
    auto rc = r.cursor(0);
    std::vector<int> ids;
    for (region *v = rc.find(); v; v = rc.next()) ids.push_back(v->id);
    expect(ids == std::vector<int>{1, 2}, "typed cursor walk");
  }
  maple::tree<region *> moved(std::move(t));
  expect(t.empty() && moved.load(0x10000) == &a, "move leaves the source empty");
  expect(!t.store(1, 1, &c) && t.load(1) == &c, "the moved-from tree is usable");
  swap(t, moved);
  expect(t.load(0x10000) == &a && moved.load(1) == &c, "swap");
  expect(t.validate().ok && moved.validate().ok, "validate after move and swap");
}

}  // namespace

int main() {
  typed_values();
  typed_pointers();

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
  expect(as.validate().ok && as.maps().find("r--p") != std::string::npos, "mm maps");

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
