#include "neuralart/models/layers.h"

#include <ATen/record_function.h>

#include <torch/torch.h>

#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>

namespace neuralart {

namespace {

// Reflection padding of a channels-last CPU batch: one memcpy per run of
// pixels (LibTorch 1.13's reflection_pad2d has no channels-last or bf16
// CPU kernel, so it converted layouts and dtypes around every layer).
torch::Tensor reflection_pad_channels_last(const torch::Tensor& x,
                                           int64_t pad) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  TORCH_CHECK(pad < h && pad < w, "reflection padding ", pad,
              " needs a frame larger than ", pad, " pixels, got ", h, "x", w);
  const int64_t oh = h + 2 * pad, ow = w + 2 * pad;
  auto out =
      torch::empty({n, c, oh, ow},
                   x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const int64_t pix = c * static_cast<int64_t>(x.element_size());
  const auto* src = static_cast<const uint8_t*>(x.data_ptr());
  auto* dst = static_cast<uint8_t*>(out.data_ptr());
  at::parallel_for(0, n * oh, 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t b = r / oh;
      int64_t ih = r % oh - pad;
      if (ih < 0) ih = -ih;
      if (ih >= h) ih = 2 * (h - 1) - ih;
      const uint8_t* srow = src + (b * h + ih) * w * pix;
      uint8_t* drow = dst + r * ow * pix;
      for (int64_t j = 0; j < pad; ++j)  // column j-pad reflects to pad-j
        std::memcpy(drow + j * pix, srow + (pad - j) * pix, pix);
      std::memcpy(drow + pad * pix, srow, w * pix);
      for (int64_t j = 0; j < pad; ++j)  // column w+j reflects to w-2-j
        std::memcpy(drow + (pad + w + j) * pix, srow + (w - 2 - j) * pix, pix);
    }
  });
  return out;
}

// The same as an autograd function, for training: the gradient of the
// padded border folds back onto the pixels it was copied from.
struct ReflectionPadChannelsLast
    : public torch::autograd::Function<ReflectionPadChannelsLast> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx,
                               const torch::Tensor& x, int64_t pad) {
    ctx->saved_data["pad"] = pad;
    ctx->saved_data["h"] = x.size(2);
    ctx->saved_data["w"] = x.size(3);
    return reflection_pad_channels_last(x, pad);
  }

  static torch::autograd::tensor_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::tensor_list grads) {
    const int64_t p = ctx->saved_data["pad"].toInt();
    const int64_t h = ctx->saved_data["h"].toInt();
    const int64_t w = ctx->saved_data["w"].toInt();
    const auto& g = grads[0];
    auto cols = g.narrow(3, p, w).contiguous(at::MemoryFormat::ChannelsLast);
    // Output column j < p came from input column p - j; output column
    // p + w + j from input column w - 2 - j.
    cols.narrow(3, 1, p).add_(g.narrow(3, 0, p).flip({3}));
    cols.narrow(3, w - 1 - p, p).add_(g.narrow(3, p + w, p).flip({3}));
    auto rows = cols.narrow(2, p, h).contiguous(at::MemoryFormat::ChannelsLast);
    rows.narrow(2, 1, p).add_(cols.narrow(2, 0, p).flip({2}));
    rows.narrow(2, h - 1 - p, p).add_(cols.narrow(2, p + h, p).flip({2}));
    return {rows, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor reflection_pad(const torch::Tensor& x, int64_t pad) {
  if (pad == 0) return x;
  RECORD_FUNCTION("neuralart::reflection_pad", std::vector<c10::IValue>());
  const bool channels_last_cpu =
      x.is_cpu() && x.dim() == 4 &&
      x.is_contiguous(at::MemoryFormat::ChannelsLast);
  if (channels_last_cpu) {
    if (torch::GradMode::is_enabled() && x.requires_grad())
      return ReflectionPadChannelsLast::apply(x, pad);
    return reflection_pad_channels_last(x, pad);
  }
  if (x.dim() == 4 && !x.is_cpu() &&
      x.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    // GPU, channels-last: pad H and W of the NHWC view with
    // reflection_pad3d (C padded by 0), which keeps the layout.
    auto nhwc = x.permute({0, 2, 3, 1}).unsqueeze(1);  // [N, 1, H, W, C]
    return torch::reflection_pad3d(nhwc, {0, 0, pad, pad, pad, pad})
        .squeeze(1)
        .permute({0, 3, 1, 2});
  }
  return torch::reflection_pad2d(x, {pad, pad, pad, pad});
}

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
