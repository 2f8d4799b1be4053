// Runs a trained generator: the engine behind gansrc and `sample`.
#pragma once

#include <torch/script.h>

#include <memory>
#include <mutex>
#include <string>

#include "neuralart/bundle.h"
#include "neuralart/models/dcgan.h"
#include "neuralart/runtime/runtime_options.h"

namespace neuralart {

// Spherical interpolation between latents a and b ([.., D]) at t in [0, 1]:
// keeps the norm a Gaussian latent expects, unlike a straight line.
torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t);

// Truncation trick: pulls z toward the mean (0) by psi (1 = unchanged).
torch::Tensor truncate_latent(const torch::Tensor& z, double psi);

// How gansrc moves through latent space, frame by frame. Everything is a
// pure function of (options, frame index): same settings, same frames.
enum class LatentMode { Random, Walk, Loop, Fixed };

struct LatentPath {
  LatentMode mode = LatentMode::Walk;
  uint64_t seed = 0;
  double keyframes_per_second = 0.5;  // walk speed
  int64_t loop_frames = 150;
  double fps = 30.0;
  int64_t cells = 1;  // independent paths (grid mosaic)
  double truncation = 1.0;
  // W-space models only: from layer mix_layer on (0 = off), the styles of
  // a second, fixed latent drawn from mix_seed (one per cell).
  uint64_t mix_seed = 1;
  int64_t mix_layer = 0;
};

// Latents for frame `n`: [cells, latent_dim].
torch::Tensor latent_for_frame(const LatentPath& path, int64_t latent_dim,
                               int64_t n);

// Frame `n` of a path as two keyframe latents [cells, latent_dim] and the
// weight t of the second: W-space models map both and interpolate
// linearly (a loop visits kWLoopKeyframes keyframes and returns).
struct PathPoint {
  torch::Tensor a, b;
  double t = 0.0;
};
constexpr int64_t kWLoopKeyframes = 3;
PathPoint keyframes_for_frame(const LatentPath& path, int64_t latent_dim,
                              int64_t n);

// The mixing latents of a path: [cells, latent_dim].
torch::Tensor mix_latents(const LatentPath& path, int64_t latent_dim);

// Images [G*G, 3, R, R] -> one mosaic [3, G*R, G*R].
torch::Tensor mosaic(const torch::Tensor& images, int64_t grid);

class Generator {
 public:
  // Loads a neuralart generator bundle, or a TorchScript module whose
  // forward maps z [N, latent_dim] to [N, 3, H, W] in [-1, 1] and which has
  // an int attribute `latent_dim`. Throws BundleError / Error naming the
  // file. Runs one warm-up forward.
  Generator(const std::string& path, const RuntimeOptions& options);

  int64_t latent_dim() const { return latent_dim_; }
  int64_t resolution() const { return resolution_; }  // native size
  const std::string& path() const { return path_; }
  const json& metadata() const { return metadata_; }

  // z [N, latent_dim] (any device) -> float [N, 3, R, R] in [-1, 1] on the
  // CPU; grey models are expanded to 3 channels. Call from one thread at a
  // time; it sets the thread count and inference mode on the caller.
  torch::Tensor generate(const torch::Tensor& z);
  // generate() with the truncation trick: in W around the mean w for
  // W-space models, toward z = 0 for others.
  torch::Tensor generate(const torch::Tensor& z, double truncation);

  // Frame `n` of a path, [cells, 3, R, R] as generate() returns them.
  // Models with a mapping network (stylegan) move in W: keyframes are
  // mapped and interpolated linearly, truncated around the mean w, and
  // mixed as the path says; others follow latent_for_frame.
  torch::Tensor generate_frame(const LatentPath& path, int64_t n);

  // W space (has_w_space() only, else Error). map: z [N, latent_dim] ->
  // w [N, w_dim]; truncate: toward w_avg by psi; synthesize: ws
  // [N, num_ws, w_dim] (or w [N, w_dim] for every layer) -> images as
  // generate() returns them.
  bool has_w_space() const { return native_ && native_->stylegan(); }
  int64_t num_ws() const;
  torch::Tensor map(const torch::Tensor& z);
  torch::Tensor truncate(const torch::Tensor& w, double psi);
  torch::Tensor synthesize(const torch::Tensor& ws);
  // ws with layers [layer, num_ws) taken from ws_from.
  torch::Tensor mix(const torch::Tensor& ws, const torch::Tensor& ws_from,
                    int64_t layer);

 private:
  StyleGANGenerator style() const;
  torch::Tensor native_input(const torch::Tensor& x);  // device and dtype
  torch::Tensor to_output(torch::Tensor images) const;
  std::string path_;
  RuntimeOptions options_;
  torch::Device device_;
  DCGANGenerator native_{nullptr};
  std::shared_ptr<torch::jit::script::Module> script_;
  json metadata_;
  int64_t latent_dim_ = 0, resolution_ = 0;
};

}  // namespace neuralart
