// Building blocks shared by the model families.
#pragma once

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace neuralart {

// While alive, autocast is off on this thread: what runs here keeps the
// dtype of its inputs (fp32 losses, Gram matrices and affine parameters
// inside a bf16 training step).
class NoAutocast {
 public:
  NoAutocast()
      : guard_(c10::DispatchKeySet(
            {c10::DispatchKey::AutocastCPU, c10::DispatchKey::AutocastCUDA})) {}

 private:
  c10::impl::ExcludeDispatchKeyGuard guard_;
};

// Normalises each pixel's feature vector to unit length (ProGAN). Has no
// batch-dependent behaviour, so one frame looks like a batch of frames.
torch::Tensor pixel_norm(const torch::Tensor& x, double eps = 1e-8);

// Reflection padding by `pad` pixels on all four sides. CPU tensors in
// channels-last layout (any dtype, bf16 included, which LibTorch 1.13's
// reflection_pad2d lacks) are padded by one pass of row copies that keeps
// the layout, with a gradient when training; anything else goes to
// torch::reflection_pad2d.
torch::Tensor reflection_pad(const torch::Tensor& x, int64_t pad);

// 2-D convolution with optional spectral normalisation (Miyato et al.
// 2018). LibTorch has no spectral_norm; this keeps the power-iteration
// vector `u` as a buffer, updated once per training forward.
struct Conv2dSNOptions {
  int64_t in_channels, out_channels, kernel_size;
  int64_t stride = 1;
  int64_t padding = 0;
  bool spectral_norm = false;
};

class Conv2dSNImpl : public torch::nn::Module {
 public:
  explicit Conv2dSNImpl(const Conv2dSNOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  // The weight actually used (divided by sigma when spectral-normalised).
  torch::Tensor effective_weight();

  Conv2dSNOptions options;
  torch::Tensor weight, bias, u;
};
TORCH_MODULE(Conv2dSN);

class LinearSNImpl : public torch::nn::Module {
 public:
  LinearSNImpl(int64_t in_features, int64_t out_features, bool spectral_norm);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor effective_weight();

  bool spectral_norm;
  torch::Tensor weight, bias, u;
};
TORCH_MODULE(LinearSN);

// Spectral normalisation of `weight` (any shape, rows = dim 0) with one
// power iteration on `u` when `update` is true.
torch::Tensor spectral_normalize(const torch::Tensor& weight, torch::Tensor& u,
                                 bool update);

}  // namespace neuralart
