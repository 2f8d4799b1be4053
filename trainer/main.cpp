// neuralart-train: trains GANs and style models; inspects model bundles.
#include <c10/util/Exception.h>

#include <cstdlib>
#include <iostream>

#include "cli.h"
#include "neuralart/error.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/version.h"

namespace {

using neuralart::cli::Subcommand;

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> list = {
      {"gan", "train a GAN on a folder of images", neuralart::cli::run_gan},
      {"sample", "sample grids and latent walks from a generator",
       neuralart::cli::run_sample},
      {"eval-gan", "mode coverage of a digit generator (MNIST classifier)",
       neuralart::cli::run_eval_gan},
      {"contact-sheet", "tile images into one PNG",
       neuralart::cli::run_contact_sheet},
      {"stylize", "restyle one image by optimisation (Gatys)",
       neuralart::cli::run_stylize},
      {"style", "train a feed-forward style model", neuralart::cli::run_style},
      {"universal", "train a universal style model (any painting at run time)",
       neuralart::cli::run_universal},
      {"inspect", "print a model bundle's metadata",
       neuralart::cli::run_inspect},
      {"import", "convert a pytorch/examples fast_neural_style checkpoint",
       neuralart::cli::run_import},
      {"launch", "run a training command in N local processes",
       neuralart::cli::run_launch},
  };
  return list;
}

void print_usage(std::ostream& out) {
  out << "usage: neuralart-train <command> [options]\n"
         "       neuralart-train <command> --help\n\n"
         "Trains GANs and style models for the neuralart GStreamer "
         "elements.\n\ncommands:\n";
  for (const auto& s : subcommands())
    out << "  " << s.name
        << std::string(s.name.size() < 15 ? 15 - s.name.size() : 1, ' ')
        << s.summary << "\n";
  out << "\noptions:\n  -h, --help    show this help\n"
         "  --version     print versions and exit\n\n"
         "exit codes: 0 success, 1 failure, 2 usage error\n";
}

// "neuralart-train gan", plus the rank when one of several processes.
std::string who(const std::string& command) {
  std::string name = "neuralart-train " + command;
  const char* world = std::getenv("WORLD_SIZE");
  const char* rank = std::getenv("RANK");
  if (world && rank && std::string(world) != "1")
    name += " (rank " + std::string(rank) + ")";
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = neuralart::cli;
  // Training frees and takes back large blocks every step.
  neuralart::keep_freed_memory_for_reuse();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return cli::kExitUsage;
  }
  const std::string command = args.front();
  if (command == "-h" || command == "--help" || command == "help") {
    print_usage(std::cout);
    return cli::kExitOk;
  }
  if (command == "--version") {
    std::cout << "neuralart-train " << neuralart::version() << " (LibTorch "
              << neuralart::torch_version() << ")\n";
    return cli::kExitOk;
  }
  for (const auto& s : subcommands()) {
    if (s.name != command) continue;
    try {
      return s.run({args.begin() + 1, args.end()});
    } catch (const cli::UsageError& e) {
      std::cerr << who(command) << ": " << e.what() << "\nTry 'neuralart-train "
                << command << " --help'.\n";
      return cli::kExitUsage;
    } catch (const neuralart::InvalidArgument& e) {
      std::cerr << who(command) << ": " << e.what() << "\n";
      return cli::kExitUsage;
    } catch (const c10::Error& e) {
      std::cerr << who(command) << ": " << e.what_without_backtrace() << "\n";
      return cli::kExitFailure;
    } catch (const std::exception& e) {
      std::cerr << who(command) << ": " << e.what() << "\n";
      return cli::kExitFailure;
    }
  }
  std::cerr << "neuralart-train: unknown command '" << command
            << "'\nTry 'neuralart-train --help'.\n";
  return cli::kExitUsage;
}
