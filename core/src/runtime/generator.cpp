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

PathPoint keyframes_for_frame(const LatentPath& p, int64_t dim, int64_t n) {
  auto keys = [&](auto index) {
    std::vector<torch::Tensor> cells;
    for (int64_t c = 0; c < p.cells; ++c)
      cells.push_back(keyframe(p.seed, c, index(c), dim));
    return torch::stack(cells);
  };
  auto smoothstep = [](double f) { return f * f * (3.0 - 2.0 * f); };
  PathPoint pt;
  switch (p.mode) {
    case LatentMode::Random:
      pt.a = pt.b = keys([&](int64_t) { return n; });
      break;
    case LatentMode::Fixed:
      pt.a = pt.b = keys([](int64_t) { return int64_t(0); });
      break;
    case LatentMode::Walk: {
      const double pos = n * p.keyframes_per_second / p.fps;
      const auto i = static_cast<int64_t>(std::floor(pos));
      pt.a = keys([&](int64_t) { return i; });
      pt.b = keys([&](int64_t) { return i + 1; });
      pt.t = smoothstep(pos - i);
      break;
    }
    case LatentMode::Loop: {
      // kWLoopKeyframes keyframes in a ring: frame L == frame 0.
      const double pos = double(n % p.loop_frames) / double(p.loop_frames) *
                         double(kWLoopKeyframes);
      const auto i = static_cast<int64_t>(std::floor(pos));
      pt.a = keys([&](int64_t) { return i % kWLoopKeyframes; });
      pt.b = keys([&](int64_t) { return (i + 1) % kWLoopKeyframes; });
      pt.t = smoothstep(pos - i);
      break;
    }
  }
  return pt;
}

torch::Tensor mix_latents(const LatentPath& p, int64_t dim) {
  std::vector<torch::Tensor> cells;
  for (int64_t c = 0; c < p.cells; ++c)
    cells.push_back(keyframe(p.mix_seed, c, 0, dim));
  return torch::stack(cells);
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

torch::Tensor Generator::native_input(const torch::Tensor& x) {
  // Reduced precision on CUDA only.
  const auto dtype = scalar_type(options_.precision);
  if (dtype != torch::kFloat32 && device_.is_cuda()) {
    native_->to(dtype);
    return x.to(device_, dtype);
  }
  return x.to(device_, torch::kFloat32);
}

torch::Tensor Generator::to_output(torch::Tensor out) const {
  out = out.to(torch::kCPU, torch::kFloat32);
  if (out.dim() == 4 && out.size(1) == 1) out = out.expand({-1, 3, -1, -1});
  return out;
}

torch::Tensor Generator::generate(const torch::Tensor& z) {
  apply_threads(options_.threads);
  c10::InferenceMode guard;
  torch::Tensor out;
  if (native_) {
    out = native_->forward(native_input(z));
  } else {
    auto result = script_->forward({z.to(device_, torch::kFloat32)});
    if (!result.isTensor())
      throw Error(path_ + ": TorchScript generator did not return a tensor");
    out = result.toTensor();
  }
  return to_output(out);
}

torch::Tensor Generator::generate(const torch::Tensor& z, double truncation) {
  if (!has_w_space()) return generate(truncate_latent(z, truncation));
  return synthesize(truncate(map(z), truncation));
}

StyleGANGenerator Generator::style() const {
  if (!has_w_space())
    throw Error(path_ + ": this generator has no W space (not stylegan)");
  return native_->stylegan();
}

int64_t Generator::num_ws() const { return style()->num_ws(); }

torch::Tensor Generator::map(const torch::Tensor& z) {
  auto net = style();
  apply_threads(options_.threads);
  c10::InferenceMode guard;
  return net->mapping(native_input(z));
}

torch::Tensor Generator::truncate(const torch::Tensor& w, double psi) {
  c10::InferenceMode guard;
  return style()->truncate(w, psi);
}

torch::Tensor Generator::mix(const torch::Tensor& ws,
                             const torch::Tensor& ws_from, int64_t layer) {
  auto net = style();
  c10::InferenceMode guard;
  auto a = ws.dim() == 2 ? net->broadcast(ws) : ws;
  auto b = ws_from.dim() == 2 ? net->broadcast(ws_from) : ws_from;
  if (layer <= 0 || layer >= net->num_ws()) return a;
  return torch::cat(
      {a.narrow(1, 0, layer), b.narrow(1, layer, net->num_ws() - layer)}, 1);
}

torch::Tensor Generator::synthesize(const torch::Tensor& ws) {
  auto net = style();
  apply_threads(options_.threads);
  c10::InferenceMode guard;
  auto input = native_input(ws);
  return to_output(
      net->synthesis(input.dim() == 2 ? net->broadcast(input) : input));
}

torch::Tensor Generator::generate_frame(const LatentPath& path, int64_t n) {
  if (!has_w_space()) return generate(latent_for_frame(path, latent_dim_, n));
  auto pt = keyframes_for_frame(path, latent_dim_, n);
  torch::Tensor w;
  {
    c10::InferenceMode guard;
    auto both = map(torch::cat({pt.a, pt.b}));
    w = torch::lerp(both.narrow(0, 0, path.cells),
                    both.narrow(0, path.cells, path.cells), pt.t);
  }
  w = truncate(w, path.truncation);
  if (path.mix_layer <= 0) return synthesize(w);
  auto w2 = truncate(map(mix_latents(path, latent_dim_)), path.truncation);
  return synthesize(mix(w, w2, path.mix_layer));
}

}  // namespace neuralart
