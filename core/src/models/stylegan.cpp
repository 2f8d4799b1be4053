#include "neuralart/models/stylegan.h"

#include <torch/torch.h>

#include <cmath>

#include "neuralart/models/dcgan.h"

namespace neuralart {
namespace {

constexpr double kLreluSlope = 0.2;
const double kActGain = std::sqrt(2.0);  // keeps lrelu's output variance
constexpr double kMappingLrMul = 0.01;   // StyleGAN's mapping multiplier
constexpr double kWAvgBeta = 0.995;

torch::Tensor lrelu_gain(const torch::Tensor& x) {
  return torch::leaky_relu(x, kLreluSlope) * kActGain;
}

}  // namespace

EqualLinearImpl::EqualLinearImpl(int64_t in, int64_t out, double bias_init,
                                 double lr_mul, bool activate)
    : weight_gain_(lr_mul / std::sqrt(double(in))),
      bias_gain_(lr_mul),
      activate_(activate) {
  weight = register_parameter("weight", torch::randn({out, in}) / lr_mul);
  bias = register_parameter("bias", torch::full({out}, bias_init / lr_mul));
}

torch::Tensor EqualLinearImpl::forward(const torch::Tensor& x) {
  auto y = torch::addmm(bias * bias_gain_, x, (weight * weight_gain_).t());
  return activate_ ? lrelu_gain(y) : y;
}

ModulatedConvImpl::ModulatedConvImpl(int64_t in, int64_t out, int64_t kernel,
                                     int64_t w_dim, int64_t resolution,
                                     bool synthesis_layer, bool upsample)
    : resolution_(resolution),
      synthesis_layer_(synthesis_layer),
      upsample_(upsample) {
  affine = register_module("affine", EqualLinear(w_dim, in, 1.0));
  weight =
      register_parameter("weight", torch::randn({out, in, kernel, kernel}));
  bias = register_parameter("bias", torch::zeros({out}));
  if (synthesis_layer_) {
    noise_strength = register_parameter("noise_strength", torch::zeros({}));
    noise_const =
        register_buffer("noise_const", torch::randn({resolution, resolution}));
  }
}

torch::Tensor ModulatedConvImpl::forward(torch::Tensor x,
                                         const torch::Tensor& w,
                                         at::Generator* noise) {
  const auto n = x.size(0);
  auto styles = affine->forward(w);  // [N, in]
  const int64_t k = weight.size(2);
  if (!synthesis_layer_) styles = styles / std::sqrt(double(x.size(1) * k * k));
  if (upsample_)
    x = torch::upsample_bilinear2d(x, {x.size(2) * 2, x.size(3) * 2}, false);
  torch::Tensor demod;  // each output channel back to unit variance
  if (synthesis_layer_) {
    auto w2 = weight.square().sum({2, 3});  // [out, in]
    demod = torch::rsqrt(torch::matmul(styles.square(), w2.t()) + 1e-8);
  }
  if (n == 1 && !is_training() && !noise)
    return forward_single(x, styles, demod);
  x = x * styles.view({n, -1, 1, 1});
  x = torch::conv2d(x, weight, {}, 1, k / 2);
  if (!synthesis_layer_) return x + bias.view({1, -1, 1, 1});
  x = x * demod.view({n, -1, 1, 1});
  auto per_pixel = noise
                       ? torch::randn({n, 1, resolution_, resolution_}, *noise)
                             .to(x.device(), x.scalar_type())
                       : noise_const.view({1, 1, resolution_, resolution_});
  x = x + per_pixel * noise_strength;
  return lrelu_gain(x + bias.view({1, -1, 1, 1}));
}

torch::Tensor ModulatedConvImpl::forward_single(const torch::Tensor& x,
                                                const torch::Tensor& styles,
                                                const torch::Tensor& demod) {
  // One image: styles, demodulation and the activation gain folded into
  // the weights (a plain convolution, not a grouped one), two passes over
  // the activations instead of six.
  auto w = weight * styles.view({1, -1, 1, 1});
  if (!synthesis_layer_)
    return torch::conv2d(x, w, bias, 1, weight.size(2) / 2);
  w = w * (demod.view({-1, 1, 1, 1}) * kActGain);
  auto y = torch::conv2d(x, w, bias * kActGain, 1, weight.size(2) / 2);
  y.add_(noise_const.view({1, 1, resolution_, resolution_}) *
         (noise_strength * kActGain));
  return torch::leaky_relu_(y, kLreluSlope);
}

StyleGANGeneratorImpl::StyleGANGeneratorImpl(const DCGANOptions& options)
    : latent_dim_(options.latent_dim),
      w_dim_(options.w_dim),
      channels_(options.channels),
      rgb_last_(options.rgb_output == "last") {
  mapping_layers = register_module("mapping", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.mapping_layers; ++i)
    mapping_layers->push_back(EqualLinear(i == 0 ? latent_dim_ : w_dim_, w_dim_,
                                          0.0, kMappingLrMul, true));
  w_avg_ = register_buffer("w_avg", torch::zeros({w_dim_}));
  const auto scales = options.scales();
  const_input =
      register_parameter("const", torch::randn({options.width_at(4), 4, 4}));
  convs = register_module("convs", torch::nn::ModuleList());
  to_rgb = register_module("to_rgb", torch::nn::ModuleList());
  for (size_t i = 0; i < scales.size(); ++i) {
    const auto r = scales[i], out = options.width_at(r);
    if (i == 0) {
      convs->push_back(ModulatedConv(out, out, 3, w_dim_, r, true, false));
    } else {
      const auto in = options.width_at(scales[i - 1]);
      convs->push_back(ModulatedConv(in, out, 3, w_dim_, r, true, true));
      convs->push_back(ModulatedConv(out, out, 3, w_dim_, r, true, false));
    }
    if (!rgb_last_ || i + 1 == scales.size())
      to_rgb->push_back(
          ModulatedConv(out, channels_, 1, w_dim_, r, false, false));
  }
  num_ws_ = int64_t(convs->size()) + 1;  // RGB layers share the next conv's
}

torch::Tensor StyleGANGeneratorImpl::mapping(const torch::Tensor& z_in) {
  auto z = z_in.dim() == 4 ? z_in.flatten(1) : z_in;
  TORCH_CHECK(z.dim() == 2 && z.size(1) == latent_dim_,
              "generator expects z of shape [N, ", latent_dim_, "], got ",
              z_in.sizes());
  auto x = z * torch::rsqrt(z.square().mean(1, true) + 1e-8);
  for (auto& layer : *mapping_layers) x = layer->as<EqualLinear>()->forward(x);
  if (is_training()) {
    torch::NoGradGuard no_grad;
    w_avg_.copy_(
        torch::lerp(x.detach().mean(0).to(w_avg_.dtype()), w_avg_, kWAvgBeta));
  }
  return x;
}

torch::Tensor StyleGANGeneratorImpl::broadcast(const torch::Tensor& w) const {
  return w.unsqueeze(1).expand({-1, num_ws_, -1});
}

torch::Tensor StyleGANGeneratorImpl::truncate(const torch::Tensor& w,
                                              double psi) const {
  if (psi == 1.0) return w;
  return torch::lerp(w_avg_.to(w.dtype()), w, psi);
}

torch::Tensor StyleGANGeneratorImpl::synthesis(const torch::Tensor& ws,
                                               at::Generator* noise) {
  TORCH_CHECK(ws.dim() == 3 && ws.size(1) == num_ws_ && ws.size(2) == w_dim_,
              "synthesis expects ws of shape [N, ", num_ws_, ", ", w_dim_,
              "], got ", ws.sizes());
  const auto n = ws.size(0);
  auto x = const_input.unsqueeze(0).expand({n, -1, -1, -1});
  torch::Tensor image;
  int64_t layer = 0;
  const size_t blocks = (convs->size() + 1) / 2;
  for (size_t block = 0; block < blocks; ++block) {
    for (int i = 0; i < (block == 0 ? 1 : 2); ++i, ++layer)
      x = convs[layer]->as<ModulatedConv>()->forward(x, ws.select(1, layer),
                                                     noise);
    if (rgb_last_ && block + 1 < blocks) continue;
    auto rgb = to_rgb[rgb_last_ ? 0 : block]->as<ModulatedConv>()->forward(
        x, ws.select(1, layer), nullptr);
    image = image.defined() ? torch::upsample_bilinear2d(
                                  image, {rgb.size(2), rgb.size(3)}, false) +
                                  rgb
                            : rgb;
  }
  return is_training() ? image : image.clamp(-1.0, 1.0);
}

torch::Tensor StyleGANGeneratorImpl::forward(const torch::Tensor& z) {
  return synthesis(broadcast(mapping(z)));
}

}  // namespace neuralart
