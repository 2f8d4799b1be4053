// neuralart-bench-style-eval: scores restyled images with one fixed
// evaluation network, so that results made with different loss networks
// (VGG-19, the built-in random one) and methods (Gatys, feed-forward) are
// compared on one scale (docs/style.md).
//
//   neuralart-bench-style-eval --loss-net vgg19:PATH/model.json
//       --content C.jpg --style S.jpg --size 256 IMAGE...
//
// Prints one JSON line per IMAGE: its content loss against C (relu2_2) and
// style loss against S (relu1_1, relu2_1, relu3_1; one pyramid level), both
// normalised MSEs as in training, and its style ratio: the style loss over
// the untouched photo C's (below 1: closer to the painting than the photo
// was; lower is more stylised), and its spectral peak: the strongest
// frequency of the grey image's power spectrum outside the lowest 8 % of
// frequencies, over the mean power of its frequency ring, in dB (a regular
// stripe or checkerboard pattern is a few frequencies far above their
// ring). IMAGE is resized to C's size.
#include <torch/torch.h>

// After torch.h: LibTorch 1.13's fft.h does not include what it uses.
#include <torch/fft.h>

#include <cmath>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "neuralart/media/image_io.h"
#include "neuralart/train/loss_net.h"

namespace {

// Peak over median of the power spectrum above the lowest frequencies, dB.
double spectral_peak_db(const torch::Tensor& rgb255) {
  auto grey = rgb255[0].mean(0);  // [H, W]
  const int64_t h = grey.size(0), w = grey.size(1);
  // A Hann window: the frame's edges would otherwise put a bright cross on
  // the axes of every spectrum.
  auto window = torch::hann_window(h, false).view({h, 1}) *
                torch::hann_window(w, false).view({1, w});
  grey = (grey - grey.mean()) * window;
  auto power = torch::fft::fft2(grey).abs().pow(2);
  auto fy = torch::fft::fftfreq(h).view({h, 1}).expand({h, w});
  auto fx = torch::fft::fftfreq(w).view({1, w}).expand({h, w});
  auto radius = (fy.pow(2) + fx.pow(2)).sqrt();
  // Power falls with frequency in every natural image: compare each
  // frequency with the mean power of its ring (1/min(H, W) wide).
  auto ring = (radius * static_cast<double>(std::min(h, w)))
                  .round()
                  .to(torch::kLong)
                  .flatten();
  const int64_t rings = ring.max().item<int64_t>() + 1;
  auto flat = power.flatten();
  auto sum = torch::zeros({rings}).scatter_add_(0, ring, flat);
  auto count =
      torch::zeros({rings}).scatter_add_(0, ring, torch::ones_like(flat));
  auto ring_mean = (sum / count.clamp_min(1)).index_select(0, ring);
  auto ratio = (flat / ring_mean.clamp_min(1e-12))
                   .masked_select(radius.flatten() > 0.08);
  return 10.0 * std::log10(ratio.max().item<double>());
}

}  // namespace

int main(int argc, char** argv) {
  std::string net_spec = "random", content, style;
  int size = 256;
  std::vector<std::string> images;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--loss-net")
        net_spec = next();
      else if (a == "--content")
        content = next();
      else if (a == "--style")
        style = next();
      else if (a == "--size")
        size = std::stoi(next());
      else if (a == "--help") {
        std::cout << "usage: neuralart-bench-style-eval [--loss-net SPEC] "
                     "--content C --style S [--size 256] IMAGE...\n";
        return 0;
      } else
        images.push_back(a);
    } catch (const std::exception& e) {
      std::cerr << "neuralart-bench-style-eval: " << e.what() << "\n";
      return 2;
    }
  }
  if (content.empty() || style.empty() || images.empty()) {
    std::cerr << "neuralart-bench-style-eval: --content, --style and at least "
                 "one IMAGE are required (--help)\n";
    return 2;
  }
  try {
    torch::NoGradGuard no_grad;
    neuralart::StyleLossConfig cfg;
    cfg.content_layers = {"relu2_2"};
    cfg.style_layers = {"relu1_1", "relu2_1", "relu3_1"};
    cfg.pyramid_levels = 1;
    std::vector<std::string> layers = cfg.style_layers;
    layers.push_back("relu2_2");
    auto net = neuralart::make_loss_net(net_spec, layers);
    auto c = neuralart::load_image_tensor(content, size);
    auto s = neuralart::load_image_tensor(style, size);
    const auto targets = neuralart::style_targets(*net, s, cfg);
    const auto c_feat = net->features(c, cfg.content_layers);
    const double photo_style =
        neuralart::style_loss(*net, c, targets, cfg).item<double>();
    for (const auto& path : images) {
      auto x = neuralart::load_image_tensor(path, 0);
      x = torch::upsample_bilinear2d(x, {c.size(2), c.size(3)}, false);
      const double cl =
          neuralart::content_loss(net->features(x, cfg.content_layers), c_feat)
              .item<double>();
      const double sl =
          neuralart::style_loss(*net, x, targets, cfg).item<double>();
      std::cout << "{\"image\": \"" << path << "\", \"eval_net\": \""
                << net->spec() << "\", \"content_loss\": " << cl
                << ", \"style_loss\": " << sl
                << ", \"style_ratio\": " << sl / photo_style
                << ", \"spectral_peak_db\": " << spectral_peak_db(x) << "}"
                << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-style-eval: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
