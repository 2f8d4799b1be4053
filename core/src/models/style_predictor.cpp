#include "neuralart/models/style_predictor.h"

#include <torch/torch.h>

#include "neuralart/error.h"
#include "neuralart/train/loss_net.h"
#include "neuralart/util/json_int.h"

namespace neuralart {

int64_t StylePredictorOptions::encoder_depth() const {
  int64_t depth = 0;
  for (const auto& l : layers)
    depth = std::max(depth, conv_stack_depth(encoder, l));
  return depth;
}

int64_t StylePredictorOptions::descriptor_size() const {
  const auto channels = conv_stack_channels(encoder, encoder_depth());
  int64_t d = 0;
  for (const auto& l : layers)
    d += 2 * channels[conv_stack_depth(encoder, l) - 1];
  return d;
}

void StylePredictorOptions::validate() const {
  if (encoder != "vgg19" && encoder != "random")
    throw InvalidArgument("style predictor encoder '" + encoder +
                          "' must be vgg19 or random");
  if (layers.empty() || layers.size() > 8)
    throw InvalidArgument("style predictor needs 1 to 8 layers");
  for (const auto& l : layers) conv_stack_depth(encoder, l);  // throws
  if (bottleneck < 1 || bottleneck > 4096)
    throw InvalidArgument("style predictor bottleneck " +
                          std::to_string(bottleneck) +
                          " is out of range [1, 4096]");
  if (code_size < 2 || code_size > (1 << 20))
    throw InvalidArgument("style predictor code_size " +
                          std::to_string(code_size) +
                          " is out of range [2, 2^20]");
  if (style_size < 32 || style_size > 4096)
    throw InvalidArgument("style predictor style_size " +
                          std::to_string(style_size) +
                          " is out of range [32, 4096]");
}

nlohmann::json StylePredictorOptions::to_json() const {
  return {{"name", "style_predictor"}, {"encoder", encoder},
          {"layers", layers},          {"bottleneck", bottleneck},
          {"code_size", code_size},    {"style_size", style_size}};
}

StylePredictorOptions StylePredictorOptions::from_json(
    const nlohmann::json& j) {
  if (!j.is_object() || j.value("name", "") != "style_predictor")
    throw InvalidArgument("architecture is not 'style_predictor'");
  StylePredictorOptions o;
  try {
    o.encoder = j.at("encoder").get<std::string>();
    o.layers = j.at("layers").get<std::vector<std::string>>();
    o.bottleneck = json_int(j.at("bottleneck"), "style_predictor bottleneck");
    o.code_size = json_int(j.at("code_size"), "style_predictor code_size");
    o.style_size = json_int(j.at("style_size"), "style_predictor style_size");
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("style_predictor architecture: ") +
                          e.what());
  }
  o.validate();
  return o;
}

torch::Tensor scale_painting(const torch::Tensor& img, int64_t side) {
  namespace F = torch::nn::functional;
  const int64_t h = img.size(2), w = img.size(3);
  const double f = static_cast<double>(side) / std::min(h, w);
  if (f == 1.0) return img;
  auto o = F::InterpolateFuncOptions().size(
      std::vector<int64_t>{std::max<int64_t>(1, std::llround(h * f)),
                           std::max<int64_t>(1, std::llround(w * f))});
  if (f < 1.0)
    o.mode(torch::kArea);
  else
    o.mode(torch::kBilinear).align_corners(false);
  return F::interpolate(img, o);
}

StylePredictorImpl::StylePredictorImpl(const StylePredictorOptions& options)
    : options_(options) {
  options_.validate();
  const auto channels =
      conv_stack_channels(options_.encoder, options_.encoder_depth());
  int64_t in = 3;
  for (size_t i = 0; i < channels.size(); ++i) {
    enc_w_.push_back(register_buffer("enc_w" + std::to_string(i),
                                     torch::zeros({channels[i], in, 3, 3})));
    enc_b_.push_back(register_buffer("enc_b" + std::to_string(i),
                                     torch::zeros({channels[i]})));
    in = channels[i];
  }
  const int64_t d = options_.descriptor_size();
  desc_mean_ = register_buffer("desc_mean", torch::zeros({d}));
  desc_std_ = register_buffer("desc_std", torch::ones({d}));
  bottleneck_ =
      register_module("bottleneck", torch::nn::Linear(d, options_.bottleneck));
  out_ = register_module(
      "out", torch::nn::Linear(options_.bottleneck, options_.code_size));
}

void StylePredictorImpl::set_encoder(const LossNet& net) {
  if (net.family() != options_.encoder)
    throw InvalidArgument("the style predictor's encoder is " +
                          options_.encoder + ", the loss network is " +
                          net.family());
  const auto convs = net.convs();
  if (convs.size() < enc_w_.size())
    throw InvalidArgument("the loss network has " +
                          std::to_string(convs.size()) +
                          " convolutions loaded, the style predictor needs " +
                          std::to_string(enc_w_.size()));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < enc_w_.size(); ++i) {
    enc_w_[i].copy_(convs[i].first);
    enc_b_[i].copy_(convs[i].second);
  }
}

torch::Tensor StylePredictorImpl::describe(
    const torch::Tensor& painting) const {
  TORCH_CHECK(
      painting.dim() == 4 && painting.size(0) == 1 && painting.size(1) == 3,
      "a painting is [1, 3, H, W], got ", painting.sizes());
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> w, b;
  for (size_t i = 0; i < enc_w_.size(); ++i) {
    w.push_back(enc_w_[i].to(torch::kFloat32));
    b.push_back(enc_b_[i].to(torch::kFloat32));
  }
  auto net = make_conv_stack_net(options_.encoder, w, b);
  net->to(enc_w_[0].device());
  return describe_features(net->features(
      painting.to(enc_w_[0].device(), torch::kFloat32), options_.layers));
}

torch::Tensor StylePredictorImpl::describe_features(
    const std::vector<torch::Tensor>& feats) const {
  TORCH_CHECK(feats.size() == options_.layers.size(), "expected ",
              options_.layers.size(), " feature maps, got ", feats.size());
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (const auto& f : feats) {
    auto flat = f.to(torch::kFloat32).flatten(2);  // [1, C, HW]
    parts.push_back(flat.mean(2).squeeze(0));
    parts.push_back(flat.std(2, /*unbiased=*/false).squeeze(0));
  }
  return torch::cat(parts);
}

void StylePredictorImpl::set_descriptor_stats(const torch::Tensor& d) {
  TORCH_CHECK(d.dim() == 2 && d.size(1) == desc_mean_.size(0),
              "descriptors must be [K, ", desc_mean_.size(0), "]");
  torch::NoGradGuard no_grad;
  desc_mean_.copy_(d.mean(0));
  // A floor keeps features that barely vary from blowing up.
  desc_std_.copy_(d.size(0) > 1 ? d.std(0, /*unbiased=*/false).clamp_min(1e-2) +
                                      0.1 * d.abs().mean(0)
                                : d.abs().clamp_min(1.0));
}

torch::Tensor StylePredictorImpl::forward(const torch::Tensor& descriptor) {
  auto z = (descriptor.to(desc_mean_.device(), torch::kFloat32) - desc_mean_) /
           desc_std_;
  return out_->forward(bottleneck_->forward(z));
}

torch::Tensor StylePredictorImpl::predict(const torch::Tensor& painting) {
  torch::NoGradGuard no_grad;
  return forward(describe(painting));
}

void StylePredictorImpl::init_output(const torch::Tensor& mean_code) {
  TORCH_CHECK(mean_code.dim() == 1 && mean_code.size(0) == options_.code_size,
              "mean code must have ", options_.code_size, " values");
  torch::NoGradGuard no_grad;
  out_->bias.copy_(mean_code);
  out_->weight.mul_(0.01);
}

UniversalStyleImpl::UniversalStyleImpl(const StyleNetOptions& net_options,
                                       const StylePredictorOptions& p) {
  net = register_module("net", StyleNet(net_options));
  predictor = register_module("predictor", StylePredictor(p));
  if (p.code_size != net->code_size())
    throw InvalidArgument("style predictor code_size " +
                          std::to_string(p.code_size) + " does not fit the " +
                          "network's " + std::to_string(net->code_size()));
}

BundleMeta universal_style_meta(const StyleNetOptions& net,
                                const StylePredictorOptions& predictor,
                                const std::vector<std::string>& style_names) {
  BundleMeta m;
  m.kind = ModelKind::UniversalStyle;
  m.arch = {{"name", "universal_style"},
            {"transformer", net.to_json()},
            {"predictor", predictor.to_json()}};
  m.io = {{"value_range", net.value_range},
          {"channel_order", "RGB"},
          {"style_image", "RGB 0-255, shorter side style_size"}};
  m.styles = style_names;
  m.provenance = default_provenance();
  return m;
}

UniversalStyle load_universal_style(const Bundle& bundle) {
  if (bundle.meta.kind != ModelKind::UniversalStyle)
    throw BundleError(bundle.path + ": is a " + to_string(bundle.meta.kind) +
                      " model, but a universal_style model (a style "
                      "predictor, made by neuralart-train universal) is "
                      "needed here");
  const auto& a = bundle.meta.arch;
  StyleNetOptions net;
  StylePredictorOptions pred;
  try {
    if (a.value("name", "") != "universal_style")
      throw InvalidArgument("architecture is not 'universal_style'");
    net = StyleNetOptions::from_json(a.at("transformer"));
    pred = StylePredictorOptions::from_json(a.at("predictor"));
  } catch (const std::exception& e) {
    throw BundleError(bundle.path + ": unsupported architecture: " + e.what());
  }
  UniversalStyle model{nullptr};
  try {
    model = UniversalStyle(net, pred);
  } catch (const InvalidArgument& e) {
    throw BundleError(bundle.path + ": " + e.what());
  }
  load_weights(bundle, *model);
  model->eval();
  return model;
}

UniversalStyle load_universal_style(const std::string& path) {
  return load_universal_style(read_bundle(path));
}

}  // namespace neuralart
