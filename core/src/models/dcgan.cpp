#include "neuralart/models/dcgan.h"

#include <torch/torch.h>

#include <algorithm>

#include "neuralart/error.h"
#include "neuralart/util/json_int.h"

namespace neuralart {
namespace {

bool is_power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

constexpr double kLeak = 0.2;

}  // namespace

int64_t DCGANOptions::width_at(int64_t r) const {
  // Classic DCGAN 64x64: 512 at 4x4, 256 at 8, 128 at 16, 64 at 32.
  int64_t w = base_width * (resolution / r) / 2;
  return std::clamp<int64_t>(w, 8, max_width);
}

std::vector<int64_t> DCGANOptions::scales() const {
  std::vector<int64_t> s;
  for (int64_t r = 4; r <= resolution; r *= 2) s.push_back(r);
  return s;
}

void DCGANOptions::validate() const {
  if (arch != "dcgan" && arch != "stylegan")
    throw InvalidArgument("arch '" + arch + "' must be dcgan or stylegan");
  if (latent_dim < 1 || latent_dim > 4096)
    throw InvalidArgument("latent_dim " + std::to_string(latent_dim) +
                          " is out of range [1, 4096]");
  if (!is_power_of_two(resolution) || resolution < 32 || resolution > 1024)
    throw InvalidArgument("resolution " + std::to_string(resolution) +
                          " must be a power of two in [32, 1024]");
  if (channels != 1 && channels != 3)
    throw InvalidArgument("channels " + std::to_string(channels) +
                          " must be 1 or 3");
  if (base_width < 8 || base_width > 1024)
    throw InvalidArgument("base_width " + std::to_string(base_width) +
                          " is out of range [8, 1024]");
  if (max_width < 8 || max_width > 2048)
    throw InvalidArgument("max_width " + std::to_string(max_width) +
                          " is out of range [8, 2048]");
  if (g_norm != "pixel" && g_norm != "batch" && g_norm != "none")
    throw InvalidArgument("g_norm '" + g_norm +
                          "' must be one of pixel, batch, none");
  if (d_arch != "dcgan" && d_arch != "residual")
    throw InvalidArgument("d_arch '" + d_arch + "' must be dcgan or residual");
  if (d_arch == "residual" && multiscale)
    throw InvalidArgument(
        "d_arch residual does not read every scale: leave out multiscale");
  if (!is_stylegan()) return;
  if (w_dim < 1 || w_dim > 2048)
    throw InvalidArgument("w_dim " + std::to_string(w_dim) +
                          " is out of range [1, 2048]");
  if (mapping_layers < 1 || mapping_layers > 8)
    throw InvalidArgument("mapping_layers " + std::to_string(mapping_layers) +
                          " is out of range [1, 8]");
  if (rgb_output != "skip" && rgb_output != "last")
    throw InvalidArgument("rgb_output '" + rgb_output +
                          "' must be skip or last");
  if (multiscale)
    throw InvalidArgument(
        "multiscale is not available with stylegan (it has its own RGB "
        "outputs: rgb_output)");
}

nlohmann::json DCGANOptions::to_json() const {
  auto j = arch_json();
  // Only when not the default, so that files of the default architecture
  // keep exactly the keys they had before the option.
  if (d_arch != "dcgan") j["d_arch"] = d_arch;
  return j;
}

nlohmann::json DCGANOptions::arch_json() const {
  if (is_stylegan())
    return {{"name", "stylegan"},
            {"latent_dim", latent_dim},
            {"w_dim", w_dim},
            {"mapping_layers", mapping_layers},
            {"rgb_output", rgb_output},
            {"base_width", base_width},
            {"max_width", max_width},
            {"resolution", resolution},
            {"channels", channels},
            {"spectral_norm", spectral_norm},
            {"minibatch_std", minibatch_std}};
  return {{"name", "dcgan"},
          {"latent_dim", latent_dim},
          {"base_width", base_width},
          {"max_width", max_width},
          {"resolution", resolution},
          {"channels", channels},
          {"g_norm", g_norm},
          {"spectral_norm", spectral_norm},
          {"minibatch_std", minibatch_std},
          {"multiscale", multiscale}};
}

DCGANOptions DCGANOptions::from_json(const nlohmann::json& j) {
  if (!j.is_object())
    throw InvalidArgument("architecture is not a JSON object");
  DCGANOptions o;
  try {
    o.arch = j.value("name", std::string());
    if (o.arch != "dcgan" && o.arch != "stylegan")
      throw InvalidArgument("architecture name '" + o.arch +
                            "' is not 'dcgan' or 'stylegan'");
    if (o.is_stylegan()) {
      o.w_dim = json_int(j.at("w_dim"), "stylegan w_dim");
      o.mapping_layers =
          json_int(j.at("mapping_layers"), "stylegan mapping_layers");
      // Bundles from before the option: skip outputs.
      o.rgb_output = j.value("rgb_output", o.rgb_output);
    }
    o.latent_dim = json_int(j.at("latent_dim"), o.arch + " latent_dim");
    o.base_width = json_int(j.at("base_width"), o.arch + " base_width");
    if (j.contains("max_width"))
      o.max_width = json_int(j.at("max_width"), o.arch + " max_width");
    o.resolution = json_int(j.at("resolution"), o.arch + " resolution");
    o.channels = json_int(j.at("channels"), o.arch + " channels");
    o.g_norm = j.value("g_norm", o.g_norm);
    o.spectral_norm = j.value("spectral_norm", o.spectral_norm);
    o.minibatch_std = j.value("minibatch_std", o.minibatch_std);
    o.multiscale = j.value("multiscale", o.multiscale);
    o.d_arch = j.value("d_arch", o.d_arch);  // older files: dcgan
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(o.arch + " architecture: " + e.what());
  }
  o.validate();
  return o;
}

DCGANGeneratorImpl::DCGANGeneratorImpl(const DCGANOptions& options)
    : options_(options) {
  options_.validate();
  if (options_.is_stylegan()) {
    stylegan_ = register_module("stylegan", StyleGANGenerator(options_));
    return;
  }
  const auto scales = options_.scales();
  fc = register_module("fc", torch::nn::Linear(options_.latent_dim,
                                               options_.width_at(4) * 4 * 4));
  convs = register_module("convs", torch::nn::ModuleList());
  norms = register_module("norms", torch::nn::ModuleList());
  to_rgb = register_module("to_rgb", torch::nn::ModuleList());
  const bool batch = options_.g_norm == "batch";
  if (batch) norms->push_back(torch::nn::BatchNorm2d(options_.width_at(4)));
  for (size_t i = 1; i < scales.size(); ++i) {
    auto in = options_.width_at(scales[i - 1]);
    auto out = options_.width_at(scales[i]);
    convs->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
    if (batch) norms->push_back(torch::nn::BatchNorm2d(out));
  }
  for (size_t i = 0; i < scales.size(); ++i) {
    bool last = i + 1 == scales.size();
    if (!last && !options_.multiscale) continue;
    to_rgb->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(options_.width_at(scales[i]),
                                 options_.channels, last ? 3 : 1)
            .padding(last ? 1 : 0)));
  }
}

torch::Tensor DCGANGeneratorImpl::activate(torch::Tensor x, size_t norm_index) {
  if (options_.g_norm == "batch") {
    x = norms[norm_index]->as<torch::nn::BatchNorm2d>()->forward(x);
  } else if (options_.g_norm == "pixel") {
    x = pixel_norm(x);
  }
  return torch::leaky_relu(x, kLeak);
}

std::vector<torch::Tensor> DCGANGeneratorImpl::forward_multiscale(
    torch::Tensor z) {
  if (stylegan_) return {stylegan_->forward(z)};
  if (z.dim() == 4) z = z.flatten(1);
  TORCH_CHECK(z.dim() == 2 && z.size(1) == options_.latent_dim,
              "generator expects z of shape [N, ", options_.latent_dim,
              "], got ", z.sizes());
  auto x = fc->forward(z).view({z.size(0), options_.width_at(4), 4, 4});
  x = activate(x, 0);
  std::vector<torch::Tensor> images;
  size_t rgb = 0;
  if (options_.multiscale)
    images.push_back(
        torch::tanh(to_rgb[rgb++]->as<torch::nn::Conv2d>()->forward(x)));
  for (size_t i = 0; i < convs->size(); ++i) {
    x = torch::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
    x = activate(convs[i]->as<torch::nn::Conv2d>()->forward(x), i + 1);
    bool last = i + 1 == convs->size();
    if (options_.multiscale || last)
      images.push_back(
          torch::tanh(to_rgb[rgb++]->as<torch::nn::Conv2d>()->forward(x)));
  }
  return images;
}

torch::Tensor DCGANGeneratorImpl::forward(torch::Tensor z) {
  return forward_multiscale(std::move(z)).back();
}

torch::Tensor minibatch_stddev(const torch::Tensor& x, int64_t group) {
  const auto n = x.size(0);
  int64_t g = std::min<int64_t>(group, n);
  while (n % g != 0) --g;
  auto y = x.view({g, n / g, x.size(1), x.size(2), x.size(3)});
  y = (y - y.mean(0, true)).pow(2).mean(0);   // [n/g, C, H, W]
  y = torch::sqrt(y + 1e-8).mean({1, 2, 3});  // [n/g]
  y = y.view({-1, 1, 1, 1}).repeat({g, 1, x.size(2), x.size(3)});
  return torch::cat({x, y}, 1);
}

DCGANDiscriminatorImpl::DCGANDiscriminatorImpl(const DCGANOptions& options)
    : options_(options) {
  options_.validate();
  convs = register_module("convs", torch::nn::ModuleList());
  const bool sn = options_.spectral_norm;
  // Under MSG-GAN each scale below the top also receives the image at that
  // scale, concatenated to the features.
  const int64_t extra = options_.multiscale ? options_.channels : 0;
  int64_t in = options_.channels;
  if (options_.d_arch == "residual") {
    // Per resolution: a residual block of two 3x3 convolutions (the second
    // zero-initialised without spectral norm, so each block starts as the
    // identity: R3GAN's fix-up), then a 1x1 transition to the next width.
    in = options_.width_at(options_.resolution);
    stem = register_module(
        "stem", Conv2dSN(Conv2dSNOptions{options_.channels, in, 1, 1, 0, sn}));
    for (int64_t r = options_.resolution; r > 4; r /= 2) {
      const int64_t out = options_.width_at(r / 2);
      convs->push_back(Conv2dSN(Conv2dSNOptions{in, in, 3, 1, 1, sn}));
      Conv2dSN second(Conv2dSNOptions{in, in, 3, 1, 1, sn});
      if (!sn) {
        torch::NoGradGuard no_grad;
        second->weight.zero_();
      }
      convs->push_back(second);
      convs->push_back(Conv2dSN(Conv2dSNOptions{in, out, 1, 1, 0, sn}));
      in = out;
    }
  } else {
    for (int64_t r = options_.resolution; r > 4; r /= 2) {
      int64_t out = options_.width_at(r / 2);
      convs->push_back(Conv2dSN(Conv2dSNOptions{in, out, 4, 2, 1, sn}));
      in = out + extra;
    }
  }
  if (options_.minibatch_std) in += 1;
  const int64_t features = options_.width_at(4);
  fc = register_module("fc", LinearSN(in * 4 * 4, features, sn));
  out = register_module("out", LinearSN(features, 1, sn));
}

torch::Tensor DCGANDiscriminatorImpl::head(torch::Tensor x) {
  if (options_.minibatch_std) x = minibatch_stddev(x);
  x = torch::leaky_relu(fc->forward(x.flatten(1)), kLeak);
  return out->forward(x).view({-1});
}

torch::Tensor DCGANDiscriminatorImpl::forward(const torch::Tensor& image) {
  TORCH_CHECK(!options_.multiscale,
              "a multiscale discriminator needs forward_multiscale()");
  TORCH_CHECK(image.dim() == 4 && image.size(1) == options_.channels &&
                  image.size(2) == options_.resolution &&
                  image.size(3) == options_.resolution,
              "discriminator expects [N, ", options_.channels, ", ",
              options_.resolution, ", ", options_.resolution, "], got ",
              image.sizes());
  auto x = image;
  if (options_.d_arch == "residual") {
    x = stem->forward(x);
    for (size_t i = 0; i < convs->size(); i += 3) {
      auto h = torch::leaky_relu(x, kLeak);
      h = convs[i]->as<Conv2dSN>()->forward(h);
      h = convs[i + 1]->as<Conv2dSN>()->forward(torch::leaky_relu(h, kLeak));
      x = torch::avg_pool2d(x + h, 2);
      x = convs[i + 2]->as<Conv2dSN>()->forward(x);
    }
    return head(torch::leaky_relu(x, kLeak));
  }
  for (auto& conv : *convs)
    x = torch::leaky_relu(conv->as<Conv2dSN>()->forward(x), kLeak);
  return head(x);
}

torch::Tensor DCGANDiscriminatorImpl::forward_multiscale(
    const std::vector<torch::Tensor>& images) {
  TORCH_CHECK(options_.multiscale && images.size() == options_.scales().size(),
              "forward_multiscale expects one image per scale");
  auto x = images.back();
  size_t k = images.size() - 1;
  for (auto& conv : *convs) {
    x = torch::leaky_relu(conv->as<Conv2dSN>()->forward(x), kLeak);
    x = torch::cat({x, images[--k]}, 1);
  }
  return head(x);
}

}  // namespace neuralart
