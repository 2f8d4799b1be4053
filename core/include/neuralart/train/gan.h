// GAN training as library code: the lesson's alternating D and G steps
// with the remedies for its four problems (balance, hyper-parameter
// sensitivity, mode collapse, high resolution). The CLI only parses
// options and draws; everything that learns lives here.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "neuralart/data/image_set.h"
#include "neuralart/models/dcgan.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/augment.h"

namespace neuralart {

class DataParallel;

// RPGAN: the relativistic pairing loss with R1 and R2 penalties (R3GAN,
// Huang et al. 2025): D sees softplus(D(fake) - D(real)) for pairs.
enum class GanLoss { BCE, Hinge, WGANGP, RPGAN };
GanLoss gan_loss_from_string(const std::string& name);
std::string to_string(GanLoss loss);

struct GanTrainOptions {
  DCGANOptions model;
  GanLoss loss = GanLoss::BCE;
  int64_t batch = 64;
  int64_t steps = 5000;
  double lr_g = 2e-4, lr_d = 2e-4;
  double beta1 = 0.5, beta2 = 0.999;
  std::string schedule = "constant";  // constant | linear | cosine
  int64_t d_steps = 1;                // D steps per G step
  double skip_d_below = 0.0;          // skip D while its loss < this (0: off)
  double label_smoothing = 0.0;       // real target = 1 - s (BCE)
  AugmentPolicy augment;
  // R1 penalty weight on real data; with rpgan also R2's on fakes, and 0
  // there means default_rpgan_gamma() (resolved by the trainer).
  double r1_gamma = 0.0;
  // Lazy regularisation (StyleGAN2, section 3.1): the R1/R2 penalties on
  // every N-th D step only, weighted N times, saving their double backward
  // on the others.
  int64_t r1_every = 1;
  double style_mixing = 0.9;    // stylegan: share of batches mixing two ws
  double gp_lambda = 10.0;      // WGAN-GP penalty weight
  double ema_decay = 0.999;     // 0 disables the EMA generator
  double collapse_warn = 0.35;  // warn when diversity ratio < this
  int64_t sample_every = 500;
  int64_t checkpoint_every = 1000;
  int64_t log_every = 50;
  uint64_t seed = 1;
  int threads = 0;
  std::string device = "cpu";  // cpu, cuda, cuda:N
  // auto, fp32 or bf16 (resolve_training_precision). Recorded, but a run may
  // resume in another precision (the weights are fp32 in both).
  std::string precision = "auto";

  nlohmann::json to_json() const;
  static GanTrainOptions from_json(const nlohmann::json& j);
  void validate() const;  // throws InvalidArgument naming the option
};

// One row of losses.csv.
struct GanStats {
  int64_t step = 0;
  double d_loss = 0, g_loss = 0;
  double d_real = 0, d_fake = 0;  // mean D(x), D(G(z)) (sigmoid for BCE)
  int64_t skipped_d = 0;          // total skipped D steps so far
  double lr_g = 0, lr_d = 0;
  double diversity = -1;  // generated/real diversity, -1 = not measured
  double images_per_second = 0;
};

struct GanCallbacks {
  std::function<void(const GanStats&)> on_step;  // every step
  // Fixed-latent samples from the EMA generator, [N, C, R, R] in [-1, 1].
  std::function<void(int64_t step, const torch::Tensor&)> on_samples;
  std::function<void(const std::string&)> on_warning;
  const std::atomic<bool>* stop = nullptr;  // set by a Ctrl-C handler
};

// The relativistic pairing loss, mean softplus(-(a - b)): D minimises
// rpgan_loss(D(real), D(fake)), G rpgan_loss(D(fake), D(real)).
torch::Tensor rpgan_loss(const torch::Tensor& a, const torch::Tensor& b);

// RPGAN's R1/R2 weight when none is given: kRpganGammaScale *
// resolution^2 / batch, StyleGAN2-ADA's form with the constant measured
// here (docs/training-gan.md): gamma 4 at 32x32 and batch 64. ADA's own
// 0.0002 (gamma 0.0032 there) left D far ahead: MNIST KL 0.33 (stylegan)
// and 0.033 (dcgan) against 0.015 and 0.009 at gamma 4 and 1.
constexpr double kRpganGammaScale = 0.25;
double default_rpgan_gamma(int64_t resolution, int64_t batch);

// Diversity of a batch: mean pairwise L2 distance between images.
torch::Tensor mean_pairwise_distance(const torch::Tensor& images);

// One training run in RUN_DIR: checkpoint.ckpt, losses.csv, generator.bundle.
//
// Data-parallel over several processes when given a DataParallel: every
// rank draws the same global batch (indices, latents, augmentation, from
// the same seeded generator) and trains on its equal share of it; the
// gradients are averaged before each optimiser step, so N ranks follow one
// process with the same global `batch` up to rounding, except for
// batch-dependent layers (minibatch-std, g-norm batch), which see only the
// rank's share. Rank 0 alone writes losses.csv and checkpoints.
class GanTrainer {
 public:
  GanTrainer(GanTrainOptions options, ImageSet data, std::string run_dir,
             std::shared_ptr<DataParallel> parallel = nullptr);

  // Continues from RUN_DIR/checkpoint.ckpt (models, optimisers, EMA, step,
  // RNG); the options stored in the checkpoint win over `options` except
  // for `steps` and the logging periods.
  // The options (and provenance, and the number of processes that wrote
  // it) stored in RUN_DIR's checkpoint.
  static GanTrainOptions checkpoint_options(const std::string& run_dir,
                                            nlohmann::json* provenance,
                                            int* world_size = nullptr);
  // Every rank resumes from the same checkpoint, written by a run with the
  // same number of processes (else Error).
  static std::unique_ptr<GanTrainer> resume(
      const std::string& run_dir, ImageSet data,
      const GanTrainOptions* overrides,
      std::shared_ptr<DataParallel> parallel = nullptr);

  // Trains until options.steps or until *callbacks.stop; saves a
  // checkpoint and exports generator.bundle either way. Returns the step.
  int64_t train(const GanCallbacks& callbacks);

  // One alternating iteration (D step(s), then G step). Public for tests.
  GanStats step();

  void save_checkpoint() const;  // rank 0 only; a no-op on other ranks
  // Writes the EMA generator (or G when EMA is off) as a bundle.
  void export_generator(const std::string& path,
                        const nlohmann::json& provenance) const;

  int64_t current_step() const { return step_; }
  const GanTrainOptions& options() const { return options_; }
  DCGANGenerator generator() const { return g_; }
  DCGANGenerator ema_generator() const { return ema_; }
  DCGANDiscriminator discriminator() const { return d_; }
  std::string checkpoint_path() const;
  int world_size() const;
  bool is_main() const;       // rank 0 (or a single process)
  nlohmann::json provenance;  // command line, dataset..., stored in bundles

 private:
  std::vector<torch::Tensor> real_batch();
  std::vector<torch::Tensor> fake_images(const torch::Tensor& z);
  torch::Tensor d_logits(const std::vector<torch::Tensor>& images,
                         const AugmentParams& aug);
  void set_learning_rates();
  void update_ema();
  double measure_diversity();
  void append_csv(const GanStats& s) const;
  void load_checkpoint(const std::string& path);
  // A non-finite loss: back to the last checkpoint with halved learning
  // rates (at most kMaxRollbacks times), else an Error saying what to do.
  void roll_back(const GanStats& s, const GanCallbacks& cb);
  torch::Tensor share(const torch::Tensor& global) const;  // this rank's
  AugmentParams augment_share(int64_t global_batch);

  GanTrainOptions options_;
  ImageSet data_;
  std::string run_dir_;
  DCGANGenerator g_{nullptr}, ema_{nullptr};
  DCGANDiscriminator d_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_g_, opt_d_;
  torch::Tensor fixed_z_;
  int64_t step_ = 0;
  double seconds_ = 0;  // time spent in step(), across resumes
  int64_t skipped_d_ = 0;
  double last_d_loss_ = 1e9;
  double real_diversity_ = -1;
  std::shared_ptr<DataParallel> parallel_;
  bool replicas_synced_ = false;  // rank 0's models broadcast yet
  int rollbacks_ = 0;             // divergences recovered in this run
  // Draws batches, latents and augmentation: LibTorch's global generator
  // for one process (as before), a private copy of it per rank.
  at::Generator rng_;
  torch::Device device_{torch::kCPU};
  Precision precision_ = Precision::FP32;
};

}  // namespace neuralart
