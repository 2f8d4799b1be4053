// DCGAN as the lesson describes it, with the options the trainer needs.
//
// Generator: latent z -> fully connected -> reshape to 4x4 -> (upsample x2 +
// 3x3 conv + norm + activation) until the output resolution -> 3x3 conv to
// RGB -> tanh. Discriminator: strided 4x4 convolutions down to 4x4 ->
// (minibatch standard deviation) -> fully connected feature vector -> one
// logit (real = 1, fake = 0).
//
// With arch "stylegan" the generator is a StyleGAN2-style one
// (models/stylegan.h) and the discriminator stays this one.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <vector>

#include "neuralart/models/layers.h"
#include "neuralart/models/stylegan.h"

namespace neuralart {

struct DCGANOptions {
  std::string arch = "dcgan";  // dcgan | stylegan (the generator's)
  int64_t latent_dim = 128;
  int64_t base_width = 64;       // channels just below the output resolution
  int64_t max_width = 512;       // cap on channels at low resolution
  int64_t resolution = 64;       // power of two, >= 32
  int64_t channels = 3;          // 1 (grey) or 3 (RGB)
  std::string g_norm = "pixel";  // pixel | batch | none
  bool spectral_norm = false;    // in the discriminator
  bool minibatch_std = true;     // minibatch stddev feature in D
  bool multiscale = false;       // MSG-GAN: G emits, D reads every scale
  // The discriminator: "dcgan" (one stride-2 4x4 convolution per
  // resolution) or "residual" (R3GAN's spirit: two 3x3 convolutions in a
  // residual block per resolution, then average pooling and a 1x1
  // convolution; no normalisation). Checkpoints record it.
  std::string d_arch = "dcgan";
  // stylegan only: size of w and fully connected layers of the mapping.
  int64_t w_dim = 128;
  int64_t mapping_layers = 4;
  // stylegan only: "skip" (an RGB output per resolution, upsampled and
  // summed, StyleGAN2's) or "last" (the last resolution's alone).
  std::string rgb_output = "skip";

  bool is_stylegan() const { return arch == "stylegan"; }

  // Channels of the feature maps at spatial size `r`.
  int64_t width_at(int64_t r) const;
  // Resolutions 4, 8, ..., resolution.
  std::vector<int64_t> scales() const;

  nlohmann::json to_json() const;  // {"name": "dcgan" | "stylegan", ...}
  // Throws InvalidArgument naming the bad field.
  static DCGANOptions from_json(const nlohmann::json& j);
  void validate() const;

 private:
  nlohmann::json arch_json() const;  // to_json() without d_arch
};

// The generator of either architecture (the name is kept for the API).
class DCGANGeneratorImpl : public torch::nn::Module {
 public:
  explicit DCGANGeneratorImpl(const DCGANOptions& options);
  // z: [N, latent_dim] or [N, latent_dim, 1, 1] -> [N, C, R, R] in [-1, 1].
  torch::Tensor forward(torch::Tensor z);
  // Images at every scale 4..R (MSG-GAN); the last is forward()'s output.
  std::vector<torch::Tensor> forward_multiscale(torch::Tensor z);

  const DCGANOptions& options() const { return options_; }
  // The StyleGAN generator inside (arch stylegan), else null.
  StyleGANGenerator stylegan() const { return stylegan_; }

 private:
  torch::Tensor activate(torch::Tensor x, size_t norm_index);
  DCGANOptions options_;
  StyleGANGenerator stylegan_{nullptr};
  torch::nn::Linear fc{nullptr};
  torch::nn::ModuleList convs{nullptr};   // one per upsampling stage
  torch::nn::ModuleList norms{nullptr};   // BatchNorm2d when g_norm=batch
  torch::nn::ModuleList to_rgb{nullptr};  // last only, or all with MSG
};
TORCH_MODULE(DCGANGenerator);

class DCGANDiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DCGANDiscriminatorImpl(const DCGANOptions& options);
  // x: [N, C, R, R] in [-1, 1] -> logits [N].
  torch::Tensor forward(const torch::Tensor& x);
  // MSG-GAN: images at every scale 4..R, largest last (as G emits them).
  torch::Tensor forward_multiscale(const std::vector<torch::Tensor>& images);

  const DCGANOptions& options() const { return options_; }

 private:
  torch::Tensor head(torch::Tensor x);
  DCGANOptions options_;
  torch::nn::ModuleList convs{nullptr};  // R -> R/2 -> ... -> 4
  LinearSN fc{nullptr};
  LinearSN out{nullptr};
  Conv2dSN stem{nullptr};  // residual: channels -> width at R, 1x1
};
TORCH_MODULE(DCGANDiscriminator);

// Minibatch standard deviation (ProGAN): appends one channel holding the
// mean std-dev over groups of samples, so D can see a collapsed batch.
torch::Tensor minibatch_stddev(const torch::Tensor& x, int64_t group = 4);

}  // namespace neuralart
