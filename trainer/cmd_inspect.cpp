// neuralart-train inspect FILE: prints a bundle's metadata.
#include <iostream>

#include "cli.h"
#include "neuralart/bundle.h"

namespace neuralart::cli {
namespace {

void print_object(const json& j, const std::string& indent) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::cout << indent << it.key() << ":";
    if (it.value().is_object()) {
      std::cout << "\n";
      print_object(it.value(), indent + "  ");
    } else if (it.value().is_string()) {
      std::cout << " " << it.value().get<std::string>() << "\n";
    } else {
      std::cout << " " << it.value().dump() << "\n";
    }
  }
}

}  // namespace

int run_inspect(const std::vector<std::string>& args) {
  po::options_description options("inspect options");
  options.add_options()("file", po::value<std::string>()->required(),
                        "model bundle to read")("json", po::bool_switch(),
                                                "print the metadata as JSON");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  if (!parse("inspect",
             "FILE [--json]\n\nPrints a model bundle's metadata "
             "(kind, architecture, I/O contract, styles, provenance) and a "
             "summary of its weights.",
             options, positional, args, vm))
    return kExitOk;
  const auto path = vm["file"].as<std::string>();
  const Bundle bundle = read_bundle(path);
  int64_t count = 0;
  for (const auto& [name, t] : bundle.tensors) count += t.numel();
  if (vm["json"].as<bool>()) {
    auto j = bundle.meta.to_json();
    j["tensors"] = bundle.tensors.size();
    j["parameters"] = count;
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  const auto j = bundle.meta.to_json();
  std::cout << "file: " << path << "\n";
  print_object(j, "");
  std::cout << "weights: " << bundle.tensors.size() << " tensors, " << count
            << " values\n";
  return kExitOk;
}

}  // namespace neuralart::cli
