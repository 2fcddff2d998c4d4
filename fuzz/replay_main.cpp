// fuzz/replay_main.cpp - runs a fuzz target's entry point over files without
// libFuzzer, so that the seed corpora and the regression inputs replay in
// every build (ctest fuzz_replay.*, any compiler, valgrind included).
//
//   maple_fuzz_replay_tree FILE|DIR...
//
// Directories are read in name order; a missing directory is skipped (the
// regression directories exist only once they hold an input). Exit status 0
// when every input ran (a failing check aborts).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path &p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(), bytes.size());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  namespace fs = std::filesystem;
  std::size_t runs = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const fs::directory_entry &e : fs::directory_iterator(arg))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.')
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const fs::path &p : files) ok = run_file(p) && ok, ++runs;
    } else if (fs::exists(arg, ec)) {
      ok = run_file(arg) && ok;
      ++runs;
    } else {
      std::fprintf(stderr, "replay: %s does not exist, skipped\n", argv[i]);
    }
  }
  std::fprintf(stderr, "replay: %zu inputs\n", runs);
  return ok ? 0 : 1;
}
