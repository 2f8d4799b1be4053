// neuralart-bench-gatys: time of one Gatys style transfer step (the image
// is the parameter) of gatys_stylize, the code `neuralart-train stylize`
// runs, at 512x512 on a random content and style image.
//
//   neuralart-bench-gatys [--steps N] [--warmup W] [--threads T]
//                         [--size S] [--vgg PATH/model.json]
//                         [--precision auto|fp32|bf16]
//
// One step is one Adam step (lr 5 in 0-255 pixel units): the loss network
// on the image and its 2-level pyramid, content loss at relu2_2, Gram style
// loss at relu1_1, relu2_1, relu3_1, total variation loss, backward to the
// image, update and clamp. stylize's default is L-BFGS, whose steps take a
// varying number of such evaluations; Adam times one. The loss network is
// VGG-19 read from --vgg (default ../shared/data/vgg19-tfjs/model.json), or
// the built-in random network when that is absent.
// bench/gatys_pytorch.py times the same step in PyTorch. Prints one JSON
// line: {"impl":"neuralart-cpp","ms_per_step":...}.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bench_common.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/loss_net.h"
#include "neuralart/train/mixed_precision.h"
#include "neuralart/train/style_train.h"

namespace {

constexpr const char* kUsage =
    "usage: neuralart-bench-gatys [--steps N] [--warmup W] [--threads T]\n"
    "                             [--size S] [--vgg PATH/model.json]\n"
    "                             [--precision P]\n"
    "  --steps N     timed steps (default 10)\n"
    "  --warmup W    untimed steps first (default 2)\n"
    "  --threads T   LibTorch intra-op threads (default: all cores)\n"
    "  --size S      image side (default 512)\n"
    "  --vgg PATH    TF.js VGG-19 model.json (default "
    "../shared/data/vgg19-tfjs/model.json;\n"
    "                the built-in random network when absent)\n"
    "  --precision P auto, fp32 or bf16 (default auto: bf16 where the CPU\n"
    "                has AVX512-BF16 or AMX)\n";

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 10, warmup = 2, size = 512;
  int threads = 0;
  std::string vgg = "../shared/data/vgg19-tfjs/model.json", precision = "auto";
  try {
    if (!neuralart::bench::parse_flags(
            argc, argv,
            {{"--steps", [&](const std::string& v) { steps = std::stoll(v); }},
             {"--warmup",
              [&](const std::string& v) { warmup = std::stoll(v); }},
             {"--threads",
              [&](const std::string& v) { threads = std::stoi(v); }},
             {"--size", [&](const std::string& v) { size = std::stoll(v); }},
             {"--vgg", [&](const std::string& v) { vgg = v; }},
             {"--precision", [&](const std::string& v) { precision = v; }}})) {
      std::cout << kUsage;
      return 0;
    }
    if (steps < 1 || warmup < 0 || threads < 0 || size < 32)
      throw std::invalid_argument(
          "--steps must be >= 1, --size >= 32, --warmup and --threads >= 0");
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-gatys: " << e.what() << "\n" << kUsage;
    return 2;
  }

  try {
    threads = neuralart::resolve_threads(threads);
    torch::set_num_threads(threads);
    const bool have_vgg = std::filesystem::exists(vgg);
    neuralart::GatysOptions o;
    o.optimizer = "adam";
    o.lr = 5.0;
    o.steps = warmup + steps;
    o.precision = precision;
    o.loss.content_layers = {"relu2_2"};
    o.loss.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
    o.loss.pyramid_levels = 2;
    std::vector<std::string> layers = o.loss.content_layers;
    for (const auto& l : o.loss.style_layers) layers.push_back(l);
    auto net =
        neuralart::make_loss_net(have_vgg ? "vgg19:" + vgg : "random", layers);

    torch::manual_seed(1);
    const auto content = torch::rand({1, 3, size, size}) * 255.0;
    const auto style = torch::rand({1, 3, size, size}) * 255.0;
    std::chrono::steady_clock::time_point t0;
    double loss = 0;
    neuralart::GatysCallbacks cb;
    cb.on_step = [&](const neuralart::GatysStats& s) {
      if (s.step == warmup) t0 = std::chrono::steady_clock::now();
      loss = s.total;
    };
    if (warmup == 0) t0 = std::chrono::steady_clock::now();
    neuralart::gatys_stylize(*net, content, {style}, {1.0}, o, cb);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    nlohmann::json out = {
        {"impl", "neuralart-cpp"},
        {"ms_per_step", 1000.0 * secs / steps},
        {"loss_net", have_vgg ? "vgg19" : "random"},
        {"size", size},
        {"threads", torch::get_num_threads()},
        {"precision",
         neuralart::to_string(neuralart::resolve_training_precision(
             precision, torch::Device(torch::kCPU)))},
        {"steps", steps},
        {"warmup", warmup},
        {"loss", loss},
        {"torch", TORCH_VERSION}};
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-gatys: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
