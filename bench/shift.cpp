// neuralart-bench-shift: how much a style model's output changes when its
// input moves by a few pixels, beyond moving with it (docs/elements.md,
// "The shift test"). A camera that pans by one pixel should move the
// painted texture by one pixel; a network whose texture depends on where
// the content falls on its stride grid paints a different texture
// instead, and that is flicker in video.
//
//   neuralart-bench-shift --model BUNDLE [--style I] [--shifts 1,2,3,4,8]
//                         [--threads N] IMAGE...
//
// For each image and each shift d: the network (fp32) restyles the image
// cropped at x = 0 and at x = d (then y = 0 and y = d), the two outputs are
// aligned, and the RMSE (values in [0, 1]) between them is taken away from
// a 16-pixel border. Prints one JSON line per shift with the mean over
// images and both directions. A shift-equivariant network scores ~0 at
// every d; the reference layout (two stride-2 convolutions) scores ~0 only
// at multiples of 4 (8 with the pixel-shuffle stem).
#include <torch/torch.h>

#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "neuralart/media/image_io.h"
#include "neuralart/models/load.h"

namespace {

constexpr int64_t kMargin = 16;  // pixels left out at each border
constexpr int64_t kMaxShift = 16;

// RMSE between net(x shifted by d along `dim`) and net(x) shifted by d.
double shift_rmse(neuralart::StyleNetImpl& net, const torch::Tensor& x,
                  const torch::Tensor& mix, int64_t d, int64_t dim,
                  double scale) {
  const int64_t n = x.size(dim) - kMaxShift;
  auto a = net.forward(x.narrow(dim, 0, n), mix).narrow(dim, d, n - d);
  auto b = net.forward(x.narrow(dim, d, n), mix).narrow(dim, 0, n - d);
  auto interior = [&](const torch::Tensor& t) {
    return t.narrow(2, kMargin, t.size(2) - 2 * kMargin)
        .narrow(3, kMargin, t.size(3) - 2 * kMargin);
  };
  return ((interior(a) - interior(b)) / scale)
      .pow(2)
      .mean()
      .sqrt()
      .item<double>();
}

std::vector<int64_t> parse_shifts(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    const int64_t d = std::stoll(item);
    if (d < 1 || d > kMaxShift)
      throw std::invalid_argument("--shifts: each shift is in [1, 16], got " +
                                  item);
    out.push_back(d);
  }
  if (out.empty()) throw std::invalid_argument("--shifts is empty");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const char* usage =
      "usage: neuralart-bench-shift --model BUNDLE [--style I] "
      "[--shifts 1,2,3,4,8] [--threads N] IMAGE...\n";
  std::string model;
  int64_t style = 0;
  int threads = 2;
  std::vector<int64_t> shifts{1, 2, 3, 4, 8};
  std::vector<std::string> images;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--help" || a == "-h") {
        std::cout << usage;
        return 0;
      } else if (a == "--model") {
        model = value();
      } else if (a == "--style") {
        style = std::stoll(value());
      } else if (a == "--shifts") {
        shifts = parse_shifts(value());
      } else if (a == "--threads") {
        threads = std::stoi(value());
      } else if (!a.empty() && a[0] == '-') {
        throw std::invalid_argument("unknown option " + a);
      } else {
        images.push_back(a);
      }
    }
    if (model.empty() || images.empty() || threads < 1)
      throw std::invalid_argument("needs --model and at least one IMAGE");
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-shift: " << e.what() << "\n" << usage;
    return 2;
  }
  try {
    torch::set_num_threads(threads);
    torch::NoGradGuard no_grad;
    auto net = neuralart::load_style_net(model);
    net->eval();
    const double scale = net->options().value_range == "byte" ? 255.0 : 1.0;
    const auto mix = net->one_hot(style);
    std::vector<double> sum(shifts.size(), 0.0);
    for (const auto& path : images) {
      auto x = neuralart::load_image_tensor(path) * (scale / 255.0);
      if (x.size(2) < 4 * kMaxShift || x.size(3) < 4 * kMaxShift)
        throw std::runtime_error(path + ": needs at least 64x64 pixels");
      for (size_t k = 0; k < shifts.size(); ++k)
        for (int64_t dim : {3, 2})
          sum[k] += shift_rmse(*net, x, mix, shifts[k], dim, scale) / 2;
    }
    for (size_t k = 0; k < shifts.size(); ++k)
      std::cout << "{\"model\": \"" << model << "\", \"shift\": " << shifts[k]
                << ", \"images\": " << images.size()
                << ", \"rmse\": " << sum[k] / images.size() << "}\n";
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-shift: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
