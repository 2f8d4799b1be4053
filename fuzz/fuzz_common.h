// Shared by the fuzz targets: the libFuzzer entry point each defines, the
// seed writer each defines, and a scratch file for readers that take a
// path.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>

// Runs one input; returns 0 (libFuzzer's contract). Must not crash, leak
// or throw anything but the readers' documented errors, which it catches.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Writes a few valid inputs into `dir` (the starting corpus).
void neuralart_fuzz_seeds(const std::string& dir);

namespace neuralart::fuzz {

// The scratch files this process wrote, removed when it exits normally
// (a crash keeps the input: the fuzzer saves it anyway).
struct ScratchFiles {
  std::set<std::string> paths;
  ~ScratchFiles() {
    for (const auto& p : paths) std::remove(p.c_str());
  }
};

// A per-process file in /dev/shm (or /tmp) holding the current input.
inline std::string scratch_file(const uint8_t* data, size_t size,
                                const char* suffix) {
  static const std::string dir =
      access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  static ScratchFiles written;
  const std::string path =
      dir + "/neuralart-fuzz-" + std::to_string(getpid()) + suffix;
  written.paths.insert(path);
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

}  // namespace neuralart::fuzz
