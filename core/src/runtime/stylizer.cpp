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
#include <tuple>
#include <utility>

#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/models/load.h"
#include "neuralart/models/style_predictor.h"
#include "neuralart/runtime/script_precision.h"

namespace neuralart {
namespace {

// StyleNet's reflection padding needs a few pixels; smaller frames (or
// inference scales) run at this side and are resized back. TorchScript
// models get the frame as it is.
constexpr int64_t kMinStyleNetSide = 16;

// Timed forward passes per precision under auto, alternating fp32 and the
// candidate so that both see the same load on a shared machine; the
// fastest pass of each counts. The first passes at a new size are slow:
// kernels are picked and the heap grows to the larger (fp32) activations
// (measured, compact model at 720p: page faults in fp32's first three
// passes, +10-35 % on the second and third; none from the fourth).
constexpr int kAutoPasses = 4;

double range_max(ValueRange range) {
  return range == ValueRange::Byte ? 255.0 : 1.0;
}

// First line of a LibTorch message, without the C++ backtrace.
std::string first_line(const c10::Error& e) {
  std::string msg = e.what_without_backtrace();
  const auto nl = msg.find('\n');
  return nl == std::string::npos ? msg : msg.substr(0, nl);
}

// Last non-empty line of a message: the error under a TorchScript
// interpreter's traceback.
std::string last_line(const std::exception& e) {
  std::string msg = e.what();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
    msg.pop_back();
  const auto nl = msg.rfind('\n');
  return nl == std::string::npos ? msg : msg.substr(nl + 1);
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
  // Precision auto, not yet timed: runs fp32 until the first frame.
  bool auto_pending = false;
  // Forward passes mutate nothing, but LibTorch's APIs are not const.
  mutable StyleNet net{nullptr};
  mutable torch::jit::Module script;
  // Universal models: the fp32 network and predictor as loaded, from which
  // each style image's network is derived (net is a placed copy).
  UniversalStyle universal{nullptr};

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
    if (bundle.meta.kind == ModelKind::UniversalStyle) {
      model->universal = load_universal_style(bundle);
      model->net = style_net_with_codes(*model->universal->net,
                                        model->universal->net->style_codes());
      model->info.universal = true;
      model->info.style_size =
          model->universal->predictor->options().style_size;
    } else {
      model->net = load_style_net(bundle);
    }
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
    // Ops without a bf16 kernel run in fp32 islands, so the rest of the
    // module can run in bf16 (no change to what fp32 computes).
    try {
      model->info.fp32_ops = prepare_script_for_bf16(model->script);
    } catch (const c10::Error& e) {
      throw BundleError(path +
                        ": TorchScript module without a usable "
                        "forward method (" +
                        first_line(e) + ")");
    }
  }
  return model;
}

std::vector<torch::Tensor> weights_of(const Model& model);

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
  }
  // Channels-last weights: the convolutions then run on NHWC activations
  // without reordering (oneDNN on CPU, cuDNN on GPU); a convolution with
  // channels-last weights gives channels-last output, so a TorchScript
  // module fed a plain input goes NHWC after its first one.
  torch::NoGradGuard no_grad;
  for (auto& p : weights_of(model))
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

// The fastest of `passes` forward passes (ms) of a random h x w input, and
// the last output.
std::pair<double, torch::Tensor> time_forward(const Model& model,
                                              const torch::Device& device,
                                              int64_t h, int64_t w,
                                              int passes) {
  c10::InferenceMode inference;
  auto x = (torch::rand({1, 3, h, w}) * range_max(model.info.range))
               .to(device, model.dtype)
               .contiguous(at::MemoryFormat::ChannelsLast);
  auto mix = torch::full({model.info.num_styles},
                         1.0 / static_cast<double>(model.info.num_styles))
                 .to(device);
  double best = 0.0;
  torch::Tensor y;
  for (int pass = 0; pass < passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    y = model.forward(x, mix);
    if (device.is_cuda()) y = y.cpu();  // waits for the GPU
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
    if (pass == 0 || ms < best) best = ms;
  }
  return {best, y};
}

// The tensors place_model() converts: parameters and buffers.
std::vector<torch::Tensor> weights_of(const Model& model) {
  std::vector<torch::Tensor> weights;
  if (model.info.torchscript) {
    for (const auto& t : model.script.parameters()) weights.push_back(t);
    for (const auto& t : model.script.buffers()) weights.push_back(t);
  } else {
    for (const auto& t : model.net->parameters()) weights.push_back(t);
    for (const auto& t : model.net->buffers()) weights.push_back(t);
  }
  return weights;
}

// Points the model's weights at `tensors` (weights_of() order), in dtype.
void use_weights(Model& model, const std::vector<torch::Tensor>& tensors,
                 torch::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  auto weights = weights_of(model);
  for (size_t i = 0; i < weights.size(); ++i) weights[i].set_data(tensors[i]);
  model.dtype = dtype;
}

// Times fp32 against the candidate precision at h x w and leaves `model`
// in the faster; in fp32 when the candidate fails. An fp32 failure on the
// first pass throws (the frame would fail too) and leaves the model as it
// was.
void choose_precision(Model& model, const torch::Device& device, int64_t h,
                      int64_t w) {
  auto& choice = model.info.auto_choice;
  choice.width = w;
  choice.height = h;
  choice.fp32_ms = time_forward(model, device, h, w, 1).first;
  choice.candidate_ms = 0.0;
  // Both sets of weights, swapped by pointer; the fp32 ones are copies, as
  // the candidate's are rounded from them.
  std::vector<torch::Tensor> fp32, candidate;
  {
    torch::NoGradGuard no_grad;
    for (const auto& t : weights_of(model)) fp32.push_back(t.detach().clone());
  }
  Precision timing = choice.candidate;
  try {
    place_model(model, device, choice.candidate);
    for (const auto& t : weights_of(model)) candidate.push_back(t.detach());
    const auto candidate_dtype = model.dtype;
    double ms = time_forward(model, device, h, w, 1).first;
    for (int pass = 1; pass < kAutoPasses; ++pass) {
      timing = Precision::FP32;
      use_weights(model, fp32, torch::kFloat32);
      choice.fp32_ms =
          std::min(choice.fp32_ms, time_forward(model, device, h, w, 1).first);
      timing = choice.candidate;
      use_weights(model, candidate, candidate_dtype);
      ms = std::min(ms, time_forward(model, device, h, w, 1).first);
    }
    choice.candidate_ms = ms;
  } catch (const c10::Error& e) {
    choice.note = to_string(timing) + " fails: " + first_line(e);
  } catch (const std::exception& e) {  // TorchScript's interpreter
    choice.note = to_string(timing) + " fails: " + last_line(e);
  }
  const bool candidate_wins =
      choice.candidate_ms > 0.0 && choice.candidate_ms < choice.fp32_ms;
  if (candidate_wins) {
    use_weights(model, candidate, scalar_type(choice.candidate));
  } else {
    use_weights(model, fp32, torch::kFloat32);
  }
  model.info.precision = candidate_wins ? choice.candidate : Precision::FP32;
  model.auto_pending = false;
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
  Precision precision = options_.runtime.precision;
  if (precision == Precision::AUTO) {
    // Until the first frame is timed, the model runs (and warms up) in fp32.
    auto& choice = model->info.auto_choice;
    choice.candidate = auto_precision_candidate(device_);
    model->auto_pending = choice.candidate != Precision::FP32;
    if (!model->auto_pending)
      choice.note = "no native bf16 on this CPU (AVX512-BF16 or AMX)";
    precision = Precision::FP32;
  }
  model->info.precision = model->auto_pending ? Precision::AUTO : precision;
  place_model(*model, device_, precision);
  warm_up(*model, model_path, precision);
  std::lock_guard<std::mutex> lock(mutex_);
  model_ = std::move(model);
}

void Stylizer::warm_up(Model& model, const std::string& label,
                       Precision precision) const {
  if (options_.warmup_size <= 0) return;
  const int64_t side = options_.warmup_size;
  torch::Tensor y;
  double ms = 0.0;
  try {
    // Two passes: the first allocates and picks kernels, the second is
    // the steady per-frame cost.
    std::tie(ms, y) = time_forward(model, device_, side, side, 2);
  } catch (const c10::Error& e) {
    throw BundleError(label + ": the model fails on a " + std::to_string(side) +
                      "x" + std::to_string(side) + " frame in " +
                      to_string(precision) + " on " + device_.str() + ": " +
                      first_line(e));
  }
  if (y.dim() != 4 || y.size(0) != 1 || y.size(1) != 3) {
    throw BundleError(label + ": output of shape " + shape_string(y) +
                      " breaks the style I/O contract (expected [N, 3, H, "
                      "W] RGB)");
  }
  model.info.warmup_ms = ms;
}

void Stylizer::set_style_image(const torch::Tensor& painting,
                               const std::string& label) {
  const auto cur = current();
  if (!cur->info.universal)
    throw InvalidArgument(
        cur->info.path +
        " is not a universal style model: a style image needs one made by "
        "neuralart-train universal (or use a style it was trained with)");
  auto codes = cur->universal->net->style_codes();
  auto model = std::make_shared<Model>();
  model->info = cur->info;
  model->universal = cur->universal;
  model->auto_pending = cur->auto_pending;
  model->info.style_names.resize(static_cast<size_t>(codes.size(0)));
  model->info.style_image.clear();
  model->info.style_image_index = -1;
  if (painting.defined()) {
    if (painting.dim() != 4 || painting.size(0) != 1 || painting.size(1) != 3 ||
        std::min(painting.size(2), painting.size(3)) < 8)
      throw InvalidArgument("style image " + label +
                            " must be RGB [1, 3, H, W] of at least 8x8, got " +
                            shape_string(painting));
    torch::Tensor code;
    {
      c10::InferenceMode inference;
      StylePredictor predictor = cur->universal->predictor;  // non-const handle
      code = predictor->predict(scale_painting(
          painting.to(torch::kFloat32).cpu(), cur->info.style_size));
    }
    codes = torch::cat({codes, code.unsqueeze(0)});
    model->info.style_image = label;
    model->info.style_image_index = codes.size(0) - 1;
    model->info.style_names.push_back(label);
  }
  model->info.num_styles = codes.size(0);
  model->net = style_net_with_codes(*cur->universal->net, codes);
  // The precision the current network runs in (auto's choice if made).
  const Precision precision = cur->info.precision == Precision::AUTO
                                  ? Precision::FP32
                                  : cur->info.precision;
  place_model(*model, device_, precision);
  warm_up(*model, cur->info.path, precision);
  std::lock_guard<std::mutex> lock(mutex_);
  if (model_ != cur && model_->info.path != cur->info.path)
    throw InvalidArgument("the model changed while the style image " + label +
                          " was read; set it again");
  model_ = std::move(model);
}

std::shared_ptr<const Stylizer::Model> Stylizer::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return model_;
}

StyleModelInfo Stylizer::info() const { return current()->info; }

std::shared_ptr<const Stylizer::Model> Stylizer::decide_precision(
    const std::shared_ptr<const Model>& pending, int64_t h, int64_t w) {
  // A copy that shares the network: only this thread runs it, and info()
  // readers see the pending copy's fields until the swap.
  auto decided = std::make_shared<Model>(*pending);
  choose_precision(*decided, device_, h, w);
  std::lock_guard<std::mutex> lock(mutex_);
  if (model_ == pending) model_ = decided;
  return decided;
}

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
  auto model = current();
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

  apply_threads(options_.runtime.threads);
  const int64_t h = in.height, w = in.width;
  int64_t net_h = std::llround(static_cast<double>(h) * params.inference_scale);
  int64_t net_w = std::llround(static_cast<double>(w) * params.inference_scale);
  const int64_t min_side = model->info.torchscript ? 1 : kMinStyleNetSide;
  net_h = std::max(net_h, min_side);
  net_w = std::max(net_w, min_side);
  // Outside InferenceMode: the timing converts the weights.
  if (model->auto_pending) model = decide_precision(model, net_h, net_w);

  c10::InferenceMode inference;
  const auto range = model->info.range;
  const auto layout = pixel_layout(in.format);
  const int64_t bpp = layout.bytes_per_pixel;
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
