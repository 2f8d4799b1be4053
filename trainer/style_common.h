// Option helpers shared by `stylize` and `style`.
#pragma once

#include <atomic>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "neuralart/media/image_io.h"
#include "neuralart/train/loss_net.h"

namespace neuralart::cli {

// "a,b,c" -> items; throws UsageError naming the option for empty items.
inline std::vector<std::string> split_list(const std::string& option,
                                           const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream s(csv);
  std::string item;
  while (std::getline(s, item, ',')) {
    if (item.empty())
      throw UsageError("--" + option + " '" + csv + "' has an empty item");
    out.push_back(item);
  }
  if (out.empty()) throw UsageError("--" + option + " is empty");
  return out;
}

inline std::vector<double> parse_weights(const std::string& option,
                                         const std::string& csv, size_t count,
                                         double lo, double hi) {
  std::vector<double> out;
  for (const auto& item : split_list(option, csv)) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size())
      throw UsageError("--" + option + " '" + item + "' is not a number");
    check_range(option, v, lo, hi);
    out.push_back(v);
  }
  if (out.size() != count)
    throw UsageError("--" + option + " has " + std::to_string(out.size()) +
                     " values for " + std::to_string(count) + " styles");
  return out;
}

// Layer names for --content-layers / --style-layers.
inline std::vector<std::string> parse_layers(const std::string& option,
                                             const std::string& csv) {
  return split_list(option, csv);
}

// Builds the loss network, turning a bad layer name into a usage error.
inline std::unique_ptr<LossNet> build_loss_net(
    const std::string& spec, const std::vector<std::string>& content_layers,
    const std::vector<std::string>& style_layers) {
  std::vector<std::string> all = content_layers;
  all.insert(all.end(), style_layers.begin(), style_layers.end());
  try {
    return make_loss_net(spec, all);
  } catch (const InvalidArgument& e) {
    // Name the option that holds the bad value.
    const std::string what = e.what();
    const auto holds = [&](const std::vector<std::string>& layers) {
      for (const auto& l : layers)
        if (what.find("'" + l + "' is not a layer") != std::string::npos)
          return true;
      return false;
    };
    const std::string option = holds(content_layers) ? "--content-layers"
                               : holds(style_layers) ? "--style-layers"
                                                     : "--loss-net";
    throw UsageError(option + ": " + what);
  }
}

// The command line as typed, for provenance.
inline std::string command_line(const std::string& command,
                                const std::vector<std::string>& args) {
  std::string line = "neuralart-train " + command;
  for (const auto& a : args) {
    const bool quote = a.find_first_of(" \t'\"$") != std::string::npos;
    line += quote ? " '" + a + "'" : " " + a;
  }
  return line;
}

inline std::string stem(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

// Ctrl-C: the first sets the flag (save, then exit); a second one kills.
inline std::atomic<bool>& interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}

inline void install_sigint_handler() {
  interrupted() = false;
  std::signal(SIGINT, [](int) {
    interrupted() = true;
    std::signal(SIGINT, SIG_DFL);
  });
}

constexpr int kExitInterrupted = 130;

}  // namespace neuralart::cli
