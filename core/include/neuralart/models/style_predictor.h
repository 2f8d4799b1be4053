// Arbitrary style at run time (Ghiasi et al. 2017, "Exploring the
// structure of a real-time, arbitrary neural artistic stylization
// network"): a style-prediction network reads a painting it never trained
// on and outputs the style code of a StyleNet (every conditional instance
// norm's scale and shift), so the feed-forward network restyles in that
// painting's manner with no training per painting.
//
// The painting is described by the channel means and standard deviations
// of a frozen CNN's features (the style loss network's first layers, kept
// in the bundle: AdaIN's statistics, Huang & Belongie 2017); two linear
// layers through a small bottleneck map them to the code. Tensor code only.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "neuralart/bundle.h"
#include "neuralart/models/style_net.h"

namespace neuralart {

class LossNet;

struct StylePredictorOptions {
  std::string encoder = "vgg19";  // the stack its convolutions come from
  // Layers whose channel statistics describe a painting.
  std::vector<std::string> layers{"relu1_1", "relu2_1", "relu3_1"};
  int64_t bottleneck = 64;
  int64_t code_size = 0;  // the StyleNet's code_size()
  // Shorter side a painting is resized to before it is described (the
  // scale it was seen at in training).
  int64_t style_size = 256;

  int64_t encoder_depth() const;    // convolutions up to the deepest layer
  int64_t descriptor_size() const;  // 2 x channels of `layers`
  nlohmann::json to_json() const;
  static StylePredictorOptions from_json(const nlohmann::json& j);
  void validate() const;  // throws InvalidArgument
};

// A painting [1, 3, h, w] scaled so its shorter side is `side` (area
// averaging when shrinking, bilinear when growing): how the trainer and the
// runtime bring a painting to style_size.
torch::Tensor scale_painting(const torch::Tensor& painting, int64_t side);

class StylePredictorImpl : public torch::nn::Module {
 public:
  explicit StylePredictorImpl(const StylePredictorOptions& options);
  // Copies the encoder's convolutions from `net` (same family, at least as
  // deep). Throws InvalidArgument when they do not fit.
  void set_encoder(const LossNet& net);
  // Channel means and standard deviations at options().layers of a
  // painting [1, 3, h, w] RGB 0-255 (already at style_size), [D]. No
  // gradient.
  torch::Tensor describe(const torch::Tensor& painting_rgb255) const;
  // The same from features already computed by a network of the encoder's
  // weights, one per options().layers, in that order.
  torch::Tensor describe_features(
      const std::vector<torch::Tensor>& features) const;
  // Sets the descriptors' standardisation from examples [K, D].
  void set_descriptor_stats(const torch::Tensor& descriptors);
  // Descriptor(s) [D] or [K, D] -> style code(s) [P] or [K, P].
  torch::Tensor forward(const torch::Tensor& descriptor);
  // describe() then forward(), no gradient: [P].
  torch::Tensor predict(const torch::Tensor& painting_rgb255);
  // Starts the code at `mean_code` [P] for every painting (the output
  // layer's bias; its weights near zero).
  void init_output(const torch::Tensor& mean_code);
  const StylePredictorOptions& options() const { return options_; }

 private:
  StylePredictorOptions options_;
  std::vector<torch::Tensor> enc_w_, enc_b_;  // buffers
  torch::Tensor desc_mean_, desc_std_;        // buffers
  torch::nn::Linear bottleneck_{nullptr}, out_{nullptr};
};
TORCH_MODULE(StylePredictor);

// A universal style model: the feed-forward network plus its predictor.
// Its StyleNet's table holds the codes of the paintings it trained on
// (named styles, usable without a painting at run time).
class UniversalStyleImpl : public torch::nn::Module {
 public:
  UniversalStyleImpl(const StyleNetOptions& net,
                     const StylePredictorOptions& predictor);
  StyleNet net{nullptr};
  StylePredictor predictor{nullptr};
};
TORCH_MODULE(UniversalStyle);

// Bundle metadata: kind universal_style, arch {"name": "universal_style",
// "transformer": ..., "predictor": ...}.
BundleMeta universal_style_meta(const StyleNetOptions& net,
                                const StylePredictorOptions& predictor,
                                const std::vector<std::string>& style_names);
// Throws BundleError (file named) for another kind, a bad architecture or
// weights that do not fit.
UniversalStyle load_universal_style(const Bundle& bundle);
UniversalStyle load_universal_style(const std::string& path);

}  // namespace neuralart
