// neuralart-bench-smoother: what styletransfer's temporal-smoothing costs a
// frame (issue #23: at most 20 % of the compact model's frame time at
// 1280x720), measured on the smoother alone, on real consecutive frames.
//
//   neuralart-bench-smoother --input DIR [--stylised DIR] [--size WxH]
//                            [--amount A] [--threads N] [--passes P]
//                            [--flow fast|fine] [--write DIR]
//
// --input holds consecutive frames as PNGs (bench/flicker.sh's decoded
// frames, or gst-launch-1.0 ... ! pngenc ! multifilesink); --stylised
// the same frames restyled (default: the inputs themselves; the cost does
// not depend on what the pictures show). Every frame is scaled to WxH
// (default 1280x720) as BGRx, the layout the element gets most often, and
// run through TemporalSmoother::observe_input and ::blend as the element
// does, P times over the sequence (default 3). Prints one JSON line: the
// mean and median milliseconds per frame of each step and of both, and
// the flicker metric (mean warping error, Lai et al. 2018, as
// neuralart-bench-flicker) of the stylised frames before and after
// smoothing: the same frames every run, so settings compare exactly.
// --flow picks the smoother's motion estimate (SmootherFlow; default
// fast, as the element's temporal-flow). --write DIR saves the smoothed frames
// of the last pass there as PNGs (00000.png, ...; DIR is created): to look at
// what the smoother does at moving edges, which the metric's occlusion mask
// leaves out.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bench_common.h"
#include "neuralart/media/image_io.h"
#include "neuralart/media/temporal.h"

namespace {

using Clock = std::chrono::steady_clock;

// HWC uint8 BGRx frames of `width` x `height` from the PNGs of `dir`.
std::vector<torch::Tensor> load_frames(const std::string& dir, int width,
                                       int height) {
  std::vector<torch::Tensor> frames;
  for (const auto& path : neuralart::list_images(dir)) {
    auto rgb = neuralart::load_image_rgb(path).permute({2, 0, 1}).unsqueeze(0);
    auto scaled = torch::nn::functional::interpolate(
                      rgb.to(torch::kFloat),
                      torch::nn::functional::InterpolateFuncOptions()
                          .size(std::vector<int64_t>{height, width})
                          .mode(torch::kBilinear)
                          .align_corners(false))
                      .round()
                      .clamp(0, 255)
                      .to(torch::kUInt8)[0]
                      .permute({1, 2, 0});
    auto bgrx = torch::full({height, width, 4}, 255, torch::kUInt8);
    bgrx.select(2, 0).copy_(scaled.select(2, 2));
    bgrx.select(2, 1).copy_(scaled.select(2, 1));
    bgrx.select(2, 2).copy_(scaled.select(2, 0));
    frames.push_back(bgrx.contiguous());
  }
  return frames;
}

neuralart::FrameView view_of(torch::Tensor& bgrx) {
  return neuralart::bench::frame_view(bgrx, neuralart::PixelFormat::BGRx);
}

struct Stats {
  std::vector<double> ms;
  double mean() const {
    double s = 0;
    for (double v : ms) s += v;
    return ms.empty() ? 0 : s / ms.size();
  }
  double median() const {
    if (ms.empty()) return 0;
    auto v = ms;
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  }
};

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

constexpr const char* kUsage =
    "usage: neuralart-bench-smoother --input DIR [--stylised DIR] "
    "[--size WxH] [--amount A] [--threads N] [--passes P] [--flow fast|fine] "
    "[--write DIR]\n";

}  // namespace

int main(int argc, char** argv) {
  int width = 1280, height = 720, threads = 2, passes = 3;
  double amount = 0.6;
  std::string input_dir, stylised_dir, write_dir;
  auto flow = neuralart::SmootherFlow::kFast;
  try {
    if (!neuralart::bench::parse_flags(
            argc, argv,
            {{"--input", [&](const std::string& v) { input_dir = v; }},
             {"--stylised", [&](const std::string& v) { stylised_dir = v; }},
             {"--size",
              [&](const std::string& v) {
                if (std::sscanf(v.c_str(), "%dx%d", &width, &height) != 2 ||
                    width < 16 || height < 16)
                  throw std::invalid_argument("WxH of at least 16x16");
              }},
             {"--amount", [&](const std::string& v) { amount = std::stod(v); }},
             {"--threads",
              [&](const std::string& v) { threads = std::stoi(v); }},
             {"--passes", [&](const std::string& v) { passes = std::stoi(v); }},
             {"--flow",
              [&](const std::string& v) {
                if (v != "fast" && v != "fine")
                  throw std::invalid_argument("--flow is fast or fine");
                flow = v == "fine" ? neuralart::SmootherFlow::kFine
                                   : neuralart::SmootherFlow::kFast;
              }},
             {"--write", [&](const std::string& v) { write_dir = v; }}})) {
      std::cout << kUsage;
      return 0;
    }
    if (input_dir.empty() || passes < 1 || threads < 1)
      throw std::invalid_argument("needs --input; --passes and --threads >= 1");
  } catch (const std::invalid_argument& e) {
    std::cerr << "neuralart-bench-smoother: " << e.what() << "\n" << kUsage;
    return 2;
  }
  try {
    // As in the element: LibTorch gets `threads`; OpenCV's own loops
    // (resize, remap, DIS) use its default pool, one thread per core.
    torch::set_num_threads(threads);
    auto inputs = load_frames(input_dir, width, height);
    auto stylised = stylised_dir.empty()
                        ? inputs
                        : load_frames(stylised_dir, width, height);
    if (inputs.size() < 2 || stylised.size() != inputs.size())
      throw std::runtime_error(
          "needs at least two input frames and as many stylised ones");
    Stats observe, blend, both;
    std::vector<torch::Tensor> smoothed(inputs.size());
    for (int p = 0; p < passes; ++p) {
      neuralart::TemporalSmoother smoother;
      smoother.set_flow(flow);
      for (size_t i = 0; i < inputs.size(); ++i) {
        auto out = stylised[i].clone();
        smoothed[i] = out;
        const auto t0 = Clock::now();
        smoother.observe_input(view_of(inputs[i]));
        const double a = ms_since(t0);
        const auto t1 = Clock::now();
        smoother.blend(view_of(out), amount);
        const double b = ms_since(t1);
        if (i == 0) continue;  // nothing to blend with yet
        observe.ms.push_back(a);
        blend.ms.push_back(b);
        both.ms.push_back(a + b);
      }
    }
    double before = 0, after = 0;
    for (size_t i = 1; i < inputs.size(); ++i) {
      const auto in0 = view_of(inputs[i - 1]), in1 = view_of(inputs[i]);
      before += neuralart::warping_error(in0, in1, view_of(stylised[i - 1]),
                                         view_of(stylised[i]));
      after += neuralart::warping_error(in0, in1, view_of(smoothed[i - 1]),
                                        view_of(smoothed[i]));
    }
    if (!write_dir.empty()) {
      std::filesystem::create_directories(write_dir);
      for (size_t i = 0; i < smoothed.size(); ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "/%05zu.png", i);
        // BGRx -> RGB
        auto rgb = smoothed[i]
                       .index({"...", torch::indexing::Slice(0, 3)})
                       .flip(2)
                       .contiguous();
        neuralart::save_image_rgb(write_dir + name, rgb);
      }
    }
    const double pairs = static_cast<double>(inputs.size() - 1);
    std::cout << "{\"width\": " << width << ", \"height\": " << height
              << ", \"frames\": " << both.ms.size()
              << ", \"threads\": " << threads << ", \"flow\": \""
              << (flow == neuralart::SmootherFlow::kFine ? "fine" : "fast")
              << "\", \"amount\": " << amount
              << ", \"observe_ms\": " << observe.mean()
              << ", \"blend_ms\": " << blend.mean()
              << ", \"total_ms\": " << both.mean()
              << ", \"total_median_ms\": " << both.median()
              << ", \"warping_error_off\": " << before / pairs
              << ", \"warping_error_on\": " << after / pairs << "}\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-smoother: " << e.what() << "\n";
    return 1;
  }
}
