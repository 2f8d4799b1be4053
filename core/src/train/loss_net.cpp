#include "neuralart/train/loss_net.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "neuralart/error.h"
#include "neuralart/models/layers.h"  // NoAutocast

namespace neuralart {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// One conv of a VGG-shaped stack: relu{block}_{index}.
struct ConvSpec {
  int block;
  int index;
  int64_t in, out;
  std::string relu_name() const {
    return "relu" + std::to_string(block) + "_" + std::to_string(index);
  }
  std::string keras_name() const {
    return "block" + std::to_string(block) + "_conv" + std::to_string(index);
  }
};

std::vector<ConvSpec> vgg19_specs() {
  const int convs[] = {2, 2, 4, 4, 4};
  const int64_t widths[] = {64, 128, 256, 512, 512};
  std::vector<ConvSpec> specs;
  int64_t in = 3;
  for (int b = 0; b < 5; ++b)
    for (int i = 0; i < convs[b]; ++i) {
      specs.push_back({b + 1, i + 1, in, widths[b]});
      in = widths[b];
    }
  return specs;
}

std::vector<ConvSpec> random_specs() {
  const int64_t widths[] = {32, 64, 128, 256};
  std::vector<ConvSpec> specs;
  int64_t in = 3;
  for (int b = 0; b < 4; ++b)
    for (int i = 0; i < 2; ++i) {
      specs.push_back({b + 1, i + 1, in, widths[b]});
      in = widths[b];
    }
  return specs;
}

std::string shape_string(at::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}

// A VGG-shaped stack of 3x3 convs with ReLU, pooled 2x between blocks.
class ConvStackNet : public LossNet {
 public:
  ConvStackNet(std::vector<ConvSpec> specs, std::vector<torch::Tensor> weights,
               std::vector<torch::Tensor> biases, bool max_pool,
               std::string spec, std::vector<std::string> valid_names)
      : specs_(std::move(specs)),
        weights_(std::move(weights)),
        biases_(std::move(biases)),
        max_pool_(max_pool),
        spec_(std::move(spec)),
        valid_names_(std::move(valid_names)) {
    for (auto& w : weights_) w = w.contiguous(at::MemoryFormat::ChannelsLast);
  }

  std::vector<torch::Tensor> features(
      const torch::Tensor& rgb255,
      const std::vector<std::string>& layers) override {
    TORCH_CHECK(rgb255.dim() == 4 && rgb255.size(1) == 3,
                "loss network expects [N, 3, H, W], got ", rgb255.sizes());
    std::vector<int> wanted;
    int deepest = -1;
    for (const auto& name : layers) {
      const int i = index_of(name);
      if (i < 0 || i >= static_cast<int>(weights_.size()))
        throw InvalidArgument("loss network " + spec_ + " has no layer '" +
                              name + "' loaded");
      wanted.push_back(i);
      deepest = std::max(deepest, i);
    }
    std::vector<torch::Tensor> out(layers.size());
    // Channels-last: oneDNN's fast layout (1.9x NCHW for fp32 3x3
    // convolutions on AVX-512, 3.8x in bf16).
    auto x = normalize(rgb255).contiguous(at::MemoryFormat::ChannelsLast);
    for (int i = 0; i <= deepest; ++i) {
      if (i > 0 && specs_[i].block != specs_[i - 1].block)
        x = max_pool_ ? torch::max_pool2d(x, 2, 2, 0, 1, /*ceil=*/true)
                      : torch::avg_pool2d(x, 2, 2, 0, /*ceil=*/true);
      // In place: a convolution's backward needs its input, not its output.
      x = torch::conv2d(x, weights_[i], biases_[i], 1, 1).relu_();
      for (size_t k = 0; k < wanted.size(); ++k)
        if (wanted[k] == i) out[k] = x;
    }
    return out;
  }

  std::vector<std::string> layer_names() const override { return valid_names_; }
  std::string spec() const override { return spec_; }
  std::vector<std::pair<torch::Tensor, torch::Tensor>> convs() const override {
    std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
    for (size_t i = 0; i < weights_.size(); ++i)
      out.emplace_back(
          weights_[i].to(torch::kCPU, torch::kFloat32).contiguous().clone(),
          biases_[i].to(torch::kCPU, torch::kFloat32).clone());
    return out;
  }
  void to(torch::Device device) override {
    for (auto& w : weights_)
      w = w.to(device).contiguous(at::MemoryFormat::ChannelsLast);
    for (auto& b : biases_) b = b.to(device);
  }

 protected:
  virtual torch::Tensor normalize(const torch::Tensor& rgb255) const = 0;

 private:
  int index_of(const std::string& name) const {
    for (size_t i = 0; i < specs_.size(); ++i)
      if (specs_[i].relu_name() == name) return static_cast<int>(i);
    return -1;
  }

  std::vector<ConvSpec> specs_;
  std::vector<torch::Tensor> weights_, biases_;
  bool max_pool_;
  std::string spec_;
  std::vector<std::string> valid_names_;
};

class Vgg19Net : public ConvStackNet {
 public:
  using ConvStackNet::ConvStackNet;
  std::string family() const override { return "vgg19"; }

 protected:
  torch::Tensor normalize(const torch::Tensor& rgb255) const override {
    // Keras VGG-19: BGR, 0-255, ImageNet mean subtracted.
    auto mean = torch::tensor({103.939f, 116.779f, 123.68f}, rgb255.options())
                    .view({1, 3, 1, 1});
    return rgb255.flip({1}) - mean;
  }
};

class RandomNet : public ConvStackNet {
 public:
  using ConvStackNet::ConvStackNet;
  bool centred_gram() const override { return true; }
  std::string family() const override { return "random"; }

 protected:
  torch::Tensor normalize(const torch::Tensor& rgb255) const override {
    // Natural images: mean ~0.45, std ~0.25 in [0, 1].
    return (rgb255 / 255.0 - 0.45) / 0.25;
  }
};

std::vector<std::string> names_of(const std::vector<ConvSpec>& specs) {
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.relu_name());
  return names;
}

int64_t dtype_bytes(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "bool" || dtype == "uint8") return 1;
  if (dtype == "float16" || dtype == "uint16") return 2;
  return -1;
}

using Manifest = TfjsManifest;
using WeightEntry = TfjsWeight;

Manifest read_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open TensorFlow.js model.json");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_tfjs_manifest(text.str(), path);
}

// Finds "block1_conv1/kernel" whether or not the export prefixed it.
const WeightEntry* find_weight(const Manifest& m, const std::string& name) {
  auto it = m.weights.find(name);
  if (it != m.weights.end()) return &it->second;
  for (const auto& [full, e] : m.weights)
    if (full.size() > name.size() &&
        full.compare(full.size() - name.size() - 1, name.size() + 1,
                     "/" + name) == 0)
      return &e;
  return nullptr;
}

}  // namespace

TfjsManifest parse_tfjs_manifest(const std::string& text,
                                 const std::string& origin) {
  // Limits that no VGG export comes near; they keep every size below
  // int64 overflow and every allocation made from them small.
  constexpr int64_t kMaxWeightElements = int64_t{1} << 31;
  constexpr int64_t kMaxGroupBytes = int64_t{1} << 32;
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(origin + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("weightsManifest") ||
      !j["weightsManifest"].is_array())
    throw Error(origin +
                ": not a TensorFlow.js layers model (no weightsManifest)");
  TfjsManifest m;
  try {
    for (const auto& g : j["weightsManifest"]) {
      const size_t gi = m.group_paths.size();
      auto paths = g.at("paths").get<std::vector<std::string>>();
      for (const auto& p : paths) {
        // Shards live beside model.json: no absolute paths, no "..".
        const fs::path rel(p);
        bool escapes = p.empty() || rel.is_absolute();
        for (const auto& part : rel) escapes = escapes || part == "..";
        if (escapes)
          throw Error(origin + ": weight shard path '" + p +
                      "' leaves the model's folder");
      }
      m.group_paths.push_back(std::move(paths));
      int64_t offset = 0;
      for (const auto& w : g.at("weights")) {
        TfjsWeight e;
        e.group = gi;
        e.offset = offset;
        const auto& shape = w.at("shape");
        if (!shape.is_array())
          throw Error(origin + ": weight shape " + shape.dump() +
                      " is not a list");
        for (const auto& d : shape) {
          if (!d.is_number_integer())
            throw Error(origin + ": weight shape " + shape.dump() +
                        " holds a non-integer");
          e.shape.push_back(d.get<int64_t>());
        }
        e.dtype = w.value("dtype", "float32");
        const auto name = w.at("name").get<std::string>();
        if (w.contains("quantization"))
          e.dtype = "quantized";  // sizes unknown: refused when used
        int64_t count = 1;
        for (auto d : e.shape) {
          if (d < 0 || (d > 0 && count > kMaxWeightElements / d))
            throw Error(origin + ": weight " + name + " has shape " +
                        shape_string(e.shape) +
                        " (negative or over 2^31 elements)");
          count *= d;
        }
        const int64_t bytes = std::max<int64_t>(dtype_bytes(e.dtype), 1);
        offset += count * bytes;
        if (offset > kMaxGroupBytes)
          throw Error(origin + ": weight group " + std::to_string(gi) +
                      " declares over 4 GiB");
        m.weights[name] = e;
      }
      m.group_bytes.push_back(offset);
    }
  } catch (const json::exception& e) {
    throw Error(origin + ": malformed weightsManifest: " + e.what());
  }
  return m;
}

std::unique_ptr<LossNet> load_vgg19_tfjs(
    const std::string& model_json, const std::vector<std::string>& layers) {
  const auto specs = vgg19_specs();
  const auto valid = names_of(specs);
  int deepest = -1;
  for (const auto& l : layers) {
    auto it = std::find(valid.begin(), valid.end(), l);
    if (it == valid.end())
      throw InvalidArgument("VGG-19 has no layer '" + l +
                            "' (valid: relu1_1, relu1_2, relu2_1 ... relu5_4)");
    deepest = std::max(deepest, static_cast<int>(it - valid.begin()));
  }
  if (deepest < 0) throw InvalidArgument("VGG-19: no layers requested");
  const Manifest m = read_manifest(model_json);
  const fs::path dir = fs::path(model_json).parent_path();
  std::map<size_t, std::vector<char>> groups;  // group -> concatenated bytes

  auto group_data = [&](size_t g, const std::string& layer) -> const auto& {
    auto it = groups.find(g);
    if (it != groups.end()) return it->second;
    std::vector<char> bytes;
    for (const auto& p : m.group_paths[g]) {
      const auto file = (dir / p).string();
      std::ifstream in(file, std::ios::binary);
      if (!in)
        throw Error("VGG-19 layer " + layer + ": weight shard " + file +
                    " is missing or unreadable (listed in " + model_json + ")");
      bytes.insert(bytes.end(), std::istreambuf_iterator<char>(in),
                   std::istreambuf_iterator<char>());
    }
    if (static_cast<int64_t>(bytes.size()) != m.group_bytes[g]) {
      std::string files;
      for (const auto& p : m.group_paths[g])
        files += (files.empty() ? "" : ", ") + (dir / p).string();
      throw Error("VGG-19 layer " + layer + ": shard files " + files +
                  " hold " + std::to_string(bytes.size()) + " bytes, but " +
                  model_json + " lists " + std::to_string(m.group_bytes[g]));
    }
    return groups.emplace(g, std::move(bytes)).first->second;
  };

  auto read = [&](const ConvSpec& s, const std::string& suffix,
                  const std::vector<int64_t>& expected) {
    const std::string name = s.keras_name() + "/" + suffix;
    const WeightEntry* e = find_weight(m, name);
    if (!e)
      throw Error("VGG-19 layer " + s.relu_name() + ": weight " + name +
                  " is not in " + model_json);
    if (e->shape != expected)
      throw Error("VGG-19 layer " + s.relu_name() + ": weight " + name +
                  " in " + model_json + " has shape " + shape_string(e->shape) +
                  ", expected " + shape_string(expected));
    if (e->dtype != "float32")
      throw Error("VGG-19 layer " + s.relu_name() + ": weight " + name +
                  " in " + model_json + " is " + e->dtype +
                  "; only float32 weights are supported");
    const auto& bytes = group_data(e->group, s.relu_name());
    auto t = torch::empty(expected, torch::kFloat32);
    std::memcpy(t.data_ptr(), bytes.data() + e->offset, t.nbytes());
    return t;  // little-endian float32, as every supported host
  };

  std::vector<torch::Tensor> weights, biases;
  for (int i = 0; i <= deepest; ++i) {
    const auto& s = specs[i];
    auto kernel = read(s, "kernel", {3, 3, s.in, s.out});
    weights.push_back(kernel.permute({3, 2, 0, 1}).contiguous());  // HWIO->OIHW
    biases.push_back(read(s, "bias", {s.out}));
  }
  std::vector<std::string> loaded(valid.begin(), valid.begin() + deepest + 1);
  return std::make_unique<Vgg19Net>(
      std::vector<ConvSpec>(specs.begin(), specs.begin() + deepest + 1),
      std::move(weights), std::move(biases), /*max_pool=*/true,
      "vgg19:" + model_json, std::move(loaded));
}

std::unique_ptr<LossNet> make_random_loss_net(uint64_t seed) {
  auto specs = random_specs();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<torch::Tensor> weights, biases;
  for (const auto& s : specs) {
    // He initialisation keeps activations at a similar scale through depth.
    auto w = at::normal(0.0, 1.0, {s.out, s.in, 3, 3}, gen) *
             std::sqrt(2.0 / (s.in * 9));
    // Deeper filters are zero-mean, so they respond to structure rather
    // than to the overall level of their (non-negative) inputs. The first
    // layer keeps its mean: zero-mean RGB filters cannot see brightness, and
    // a content loss built on them accepts a black image with the right
    // edges (docs/notes/style-training-black-output.md).
    if (weights.size() > 0) w = w - w.mean({1, 2, 3}, /*keepdim=*/true);
    weights.push_back(w);
    biases.push_back(torch::zeros({s.out}));
  }
  auto names = names_of(specs);
  return std::make_unique<RandomNet>(
      std::move(specs), std::move(weights), std::move(biases),
      /*max_pool=*/false, "random:" + std::to_string(seed), std::move(names));
}

namespace {
std::vector<ConvSpec> family_specs(const std::string& family) {
  if (family == "vgg19") return vgg19_specs();
  if (family == "random") return random_specs();
  throw InvalidArgument("unknown convolution stack '" + family +
                        "' (expected vgg19 or random)");
}
}  // namespace

std::vector<int64_t> conv_stack_channels(const std::string& family,
                                         int64_t count) {
  const auto specs = family_specs(family);
  if (count < 1 || count > static_cast<int64_t>(specs.size()))
    throw InvalidArgument(family + " has no " + std::to_string(count) +
                          " convolutions");
  std::vector<int64_t> out;
  for (int64_t i = 0; i < count; ++i) out.push_back(specs[i].out);
  return out;
}

int64_t conv_stack_depth(const std::string& family, const std::string& layer) {
  const auto specs = family_specs(family);
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].relu_name() == layer) return static_cast<int64_t>(i) + 1;
  throw InvalidArgument(family + " has no layer '" + layer + "'");
}

std::unique_ptr<LossNet> make_conv_stack_net(
    const std::string& family, const std::vector<torch::Tensor>& weights,
    const std::vector<torch::Tensor>& biases) {
  auto specs = family_specs(family);
  if (weights.empty() || weights.size() != biases.size() ||
      weights.size() > specs.size())
    throw InvalidArgument(family + ": " + std::to_string(weights.size()) +
                          " weights and " + std::to_string(biases.size()) +
                          " biases do not make a convolution stack");
  specs.resize(weights.size());
  std::vector<torch::Tensor> w, b;
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& s = specs[i];
    if (weights[i].sizes() != at::IntArrayRef({s.out, s.in, 3, 3}) ||
        biases[i].sizes() != at::IntArrayRef({s.out}))
      throw InvalidArgument(family + " layer " + s.relu_name() + ": weight " +
                            shape_string(weights[i].sizes()) + " / bias " +
                            shape_string(biases[i].sizes()) + " do not fit");
    w.push_back(weights[i].to(torch::kFloat32));
    b.push_back(biases[i].to(torch::kFloat32));
  }
  auto names = names_of(specs);
  if (family == "vgg19")
    return std::make_unique<Vgg19Net>(std::move(specs), std::move(w),
                                      std::move(b), /*max_pool=*/true,
                                      "vgg19:(copied)", std::move(names));
  return std::make_unique<RandomNet>(std::move(specs), std::move(w),
                                     std::move(b), /*max_pool=*/false,
                                     "random:(copied)", std::move(names));
}

std::unique_ptr<LossNet> make_loss_net(const std::string& spec,
                                       const std::vector<std::string>& layers) {
  std::unique_ptr<LossNet> net;
  if (spec == "random" || spec.empty()) {
    net = make_random_loss_net(1);
  } else if (spec.rfind("random:", 0) == 0) {
    uint64_t seed = 0;
    try {
      size_t used = 0;
      seed = std::stoull(spec.substr(7), &used);
      if (used != spec.size() - 7) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw InvalidArgument("loss network '" + spec +
                            "': the seed must be a non-negative integer");
    }
    net = make_random_loss_net(seed);
  } else if (spec.rfind("vgg19:", 0) == 0) {
    net = load_vgg19_tfjs(spec.substr(6), layers);
  } else {
    throw InvalidArgument("loss network '" + spec +
                          "': expected random, random:SEED or "
                          "vgg19:PATH/model.json");
  }
  check_layers(*net, layers, "layer");
  return net;
}

std::vector<std::string> split_layers(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream s(csv);
  std::string item;
  while (std::getline(s, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty())
      throw InvalidArgument("layer list '" + csv + "' has an empty item");
    out.push_back(item);
  }
  if (out.empty()) throw InvalidArgument("layer list is empty");
  return out;
}

void check_layers(const LossNet& net, const std::vector<std::string>& layers,
                  const std::string& what) {
  const auto valid = net.layer_names();
  for (const auto& l : layers)
    if (std::find(valid.begin(), valid.end(), l) == valid.end()) {
      std::string list;
      for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
      throw InvalidArgument(what + " '" + l +
                            "' is not a layer of loss network " + net.spec() +
                            " (valid: " + list + ")");
    }
}

namespace {

// G = F^T F / (C HW) for F [N, HW, C], returned in fp32, with the gradient
// of both uses of F in one product: dF = F (dG + dG^T) / (C HW) (autograd
// would run two and add them, in F's size). fp32 features multiply in fp32;
// bf16 features in bf16 with fp32 accumulation (oneDNN), 3-5x faster on
// AVX512-BF16: only G's final rounding (2^-9 relative) differs.
struct GramFunction : public torch::autograd::Function<GramFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx,
                               const torch::Tensor& f) {
    ctx->save_for_backward({f});
    return torch::bmm(f.transpose(1, 2), f).to(torch::kFloat32) /
           static_cast<double>(f.size(1) * f.size(2));
  }

  static torch::autograd::tensor_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::tensor_list grads) {
    NoAutocast same_dtype;
    const auto f = ctx->get_saved_variables()[0];
    const auto& g = grads[0];
    const double scale = 1.0 / static_cast<double>(f.size(1) * f.size(2));
    return {torch::bmm(f, ((g + g.transpose(1, 2)) * scale).to(f.dtype()))};
  }
};

}  // namespace

torch::Tensor gram_matrix(const torch::Tensor& features, bool centred) {
  TORCH_CHECK(features.dim() == 4, "gram_matrix expects [N, C, H, W]");
  NoAutocast same_dtype;  // fp32 in, fp32 products (GramFunction)
  const auto n = features.size(0), c = features.size(1);
  const auto hw = features.size(2) * features.size(3);
  // [N, HW, C]: a view of a channels-last batch (a copy otherwise).
  auto f = features.permute({0, 2, 3, 1}).reshape({n, hw, c});
  if (centred) {  // centred in fp32
    const auto f32 = f.to(torch::kFloat32);
    f = f32 - f32.mean(1, /*keepdim=*/true);
  }
  return GramFunction::apply(f);
}

torch::Tensor total_variation_loss(const torch::Tensor& images_in) {
  TORCH_CHECK(images_in.dim() == 4,
              "total_variation_loss expects [N, C, H, W]");
  NoAutocast fp32;
  const auto images = images_in.to(torch::kFloat32);
  auto dy = images.slice(2, 1) - images.slice(2, 0, -1);
  auto dx = images.slice(3, 1) - images.slice(3, 0, -1);
  return dy.pow(2).mean() + dx.pow(2).mean();
}

torch::Tensor normalized_mse(const torch::Tensor& a_in,
                             const torch::Tensor& target_in) {
  NoAutocast fp32;
  const auto a = a_in.to(torch::kFloat32);
  auto target = target_in.detach().to(torch::kFloat32);
  return (a - target).pow(2).mean() / (target.pow(2).mean() + 1e-8);
}

std::vector<torch::Tensor> image_pyramid(const torch::Tensor& images,
                                         int levels) {
  if (levels < 1 || levels > 6)
    throw InvalidArgument("pyramid levels " + std::to_string(levels) +
                          " is out of range [1, 6]");
  const int64_t side = std::min(images.size(2), images.size(3));
  if ((side >> (levels - 1)) < 8)
    throw InvalidArgument(
        "image of " + std::to_string(images.size(2)) + "x" +
        std::to_string(images.size(3)) + " is too small for " +
        std::to_string(levels) +
        " pyramid levels (each level halves it; the smallest must be >= 8)");
  std::vector<torch::Tensor> out{images};
  for (int l = 1; l < levels; ++l)
    out.push_back(torch::avg_pool2d(out.back(), 2, 2, 0, /*ceil=*/true));
  return out;
}

StyleTargets style_targets(LossNet& net, const torch::Tensor& style_rgb255,
                           const StyleLossConfig& config,
                           std::vector<torch::Tensor>* first_level) {
  torch::NoGradGuard no_grad;
  StyleTargets t;
  bool first = true;
  for (const auto& level : image_pyramid(style_rgb255, config.pyramid_levels)) {
    auto feats = net.features(level, config.style_layers);
    for (const auto& f : feats)
      t.grams.push_back(gram_matrix(f, net.centred_gram()));
    if (first && first_level) *first_level = std::move(feats);
    first = false;
  }
  return t;
}

torch::Tensor style_loss(LossNet& net, const torch::Tensor& rgb255,
                         const StyleTargets& targets,
                         const StyleLossConfig& config) {
  StyleLossConfig style_only = config;
  style_only.content_layers.clear();
  return style_loss_terms(net, rgb255, {}, {&targets}, style_only).style[0];
}

std::vector<std::string> loss_layers(const StyleLossConfig& c) {
  std::vector<std::string> all = c.content_layers;
  for (const auto& l : c.style_layers)
    if (std::find(all.begin(), all.end(), l) == all.end()) all.push_back(l);
  return all;
}

StyleLossTerms style_loss_terms(
    LossNet& net, const torch::Tensor& rgb255,
    const std::vector<torch::Tensor>& content_targets,
    const std::vector<const StyleTargets*>& style_targets,
    const StyleLossConfig& config) {
  const auto layers = loss_layers(config);
  const auto levels = image_pyramid(rgb255, config.pyramid_levels);
  StyleLossTerms terms;
  std::vector<torch::Tensor> sums(style_targets.size());
  for (size_t lv = 0; lv < levels.size(); ++lv) {
    std::vector<torch::Tensor> style_feats;
    if (lv == 0) {
      const auto feats = net.features(levels[0], layers);
      if (!config.content_layers.empty())
        terms.content = content_loss(
            {feats.begin(), feats.begin() + config.content_layers.size()},
            content_targets);
      for (const auto& l : config.style_layers)
        style_feats.push_back(
            feats[std::find(layers.begin(), layers.end(), l) - layers.begin()]);
    } else {
      style_feats = net.features(levels[lv], config.style_layers);
    }
    for (size_t i = 0; i < style_feats.size(); ++i) {
      // Each Gram once, compared with every style's target.
      const auto g = gram_matrix(style_feats[i], net.centred_gram());
      const size_t k = lv * config.style_layers.size() + i;
      for (size_t s = 0; s < style_targets.size(); ++s) {
        if (!style_targets[s]) continue;
        TORCH_CHECK(style_targets[s]->grams.size() ==
                        levels.size() * config.style_layers.size(),
                    "style targets do not match the style loss configuration");
        auto l = normalized_mse(g, style_targets[s]->grams[k].expand_as(g));
        sums[s] = sums[s].defined() ? sums[s] + l : l;
      }
    }
  }
  const double n =
      static_cast<double>(levels.size() * config.style_layers.size());
  for (auto& s : sums) terms.style.push_back(s.defined() ? s / n : s);
  return terms;
}

torch::Tensor content_loss(const std::vector<torch::Tensor>& features,
                           const std::vector<torch::Tensor>& targets) {
  TORCH_CHECK(!features.empty() && features.size() == targets.size(),
              "content_loss: features and targets differ in number");
  torch::Tensor total;
  for (size_t i = 0; i < features.size(); ++i) {
    auto l = normalized_mse(features[i], targets[i]);
    total = total.defined() ? total + l : l;
  }
  return total / static_cast<double>(features.size());
}

namespace {
torch::Tensor yiq_matrix(const torch::TensorOptions& options) {
  return torch::tensor({0.299f, 0.587f, 0.114f, 0.596f, -0.274f, -0.322f,
                        0.211f, -0.523f, 0.312f},
                       options)
      .view({3, 3});
}
}  // namespace

torch::Tensor rgb_to_yiq(const torch::Tensor& rgb) {
  return torch::einsum("ij,njhw->nihw", {yiq_matrix(rgb.options()), rgb});
}

torch::Tensor yiq_to_rgb(const torch::Tensor& yiq) {
  auto inv = torch::inverse(yiq_matrix(yiq.options().dtype(torch::kFloat32)))
                 .to(yiq.scalar_type());
  return torch::einsum("ij,njhw->nihw", {inv, yiq});
}

torch::Tensor luminance_matched(const torch::Tensor& rgb,
                                const torch::Tensor& ref_rgb) {
  auto y = rgb_to_yiq(rgb).select(1, 0);
  auto ref = rgb_to_yiq(ref_rgb).select(1, 0);
  auto matched = (y - y.mean()) / (y.std() + 1e-6) * ref.std() + ref.mean();
  return matched.unsqueeze(1).repeat({1, 3, 1, 1}).clamp(0, 255);
}

}  // namespace neuralart
