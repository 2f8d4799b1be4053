// neuralart-bench-style-step: time of one feed-forward style training step
// of StyleTrainer, the code `neuralart-train style` runs, at 256x256,
// batch 4, on random in-memory content images.
//
//   neuralart-bench-style-step [--steps N] [--warmup W] [--threads T]
//                              [--vgg PATH/model.json] [--output MODE]
//                              [--precision auto|fp32|bf16] [--profile F]
//
// StyleNet at its defaults (width 32, 5 residual blocks: pytorch/examples'
// TransformerNet, 1,679,235 parameters; --width, --res-blocks, --conv and
// --stem pick another) with one style. The loss network
// is VGG-19 read from --vgg (default ../shared/data/vgg19-tfjs/model.json)
// with the layers of pytorch/examples fast_neural_style up to relu3_3:
// style relu1_2, relu2_2, relu3_3, content relu2_2, one pyramid level. When
// that file is absent the built-in random network is used instead (style
// relu1_2, relu2_2, relu3_2: it has only two convs per block). One timed
// step is StyleTrainer::step(): random crops, style net forward, loss
// network features, content/style/TV losses, backward and Adam.
// bench/style_step_pytorch.py times the same step in PyTorch. Prints one
// JSON line: {"impl":"neuralart-cpp","ms_per_step":...,"loss_net":...}.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bench_common.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/mixed_precision.h"
#include "neuralart/train/style_train.h"

namespace {

constexpr const char* kDefaultVgg = "../shared/data/vgg19-tfjs/model.json";

constexpr const char* kUsage =
    "usage: neuralart-bench-style-step [--steps N] [--warmup W] [--threads "
    "T]\n"
    "                                  [--vgg PATH/model.json] [--output "
    "MODE]\n"
    "  --steps N     timed training steps (default 10)\n"
    "  --warmup W    untimed steps first (default 2)\n"
    "  --threads T   LibTorch intra-op threads (default: all cores)\n"
    "  --device D    cpu, cuda or cuda:N (default cpu)\n"
    "  --vgg PATH    TF.js VGG-19 model.json (default "
    "../shared/data/vgg19-tfjs/model.json;\n"
    "                the built-in random loss network when it is absent)\n"
    "  --output MODE style net output layer: linear (pytorch/examples, the\n"
    "                default here) or sigmoid (neuralart's default)\n"
    "  --batch B     batch size (default 4)\n"
    "  --size S      crop side (default 256)\n"
    "  --width W     style net width (default 32)\n"
    "  --res-blocks R  residual blocks (default 5)\n"
    "  --conv C      standard or separable (default standard)\n"
    "  --stem S      full or shuffle (default full)\n"
    "  --precision P auto, fp32 or bf16 (default auto: bf16 where the CPU\n"
    "                has AVX512-BF16 or AMX)\n"
    "  --profile F   after timing, profile one more step into F (a trace for\n"
    "                chrome://tracing)\n";

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 10, warmup = 2, batch = 4, size = 256;
  int threads = 0;
  std::string device = "cpu";
  std::string precision = "auto";
  std::string profile, conv = "standard", stem = "full";
  int64_t width = 32, res_blocks = 5;
  std::string vgg = kDefaultVgg, output = "linear";
  try {
    if (!neuralart::bench::parse_flags(
            argc, argv,
            {{"--steps", [&](const std::string& v) { steps = std::stoll(v); }},
             {"--warmup",
              [&](const std::string& v) { warmup = std::stoll(v); }},
             {"--threads",
              [&](const std::string& v) { threads = std::stoi(v); }},
             {"--device", [&](const std::string& v) { device = v; }},
             {"--precision", [&](const std::string& v) { precision = v; }},
             {"--profile", [&](const std::string& v) { profile = v; }},
             {"--width", [&](const std::string& v) { width = std::stoll(v); }},
             {"--res-blocks",
              [&](const std::string& v) { res_blocks = std::stoll(v); }},
             {"--conv", [&](const std::string& v) { conv = v; }},
             {"--stem", [&](const std::string& v) { stem = v; }},
             {"--vgg", [&](const std::string& v) { vgg = v; }},
             {"--output", [&](const std::string& v) { output = v; }},
             {"--batch", [&](const std::string& v) { batch = std::stoll(v); }},
             {"--size",
              [&](const std::string& v) { size = std::stoll(v); }}})) {
      std::cout << kUsage;
      return 0;
    }
    if (steps < 1 || warmup < 0 || threads < 0 || batch < 1 || size < 32)
      throw std::invalid_argument(
          "--steps and --batch must be >= 1, --size >= 32, --warmup and "
          "--threads >= 0");
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-style-step: " << e.what() << "\n" << kUsage;
    return 2;
  }

  const neuralart::bench::ScratchDir run_dir("neuralart-bench-style-step");
  try {
    threads = neuralart::resolve_threads(threads);
    torch::set_num_threads(threads);

    const bool have_vgg = std::filesystem::exists(vgg);
    neuralart::StyleTrainOptions o;
    o.model.width = width;
    o.model.res_blocks = res_blocks;
    o.model.conv = conv;
    o.model.stem = stem;
    o.model.output = output;
    o.size = size;
    o.batch = batch;
    o.steps = warmup + steps + (profile.empty() ? 0 : 1);
    o.device = device;
    o.precision = precision;
    o.lr = 1e-3;
    o.loss.content_layers = {"relu2_2"};
    o.loss.pyramid_levels = 1;
    if (have_vgg) {
      o.loss_net = "vgg19:" + vgg;
      o.loss.style_layers = {"relu1_2", "relu2_2", "relu3_3"};
    } else {
      o.loss_net = "random";
      o.loss.style_layers = {"relu1_2", "relu2_2", "relu3_2"};
    }

    // Eight content images a bit larger than the crop, one style image.
    torch::manual_seed(1);
    std::vector<torch::Tensor> content;
    for (int i = 0; i < 8; ++i)
      content.push_back(
          torch::randint(0, 256, {3, size + 64, size + 64}, torch::kUInt8));
    std::vector<torch::Tensor> styles{torch::rand({1, 3, size, size}) * 255.0};

    neuralart::StyleTrainer trainer(o, std::move(content), std::move(styles),
                                    {"random"}, run_dir.path);
    double total = 0;
    const double secs = neuralart::bench::time_steps(
        warmup, steps, [&] { total = trainer.step().total; });
    if (!profile.empty()) {
      torch::autograd::profiler::RecordProfile guard(profile);
      trainer.step();
    }

    nlohmann::json out = {
        {"impl", "neuralart-cpp"},
        {"ms_per_step", 1000.0 * secs / steps},
        {"images_per_second", steps * batch / secs},
        {"loss_net", have_vgg ? "vgg19" : "random"},
        {"loss_net_spec", o.loss_net},
        {"style_layers", o.loss.style_layers},
        {"content_layers", o.loss.content_layers},
        {"output", output},
        {"threads", torch::get_num_threads()},
        {"device", device},
        {"precision",
         neuralart::to_string(neuralart::resolve_training_precision(
             precision, neuralart::parse_device(device)))},
        {"params", neuralart::bench::count_params(*trainer.model())},
        {"batch", batch},
        {"size", size},
        {"steps", steps},
        {"warmup", warmup},
        {"loss", total},
        {"torch", TORCH_VERSION}};
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-style-step: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
