// Training a universal style model (models/style_predictor.h): the
// feed-forward network and a style-prediction network learn together on
// many paintings, one random painting crop per step, so that a painting
// never seen restyles with no training of its own (Ghiasi et al. 2017).
// Tensor code only: the CLI decodes the images.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "neuralart/models/style_predictor.h"
#include "neuralart/train/style_train.h"

namespace neuralart {

struct UniversalTrainOptions {
  // Network, loss, crops, batch, steps, learning rate, weights, temporal
  // term, logging, seed, device and precision as `style`; its frozen_styles
  // is unused and the network's num_styles is 1 while training.
  StyleTrainOptions style;
  // code_size is set from the network.
  StylePredictorOptions predictor;
  // Each step's painting: a random square crop whose side is this fraction
  // or more of the painting's shorter side (paintings are read at twice
  // predictor.style_size), scaled to style_size: strokes at several scales.
  double min_crop = 0.5;
  // Probability that a step's painting has its colour channels permuted
  // (more palettes than paintings).
  double color_shuffle = 0.25;
  // The predictor's learning rate as a fraction of the network's. Adam
  // moves every weight by about lr a step, and a code value sums
  // `bottleneck` of them: at the network's rate the codes jump by tens of
  // lr a step and the outputs saturate within 200 steps (measured).
  double predictor_lr_scale = 0.05;

  nlohmann::json to_json() const;
  static UniversalTrainOptions from_json(const nlohmann::json& j);
  void validate() const;  // throws InvalidArgument naming the option
};

class UniversalTrainer {
 public:
  // content: uint8 [3, H, W], min(H, W) >= options.style.size. paintings:
  // float [1, 3, h, w] RGB 0-255, shorter side 2 x style_size (the CLI
  // reads them so), with names. preview_paintings: shown in the previews
  // (one row each) besides the first two training paintings, never trained
  // on (e.g. held-out paintings).
  UniversalTrainer(UniversalTrainOptions options,
                   std::vector<torch::Tensor> content,
                   std::vector<torch::Tensor> paintings,
                   std::vector<std::string> names, std::string run_dir,
                   std::vector<torch::Tensor> preview_paintings = {});
  ~UniversalTrainer();

  // Starts from a trained style network of the same architecture (any
  // number of styles): its convolutions are copied and every painting's
  // code starts at the mean of its styles'. Before the first step only;
  // throws InvalidArgument naming a mismatch.
  void load_base(StyleNet& base);
  void resume();
  bool has_checkpoint() const;
  int64_t train(const StyleTrainCallbacks& callbacks);
  StyleTrainStats step();  // style_index: the painting drawn
  void save_checkpoint() const;
  // A universal_style bundle whose stored styles are the training
  // paintings (their predicted codes).
  void export_bundle(const std::string& path) const;
  // Content crops, then one row per preview painting.
  torch::Tensor previews();
  torch::Tensor loss_plot() const;

  int64_t current_step() const { return step_; }
  const UniversalTrainOptions& options() const { return options_; }
  StyleNet network() const { return net_; }
  StylePredictor predictor() const { return predictor_; }
  std::string checkpoint_path() const;
  std::string csv_path() const;
  nlohmann::json provenance;

  // A painting at style_size for the predictor (the whole painting,
  // area-scaled): what a user's painting becomes at run time.
  torch::Tensor painting_at_style_size(const torch::Tensor& painting) const;

 private:
  torch::Tensor random_batch();
  torch::Tensor random_painting_crop(int64_t index);

  UniversalTrainOptions options_;
  std::vector<torch::Tensor> content_, paintings_, preview_paintings_;
  std::vector<std::string> names_;
  std::string run_dir_;
  std::unique_ptr<LossNet> loss_net_;
  StyleNet net_{nullptr};
  StylePredictor predictor_{nullptr};
  std::unique_ptr<torch::optim::Adam> opt_;
  torch::Tensor preview_batch_;
  int64_t step_ = 0;
  double seconds_ = 0;
  torch::Device device_{torch::kCPU};
  Precision precision_ = Precision::FP32;
  at::Generator rng_;
};

}  // namespace neuralart
