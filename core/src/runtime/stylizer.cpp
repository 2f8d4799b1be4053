#include "neuralart/runtime/stylizer.h"

#include <ATen/Context.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/models/load.h"

namespace neuralart {
namespace {

// StyleNet's reflection padding needs a few pixels; smaller frames (or
// inference scales) run at this side and are resized back. TorchScript
// models get the frame as it is.
constexpr int64_t kMinStyleNetSide = 16;

double range_max(ValueRange range) {
  return range == ValueRange::Byte ? 255.0 : 1.0;
}

// First line of a LibTorch message, without the C++ backtrace.
std::string first_line(const c10::Error& e) {
  std::string msg = e.what_without_backtrace();
  const auto nl = msg.find('\n');
  return nl == std::string::npos ? msg : msg.substr(0, nl);
}

std::string shape_string(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

}  // namespace

std::vector<double> parse_style_mix(const std::string& text) {
  std::vector<double> weights;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    if (first == std::string::npos) {
      throw InvalidArgument("style mix '" + text +
                            "' has an empty weight (expected e.g. 0.3,0.7)");
    }
    const auto last = item.find_last_not_of(" \t");
    item = item.substr(first, last - first + 1);
    size_t used = 0;
    double w = 0.0;
    try {
      w = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !std::isfinite(w) || w < 0.0) {
      throw InvalidArgument("style mix '" + text + "': '" + item +
                            "' is not a weight >= 0 (expected e.g. 0.3,0.7)");
    }
    weights.push_back(w);
  }
  return weights;
}

struct Stylizer::Model {
  StyleModelInfo info;
  torch::ScalarType dtype = torch::kFloat32;
  // Forward passes mutate nothing, but LibTorch's APIs are not const.
  mutable StyleNet net{nullptr};
  mutable torch::jit::Module script;

  torch::Tensor forward(const torch::Tensor& x,
                        const torch::Tensor& mix) const {
    // TorchScript code may view() its input: give it the plain layout.
    if (info.torchscript) return script.forward({x.contiguous()}).toTensor();
    return net->forward(x, mix);
  }
};

namespace {

using Model = Stylizer::Model;

std::shared_ptr<Model> read_model(const std::string& path,
                                  const StylizerOptions& options,
                                  const torch::Device& device) {
  if (!std::filesystem::is_regular_file(path))
    throw BundleError(path + ": no such model file");
  auto model = std::make_shared<Model>();
  model->info.path = path;
  if (looks_like_bundle(path)) {
    auto bundle = read_bundle(path);
    model->net = load_style_net(bundle);
    const auto& o = model->net->options();
    model->info.range = value_range_from_string(o.value_range);
    model->info.num_styles = o.num_styles;
    for (const auto& name : bundle.meta.styles)
      model->info.style_names.push_back(
          name.is_string() ? name.get<std::string>() : name.dump());
  } else {
    try {
      model->script = torch::jit::load(path, device);
    } catch (const c10::Error& e) {
      throw BundleError(path +
                        ": neither a neuralart bundle nor a TorchScript "
                        "module (" +
                        first_line(e) + ")");
    }
    model->info.torchscript = true;
    model->info.range = options.torchscript_range;
    model->info.num_styles = 1;
  }
  return model;
}

// Moves the model to the device and precision asked for.
void place_model(Model& model, const torch::Device& device,
                 Precision precision) {
  model.dtype = scalar_type(precision);
  if (model.info.torchscript) {
    model.script.to(device, model.dtype);
    model.script.eval();
  } else {
    model.net->to(device, model.dtype);
    model.net->eval();
    // Channels-last weights: the convolutions then run on NHWC activations
    // without reordering (oneDNN on CPU, cuDNN on GPU).
    torch::NoGradGuard no_grad;
    for (auto& p : model.net->parameters())
      if (p.dim() == 4)
        p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

}  // namespace

Stylizer::Stylizer(const std::string& model_path,
                   const StylizerOptions& options)
    : options_(options), device_(parse_device(options.runtime.device)) {
  keep_freed_memory_for_reuse();
  // cuDNN picks the fastest algorithm per frame size (cached after the
  // first frame of each size).
  if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  if (options_.runtime.precision == Precision::FP16 && device_.is_cpu()) {
    throw InvalidArgument(
        "precision fp16 needs a CUDA device; use fp32 (or bf16) on cpu");
  }
  if (options_.runtime.precision == Precision::BF16 && device_.is_cpu() &&
      !cpu_has_native_bf16()) {
    throw InvalidArgument(
        "precision bf16 on this CPU would be emulated and slower than fp32 "
        "(no AVX512-BF16 or AMX); use fp32");
  }
  if (options_.warmup_size < 0)
    throw InvalidArgument("warm-up size must be >= 0");
  load_model(model_path);
}

Stylizer::~Stylizer() = default;

void Stylizer::load_model(const std::string& model_path) {
  auto model = read_model(model_path, options_, device_);
  place_model(*model, device_, options_.runtime.precision);
  if (options_.warmup_size > 0) {
    c10::InferenceMode inference;
    const int64_t side = options_.warmup_size;
    auto x = (torch::rand({1, 3, side, side}) * range_max(model->info.range))
                 .to(device_, model->dtype)
                 .contiguous(at::MemoryFormat::ChannelsLast);
    auto mix = torch::full({model->info.num_styles},
                           1.0 / static_cast<double>(model->info.num_styles));
    torch::Tensor y;
    double ms = 0.0;
    try {
      // Two passes: the first allocates and picks kernels, the second is
      // the steady per-frame cost.
      for (int pass = 0; pass < 2; ++pass) {
        const auto t0 = std::chrono::steady_clock::now();
        y = model->forward(x, mix.to(device_));
        if (device_.is_cuda()) y = y.cpu();
        ms = std::chrono::duration<double, std::milli>(
                 std::chrono::steady_clock::now() - t0)
                 .count();
      }
    } catch (const c10::Error& e) {
      throw BundleError(model_path + ": the model fails on a " +
                        std::to_string(side) + "x" + std::to_string(side) +
                        " frame in " + to_string(options_.runtime.precision) +
                        " on " + device_.str() + ": " + first_line(e));
    }
    if (y.dim() != 4 || y.size(0) != 1 || y.size(1) != 3) {
      throw BundleError(model_path + ": output of shape " + shape_string(y) +
                        " breaks the style I/O contract (expected [N, 3, H, "
                        "W] RGB)");
    }
    model->info.warmup_ms = ms;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  model_ = std::move(model);
}

std::shared_ptr<const Stylizer::Model> Stylizer::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return model_;
}

StyleModelInfo Stylizer::info() const { return current()->info; }

int64_t Stylizer::style_index(const std::string& name_or_index) const {
  const auto model = current();
  const auto& names = model->info.style_names;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name_or_index) return static_cast<int64_t>(i);
  if (!name_or_index.empty() &&
      name_or_index.find_first_not_of("0123456789") == std::string::npos &&
      name_or_index.size() < 10) {
    const int64_t index = std::stoll(name_or_index);
    if (index < model->info.num_styles) return index;
  }
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw InvalidArgument(
      "style '" + name_or_index + "' is not in " + model->info.path +
      " (it has " + std::to_string(model->info.num_styles) +
      " style(s): index 0.." + std::to_string(model->info.num_styles - 1) +
      (known.empty() ? std::string() : ", names " + known) + ")");
}

namespace {

void check_params(const Stylizer::Model& model, const StyleParams& p) {
  const auto n = model.info.num_styles;
  if (!(p.strength >= 0.0 && p.strength <= 1.0))
    throw InvalidArgument("strength " + std::to_string(p.strength) +
                          " is outside [0, 1]");
  if (!(p.inference_scale > 0.0 && p.inference_scale <= 1.0))
    throw InvalidArgument("inference scale " +
                          std::to_string(p.inference_scale) +
                          " is outside (0, 1]");
  if (p.mix.empty()) {
    if (p.style < 0 || p.style >= n)
      throw InvalidArgument("style index " + std::to_string(p.style) +
                            " is out of range for " + model.info.path + " (" +
                            std::to_string(n) + " style(s))");
    return;
  }
  if (static_cast<int64_t>(p.mix.size()) != n)
    throw InvalidArgument("style mix has " + std::to_string(p.mix.size()) +
                          " weight(s), but " + model.info.path + " has " +
                          std::to_string(n) + " style(s)");
  double sum = 0.0;
  for (double w : p.mix) {
    if (!(w >= 0.0) || !std::isfinite(w))
      throw InvalidArgument("style mix weights must be finite and >= 0");
    sum += w;
  }
  if (sum <= 0.0) throw InvalidArgument("style mix weights sum to 0");
}

}  // namespace

void Stylizer::validate(const StyleParams& params) const {
  check_params(*current(), params);
}

void Stylizer::process(const FrameView& in, const FrameView& out,
                       const StyleParams& params) {
  validate_frame(in);
  validate_frame(out);
  if (in.width != out.width || in.height != out.height ||
      in.format != out.format)
    throw InvalidArgument("input and output frames differ in size or format");
  const auto model = current();
  check_params(*model, params);

  if (params.strength == 0.0) {
    // Passthrough: the network does not run.
    if (in.data != out.data) {
      const auto row = static_cast<size_t>(in.width) *
                       pixel_layout(in.format).bytes_per_pixel;
      for (int y = 0; y < in.height; ++y)
        std::memcpy(out.data + y * out.stride, in.data + y * in.stride, row);
    }
    return;
  }

  c10::InferenceMode inference;
  apply_threads(options_.runtime.threads);

  const auto range = model->info.range;
  const auto layout = pixel_layout(in.format);
  const int64_t h = in.height, w = in.width, bpp = layout.bytes_per_pixel;
  const auto cl = at::MemoryFormat::ChannelsLast;

  // The input's bytes [H, W, bpp] where the model runs: a view of the
  // frame on the CPU; on a GPU one upload of the rows, as uint8.
  torch::Tensor bytes;
  if (device_.is_cpu()) {
    bytes = torch::from_blob(in.data, {h, w, bpp}, {in.stride, bpp, 1},
                             torch::kUInt8);
  } else {
    bytes = torch::from_blob(in.data, {h, in.stride}, torch::kUInt8)
                .to(device_)
                .narrow(1, 0, w * bpp)
                .view({h, w, bpp});
  }
  // RGB planes [1, 3, H, W] (a strided view for RGB-ordered layouts).
  torch::Tensor rgb;
  if (layout.g == layout.r + 1 && layout.b == layout.r + 2) {
    rgb = bytes.narrow(2, layout.r, 3);
  } else {
    rgb = bytes.index_select(
        2, torch::tensor({layout.r, layout.g, layout.b}, torch::kLong)
               .to(device_));
  }
  rgb = rgb.permute({2, 0, 1}).unsqueeze(0);

  const bool blend = params.strength < 1.0;
  int64_t net_h = std::llround(static_cast<double>(h) * params.inference_scale);
  int64_t net_w = std::llround(static_cast<double>(w) * params.inference_scale);
  const int64_t min_side = model->info.torchscript ? 1 : kMinStyleNetSide;
  net_h = std::max(net_h, min_side);
  net_w = std::max(net_w, min_side);
  const bool resize = net_h != h || net_w != w;

  auto make_mix = [&] {
    torch::Tensor mix;
    if (params.mix.empty()) {
      mix = torch::zeros({model->info.num_styles});
      mix[params.style] = 1.0;
    } else {
      mix = torch::tensor(params.mix, torch::kFloat32);
      mix = mix / mix.sum();
    }
    return mix.to(device_);
  };
  if (device_.is_cpu() && !blend && !resize && !model->info.torchscript &&
      (model->dtype == torch::kFloat32 || model->dtype == torch::kBFloat16)) {
    // The common case in one pass each way: bytes -> the network's input
    // layout (folded for a pixel-shuffle stem), and its folded output ->
    // bytes, with no full-size intermediate tensors.
    const int64_t fold = model->net->fold();
    auto y = model->net->forward_folded(
        frame_to_folded(in, range, model->dtype, fold), make_mix());
    folded_to_frame(y, range, fold, out);
    if (in.data != out.data) copy_alpha(in, out);
    return;
  }

  namespace F = torch::nn::functional;
  torch::Tensor x;  // fp32 input, when blending or resizing needs it
  if (blend || resize) {
    x = rgb.to(torch::kFloat32).contiguous(cl);
    bytes_to_range_(x, range);
  }
  torch::Tensor net_in;
  if (resize) {
    const bool shrink = net_h < h || net_w < w;
    net_in = F::interpolate(x, F::InterpolateFuncOptions()
                                   .size(std::vector<int64_t>{net_h, net_w})
                                   .mode(torch::kBilinear)
                                   .align_corners(false)
                                   .antialias(shrink))
                 .to(model->dtype)
                 .contiguous(cl);
  } else {
    // uint8 -> the model's dtype, channels-last, in one pass.
    net_in = torch::empty({1, 3, h, w}, torch::TensorOptions()
                                            .dtype(model->dtype)
                                            .device(device_)
                                            .memory_format(cl));
    net_in.copy_(rgb);
    bytes_to_range_(net_in, range);
  }

  auto y = model->forward(net_in, make_mix());
  if (y.dim() != 4 || y.size(0) != 1 || y.size(1) != 3) {
    throw InvalidArgument(model->info.path + ": output of shape " +
                          shape_string(y) +
                          " breaks the style I/O contract (expected [1, 3, "
                          "H, W] RGB)");
  }
  if (y.size(2) != h || y.size(3) != w) {
    y = F::interpolate(y.to(torch::kFloat32),
                       F::InterpolateFuncOptions()
                           .size(std::vector<int64_t>{h, w})
                           .mode(torch::kBilinear)
                           .align_corners(false));
  }
  if (blend) y = x + (y.to(torch::kFloat32) - x) * params.strength;

  if (device_.is_cpu()) {
    tensor_to_frame(y, range, out);
    if (in.data != out.data) copy_alpha(in, out);
    return;
  }
  // GPU: bytes computed there, written over the uploaded input (which
  // keeps its alpha), one download into a reused pinned buffer, then rows.
  auto out_bytes = range_to_bytes(y, range)[0];
  auto result = bytes.contiguous();
  result.select(2, layout.r).copy_(out_bytes[0]);
  result.select(2, layout.g).copy_(out_bytes[1]);
  result.select(2, layout.b).copy_(out_bytes[2]);
  if (!pinned_.defined() || pinned_.numel() != h * w * bpp) {
    pinned_ = torch::empty(
        {h, w * bpp}, torch::TensorOptions(torch::kUInt8).pinned_memory(true));
  }
  pinned_.copy_(result.view({h, w * bpp}));
  const auto* src = pinned_.data_ptr<uint8_t>();
  for (int64_t row = 0; row < h; ++row)
    std::memcpy(out.data + row * out.stride, src + row * w * bpp,
                static_cast<size_t>(w * bpp));
}

}  // namespace neuralart
