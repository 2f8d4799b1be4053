// Differentiable augmentation (DiffAugment, Zhao et al. 2020): the same
// random transform family applied to real and fake images before D, so D
// cannot memorise a small dataset and gradients still reach G.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace neuralart {

struct AugmentPolicy {
  bool translation = false;  // shift by up to 1/8 of the size, zero fill
  bool cutout = false;       // zero a square of half the size
  bool color = false;        // brightness, saturation, contrast
  bool any() const { return translation || cutout || color; }
  // "translation,cutout,color", "none" or "" -> policy.
  static AugmentPolicy parse(const std::string& spec);
  std::string to_string() const;
};

// Random parameters for one batch, shared by every scale of that batch.
struct AugmentParams {
  torch::Tensor brightness, saturation, contrast;  // [N, 1, 1, 1]
  torch::Tensor shift;                             // [N, 2] in [-1, 1] units
  torch::Tensor cutout_center;                     // [N, 2] in [0, 1]
};

// Draws from `generator` (default: LibTorch's global CPU generator); the
// parameters live on the CPU.
AugmentParams sample_augment(
    const AugmentPolicy& policy, int64_t batch,
    c10::optional<at::Generator> generator = c10::nullopt);

// Rows [start, start + length) of every parameter, moved to `device`:
// one rank's share of a global batch's parameters.
AugmentParams slice_augment(const AugmentParams& params, int64_t start,
                            int64_t length, const torch::Device& device);

// Applies `params` to images [N, C, H, W] in [-1, 1]; differentiable.
torch::Tensor apply_augment(const torch::Tensor& images,
                            const AugmentPolicy& policy,
                            const AugmentParams& params);

}  // namespace neuralart
