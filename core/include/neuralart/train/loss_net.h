// Loss networks and losses for style transfer (Gatys et al. 2016; Johnson
// et al. 2016): CNN features at named layers, Gram matrices on an image
// pyramid, content and total-variation losses. Tensor code only: no OpenCV.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace neuralart {

// A frozen feature extractor. Inputs are RGB [N, 3, H, W] in [0, 255]; each
// network handles its own normalisation (VGG-19: BGR, mean subtracted).
class LossNet {
 public:
  virtual ~LossNet() = default;
  // Features at `layers` (names from layer_names()), in the order given.
  // Runs the network only as deep as the deepest requested layer.
  virtual std::vector<torch::Tensor> features(
      const torch::Tensor& rgb255, const std::vector<std::string>& layers) = 0;
  // Layer names this network can produce, shallow to deep.
  virtual std::vector<std::string> layer_names() const = 0;
  // A spec that rebuilds the same network ("random:1", "vgg19:PATH").
  virtual std::string spec() const = 0;
  virtual void to(torch::Device device) = 0;
  // Whether style statistics subtract each channel's spatial mean before
  // the Gram product. The random network needs it: its uncentred Gram is
  // dominated by the channel means, and matching it leaves the image
  // nearly unchanged (style loss ~0.001 at style weight 100 on amber.jpg
  // with mosaic.jpg; docs/style.md shows both).
  virtual bool centred_gram() const { return false; }
  // "vgg19" or "random": which layout and normalisation (for
  // make_conv_stack_net).
  virtual std::string family() const = 0;
  // The loaded convolutions, block1_conv1 first: weight [out, in, 3, 3]
  // and bias [out] each (fp32 copies).
  virtual std::vector<std::pair<torch::Tensor, torch::Tensor>> convs()
      const = 0;
};

// A network of `family` from convolutions another one gave (convs()), e.g.
// kept in a bundle: the first weights.size() layers of that family. Throws
// InvalidArgument for an unknown family, too many layers or a shape that
// does not fit.
std::unique_ptr<LossNet> make_conv_stack_net(
    const std::string& family, const std::vector<torch::Tensor>& weights,
    const std::vector<torch::Tensor>& biases);
// The [out] channel counts of `family`'s first `count` convolutions.
std::vector<int64_t> conv_stack_channels(const std::string& family,
                                         int64_t count);
// How many convolutions of `family` reach `layer` (e.g. relu3_1 -> 5).
int64_t conv_stack_depth(const std::string& family, const std::string& layer);

// VGG-19 read from TensorFlow.js layers weights (model.json + shards).
// Loads block1_conv1 .. the conv of the deepest layer in `layers` only.
// Throws Error naming the layer and the file for a missing shard, a shape
// mismatch, a short shard or an unknown layer name.
// A TensorFlow.js layers model's weightsManifest (model.json): where each
// weight lives (shard group, byte offset in the group, shape, dtype).
struct TfjsWeight {
  size_t group = 0;
  int64_t offset = 0;
  std::vector<int64_t> shape;
  std::string dtype;
};
struct TfjsManifest {
  std::vector<std::vector<std::string>> group_paths;
  std::vector<int64_t> group_bytes;
  std::map<std::string, TfjsWeight> weights;  // by full name
};
// Parses model.json text. Throws Error naming `origin` for bad JSON, a
// missing or malformed manifest, negative or huge shapes (over 2^31
// elements per weight, 4 GiB per group) and shard paths that leave the
// model's folder.
TfjsManifest parse_tfjs_manifest(const std::string& text,
                                 const std::string& origin);

std::unique_ptr<LossNet> load_vgg19_tfjs(
    const std::string& model_json, const std::vector<std::string>& layers);

// The built-in network: VGG-shaped (relu1_1 .. relu4_2, two convs a block,
// average pooling), 32-64-128-256 channels, weights drawn from a fixed seed
// (random-feature texture statistics: Ustyuzhaninov et al. 2017, He et al.
// 2016). Needs no download; the same seed gives the same network.
std::unique_ptr<LossNet> make_random_loss_net(uint64_t seed = 1);

// "random", "random:SEED" or "vgg19:PATH/model.json".
std::unique_ptr<LossNet> make_loss_net(const std::string& spec,
                                       const std::vector<std::string>& layers);

// "relu1_1,relu2_1" -> names; throws InvalidArgument for an empty item.
std::vector<std::string> split_layers(const std::string& csv);
// Throws InvalidArgument naming the layer and the valid names when a layer
// is not one `net` produces.
void check_layers(const LossNet& net, const std::vector<std::string>& layers,
                  const std::string& what);

// Gram matrix of features [N, C, H, W]: F F^T / (C H W), shape [N, C, C].
// `centred`: F minus its per-channel spatial mean (a covariance).
torch::Tensor gram_matrix(const torch::Tensor& features, bool centred = false);

// Mean of squared neighbour differences along H and W (0 for a constant
// image). Scale-dependent: pass images in the range the weight assumes.
torch::Tensor total_variation_loss(const torch::Tensor& images);

// Mean squared error of `a` against `target`, divided by the target's mean
// square (so one set of weights suits networks of different feature
// scales). `target` is treated as a constant.
torch::Tensor normalized_mse(const torch::Tensor& a,
                             const torch::Tensor& target);

// Downsamples by 2 per level (average pooling): level 0 is the image.
std::vector<torch::Tensor> image_pyramid(const torch::Tensor& images,
                                         int levels);

// Style statistics: Gram matrices per pyramid level and layer.
struct StyleTargets {
  std::vector<torch::Tensor> grams;  // level-major: [level * layers + layer]
};

struct StyleLossConfig {
  std::vector<std::string> content_layers{"relu2_2"};
  std::vector<std::string> style_layers{"relu1_1", "relu2_1", "relu3_1"};
  int pyramid_levels = 2;  // 1 = single scale
};

// `first_level`, when given, receives the features of the image itself
// (pyramid level 0) at config.style_layers, e.g. to describe the painting
// from the same pass.
StyleTargets style_targets(LossNet& net, const torch::Tensor& style_rgb255,
                           const StyleLossConfig& config,
                           std::vector<torch::Tensor>* first_level = nullptr);

// Mean over levels and layers of normalized_mse(Gram(x), target); targets
// of batch 1 broadcast over x's batch.
torch::Tensor style_loss(LossNet& net, const torch::Tensor& rgb255,
                         const StyleTargets& targets,
                         const StyleLossConfig& config);

// Content loss and one style loss per target set, from one pass of the loss
// network over each pyramid level of `rgb255` (level 0 feeds both losses:
// the content layers and the style layers share it). `style_targets` may
// hold null for a style whose loss is not needed; without content layers
// in `config` there is no content loss (and `content` is undefined).
struct StyleLossTerms {
  torch::Tensor content;
  std::vector<torch::Tensor> style;  // undefined where the target was null
};
StyleLossTerms style_loss_terms(
    LossNet& net, const torch::Tensor& rgb255,
    const std::vector<torch::Tensor>& content_targets,
    const std::vector<const StyleTargets*>& style_targets,
    const StyleLossConfig& config);

// Content layers first, then the style layers not among them.
std::vector<std::string> loss_layers(const StyleLossConfig& config);

// Mean over content layers of normalized_mse(features(x), content_feats).
torch::Tensor content_loss(const std::vector<torch::Tensor>& features,
                           const std::vector<torch::Tensor>& targets);

// RGB <-> YIQ (luminance Y first), for colour-preserving transfer.
torch::Tensor rgb_to_yiq(const torch::Tensor& rgb);
torch::Tensor yiq_to_rgb(const torch::Tensor& yiq);
// Luminance replicated to 3 channels, its mean and std matched to `ref`'s
// luminance (Gatys et al. 2016, "Preserving color in neural artistic style
// transfer"): style images are matched to the content image this way.
torch::Tensor luminance_matched(const torch::Tensor& rgb,
                                const torch::Tensor& ref_rgb);

}  // namespace neuralart
