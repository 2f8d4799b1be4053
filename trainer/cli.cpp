#include "cli.h"

#include <iostream>

namespace neuralart::cli {

bool parse(const std::string& command, const std::string& usage,
           const po::options_description& options,
           const po::positional_options_description& positional,
           const std::vector<std::string>& args, po::variables_map& vm) {
  po::options_description all(options);
  all.add_options()("help,h", "show this help and exit");
  try {
    po::store(
        po::command_line_parser(args).options(all).positional(positional).run(),
        vm);
    if (vm.count("help")) {
      std::cout << "usage: neuralart-train " << command << " " << usage
                << "\n\n"
                << all << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return true;
}

std::ostream& null_stream() {
  static std::ostream discard(nullptr);  // no buffer: writes are dropped
  return discard;
}

}  // namespace neuralart::cli
