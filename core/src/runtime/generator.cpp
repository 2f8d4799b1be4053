#include "neuralart/runtime/generator.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include <filesystem>

#include "neuralart/error.h"
#include "neuralart/models/load.h"

namespace neuralart {

torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  auto an = a / a.norm(2, -1, true).clamp_min(1e-8);
  auto bn = b / b.norm(2, -1, true).clamp_min(1e-8);
  auto omega = torch::acos((an * bn).sum(-1, true).clamp(-1 + 1e-7, 1 - 1e-7));
  auto so = torch::sin(omega);
  auto lerp = (1.0 - t) * a + t * b;
  auto s = (torch::sin((1.0 - t) * omega) * a + torch::sin(t * omega) * b) / so;
  // Nearly parallel vectors: slerp degenerates to lerp.
  return torch::where(so.abs() < 1e-6, lerp, s);
}

torch::Tensor truncate_latent(const torch::Tensor& z, double psi) {
  return z * psi;
}

namespace {

// A reproducible Gaussian vector for (seed, cell, index).
torch::Tensor keyframe(uint64_t seed, int64_t cell, int64_t index,
                       int64_t dim) {
  uint64_t h = seed * 0x9E3779B97F4A7C15ull;
  h ^= static_cast<uint64_t>(cell) * 0xBF58476D1CE4E5B9ull + (h << 6);
  h ^= static_cast<uint64_t>(index) * 0x94D049BB133111EBull + (h >> 2);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(h);
  return at::normal(0.0, 1.0, {dim}, gen);
}

}  // namespace

torch::Tensor latent_for_frame(const LatentPath& p, int64_t dim, int64_t n) {
  std::vector<torch::Tensor> cells;
  for (int64_t c = 0; c < p.cells; ++c) {
    torch::Tensor z;
    switch (p.mode) {
      case LatentMode::Random:
        z = keyframe(p.seed, c, n, dim);
        break;
      case LatentMode::Fixed:
        z = keyframe(p.seed, c, 0, dim);
        break;
      case LatentMode::Walk: {
        const double pos = n * p.keyframes_per_second / p.fps;
        const auto i = static_cast<int64_t>(std::floor(pos));
        const double f = pos - i;
        const double eased = f * f * (3.0 - 2.0 * f);  // smoothstep
        z = slerp(keyframe(p.seed, c, i, dim), keyframe(p.seed, c, i + 1, dim),
                  eased);
        break;
      }
      case LatentMode::Loop: {
        // A great circle through two random latents: frame L == frame 0.
        const double theta =
            2.0 * M_PI * double(n % p.loop_frames) / double(p.loop_frames);
        z = std::cos(theta) * keyframe(p.seed, c, 0, dim) +
            std::sin(theta) * keyframe(p.seed, c, 1, dim);
        break;
      }
    }
    cells.push_back(z);
  }
  return truncate_latent(torch::stack(cells), p.truncation);
}

torch::Tensor mosaic(const torch::Tensor& images, int64_t grid) {
  const auto c = images.size(1), r = images.size(2), w = images.size(3);
  TORCH_CHECK(images.size(0) == grid * grid, "mosaic needs grid^2 images");
  return images.view({grid, grid, c, r, w})
      .permute({2, 0, 3, 1, 4})
      .reshape({c, grid * r, grid * w});
}

Generator::Generator(const std::string& path, const RuntimeOptions& options)
    : path_(path), options_(options), device_(parse_device(options.device)) {
  keep_freed_memory_for_reuse();
  if (!std::filesystem::is_regular_file(path))
    throw BundleError(path + ": no such model file");
  if (looks_like_bundle(path)) {
    auto bundle = read_bundle(path);
    native_ = load_generator(bundle);
    native_->to(device_);
    metadata_ = bundle.meta.to_json();
    latent_dim_ = native_->options().latent_dim;
    resolution_ = native_->options().resolution;
  } else {
    try {
      script_ = std::make_shared<torch::jit::script::Module>(
          torch::jit::load(path, device_));
    } catch (const c10::Error& e) {
      throw BundleError(path +
                        ": neither a neuralart bundle nor a loadable "
                        "TorchScript module (" +
                        e.what_without_backtrace() + ")");
    }
    script_->eval();
    if (!script_->hasattr("latent_dim"))
      throw BundleError(path +
                        ": TorchScript generator lacks an int attribute "
                        "'latent_dim' (add `self.latent_dim = N` before "
                        "scripting)");
    latent_dim_ = script_->attr("latent_dim").toInt();
    metadata_ = {{"kind", "generator"}, {"format", "torchscript"}};
  }
  // Warm up and learn the native size.
  auto out = generate(torch::zeros({1, latent_dim_}));
  if (out.dim() != 4 || out.size(1) != 3 || out.size(2) < 1)
    throw BundleError(path + ": generator output is not [N, 3, H, W]");
  resolution_ = out.size(2);
}

torch::Tensor Generator::generate(const torch::Tensor& z) {
  apply_threads(options_.threads);
  c10::InferenceMode guard;
  const auto dtype = scalar_type(options_.precision);
  auto input = z.to(device_, torch::kFloat32);
  torch::Tensor out;
  if (native_) {
    if (dtype != torch::kFloat32 && device_.is_cuda()) {
      native_->to(dtype);
      out = native_->forward(input.to(dtype));
    } else {
      out = native_->forward(input);
    }
  } else {
    auto result = script_->forward({input});
    if (!result.isTensor())
      throw Error(path_ + ": TorchScript generator did not return a tensor");
    out = result.toTensor();
  }
  out = out.to(torch::kCPU, torch::kFloat32);
  if (out.dim() == 4 && out.size(1) == 1) out = out.expand({-1, 3, -1, -1});
  return out;
}

}  // namespace neuralart
