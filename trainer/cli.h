// Shared helpers for neuralart-train's subcommands.
#pragma once

#include <boost/program_options.hpp>

#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace neuralart::cli {

namespace po = boost::program_options;

// Exit codes: 0 success, 1 failure, 2 usage error.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// A bad command line: printed with a hint to --help, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Subcommand {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

// Parses `args` against `options` (and positional names); prints help and
// returns false when --help was given. Throws UsageError on bad input.
bool parse(const std::string& command, const std::string& usage,
           const po::options_description& options,
           const po::positional_options_description& positional,
           const std::vector<std::string>& args, po::variables_map& vm);

// A stream that discards everything (for ranks other than 0).
std::ostream& null_stream();

// A number as people write it: 1e-07, 0.5, 100000000 (no trailing zeros).
std::string format_number(double value);

// A floating-point option whose default --help prints as people write it
// ("0.0002", where boost's own formatting prints 0.00020000000000000001).
template <typename T>
po::typed_value<T>* real_value(T* target, T value) {
  return po::value<T>(target)->default_value(value,
                                             format_number(double(value)));
}
template <typename T>
po::typed_value<T>* real_value(T value) {
  return real_value<T>(nullptr, value);
}

// Throws UsageError unless lo <= value <= hi, naming the option and range:
// "--threads 2000 is out of range [0, 1024]". Help texts show the same range.
template <typename T>
void check_range(const std::string& option, T value, T lo, T hi) {
  if (value < lo || value > hi)
    throw UsageError("--" + option + " " + format_number(double(value)) +
                     " is out of range [" + format_number(double(lo)) + ", " +
                     format_number(double(hi)) + "]");
}

// The interval named in an option's help text ("[0, 1024]", "(0, 1]"), or ""
// when it names none. Used to say the valid range when a value does not parse.
std::string range_in_help(const std::string& description);

// --precision for the trainers (auto, fp32, bf16), one help text for all.
void add_precision_option(po::options_description& options);
// --precision resolved for `device` ("fp32" or "bf16"); UsageError naming
// the option for anything else.
std::string resolved_precision(const po::variables_map& vm,
                               const std::string& device);

int run_inspect(const std::vector<std::string>& args);
int run_import(const std::vector<std::string>& args);
int run_stylize(const std::vector<std::string>& args);
int run_style(const std::vector<std::string>& args);
int run_universal(const std::vector<std::string>& args);
int run_gan(const std::vector<std::string>& args);
int run_sample(const std::vector<std::string>& args);
int run_eval_gan(const std::vector<std::string>& args);
int run_contact_sheet(const std::vector<std::string>& args);
int run_launch(const std::vector<std::string>& args);

}  // namespace neuralart::cli
