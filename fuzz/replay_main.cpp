// A main() for the fuzz targets without libFuzzer (any compiler): runs
// LLVMFuzzerTestOneInput once on every file under the folders or files
// given, so CI replays the corpus and every crash found so far as a
// regression test. `--seeds DIR` writes the target's starting corpus.
// `--mutate SECONDS` then keeps feeding random mutations of the corpus
// (bit flips, byte runs, boundary integers, cuts, splices) for that long:
// blind fuzzing, far weaker than libFuzzer's coverage-guided search, but it
// runs in CI with gcc and the sanitizers. A crashing input is written to
// crash-<target>-<pid> (sanitizer builds) before the process dies.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fuzz_common.h"

#if defined(__SANITIZE_ADDRESS__)
#define NEURALART_HAVE_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NEURALART_HAVE_SANITIZER 1
#endif
#endif
#ifdef NEURALART_HAVE_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> current;  // the input being run, for the death callback

#ifdef NEURALART_HAVE_SANITIZER
std::string crash_path;

void dump_current() {
  if (FILE* f = std::fopen(crash_path.c_str(), "wb")) {
    if (!current.empty()) std::fwrite(current.data(), 1, current.size(), f);
    std::fclose(f);
    std::fprintf(stderr, "the crashing input is in %s\n", crash_path.c_str());
  }
}
#endif

std::vector<uint8_t> read_file(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One to eight random edits of `in`, drawing material from `other`.
std::vector<uint8_t> mutate(std::vector<uint8_t> in,
                            const std::vector<uint8_t>& other,
                            std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n ? size_t(rng() % n) : 0; };
  static const uint64_t interesting[] = {0,
                                         1,
                                         0x7f,
                                         0x80,
                                         0xff,
                                         0x7fff,
                                         0xffff,
                                         0x7fffffff,
                                         0xffffffff,
                                         0x100000000ull,
                                         0x7fffffffffffffffull,
                                         ~0ull};
  const int edits = 1 + int(rng() % 8);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 8) {
      case 0:  // flip a bit
        if (!in.empty()) in[pick(in.size())] ^= uint8_t(1u << (rng() % 8));
        break;
      case 1:  // a random byte
        if (!in.empty()) in[pick(in.size())] = uint8_t(rng());
        break;
      case 2: {  // a boundary integer, 1/2/4/8 bytes, little-endian
        if (in.empty()) break;
        const uint64_t v = interesting[rng() % std::size(interesting)];
        const size_t width = size_t(1) << (rng() % 4), at = pick(in.size());
        for (size_t i = 0; i < width && at + i < in.size(); ++i)
          in[at + i] = uint8_t(v >> (8 * i));
        break;
      }
      case 3: {  // an ASCII digit run (JSON numbers, idx-free text)
        const std::string digits = std::to_string(int64_t(rng()));
        in.insert(in.begin() + pick(in.size() + 1), digits.begin(),
                  digits.end());
        break;
      }
      case 4:  // cut the tail
        in.resize(pick(in.size() + 1));
        break;
      case 5: {  // delete a run
        if (in.empty()) break;
        const size_t at = pick(in.size()),
                     n = 1 + pick(std::min<size_t>(64, in.size() - at));
        in.erase(in.begin() + at, in.begin() + at + n);
        break;
      }
      case 6: {  // duplicate a run
        if (in.empty() || in.size() > (1 << 20)) break;
        const size_t at = pick(in.size()),
                     n = 1 + pick(std::min<size_t>(256, in.size() - at));
        std::vector<uint8_t> run(in.begin() + at, in.begin() + at + n);
        in.insert(in.begin() + pick(in.size() + 1), run.begin(), run.end());
        break;
      }
      default: {  // splice in a piece of another input
        if (other.empty()) break;
        const size_t at = pick(other.size()),
                     n = 1 + pick(std::min<size_t>(512, other.size() - at));
        in.insert(in.begin() + pick(in.size() + 1), other.begin() + at,
                  other.begin() + at + n);
        break;
      }
    }
  }
  return in;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--seeds") {
    fs::create_directories(argv[2]);
    neuralart_fuzz_seeds(argv[2]);
    return 0;
  }
  double mutate_seconds = 0;
  uint64_t seed = std::random_device{}();
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mutate" && i + 1 < argc) {
      mutate_seconds = std::atof(argv[++i]);
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (fs::is_directory(arg)) {
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.emplace_back(arg);
    }
  }
  if (files.empty()) {
    std::cerr << "usage: " << argv[0]
              << " [--mutate SECONDS [--seed N]] CORPUS_DIR_OR_FILE...\n"
              << "       " << argv[0] << " --seeds DIR\n";
    return 2;
  }
#ifdef NEURALART_HAVE_SANITIZER
  crash_path = "crash-" + fs::path(argv[0]).filename().string() + "-" +
               std::to_string(getpid());
  __sanitizer_set_death_callback(dump_current);
#endif
  std::vector<std::vector<uint8_t>> corpus;
  for (const auto& f : files) {
    corpus.push_back(read_file(f));
    current = corpus.back();
    LLVMFuzzerTestOneInput(current.data(), current.size());
  }
  std::cout << "replayed " << files.size() << " inputs\n";
  if (mutate_seconds <= 0) return 0;
  std::mt19937_64 rng(seed);
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::duration<double>(mutate_seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (int batch = 0; batch < 64; ++batch, ++runs) {
      current = mutate(corpus[rng() % corpus.size()],
                       corpus[rng() % corpus.size()], rng);
      LLVMFuzzerTestOneInput(current.data(), current.size());
    }
  }
  std::cout << "mutated " << runs << " inputs in " << mutate_seconds
            << " s (seed " << seed << ")\n";
  return 0;
}
