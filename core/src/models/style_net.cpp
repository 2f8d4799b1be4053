#include "neuralart/models/style_net.h"

#include <torch/torch.h>

#include "neuralart/error.h"
#include "neuralart/models/layers.h"
#include "neuralart/util/json_int.h"

namespace neuralart {

void StyleNetOptions::validate() const {
  if (width < 4 || width > 256)
    throw InvalidArgument("style network width " + std::to_string(width) +
                          " is out of range [4, 256]");
  if (res_blocks < 0 || res_blocks > 32)
    throw InvalidArgument("style network res_blocks " +
                          std::to_string(res_blocks) +
                          " is out of range [0, 32]");
  if (num_styles < 1 || num_styles > 256)
    throw InvalidArgument("num_styles " + std::to_string(num_styles) +
                          " is out of range [1, 256]");
  if (value_range != "byte" && value_range != "unit")
    throw InvalidArgument("style network value_range '" + value_range +
                          "' must be byte or unit");
  if (output != "sigmoid" && output != "linear")
    throw InvalidArgument("style network output '" + output +
                          "' must be sigmoid or linear");
  if (conv != "standard" && conv != "separable")
    throw InvalidArgument("style network conv '" + conv +
                          "' must be standard or separable");
  if (stem != "full" && stem != "shuffle")
    throw InvalidArgument("style network stem '" + stem +
                          "' must be full or shuffle");
  if (upsample != "fit" && upsample != "double")
    throw InvalidArgument("style network upsample '" + upsample +
                          "' must be fit or double");
}

nlohmann::json StyleNetOptions::to_json() const {
  return {{"name", "transformer_net"},
          {"width", width},
          {"res_blocks", res_blocks},
          {"num_styles", num_styles},
          {"value_range", value_range},
          {"output", output},
          {"conv", conv},
          {"stem", stem},
          {"upsample", upsample}};
}

StyleNetOptions StyleNetOptions::from_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("name", "") != "transformer_net")
    throw InvalidArgument("architecture is not 'transformer_net'");
  StyleNetOptions o;
  try {
    o.width = json_int(j.at("width"), "transformer_net width");
    o.res_blocks = json_int(j.at("res_blocks"), "transformer_net res_blocks");
    o.num_styles = json_int(j.at("num_styles"), "transformer_net num_styles");
    o.value_range = j.value("value_range", o.value_range);
    o.output = j.value("output", std::string("linear"));
    o.conv = j.value("conv", o.conv);
    o.stem = j.value("stem", o.stem);
    o.upsample = j.value("upsample", o.upsample);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("transformer_net architecture: ") +
                          e.what());
  }
  o.validate();
  return o;
}

CondInstanceNormImpl::CondInstanceNormImpl(int64_t channels,
                                           int64_t num_styles) {
  weight = register_parameter("weight", torch::ones({num_styles, channels}));
  bias = register_parameter("bias", torch::zeros({num_styles, channels}));
}

torch::Tensor CondInstanceNormImpl::forward(const torch::Tensor& x,
                                            const torch::Tensor& mix) {
  torch::Tensor gamma, beta;
  {
    NoAutocast fp32;  // the affine parameters stay fp32 in a bf16 step
    auto m = mix.to(weight.dtype());
    gamma = torch::matmul(m, weight);
    beta = torch::matmul(m, bias);
  }
  return forward_affine(x, gamma, beta);
}

torch::Tensor CondInstanceNormImpl::forward_affine(const torch::Tensor& x,
                                                   const torch::Tensor& gamma,
                                                   const torch::Tensor& beta) {
  // Instance statistics are the batch statistics of one image, and
  // batch_norm's kernels keep channels-last layouts, take bf16/fp16 input
  // with fp32 affine parameters and accumulate in fp32 (measured 20x faster
  // than instance_norm at 32x360x640 channels-last in inference, 2.3x
  // faster than fp32 var_mean arithmetic for a training batch, gradients
  // equal to 2e-3).
  auto norm = [&](const torch::Tensor& image) {
    return torch::batch_norm(image, gamma, beta, /*running_mean=*/{},
                             /*running_var=*/{}, /*training=*/true,
                             /*momentum=*/0.0, /*eps=*/1e-5,
                             /*cudnn_enabled=*/true);
  };
  if (x.size(0) == 1) return norm(x);
  // split, not narrow: its gradient is one cat, where each narrow's would
  // be a zero-filled batch-sized tensor (in NCHW) plus an add.
  std::vector<torch::Tensor> images;
  for (const auto& image : x.split(1, 0)) images.push_back(norm(image));
  return torch::cat(images).contiguous(x.suggest_memory_format());
}

ConvLayerImpl::ConvLayerImpl(int64_t in, int64_t out, int64_t kernel,
                             int64_t stride, bool separable)
    : pad(kernel / 2) {
  conv = register_module(
      "conv", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(in, separable ? in : out, kernel)
                      .stride(stride)
                      .groups(separable ? in : 1)));
  if (separable)
    pointwise = register_module(
        "pointwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
}

torch::Tensor ConvLayerImpl::forward(const torch::Tensor& x) {
  if (x.scalar_type() == torch::kBFloat16 && x.is_cpu() &&
      !x.is_contiguous(at::MemoryFormat::ChannelsLast)) {
    // LibTorch 1.13 has no bf16 CPU kernel for reflection_pad2d, and our
    // own pad wants channels-last: pad in fp32.
    auto padded =
        torch::reflection_pad2d(x.to(torch::kFloat32), {pad, pad, pad, pad});
    auto y = conv->forward(padded.to(torch::kBFloat16));
    return pointwise ? pointwise->forward(y) : y;
  }
  auto y = conv->forward(reflection_pad(x, pad));
  return pointwise ? pointwise->forward(y) : y;
}

StyleNetImpl::StyleNetImpl(const StyleNetOptions& options) : options_(options) {
  options_.validate();
  const int64_t w = options_.width, s = options_.num_styles;
  const bool shuffle = options_.stem == "shuffle";
  const bool sep = options_.conv == "separable";
  // The shuffle stem sees 12 channels (2x2 pixels x RGB) and emits 12.
  conv1 = register_module(
      "conv1", shuffle ? ConvLayer(12, w, 3, 1) : ConvLayer(3, w, 9, 1));
  in1 = register_module("in1", CondInstanceNorm(w, s));
  conv2 = register_module("conv2", ConvLayer(w, 2 * w, 3, 2, sep));
  in2 = register_module("in2", CondInstanceNorm(2 * w, s));
  conv3 = register_module("conv3", ConvLayer(2 * w, 4 * w, 3, 2, sep));
  in3 = register_module("in3", CondInstanceNorm(4 * w, s));
  res_convs = register_module("res_convs", torch::nn::ModuleList());
  res_norms = register_module("res_norms", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.res_blocks * 2; ++i) {
    res_convs->push_back(ConvLayer(4 * w, 4 * w, 3, 1, sep));
    res_norms->push_back(CondInstanceNorm(4 * w, s));
  }
  up1 = register_module("up1", ConvLayer(4 * w, 2 * w, 3, 1, sep));
  in4 = register_module("in4", CondInstanceNorm(2 * w, s));
  up2 = register_module("up2", ConvLayer(2 * w, w, 3, 1, sep));
  in5 = register_module("in5", CondInstanceNorm(w, s));
  conv_out = register_module(
      "conv_out", shuffle ? ConvLayer(w, 12, 3, 1) : ConvLayer(w, 3, 9, 1));
}

double style_net_gflop(const StyleNetOptions& o, int64_t h, int64_t w) {
  auto conv = [](int64_t k, int64_t cin, int64_t cout, int64_t oh, int64_t ow) {
    return 2.0 * k * k * cin * cout * oh * ow;
  };
  auto half = [](int64_t n) { return (n + 1) / 2; };
  const bool shuffle = o.stem == "shuffle";
  const int64_t c = o.width;
  // Sizes after the stem and the two stride-2 convolutions.
  const int64_t h1 = shuffle ? half(h) : h, w1 = shuffle ? half(w) : w;
  const int64_t h2 = half(h1), w2 = half(w1), h3 = half(h2), w3 = half(w2);
  // "double" upsamples to 2x, 4x the smallest level (then crops).
  const bool dbl = o.upsample == "double";
  const int64_t uh2 = dbl ? 2 * h3 : h2, uw2 = dbl ? 2 * w3 : w2;
  const int64_t uh1 = dbl ? 4 * h3 : h1, uw1 = dbl ? 4 * w3 : w1;
  double f = shuffle ? conv(3, 12, c, h1, w1) : conv(9, 3, c, h1, w1);
  // A 3x3 convolution inside the network, standard or separable.
  auto inner = [&](int64_t cin, int64_t cout, int64_t oh, int64_t ow) {
    return o.conv == "separable"
               ? conv(3, 1, cin, oh, ow) + conv(1, cin, cout, oh, ow)
               : conv(3, cin, cout, oh, ow);
  };
  f += inner(c, 2 * c, h2, w2);
  f += inner(2 * c, 4 * c, h3, w3);
  f += 2.0 * static_cast<double>(o.res_blocks) * inner(4 * c, 4 * c, h3, w3);
  f += inner(4 * c, 2 * c, uh2, uw2);
  f += inner(2 * c, c, uh1, uw1);
  f += shuffle ? conv(3, c, 12, uh1, uw1) : conv(9, c, 3, uh1, uw1);
  return f / 1e9;
}

torch::Tensor StyleNetImpl::one_hot(int64_t index) const {
  TORCH_CHECK(index >= 0 && index < options_.num_styles, "style index ", index,
              " is out of range [0, ", options_.num_styles - 1, "]");
  auto m = torch::zeros({options_.num_styles});
  m[index] = 1.0;
  return m;
}

std::vector<CondInstanceNormImpl*> StyleNetImpl::norms() const {
  // Modules are shared handles: const here means "does not change them".
  auto* self = const_cast<StyleNetImpl*>(this);
  std::vector<CondInstanceNormImpl*> out{self->in1.get(), self->in2.get(),
                                         self->in3.get()};
  for (const auto& m : *self->res_norms)
    out.push_back(m->as<CondInstanceNormImpl>());
  out.push_back(self->in4.get());
  out.push_back(self->in5.get());
  return out;
}

int64_t StyleNetImpl::code_size() const {
  int64_t n = 0;
  for (const auto* in : norms()) n += 2 * in->weight.size(1);
  return n;
}

torch::Tensor StyleNetImpl::style_codes() const {
  std::vector<torch::Tensor> parts;
  for (const auto* in : norms()) {
    parts.push_back(in->weight.to(torch::kFloat32));
    parts.push_back(in->bias.to(torch::kFloat32));
  }
  return torch::cat(parts, 1);
}

torch::Tensor StyleNetImpl::style_code(const torch::Tensor& mix) const {
  TORCH_CHECK(mix.dim() == 1 && mix.size(0) == options_.num_styles,
              "style mix must have ", options_.num_styles, " weights");
  return torch::matmul(mix.to(torch::kFloat32).to(in1->weight.device()),
                       style_codes());
}

StyleNet style_net_with_codes(const StyleNetImpl& net,
                              const torch::Tensor& codes) {
  TORCH_CHECK(codes.dim() == 2 && codes.size(1) == net.code_size(),
              "style codes must be [K, ", net.code_size(), "], got ",
              codes.sizes());
  auto o = net.options();
  o.num_styles = codes.size(0);
  StyleNet copy(o);
  torch::NoGradGuard no_grad;
  auto mine = copy->named_parameters();
  for (const auto& p : net.named_parameters()) {
    auto* dst = mine.find(p.key());
    TORCH_CHECK(dst != nullptr, "no parameter ", p.key());
    if (dst->sizes() == p.value().sizes())
      dst->copy_(p.value().to(torch::kFloat32).cpu());
  }
  auto c = codes.to(torch::kFloat32).cpu();
  int64_t at = 0;
  for (auto* in : copy->norms()) {
    const int64_t ch = in->weight.size(1);
    in->weight.copy_(c.narrow(1, at, ch));
    in->bias.copy_(c.narrow(1, at + ch, ch));
    at += 2 * ch;
  }
  return copy;
}

torch::Tensor StyleNetImpl::forward(const torch::Tensor& x,
                                    const torch::Tensor& mix) {
  return run(x, mix.defined() ? mix : one_hot(0), {});
}

torch::Tensor StyleNetImpl::forward_code(const torch::Tensor& x,
                                         const torch::Tensor& code) {
  TORCH_CHECK(code.dim() == 1 && code.size(0) == code_size(),
              "style code must have ", code_size(), " values, got ",
              code.sizes());
  return run(x, {}, code);
}

torch::Tensor StyleNetImpl::forward_folded(const torch::Tensor& x,
                                           const torch::Tensor& mix) {
  return run_folded(x, mix.defined() ? mix : one_hot(0), {});
}

torch::Tensor StyleNetImpl::forward_folded_code(const torch::Tensor& x,
                                                const torch::Tensor& code) {
  TORCH_CHECK(code.dim() == 1 && code.size(0) == code_size(),
              "style code must have ", code_size(), " values, got ",
              code.sizes());
  return run_folded(x, {}, code);
}

torch::Tensor StyleNetImpl::run(const torch::Tensor& x,
                                const torch::Tensor& mix,
                                const torch::Tensor& code) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 3,
              "style network expects [N, 3, H, W], got ", x.sizes());
  if (fold() == 1) return run_folded(x, mix, code);
  torch::Tensor x_in = x;
  // Odd sides get their last row/column repeated (cropped again below).
  if (x_in.size(2) % 2)
    x_in = torch::cat({x_in, x_in.narrow(2, x_in.size(2) - 1, 1)}, 2);
  if (x_in.size(3) % 2)
    x_in = torch::cat({x_in, x_in.narrow(3, x_in.size(3) - 1, 1)}, 3);
  x_in = torch::pixel_unshuffle(x_in, 2).contiguous(x.suggest_memory_format());
  auto y = torch::pixel_shuffle(run_folded(x_in, mix, code), 2);
  if (y.size(2) != x.size(2) || y.size(3) != x.size(3))
    y = y.narrow(2, 0, x.size(2)).narrow(3, 0, x.size(3));
  return y;
}

torch::Tensor StyleNetImpl::run_folded(const torch::Tensor& x,
                                       const torch::Tensor& mix_in,
                                       const torch::Tensor& code_in) {
  const int64_t channels = 3 * fold() * fold();
  TORCH_CHECK(x.dim() == 4 && x.size(1) == channels,
              "style network expects [N, ", channels, ", H, W] here, got ",
              x.sizes());
  // Reflection padding needs every level to be at least 2 pixels (9x9 at
  // the top needs 5): frames of at least 5 pixels, or 9 with the shuffle.
  TORCH_CHECK(x.size(2) >= 5 && x.size(3) >= 5, "style network needs frames",
              " of at least ", 4 * fold() + 1, "x", 4 * fold() + 1, ", got ",
              x.size(3) * fold(), "x", x.size(2) * fold());
  torch::Tensor mix, code;
  if (code_in.defined()) {
    code = code_in.to(x.device(), torch::kFloat32);
  } else {
    mix = mix_in.to(x.device());
    TORCH_CHECK(mix.dim() == 1 && mix.size(0) == options_.num_styles,
                "style mix must have ", options_.num_styles, " weights");
  }
  // The k-th norm's scale and shift: looked up by the mix in its table, or
  // read from the code (norms() order).
  int64_t at = 0;
  auto norm = [&](CondInstanceNormImpl& in, const torch::Tensor& t) {
    if (!code.defined()) return in.forward(t, mix);
    const int64_t c = in.weight.size(1);
    auto gamma = code.narrow(0, at, c), beta = code.narrow(0, at + c, c);
    at += 2 * c;
    return in.forward_affine(t, gamma, beta);
  };
  // In inference the activations are rewritten in place (no autograd
  // needs the inputs), which saves an allocation and a pass per layer.
  const bool in_place = !torch::GradMode::is_enabled();
  // ReLU in place in training too: what it follows (a normalisation) keeps
  // its input, not its output, for the backward pass.
  auto relu = [](torch::Tensor t) { return t.relu_(); };
  auto y1 = relu(norm(*in1, conv1->forward(x)));
  auto y2 = relu(norm(*in2, conv2->forward(y1)));
  auto y = relu(norm(*in3, conv3->forward(y2)));
  for (size_t i = 0; i < res_convs->size(); i += 2) {
    auto r = relu(norm(*res_norms[i]->as<CondInstanceNorm>(),
                       res_convs[i]->as<ConvLayer>()->forward(y)));
    r = norm(*res_norms[i + 1]->as<CondInstanceNorm>(),
             res_convs[i + 1]->as<ConvLayer>()->forward(r));
    y = in_place ? r.add_(y) : y + r;
  }
  // "fit": upsample to the encoder's sizes so any H and W come back
  // unchanged; "double": x2 as TransformerNet, cropped to x at the end.
  const bool fit = options_.upsample == "fit";
  auto upsample = [&](const torch::Tensor& t, const torch::Tensor& like) {
    return fit ? torch::upsample_nearest2d(t, {like.size(2), like.size(3)})
               : torch::upsample_nearest2d(t, {2 * t.size(2), 2 * t.size(3)});
  };
  y = relu(norm(*in4, up1->forward(upsample(y, y2))));
  y = relu(norm(*in5, up2->forward(upsample(y, y1))));
  y = conv_out->forward(y);
  if (y.size(2) != x.size(2) || y.size(3) != x.size(3))
    y = y.narrow(2, 0, x.size(2)).narrow(3, 0, x.size(3));
  if (options_.output == "linear") return y;
  const double top = options_.value_range == "byte" ? 255.0 : 1.0;
  return in_place ? y.sigmoid_().mul_(top) : torch::sigmoid(y) * top;
}

}  // namespace neuralart
