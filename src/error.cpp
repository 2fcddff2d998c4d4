// The maple error category.
#include <maple/error.h>

namespace maple {
namespace {

class category final : public std::error_category {
 public:
  const char *name() const noexcept override { return "maple"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::ok: return "success";
      case errc::invalid_argument: return "invalid argument";
      case errc::exists: return "an index in the range is already occupied";
      case errc::no_memory: return "out of memory";
      case errc::busy: return "no free range fits";
    }
    return "unknown maple error";
  }
  std::error_condition default_error_condition(int v) const noexcept override {
    switch (static_cast<errc>(v)) {
      case errc::invalid_argument: return std::errc::invalid_argument;
      case errc::exists: return std::errc::file_exists;
      case errc::no_memory: return std::errc::not_enough_memory;
      case errc::busy: return std::errc::device_or_resource_busy;
      default: return {v, *this};
    }
  }
};

}  // namespace

const std::error_category &error_category() noexcept {
  static const category c;
  return c;
}

}  // namespace maple
