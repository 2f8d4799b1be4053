// neuralart-train import SRC --out MODEL.bundle: a pytorch/examples
// fast_neural_style TransformerNet checkpoint (a torch.save state dict)
// as a style bundle.
#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli.h"
#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/models/load.h"
#include "neuralart/models/transformer_net_import.h"
#include "neuralart/tensor_file.h"
#include "neuralart/torch_checkpoint.h"
#include "style_common.h"

namespace neuralart::cli {

int run_import(const std::vector<std::string>& args) {
  std::string src, out, style_name;
  po::options_description options("import options");
  options.add_options()("src", po::value(&src)->required(),
                        "checkpoint to import: a state dict saved by "
                        "torch.save (.pth, .model; zip or legacy format)")(
      "out", po::value(&out)->required(), "style bundle to write")(
      "style-name", po::value(&style_name),
      "the style's name in the bundle (default: SRC's file name without "
      "its extension)");
  po::positional_options_description positional;
  positional.add("src", 1);
  po::variables_map vm;
  if (!parse("import",
             "SRC --out MODEL.bundle [--style-name NAME]\n\n"
             "Converts a pytorch/examples fast_neural_style TransformerNet "
             "checkpoint (e.g. candy.pth) into a style bundle for the "
             "styletransfer element: the same network, which then runs "
             "channels-last and in bf16 where the CPU has it. Reads the "
             "file as data (no Python, no code from the file).",
             options, positional, args, vm))
    return kExitOk;
  if (!vm.count("style-name")) style_name = stem(src);
  if (style_name.empty()) throw UsageError("--style-name must not be empty");

  std::ifstream in(src, std::ios::binary);
  if (!in) throw BundleError(src + ": cannot open: " + std::strerror(errno));
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  if (in.bad()) throw BundleError(src + ": read error");
  const auto state_dict =
      parse_torch_state_dict(bytes.data(), bytes.size(), src);
  StyleNet net{nullptr};
  try {
    net = import_transformer_net(state_dict, src);
  } catch (const BundleError& e) {
    // A readable state dict of another layout: the input is wrong (exit 2).
    throw InvalidArgument(e.what());
  }

  auto meta = style_meta(net->options(), {style_name});
  meta.provenance["command"] = command_line("import", args);
  meta.provenance["imported_from"] = {
      {"file", src},
      {"architecture", "pytorch/examples fast_neural_style TransformerNet"},
      {"serialization",
       state_dict.format == "zip" ? "torch.save zip" : "torch.save legacy"},
      {"bytes", bytes.size()},
      {"crc32", crc32(bytes.data(), bytes.size())}};
  save_bundle(out, meta, *net);
  load_style_net(out);  // what the elements will do: it must load

  int64_t values = 0;
  for (const auto& p : net->parameters()) values += p.numel();
  std::cout
      << "import: " << src << " ("
      << meta.provenance["imported_from"]["serialization"].get<std::string>()
      << ", " << state_dict.entries.size() << " tensors) -> " << out
      << ": transformer_net width " << net->options().width << ", "
      << net->options().res_blocks << " residual blocks, " << values
      << " weights, style '" << style_name << "'\n";
  return kExitOk;
}

}  // namespace neuralart::cli
