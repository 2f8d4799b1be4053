// Shared by the bench programs: "--name value" flags and parameter counts.
#pragma once

#include <torch/nn/module.h>

#include <functional>
#include <map>
#include <stdexcept>
#include <string>

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

inline int64_t count_params(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace neuralart::bench
