#include "cli.h"

#include "neuralart/error.h"
#include "neuralart/train/mixed_precision.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <regex>

namespace neuralart::cli {

std::string format_number(double value) {
  if (std::abs(value) < 1e15 && value == double(int64_t(value)))
    return std::to_string(int64_t(value));
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

std::string range_in_help(const std::string& description) {
  static const std::regex interval(
      R"([\[(]-?[0-9][0-9.e+-]*, -?[0-9][0-9.e+-]*[\])])");
  std::smatch m;
  return std::regex_search(description, m, interval) ? m.str() : "";
}

namespace {

// Boost parses "-1" into an unsigned option as 2^64 - 1; refuse it instead.
void refuse_negative_unsigned(const po::options_description& options,
                              const po::parsed_options& parsed) {
  for (const auto& option : parsed.options) {
    const auto* d = options.find_nothrow(option.string_key, false);
    if (!d || option.value.empty()) continue;
    const auto* semantic = d->semantic().get();
    const bool is_unsigned =
        dynamic_cast<const po::typed_value<uint64_t>*>(semantic) ||
        dynamic_cast<const po::typed_value<uint32_t>*>(semantic);
    const auto& token = option.value.front();
    if (is_unsigned && token.find('-') != std::string::npos)
      throw UsageError(
          "--" + option.string_key + " " + token + " is out of range [0, " +
          std::to_string(std::numeric_limits<uint64_t>::max()) + "]");
  }
}

}  // namespace

bool parse(const std::string& command, const std::string& usage,
           const po::options_description& options,
           const po::positional_options_description& positional,
           const std::vector<std::string>& args, po::variables_map& vm) {
  po::options_description all(options);
  all.add_options()("help,h", "show this help and exit");
  try {
    const auto parsed =
        po::command_line_parser(args).options(all).positional(positional).run();
    po::store(parsed, vm);
    if (vm.count("help")) {
      std::cout << "usage: neuralart-train " << command << " " << usage
                << "\n\n"
                << all << "\n";
      return false;
    }
    refuse_negative_unsigned(all, parsed);
    po::notify(vm);
  } catch (const po::invalid_option_value& e) {
    // Not a number, or too big for its type: say what is valid.
    std::string name = e.get_option_name();
    while (!name.empty() && name.front() == '-') name.erase(0, 1);
    const auto* d = all.find_nothrow(name, false);
    const auto range = d ? range_in_help(d->description()) : "";
    throw UsageError(std::string(e.what()) +
                     (range.empty() ? "" : "; valid: " + range));
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return true;
}

std::ostream& null_stream() {
  static std::ostream discard(nullptr);  // no buffer: writes are dropped
  return discard;
}

void add_precision_option(po::options_description& options) {
  options.add_options()(
      "precision", po::value<std::string>()->default_value("auto"),
      "auto, fp32 or bf16: bf16 mixed precision runs convolutions and matrix "
      "products in bf16 (fp32 weights, optimizer state and losses); auto = "
      "bf16 on a CPU with AVX512-BF16 or AMX, fp32 elsewhere");
}

std::string resolved_precision(const po::variables_map& vm,
                               const std::string& device) {
  try {
    return to_string(resolve_training_precision(
        vm["precision"].as<std::string>(), parse_device(device)));
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
}

}  // namespace neuralart::cli
