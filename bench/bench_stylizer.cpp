// neuralart-bench-stylizer: frames per second of the Stylizer, the code the
// styletransfer element runs per frame, from 8-bit host frames to 8-bit
// host frames (upload, conversion, network, download included).
//
//   neuralart-bench-stylizer [--model BUNDLE | --width W --blocks B
//       [--conv standard|separable] [--stem full|shuffle]]
//       [--sizes 256x256,640x360,1280x720] [--frames N] [--warmup W]
//       [--device cpu|cuda] [--precision fp32|bf16|fp16|auto] [--threads T]
//       [--scale S] [--input RAW --input-size WxH] [--psnr 1]
//
// Without --model a StyleNet with random weights (seed 1) is timed
// (--conv standard|separable and --stem full|shuffle pick a variant); width
// 32 and 5 blocks is pytorch/examples' TransformerNet (71 GFLOP per
// 640x360 frame). Frames are RGBx: from --input (raw RGBx frames of
// --input-size, e.g. from gst-launch ... ! video/x-raw,format=RGBx !
// filesink), resized to each size, or else smooth random images. With
// --psnr 1 every timed output is compared with the fp32 output of the same
// frame (PSNR over the colour bytes). Prints one JSON line per size.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.h"
#include "neuralart/bundle.h"
#include "neuralart/models/load.h"
#include "neuralart/models/style_net.h"
#include "neuralart/runtime/stylizer.h"

namespace {

constexpr const char* kUsage =
    "usage: neuralart-bench-stylizer [--model BUNDLE | --width W --blocks B\n"
    "  [--conv standard|separable] [--stem full|shuffle]]\n"
    "  [--sizes 256x256,640x360,1280x720] [--frames N] [--warmup W]\n"
    "  [--device cpu|cuda] [--precision fp32|bf16|fp16|auto] [--threads T]\n"
    "  [--scale S] [--input RAW --input-size WxH] [--psnr 0|1]\n"
    "  [--profile PREFIX]  (writes PREFIX-WxH.trace for chrome://tracing)\n";

struct Size {
  int w = 0, h = 0;
};

Size parse_size(const std::string& s) {
  const auto x = s.find('x');
  if (x == std::string::npos) throw std::invalid_argument("size " + s);
  Size r{std::stoi(s.substr(0, x)), std::stoi(s.substr(x + 1))};
  if (r.w < 16 || r.h < 16 || r.w > 8192 || r.h > 8192)
    throw std::invalid_argument("size " + s + " outside 16..8192");
  return r;
}

std::vector<Size> parse_sizes(const std::string& s) {
  std::vector<Size> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(parse_size(item));
  return out;
}

int64_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return 0;
}

// RGBx frames [N, H, W, 4] uint8 at `size`.
torch::Tensor make_frames(const torch::Tensor& source, Size size, int64_t n) {
  torch::Tensor rgb;
  if (source.defined()) {
    rgb = source.permute({0, 3, 1, 2}).to(torch::kFloat32);  // [M, 4, h, w]
    rgb = torch::nn::functional::interpolate(
        rgb, torch::nn::functional::InterpolateFuncOptions()
                 .size(std::vector<int64_t>{size.h, size.w})
                 .mode(torch::kBilinear)
                 .align_corners(false));
    std::vector<torch::Tensor> picks;
    for (int64_t i = 0; i < n; ++i) picks.push_back(rgb[i % rgb.size(0)]);
    rgb = torch::stack(picks);
  } else {
    // Smooth random images: low-resolution noise scaled up, plus grain.
    auto gen = torch::make_generator<at::CPUGeneratorImpl>(1);
    auto low = torch::rand({n, 4, 9, 16}, gen) * 255.0;
    rgb = torch::nn::functional::interpolate(
        low, torch::nn::functional::InterpolateFuncOptions()
                 .size(std::vector<int64_t>{size.h, size.w})
                 .mode(torch::kBicubic)
                 .align_corners(false));
    rgb = rgb + torch::randn({n, 4, size.h, size.w}, gen) * 8.0;
  }
  return rgb.round()
      .clamp(0, 255)
      .to(torch::kUInt8)
      .permute({0, 2, 3, 1})
      .contiguous();
}

neuralart::FrameView view_of(torch::Tensor& frames, int64_t i) {
  neuralart::FrameView v;
  v.data = frames[i].data_ptr<uint8_t>();
  v.height = static_cast<int>(frames.size(1));
  v.width = static_cast<int>(frames.size(2));
  v.stride = frames.size(2) * 4;
  v.format = neuralart::PixelFormat::RGBx;
  return v;
}

double psnr(const torch::Tensor& a, const torch::Tensor& b) {
  auto d = a.slice(-1, 0, 3).to(torch::kFloat64) -
           b.slice(-1, 0, 3).to(torch::kFloat64);
  const double mse = d.pow(2).mean().item<double>();
  return mse == 0.0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, sizes_text = "256x256,640x360,1280x720";
  std::string device = "cpu", precision = "fp32", input, input_size;
  int64_t width = 32, blocks = 5, frames = 20, warmup = 3, threads = 0;
  std::string conv = "standard", stem = "full", profile;
  int64_t check_psnr = 0;
  double scale = 1.0;
  try {
    if (!neuralart::bench::parse_flags(
            argc, argv,
            {{"--model", [&](const std::string& v) { model_path = v; }},
             {"--width", [&](const std::string& v) { width = std::stoll(v); }},
             {"--blocks",
              [&](const std::string& v) { blocks = std::stoll(v); }},
             {"--conv", [&](const std::string& v) { conv = v; }},
             {"--stem", [&](const std::string& v) { stem = v; }},
             {"--profile", [&](const std::string& v) { profile = v; }},
             {"--sizes", [&](const std::string& v) { sizes_text = v; }},
             {"--frames",
              [&](const std::string& v) { frames = std::stoll(v); }},
             {"--warmup",
              [&](const std::string& v) { warmup = std::stoll(v); }},
             {"--device", [&](const std::string& v) { device = v; }},
             {"--precision", [&](const std::string& v) { precision = v; }},
             {"--threads",
              [&](const std::string& v) { threads = std::stoll(v); }},
             {"--scale", [&](const std::string& v) { scale = std::stod(v); }},
             {"--input", [&](const std::string& v) { input = v; }},
             {"--input-size", [&](const std::string& v) { input_size = v; }},
             {"--psnr",
              [&](const std::string& v) { check_psnr = std::stoll(v); }}})) {
      std::cout << kUsage;
      return 0;
    }
    if (frames < 1 || warmup < 0) throw std::invalid_argument("--frames >= 1");
    const auto sizes = parse_sizes(sizes_text);

    neuralart::bench::ScratchDir scratch("neuralart-bench-stylizer");
    std::string bundle = model_path;
    neuralart::StyleNetOptions arch;
    if (bundle.empty()) {
      torch::manual_seed(1);
      neuralart::StyleNetOptions o;
      o.width = width;
      o.res_blocks = blocks;
      o.conv = conv;
      o.stem = stem;
      neuralart::StyleNet net(o);
      arch = o;
      std::filesystem::create_directories(scratch.path);
      bundle = scratch.path + "/random.bundle";
      neuralart::save_bundle(bundle, neuralart::style_meta(o, {"random"}),
                             *net);
    } else {
      auto net = neuralart::load_style_net(neuralart::read_bundle(bundle));
      arch = net->options();
    }

    neuralart::StylizerOptions so;
    so.runtime.device = device;
    so.runtime.precision = neuralart::precision_from_string(precision);
    so.runtime.threads = static_cast<int>(threads);
    neuralart::Stylizer stylizer(bundle, so);
    std::unique_ptr<neuralart::Stylizer> reference;
    if (check_psnr) {
      neuralart::StylizerOptions ro = so;
      ro.runtime.device = "cpu";
      ro.runtime.precision = neuralart::Precision::FP32;
      reference = std::make_unique<neuralart::Stylizer>(bundle, ro);
    }

    torch::Tensor source;
    if (!input.empty()) {
      const Size s = parse_size(input_size);
      std::ifstream f(input, std::ios::binary | std::ios::ate);
      if (!f) throw std::runtime_error(input + ": cannot read");
      const int64_t bytes = f.tellg();
      const int64_t per = static_cast<int64_t>(s.w) * s.h * 4;
      const int64_t n = std::min<int64_t>(bytes / per, 64);
      if (n < 1) throw std::runtime_error(input + ": shorter than one frame");
      source = torch::empty({n, s.h, s.w, 4}, torch::kUInt8);
      f.seekg(0);
      f.read(reinterpret_cast<char*>(source.data_ptr()), n * per);
    }

    neuralart::StyleParams params;
    params.inference_scale = scale;
    for (const auto& size : sizes) {
      auto in = make_frames(source, size, std::min<int64_t>(frames, 16));
      auto out = torch::empty_like(in);
      std::vector<double> ms;
      int64_t i = 0;
      auto step = [&] {
        const int64_t k = i++ % in.size(0);
        const auto t0 = std::chrono::steady_clock::now();
        stylizer.process(view_of(in, k), view_of(out, k), params);
        ms.push_back(std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - t0)
                         .count());
      };
      const double seconds = neuralart::bench::time_steps(warmup, frames, step);
      if (!profile.empty()) {
        // A chrome://tracing trace of two more frames (after the timing).
        torch::autograd::profiler::RecordProfile guard(
            profile + "-" + std::to_string(size.w) + "x" +
            std::to_string(size.h) + ".trace");
        const int64_t before = i;
        while (i < before + 2) step();
        ms.resize(ms.size() - 2);
      }
      ms.erase(ms.begin(), ms.begin() + warmup);
      std::sort(ms.begin(), ms.end());
      const double gflop = neuralart::style_net_gflop(
          arch, std::llround(size.h * scale), std::llround(size.w * scale));
      nlohmann::json r = {
          {"impl", "neuralart-cpp"},
          {"device", device},
          {"precision", precision},
          // What auto chose (on the first warm-up frame), or the same.
          {"precision_run", neuralart::to_string(stylizer.info().precision)},
          {"threads", threads},
          {"width", arch.width},
          {"blocks", arch.res_blocks},
          {"conv", arch.conv},
          {"stem", arch.stem},
          {"size", std::to_string(size.w) + "x" + std::to_string(size.h)},
          {"scale", scale},
          {"frames", frames},
          {"fps", frames / seconds},
          {"ms_mean", 1000.0 * seconds / frames},
          {"ms_p50", ms[ms.size() / 2]},
          {"ms_p95", ms[std::min(ms.size() - 1, ms.size() * 95 / 100)]},
          {"gflop_per_frame", gflop},
          {"gflops", gflop * frames / seconds},
          {"peak_rss_mib", peak_rss_kib() / 1024.0}};
      if (reference) {
        double worst = 99.0, sum = 0.0;
        const int64_t n = in.size(0);
        auto ref = torch::empty_like(in);
        for (int64_t k = 0; k < n; ++k) {
          stylizer.process(view_of(in, k), view_of(out, k), params);
          reference->process(view_of(in, k), view_of(ref, k), params);
          const double p = psnr(out[k], ref[k]);
          worst = std::min(worst, p);
          sum += p;
        }
        r["psnr_min"] = worst;
        r["psnr_mean"] = sum / n;
      }
      std::cout << r.dump() << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-stylizer: " << e.what() << "\n" << kUsage;
    return 2;
  }
  return 0;
}
