#include "neuralart/models/transformer_net_import.h"

#include <torch/torch.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "neuralart/error.h"

namespace neuralart {
namespace {

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw BundleError(origin + ": " + what);
}

// TransformerNet's keys for `res_blocks` residual blocks, in module order,
// with the style network's names for them.
std::vector<std::pair<std::string, std::string>> key_map(int64_t res_blocks) {
  std::vector<std::pair<std::string, std::string>> keys;
  auto conv = [&](const std::string& from, const std::string& to) {
    for (const char* p : {"weight", "bias"})
      keys.emplace_back(from + ".conv2d." + p, to + ".conv." + p);
  };
  auto norm = [&](const std::string& from, const std::string& to) {
    for (const char* p : {"weight", "bias"})
      keys.emplace_back(from + "." + p, to + "." + p);
  };
  conv("conv1", "conv1");
  norm("in1", "in1");
  conv("conv2", "conv2");
  norm("in2", "in2");
  conv("conv3", "conv3");
  norm("in3", "in3");
  for (int64_t k = 1; k <= res_blocks; ++k) {
    const auto res = "res" + std::to_string(k);
    const auto first = std::to_string(2 * (k - 1));
    const auto second = std::to_string(2 * (k - 1) + 1);
    conv(res + ".conv1", "res_convs." + first);
    norm(res + ".in1", "res_norms." + first);
    conv(res + ".conv2", "res_convs." + second);
    norm(res + ".in2", "res_norms." + second);
  }
  conv("deconv1", "up1");
  norm("in4", "in4");
  conv("deconv2", "up2");
  norm("in5", "in5");
  conv("deconv3", "conv_out");
  return keys;
}

std::string shape(c10::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

}  // namespace

StyleNet import_transformer_net(const TorchStateDict& state_dict,
                                const std::string& origin) {
  // Old checkpoints keep InstanceNorm running statistics that the example
  // deletes before loading (its regex, as re.search applies it).
  static const std::regex stats(R"(in\d+\.running_(mean|var)$)");
  static const std::regex res_key(R"(^res([1-9][0-9]?)\.)");
  StyleNetOptions options;
  options.output = "linear";
  options.upsample = "double";
  options.value_range = "byte";
  options.res_blocks = 0;
  for (const auto& [key, t] : state_dict.entries) {
    std::smatch m;
    if (std::regex_search(key, m, res_key))
      options.res_blocks =
          std::max<int64_t>(options.res_blocks, std::stoll(m[1].str()));
    if (key == "conv1.conv2d.weight" && t.dim() == 4) options.width = t.size(0);
  }
  options.res_blocks = std::min<int64_t>(options.res_blocks, 32);
  if (options.width < 4 || options.width > 256)
    fail(origin, "'conv1.conv2d.weight' has " + std::to_string(options.width) +
                     " output channels; a style network's width is 4 to 256");

  StyleNet net(options);
  std::map<std::string, torch::Tensor> params;
  for (const auto& p : net->named_parameters())
    params.emplace(p.key(), p.value());
  const auto keys = key_map(options.res_blocks);
  std::map<std::string, std::string> to_net(keys.begin(), keys.end());

  torch::NoGradGuard no_grad;
  std::set<std::string> loaded;
  for (const auto& [key, value] : state_dict.entries) {
    if (std::regex_search(key, stats)) continue;
    auto it = to_net.find(key);
    if (it == to_net.end())
      fail(origin, "key '" + key +
                       "' does not fit a pytorch/examples fast_neural_style "
                       "TransformerNet (conv1..3, in1..5, res1..resN, "
                       "deconv1..3); no other layout can be imported");
    auto target = params.at(it->second);
    // An instance norm's [C] affine parameters are one style's row [1, C].
    auto source =
        value.dim() == 1 && target.dim() == 2 ? value.unsqueeze(0) : value;
    if (source.sizes() != target.sizes())
      fail(origin, "key '" + key + "' has shape " + shape(value.sizes()) +
                       ", a TransformerNet of width " +
                       std::to_string(options.width) + " has " +
                       shape(it->second.rfind("in", 0) == 0 ||
                                     it->second.rfind("res_norms", 0) == 0
                                 ? target.sizes().slice(1)
                                 : target.sizes()) +
                       " there");
    if (!source.is_floating_point())
      fail(origin, "key '" + key + "' holds " +
                       std::string(c10::toString(source.scalar_type())) +
                       " values, not floating point");
    source = source.to(torch::kFloat32);
    if (!torch::isfinite(source).all().item<bool>())
      fail(origin, "key '" + key + "' holds NaN or infinite values");
    target.copy_(source);
    loaded.insert(key);
  }
  for (const auto& [key, name] : keys)
    if (!loaded.count(key))
      fail(origin, "lacks key '" + key +
                       "' of a pytorch/examples fast_neural_style "
                       "TransformerNet");
  net->eval();
  return net;
}

}  // namespace neuralart
