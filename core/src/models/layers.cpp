#include "neuralart/models/layers.h"

#include <torch/torch.h>

#include <cmath>

namespace neuralart {

torch::Tensor pixel_norm(const torch::Tensor& x, double eps) {
  return x * torch::rsqrt(x.pow(2).mean(1, /*keepdim=*/true) + eps);
}

torch::Tensor spectral_normalize(const torch::Tensor& weight, torch::Tensor& u,
                                 bool update) {
  auto w = weight.reshape({weight.size(0), -1});
  if (update) {
    torch::NoGradGuard no_grad;
    auto v = torch::nn::functional::normalize(
        torch::mv(w.t(), u),
        torch::nn::functional::NormalizeFuncOptions().dim(0).eps(1e-12));
    auto u_new = torch::nn::functional::normalize(
        torch::mv(w, v),
        torch::nn::functional::NormalizeFuncOptions().dim(0).eps(1e-12));
    u.copy_(u_new);
  }
  // Clones: the buffer changes in place on the next forward, while this
  // graph still needs the values it saw.
  torch::Tensor u_now, v;
  {
    torch::NoGradGuard no_grad;
    u_now = u.clone();
    v = torch::nn::functional::normalize(
        torch::mv(w.t(), u_now),
        torch::nn::functional::NormalizeFuncOptions().dim(0).eps(1e-12));
  }
  auto sigma = torch::dot(u_now, torch::mv(w, v));
  return weight / sigma;
}

Conv2dSNImpl::Conv2dSNImpl(const Conv2dSNOptions& opts) : options(opts) {
  auto fan_in = opts.in_channels * opts.kernel_size * opts.kernel_size;
  double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  weight = register_parameter(
      "weight", torch::empty({opts.out_channels, opts.in_channels,
                              opts.kernel_size, opts.kernel_size})
                    .uniform_(-bound * std::sqrt(3.0), bound * std::sqrt(3.0)));
  bias = register_parameter("bias", torch::zeros({opts.out_channels}));
  if (opts.spectral_norm) {
    u = register_buffer(
        "u", torch::nn::functional::normalize(
                 torch::randn({opts.out_channels}),
                 torch::nn::functional::NormalizeFuncOptions().dim(0)));
  }
}

torch::Tensor Conv2dSNImpl::effective_weight() {
  if (!options.spectral_norm) return weight;
  return spectral_normalize(weight, u, is_training());
}

torch::Tensor Conv2dSNImpl::forward(const torch::Tensor& x) {
  return torch::conv2d(x, effective_weight(), bias, options.stride,
                       options.padding);
}

LinearSNImpl::LinearSNImpl(int64_t in_features, int64_t out_features, bool sn)
    : spectral_norm(sn) {
  double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight = register_parameter(
      "weight", torch::empty({out_features, in_features})
                    .uniform_(-bound * std::sqrt(3.0), bound * std::sqrt(3.0)));
  bias = register_parameter("bias", torch::zeros({out_features}));
  if (spectral_norm) {
    u = register_buffer(
        "u", torch::nn::functional::normalize(
                 torch::randn({out_features}),
                 torch::nn::functional::NormalizeFuncOptions().dim(0)));
  }
}

torch::Tensor LinearSNImpl::effective_weight() {
  if (!spectral_norm) return weight;
  return spectral_normalize(weight, u, is_training());
}

torch::Tensor LinearSNImpl::forward(const torch::Tensor& x) {
  return torch::linear(x, effective_weight(), bias);
}

}  // namespace neuralart
