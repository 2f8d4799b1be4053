// Training precision: fp32, or bf16 mixed precision (fp32 master weights and
// optimizer state; convolutions and matrix products in bf16 under LibTorch's
// autocast; losses, Gram matrices and normalisation statistics in fp32), and
// the channels-last layout that makes oneDNN's convolutions fast on a CPU.
#pragma once

#include <torch/torch.h>

#include <string>

#include "neuralart/models/layers.h"  // NoAutocast
#include "neuralart/runtime/runtime_options.h"

namespace neuralart {

// "auto" | "fp32" | "bf16" for training on `device`. auto is bf16 on a CPU
// with native bf16 arithmetic (AVX512-BF16 or AMX) and fp32 elsewhere (and
// on CUDA, where it was not measured). bf16 on any other CPU is allowed
// (emulated, slower). Throws InvalidArgument naming --precision otherwise.
Precision resolve_training_precision(const std::string& name,
                                     const torch::Device& device);

// While alive, ops that autocast lowers (conv, linear, matmul) run in bf16
// when `precision` is BF16; a no-op for FP32. Not copyable; nests.
class AutocastGuard {
 public:
  AutocastGuard(Precision precision, const torch::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

// Every 4-d parameter and buffer of `module` (convolution weights) in the
// channels-last layout, in place: the optimizer's state made from them
// afterwards follows.
void to_channels_last(torch::nn::Module& module);

// `x` as channels-last when it is 4-d (a batch of images), else unchanged.
torch::Tensor channels_last(const torch::Tensor& x);

}  // namespace neuralart
