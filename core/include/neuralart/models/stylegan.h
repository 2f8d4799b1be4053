// A StyleGAN2-style generator small enough for a CPU (Karras et al. 2020,
// "Analyzing and Improving the Image Quality of StyleGAN").
//
// Mapping network: z -> (normalise) -> fully connected layers with
// equalized learning rate and a 0.01 learning-rate multiplier -> w.
// Synthesis network: a learned constant 4x4 input, per resolution two
// modulated + demodulated 3x3 convolutions (the first after a bilinear x2
// upsampling), each followed by a per-pixel noise input and a leaky ReLU,
// and a skip RGB output (modulated 1x1, no demodulation) per resolution,
// upsampled and summed (rgb_output "last": the last resolution's alone). Every
// layer reads its own w (one of num_ws()), so two latents can be mixed at a
// layer. A tracked mean w (w_avg) serves the truncation trick.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace neuralart {

struct DCGANOptions;

// Fully connected layer with equalized learning rate: weights are stored
// as N(0, 1) / lr_mul and scaled by lr_mul / sqrt(fan_in) when used.
class EqualLinearImpl : public torch::nn::Module {
 public:
  EqualLinearImpl(int64_t in, int64_t out, double bias_init = 0.0,
                  double lr_mul = 1.0, bool activate = false);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight, bias;
  double weight_gain_, bias_gain_;
  bool activate_;
};
TORCH_MODULE(EqualLinear);

// A convolution whose input channels are scaled per sample by a style
// computed from w. Non-fused form (x * styles -> conv2d -> x * demod), the
// fast one on a CPU. Synthesis layers (demodulate) add noise and a leaky
// ReLU; RGB layers (1x1) do neither.
class ModulatedConvImpl : public torch::nn::Module {
 public:
  ModulatedConvImpl(int64_t in, int64_t out, int64_t kernel, int64_t w_dim,
                    int64_t resolution, bool synthesis_layer, bool upsample);
  // noise: a generator for fresh per-pixel noise (training); nullptr uses
  // the fixed noise buffer, so the output is a function of (x, w) alone.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& w,
                        at::Generator* noise);

 private:
  // Inference on one image: the modulation folded into the weights.
  torch::Tensor forward_single(const torch::Tensor& x,
                               const torch::Tensor& styles,
                               const torch::Tensor& demod);
  EqualLinear affine{nullptr};
  torch::Tensor weight, bias, noise_strength, noise_const;
  int64_t resolution_;
  bool synthesis_layer_, upsample_;
};
TORCH_MODULE(ModulatedConv);

class StyleGANGeneratorImpl : public torch::nn::Module {
 public:
  explicit StyleGANGeneratorImpl(const DCGANOptions& options);

  // z [N, latent_dim] -> w [N, w_dim]. In training mode also moves w_avg
  // toward the batch mean.
  torch::Tensor mapping(const torch::Tensor& z);
  // w [N, w_dim] -> ws [N, num_ws, w_dim] (the same w for every layer).
  torch::Tensor broadcast(const torch::Tensor& w) const;
  // Truncation trick in W: w_avg + psi * (w - w_avg); w or ws.
  torch::Tensor truncate(const torch::Tensor& w, double psi) const;
  // ws [N, num_ws, w_dim] -> images [N, C, R, R]; clamped to [-1, 1]
  // outside training. noise as for ModulatedConv.
  torch::Tensor synthesis(const torch::Tensor& ws,
                          at::Generator* noise = nullptr);
  // synthesis(broadcast(mapping(z))) with the fixed noise.
  torch::Tensor forward(const torch::Tensor& z);

  int64_t num_ws() const { return num_ws_; }
  int64_t w_dim() const { return w_dim_; }
  const torch::Tensor& w_avg() const { return w_avg_; }

 private:
  int64_t latent_dim_, w_dim_, num_ws_ = 0, channels_;
  bool rgb_last_ = false;  // one RGB output, at the last resolution
  torch::nn::ModuleList mapping_layers{nullptr};
  torch::Tensor const_input, w_avg_;
  torch::nn::ModuleList convs{nullptr};   // 1 at 4x4, then 2 per resolution
  torch::nn::ModuleList to_rgb{nullptr};  // one per resolution, or one
};
TORCH_MODULE(StyleGANGenerator);

}  // namespace neuralart
