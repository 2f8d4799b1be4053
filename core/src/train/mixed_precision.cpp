#include "neuralart/train/mixed_precision.h"

#include <ATen/autocast_mode.h>

#include "neuralart/error.h"

namespace neuralart {

Precision resolve_training_precision(const std::string& name,
                                     const torch::Device& device) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "auto")
    return device.is_cpu() && cpu_has_native_bf16() ? Precision::BF16
                                                    : Precision::FP32;
  throw InvalidArgument("--precision '" + name +
                        "' is not one of auto, fp32, bf16");
}

AutocastGuard::AutocastGuard(Precision precision, const torch::Device& device) {
  if (precision != Precision::BF16) return;
  active_ = true;
  cuda_ = device.is_cuda();
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // The weights' bf16 copies are cached for one region: the next step's
  // weights differ.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_dtype_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
  }
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4)
      p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  for (auto& b : module.buffers())
    if (b.dim() == 4)
      b.set_data(b.data().contiguous(at::MemoryFormat::ChannelsLast));
}

torch::Tensor channels_last(const torch::Tensor& x) {
  return x.dim() == 4 ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
}

}  // namespace neuralart
