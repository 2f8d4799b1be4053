// The feed-forward style network family: pytorch/examples' TransformerNet
// layout (9x9 conv, two stride-2 convs, residual blocks, two upsample+conv,
// 9x9 conv; reflection padding; instance norm), with width and depth as
// parameters and conditional instance norm so one model holds N styles.
// Two options make compact real-time variants of the same layout (same
// module names, so a bundle names its variant and reloads into it):
// depthwise-separable residual convolutions, and a pixel-shuffle stem that
// moves every convolution one octave down (docs/benchmarks.md measures
// them).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

namespace neuralart {

struct StyleNetOptions {
  int64_t width = 32;  // channels of the first layer (x2, x4 deeper)
  int64_t res_blocks = 5;
  int64_t num_styles = 1;
  // "byte": input/output RGB in [0, 255] as pytorch/examples.
  std::string value_range = "byte";
  // Output layer: "sigmoid" maps to the value range as Dumoulin et al. 2017
  // (an untrained net gives mid-grey, and training moves it from there);
  // "linear" is pytorch/examples' raw conv output, which starts near 0
  // (black) and needs tens of thousands of steps to reach the image's
  // brightness. Bundles without the field are "linear" (written before it).
  std::string output = "sigmoid";
  // The 3x3 convolutions between the first and the last layer (down,
  // residual, up): "standard" (the reference) or "separable" (depthwise 3x3
  // then pointwise 1x1, as MobileNet: ~8x fewer FLOPs at width 32).
  std::string conv = "standard";
  // "full": the reference 9x9 convolutions at full resolution. "shuffle":
  // the frame is folded into 12 channels at half resolution
  // (pixel_unshuffle), the first and last convolutions are 3x3 there, and
  // pixel_shuffle unfolds the 12 output channels; no convolution runs at
  // full resolution and the residual blocks run at 1/8. Bundles without
  // these fields are "standard" and "full" (written before them).
  std::string stem = "full";
  // How the decoder upsamples: "fit" (nearest, to the encoder's sizes, so
  // any H and W come back unchanged) or "double" (nearest x2, as
  // pytorch/examples' UpsampleConvLayer, then the output is cropped to the
  // input: the same numbers as TransformerNet for any size; they differ
  // from "fit" only where H or W is not a multiple of 4). Bundles without
  // the field are "fit"; imported TransformerNet checkpoints are "double".
  std::string upsample = "fit";

  nlohmann::json to_json() const;  // {"name": "transformer_net", ...}
  static StyleNetOptions from_json(const nlohmann::json& j);
  void validate() const;
};

// Instance norm whose scale and shift are chosen per style (Dumoulin et
// al. 2017): weight/bias are [num_styles, C]; a style-weight vector mixes.
class CondInstanceNormImpl : public torch::nn::Module {
 public:
  CondInstanceNormImpl(int64_t channels, int64_t num_styles);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mix);
  // The same with the scale and shift given ([C] each), not looked up.
  torch::Tensor forward_affine(const torch::Tensor& x,
                               const torch::Tensor& gamma,
                               const torch::Tensor& beta);
  torch::Tensor weight, bias;
};
TORCH_MODULE(CondInstanceNorm);

// Reflection padding then a convolution; `separable` makes it a depthwise
// kernel x kernel convolution followed by a pointwise 1x1 ("pointwise").
class ConvLayerImpl : public torch::nn::Module {
 public:
  ConvLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                bool separable = false);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t pad;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Conv2d pointwise{nullptr};
};
TORCH_MODULE(ConvLayer);

class StyleNetImpl : public torch::nn::Module {
 public:
  explicit StyleNetImpl(const StyleNetOptions& options);
  // x: [N, 3, H, W] RGB in the model's value range, any H and W.
  // mix: [num_styles] weights (one-hot picks one style); undefined = style 0.
  torch::Tensor forward(const torch::Tensor& x,
                        const torch::Tensor& mix = torch::Tensor());
  // The network between its stem's fold and unfold. With stem "shuffle",
  // x is the frame folded to [N, 12, ceil(H/2), ceil(W/2)] as
  // pixel_unshuffle folds it (odd sides repeat their last row or column)
  // and the result is folded the same way; with "full" (fold 1) this is
  // forward(). Lets a caller fold and unfold in its own pass over pixels.
  torch::Tensor forward_folded(const torch::Tensor& x,
                               const torch::Tensor& mix = torch::Tensor());
  torch::Tensor forward_folded_code(const torch::Tensor& x,
                                    const torch::Tensor& code);
  int64_t fold() const { return options_.stem == "shuffle" ? 2 : 1; }
  const StyleNetOptions& options() const { return options_; }
  // One-hot weights for style `index`.
  torch::Tensor one_hot(int64_t index) const;

  // A style as one vector (a "style code"): every conditional instance
  // norm's scale then shift, in the order the frame passes them (in1, in2,
  // in3, the residual blocks', in4, in5). What a style-prediction network
  // outputs (Ghiasi et al. 2017); mixing styles mixes their codes.
  int64_t code_size() const;
  // The code of a mix of the stored styles ([num_styles] weights), [P].
  torch::Tensor style_code(const torch::Tensor& mix) const;
  // The codes of all stored styles, [num_styles, P].
  torch::Tensor style_codes() const;
  // forward() with the norms' scales and shifts taken from `code` ([P])
  // instead of the style table: any style, including one never stored.
  torch::Tensor forward_code(const torch::Tensor& x, const torch::Tensor& code);
  // The conditional instance norms in code order.
  std::vector<CondInstanceNormImpl*> norms() const;

 private:
  // Exactly one of mix and code is defined.
  torch::Tensor run(const torch::Tensor& x, const torch::Tensor& mix,
                    const torch::Tensor& code);
  torch::Tensor run_folded(const torch::Tensor& x, const torch::Tensor& mix,
                           const torch::Tensor& code);
  StyleNetOptions options_;
  ConvLayer conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  CondInstanceNorm in1{nullptr}, in2{nullptr}, in3{nullptr};
  torch::nn::ModuleList res_convs{nullptr}, res_norms{nullptr};
  ConvLayer up1{nullptr}, up2{nullptr};
  CondInstanceNorm in4{nullptr}, in5{nullptr};
  ConvLayer conv_out{nullptr};
};
TORCH_MODULE(StyleNet);

// A copy of `net` (its convolutions) whose style table holds `codes`
// ([K, code_size()]: K styles, e.g. the stored ones plus a predicted one).
StyleNet style_net_with_codes(const StyleNetImpl& net,
                              const torch::Tensor& codes);

// Multiply-adds x 2 of the network's convolutions on one H x W frame, in
// GFLOP (the reference width 32, 5 blocks: 70.9 at 640x360).
double style_net_gflop(const StyleNetOptions& options, int64_t h, int64_t w);

}  // namespace neuralart
