// neuralart-bench-dcgan: DCGAN training throughput of GanTrainer, the code
// `neuralart-train gan` runs, on random in-memory 64x64 RGB data.
//
//   neuralart-bench-dcgan [--steps N] [--warmup W] [--threads T]
//                         [--batch B] [--images K] [--precision P]
//                         [--profile F]
//
// The models are configured as close to the classic DCGAN (Radford et al.
// 2016) as DCGANOptions allow: latent 100, batch norm in G, no spectral
// norm, no minibatch-std, BCE loss, Adam 2e-4 (0.5, 0.999). One timed step
// is GanTrainer::step(): a D step on a real and a fake batch, a G step and
// the EMA update of the generator. bench/dcgan_pytorch.py builds the same
// networks in PyTorch and times the same step. Prints one JSON line:
// {"impl":"neuralart-cpp","images_per_second":...,"threads":...,
//  "params_g":...,"params_d":...}; images are generator images (one batch
// per step).
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>

#include "bench_common.h"
#include "neuralart/data/image_set.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/gan.h"
#include "neuralart/train/mixed_precision.h"

namespace {

constexpr const char* kUsage =
    "usage: neuralart-bench-dcgan [--steps N] [--warmup W] [--threads T]\n"
    "                             [--batch B] [--images K]\n"
    "  --steps N    timed training steps (default 20)\n"
    "  --warmup W   untimed steps first (default 3)\n"
    "  --threads T  LibTorch intra-op threads (default: all cores)\n"
    "  --device D   cpu, cuda or cuda:N (default cpu)\n"
    "  --batch B    batch size (default 64)\n"
    "  --images K   random training images held in memory (default 512)\n"
    "  --precision P auto, fp32 or bf16 (default auto: bf16 where the CPU\n"
    "               has AVX512-BF16 or AMX)\n"
    "  --profile F  after timing, profile one more step into F (a trace for\n"
    "               chrome://tracing)\n";

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 20, warmup = 3, batch = 64, images = 512;
  int threads = 0;
  std::string device = "cpu", precision = "auto", profile;
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
             {"--batch", [&](const std::string& v) { batch = std::stoll(v); }},
             {"--images",
              [&](const std::string& v) { images = std::stoll(v); }}})) {
      std::cout << kUsage;
      return 0;
    }
    if (steps < 1 || warmup < 0 || threads < 0 || batch < 2 || images < 1)
      throw std::invalid_argument(
          "--steps and --images must be >= 1, --batch >= 2, --warmup and "
          "--threads >= 0");
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-dcgan: " << e.what() << "\n" << kUsage;
    return 2;
  }

  const neuralart::bench::ScratchDir run_dir("neuralart-bench-dcgan");
  try {
    threads = neuralart::resolve_threads(threads);
    torch::set_num_threads(threads);

    neuralart::GanTrainOptions o;
    o.model.latent_dim = 100;
    o.model.base_width = 64;
    o.model.max_width = 512;
    o.model.resolution = 64;
    o.model.channels = 3;
    o.model.g_norm = "batch";
    o.model.spectral_norm = false;
    o.model.minibatch_std = false;
    o.model.multiscale = false;
    o.loss = neuralart::GanLoss::BCE;
    o.batch = batch;
    o.steps = warmup + steps + (profile.empty() ? 0 : 1);
    o.device = device;
    o.precision = precision;
    o.lr_g = o.lr_d = 2e-4;
    o.beta1 = 0.5;
    o.beta2 = 0.999;
    o.threads = threads;  // GanTrainer::step() is called directly below

    torch::manual_seed(1);
    neuralart::ImageSet data;
    data.images = torch::randint(0, 256, {images, 3, 64, 64}, torch::kUInt8);
    data.description = "random uint8 noise (benchmark)";

    neuralart::GanTrainer trainer(o, std::move(data), run_dir.path);
    const int64_t params_g =
        neuralart::bench::count_params(*trainer.generator());
    const int64_t params_d =
        neuralart::bench::count_params(*trainer.discriminator());

    double d_loss = 0, g_loss = 0;
    const double secs = neuralart::bench::time_steps(warmup, steps, [&] {
      const auto s = trainer.step();
      d_loss = s.d_loss;
      g_loss = s.g_loss;
    });
    if (!profile.empty()) {
      torch::autograd::profiler::RecordProfile guard(profile);
      trainer.step();
    }

    nlohmann::json out = {
        {"impl", "neuralart-cpp"},
        {"images_per_second", steps * batch / secs},
        {"ms_per_step", 1000.0 * secs / steps},
        {"threads", torch::get_num_threads()},
        {"device", device},
        {"precision",
         neuralart::to_string(neuralart::resolve_training_precision(
             precision, neuralart::parse_device(device)))},
        {"params_g", params_g},
        {"params_d", params_d},
        {"batch", batch},
        {"steps", steps},
        {"warmup", warmup},
        {"d_loss", d_loss},
        {"g_loss", g_loss},
        {"torch", TORCH_VERSION}};
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-dcgan: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
