// Shared by the bench programs: "--name value" flags and parameter counts.
#pragma once

#include <torch/nn/module.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>

#include "neuralart/frame.h"
#include "neuralart/util/remove_tree.h"

namespace neuralart::bench {

// Parses "--name value" pairs into the setters of `flags` (keyed by name
// with the dashes). Returns false for -h/--help. Throws
// std::invalid_argument for an unknown flag, a missing value or a value its
// setter rejects (std::stoll and friends throw on garbage).
inline bool parse_flags(
    int argc, char** argv,
    const std::map<std::string, std::function<void(const std::string&)>>&
        flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") return false;
    auto it = flags.find(arg);
    if (it == flags.end()) throw std::invalid_argument("unknown option " + arg);
    if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
    try {
      it->second(argv[++i]);
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument(arg + ": bad value '" + argv[i] + "'");
    }
  }
  return true;
}

// A view of a contiguous HWC uint8 tensor (3 or 4 bytes a pixel) as a
// frame of `format`.
inline FrameView frame_view(torch::Tensor& hwc, PixelFormat format) {
  FrameView v;
  v.data = hwc.data_ptr<uint8_t>();
  v.height = static_cast<int>(hwc.size(0));
  v.width = static_cast<int>(hwc.size(1));
  v.stride = hwc.size(1) * hwc.size(2);
  v.format = format;
  return v;
}

inline int64_t count_params(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// A run folder for a trainer under the system temp dir, removed on exit.
struct ScratchDir {
  explicit ScratchDir(const std::string& prefix)
      : path((std::filesystem::temp_directory_path() /
              (prefix + "-" + std::to_string(getpid())))
                 .string()) {}
  // Not std::filesystem::remove_all: see neuralart/util/remove_tree.h.
  ~ScratchDir() { neuralart::remove_tree(path); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path;
};

// Runs `step` `warmup` times untimed, then `steps` times; returns the
// seconds of the timed part.
inline double time_steps(int64_t warmup, int64_t steps,
                         const std::function<void()>& step) {
  for (int64_t i = 0; i < warmup; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

}  // namespace neuralart::bench
