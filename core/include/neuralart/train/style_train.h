// Style transfer training as library code: Gatys optimisation of one image,
// and the feed-forward StyleNet trainer (Johnson et al. 2016 with
// conditional instance norm, Dumoulin et al. 2017). Tensor code only: the
// CLI decodes images and writes PNGs through neuralart_media.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "neuralart/models/style_net.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/loss_net.h"

namespace neuralart {

// ---------------------------------------------------------------- Gatys --

struct GatysOptions {
  std::string init = "content";     // content | noise
  std::string optimizer = "lbfgs";  // lbfgs | adam
  int64_t steps = 300;
  double lr = 1.0;  // L-BFGS step; Adam: pixels (0-255)
  double content_weight = 1.0;
  double style_weight = 10.0;
  double tv_weight = 1.0;       // on images scaled to [0, 1]
  bool preserve_color = false;  // luminance-only transfer
  StyleLossConfig loss;
  uint64_t seed = 1;
  // auto, fp32 or bf16 for the loss network's passes (the image, its
  // gradient and the losses stay fp32); resolve_training_precision.
  std::string precision = "auto";
  void validate() const;  // throws InvalidArgument
};

struct GatysStats {
  int64_t step = 0;  // 1-based
  double content = 0, style = 0, tv = 0, total = 0;
};

struct GatysCallbacks {
  std::function<void(const GatysStats&)> on_step;
  // Every `image_every` steps (0: never): the current image, RGB [1,3,H,W]
  // in [0, 255] (colour already restored when preserve_color).
  int64_t image_every = 0;
  std::function<void(int64_t step, const torch::Tensor&)> on_image;
  const std::atomic<bool>* stop = nullptr;
};

// Optimises an image so its features match `content` and its Gram
// matrices match the styles. content: [1,3,H,W] RGB 0-255; styles: each
// [1,3,h,w] RGB 0-255 with `style_weights` (normalised to sum 1). Returns
// the result [1,3,H,W] in [0, 255].
torch::Tensor gatys_stylize(LossNet& net, const torch::Tensor& content,
                            const std::vector<torch::Tensor>& styles,
                            const std::vector<double>& style_weights,
                            const GatysOptions& options,
                            const GatysCallbacks& callbacks = {});

// ------------------------------------------------------ feed-forward ----

// The temporal-consistency term of feed-forward training, without optical
// flow: a small known motion T per image (as between video frames; theta:
// N x 2 x 3 affine_grid matrices) plus optional pixel noise n must commute
// with the network, net(T(x) + n) == T(net(x)), inside the frame. Returns
// the mean squared difference in [0, 1] pixel units; zero for a network
// that commutes with T and ignores n (e.g. T = identity, no noise, any
// deterministic network). `noise` is N(0, 1) of x's shape (undefined: none),
// scaled by noise_sigma (0-255 units). x and output are 0-255, N x 3 x H x W.
torch::Tensor temporal_consistency_loss(
    const std::function<torch::Tensor(const torch::Tensor&)>& net,
    const torch::Tensor& x, const torch::Tensor& output,
    const torch::Tensor& theta, const torch::Tensor& noise = {},
    double noise_sigma = 0.0);

// Shift consistency (docs/elements.md, "The shift test"): the output of
// the input moved by (dy, dx) whole pixels against the output moved by the
// same, net(x[dy:, dx:]) == net(x)[dy:, dx:], away from an 8-pixel border
// where the two see different padding. The reference network's two
// stride-2 convolutions make it follow motion only in steps of 4 pixels
// and repaint its texture for every other shift, which is the flicker of
// hand-held video; whole pixels need no resampling, so neither side is
// blurred. Mean squared difference in [0, 1] pixel units; zero for a
// network that commutes with translation (e.g. any per-pixel function) and
// for (0, 0). dy, dx in [0, 16]; x and output 0-255, N x 3 x H x W with H,
// W >= 16 + 2 * 8 + 1.
torch::Tensor shift_consistency_loss(
    const std::function<torch::Tensor(const torch::Tensor&)>& net,
    const torch::Tensor& x, const torch::Tensor& output, int64_t dy,
    int64_t dx);

// Consecutive video frames and the motion between them, for the temporal
// term on real footage (media/motion_pairs.h loads them from a folder of
// frames, with the optical flow computed once).
struct MotionPairs {
  torch::Tensor prev, next;  // uint8 [P, 3, H, W] RGB, frames t-1 and t
  // float [P, H, W, 2]: where each pixel of `next` was in `prev`, as a
  // displacement (dx, dy) in pixels (the backward flow).
  torch::Tensor flow;
  torch::Tensor mask;  // uint8 [P, 1, H, W]: 1 where that flow is reliable
  int64_t size() const { return prev.defined() ? prev.size(0) : 0; }
};

// Throws InvalidArgument naming the problem unless the four tensors have
// the shapes and types above, at least one pair, and frames of at least
// `crop` pixels a side.
void check_motion_pairs(const MotionPairs& pairs, int64_t crop);

// `count` random crops of side `size`, the same window in both frames, the
// flow turned into grid_sample coordinates of the crop and the mask also
// 0 where the flow leaves it. Returns {prev, next} float 0-255
// [count, 3, size, size], grid [count, size, size, 2] (align_corners
// false) and mask float [count, 1, size, size].
struct MotionCrops {
  torch::Tensor prev, next, grid, mask;
};
MotionCrops random_motion_crops(const MotionPairs& pairs, int64_t size,
                                int64_t count, at::Generator& rng);

// The temporal term on real footage (Huang et al. 2017, ReCoNet): the
// output of a frame against the previous frame's output warped along the
// flow, net(next + n) == warp(net(prev)), where the mask allows. Mean
// squared difference in [0, 1] pixel units; zero for a static scene (no
// motion, no noise) and any deterministic network. `noise` as in
// temporal_consistency_loss.
torch::Tensor flow_consistency_loss(
    const std::function<torch::Tensor(const torch::Tensor&)>& net,
    const MotionCrops& crops, const torch::Tensor& noise = {},
    double noise_sigma = 0.0);

// Shared by the style trainers (StyleTrainer, UniversalTrainer).
// Throws InvalidArgument naming the image unless every one is uint8
// [3, H, W] with min(H, W) >= size (and there is one at least).
void check_content_images(const std::vector<torch::Tensor>& content,
                          int64_t size);

// `count` random square crops of side `size` from random images of
// `content` (uint8 [3, H, W] each), half of them mirrored, as training
// batches draw them (the same generator, the same crops).
std::vector<torch::Tensor> random_content_crops(
    const std::vector<torch::Tensor>& content, int64_t size, int64_t count,
    at::Generator& rng);

// The motion of the temporal term: n random small similarity transforms
// (rotation up to 2 degrees, scale up to 4 %, shift up to 3 % of the
// frame), as affine_grid matrices [n, 2, 3].
torch::Tensor random_frame_motion(int64_t n, at::Generator& rng);

struct StyleTrainOptions {
  StyleNetOptions model;            // num_styles = styles.size()
  std::string loss_net = "random";  // make_loss_net spec
  StyleLossConfig loss;
  int64_t size = 256;  // crop side
  int64_t batch = 4;
  int64_t steps = 2000;
  double lr = 1e-3;
  std::string lr_schedule = "constant";  // constant | linear | cosine
  double content_weight = 1.0;
  double style_weight = 10.0;
  double tv_weight = 1.0;
  double temporal_weight = 0.0;  // 0: off
  // Standard deviation, in 0-255 pixel units, of the Gaussian noise added
  // to the moved input of the temporal term (temporal_consistency_loss):
  // the network must also ignore sensor and codec noise (Gupta et al.
  // 2017's stability). 0: motion only, as before this option.
  double temporal_noise = 0.0;
  // Weight of shift_consistency_loss, with a random shift of 1-7 pixels
  // along each axis every step (0: off, as before this option).
  double shift_weight = 0.0;
  // Each step, the output and its input are cropped by the same random
  // offset in [0, loss_jitter) pixels before the loss network sees them,
  // so that VGG's pooling grid does not stay locked to the network's
  // stride-4 grid (0: off, as before).
  int64_t loss_jitter = 0;
  // Styles [0, frozen_styles) come from a base model (load_base) and stay
  // as they are, as does every convolution: only the conditional instance
  // norm vectors of the new styles [frozen_styles, num_styles) train
  // (Dumoulin et al. 2017). 0: the whole network trains.
  int64_t frozen_styles = 0;
  int64_t preview_every = 200;  // 0: never
  int64_t checkpoint_every = 500;
  int64_t log_every = 10;
  int64_t preview_count = 4;
  uint64_t seed = 1;
  // cpu, cuda or cuda:N. Not stored in checkpoints: a run may resume
  // elsewhere.
  std::string device = "cpu";
  // auto, fp32 or bf16 (resolve_training_precision). Not stored in
  // checkpoints either: the weights are fp32 in both, so a run may resume
  // in another precision; bundles record the one used.
  std::string precision = "auto";

  nlohmann::json to_json() const;
  static StyleTrainOptions from_json(const nlohmann::json& j);
  void validate() const;  // throws InvalidArgument naming the option
};

struct StyleTrainStats {
  int64_t step = 0;  // steps done after this one
  int64_t style_index = 0;
  double content = 0, style = 0, tv = 0, temporal = 0, total = 0;
  double images_per_second = 0;
};

struct StyleTrainCallbacks {
  std::function<void(const StyleTrainStats&)> on_step;
  // Fixed previews: content crops then one row per style, RGB 0-255
  // [(1 + styles) * K, 3, S, S].
  std::function<void(int64_t step, const torch::Tensor&)> on_preview;
  const std::atomic<bool>* stop = nullptr;  // set by a Ctrl-C handler
};

class DataParallel;

// Content images as uint8 [3, H, W] RGB with min(H, W) >= options.size.
// Styles as float [1, 3, h, w] RGB 0-255.
//
// Data-parallel over several processes when given a DataParallel: every
// rank draws the same global batch of crops and the same style (same seed)
// and trains on its 1/world share; gradients are averaged before each Adam
// step, so N ranks follow one process with the same global batch. Rank 0
// alone writes losses.csv, previews and checkpoints.
class StyleTrainer {
 public:
  StyleTrainer(StyleTrainOptions options, std::vector<torch::Tensor> content,
               std::vector<torch::Tensor> styles,
               std::vector<std::string> style_names, std::string run_dir,
               std::shared_ptr<DataParallel> parallel = nullptr);
  ~StyleTrainer();

  // Starts from a trained network with options.frozen_styles styles and
  // the same architecture otherwise: its convolutions and styles are
  // copied, each new style's vectors start at the mean of the base's.
  // Before the first step only; throws InvalidArgument naming a mismatch.
  void load_base(StyleNet& base);

  // Adds real footage to the temporal term (options.temporal_weight > 0):
  // each step also draws options.batch crops of consecutive frames and
  // adds flow_consistency_loss to the similarity-motion term. Before the
  // first step or resume(); throws InvalidArgument (check_motion_pairs,
  // or no temporal term to add to).
  void set_motion_pairs(MotionPairs pairs);

  // Continues RUN_DIR/checkpoint.ckpt: model, optimiser, step, RNG. The
  // architecture, loss network and layers must match; steps, logging and
  // weights may change.
  void resume();
  bool has_checkpoint() const;

  // Trains until options.steps or *stop; writes a checkpoint either way.
  // Returns the number of steps done in total.
  int64_t train(const StyleTrainCallbacks& callbacks);
  StyleTrainStats step();  // one optimisation step (public for tests)

  // Atomic (temp file, then rename); rank 0 only, a no-op on other ranks.
  void save_checkpoint() const;
  // Writes the model as a neuralart style bundle with provenance.
  void export_bundle(const std::string& path) const;

  // Stylised previews [(1 + S) * K, 3, size, size] (see on_preview).
  torch::Tensor previews();
  // losses.csv as a line plot, uint8 [H, W, 3] (total black, content blue,
  // style red, temporal green; log scale).
  torch::Tensor loss_plot() const;

  int64_t current_step() const { return step_; }
  int world_size() const;
  bool is_main() const;  // rank 0 (or a single process)
  // World size recorded in RUN_DIR's checkpoint (1 when it has none).
  static int checkpoint_world_size(const std::string& run_dir);
  const StyleTrainOptions& options() const { return options_; }
  StyleNet model() const { return net_; }
  std::string checkpoint_path() const;
  std::string csv_path() const;
  nlohmann::json provenance;  // command line, data...: stored in bundles

 private:
  torch::Tensor random_batch();
  torch::Tensor temporal_loss(const torch::Tensor& batch,
                              const torch::Tensor& output,
                              const torch::Tensor& mix);
  void append_csv(const StyleTrainStats& s) const;

  StyleTrainOptions options_;
  std::vector<torch::Tensor> content_, styles_;
  MotionPairs motion_;  // none: the similarity-motion term alone
  std::vector<std::string> style_names_;
  std::string run_dir_;
  std::unique_ptr<LossNet> loss_net_;
  std::vector<StyleTargets> targets_;
  StyleNet net_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_;
  torch::Tensor preview_batch_;
  int64_t step_ = 0;
  double seconds_ = 0;  // training time so far, across resumes
  torch::Device device_{torch::kCPU};
  Precision precision_ = Precision::FP32;
  std::shared_ptr<DataParallel> parallel_;
  bool replicas_synced_ = false;  // rank 0's model broadcast yet
  at::Generator rng_;             // crops, flips, styles, temporal transforms
};

// Line plot of series (each a list of values, log scale) into
// uint8 [height, width, 3]; colours as RGB triples per series.
torch::Tensor render_line_plot(
    const std::vector<std::vector<double>>& series,
    const std::vector<std::array<uint8_t, 3>>& colors, int64_t width = 640,
    int64_t height = 360);

}  // namespace neuralart
