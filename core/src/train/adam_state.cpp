#include "neuralart/train/adam_state.h"

#include <torch/torch.h>

#include "neuralart/error.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>

namespace neuralart {
namespace {

// The optimiser's key for a parameter's state: the TensorImpl address as
// a string in LibTorch 1.x, the address itself in 2.x.
template <typename Map>
typename Map::key_type state_key(const Map&, const torch::Tensor& param) {
  if constexpr (std::is_same_v<typename Map::key_type, std::string>) {
    std::ostringstream s;  // what c10::guts::to_string did
    s << param.unsafeGetTensorImpl();
    return s.str();
  } else {
    return static_cast<typename Map::key_type>(param.unsafeGetTensorImpl());
  }
}

// Every group's parameters in order: the state of parameter i is stored
// under index i (one group: its own indices, as files written before
// groups were supported).
std::vector<torch::Tensor> all_params(torch::optim::Adam& opt) {
  std::vector<torch::Tensor> params;
  for (auto& g : opt.param_groups())
    params.insert(params.end(), g.params().begin(), g.params().end());
  return params;
}

}  // namespace

void put_adam_state(TensorFile& f, const std::string& prefix,
                    torch::optim::Adam& opt) {
  auto& state = opt.state();
  const auto params = all_params(opt);
  for (size_t i = 0; i < params.size(); ++i) {
    auto it = state.find(state_key(state, params[i]));
    if (it == state.end()) continue;
    auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
    const auto key = prefix + std::to_string(i);
    f.tensors[key + ".exp_avg"] = s.exp_avg();
    f.tensors[key + ".exp_avg_sq"] = s.exp_avg_sq();
    f.tensors[key + ".step"] =
        torch::tensor({static_cast<int64_t>(s.step())}, torch::kInt64);
  }
}

void get_adam_state(const TensorFile& f, const std::string& prefix,
                    torch::optim::Adam& opt) {
  auto& state = opt.state();
  const auto params = all_params(opt);
  for (size_t i = 0; i < params.size(); ++i) {
    const auto key = prefix + std::to_string(i);
    auto avg = f.tensors.find(key + ".exp_avg");
    auto sq = f.tensors.find(key + ".exp_avg_sq");
    auto st = f.tensors.find(key + ".step");
    if (avg == f.tensors.end() || sq == f.tensors.end() ||
        st == f.tensors.end())
      continue;
    auto s = std::make_unique<torch::optim::AdamParamState>();
    s->step(st->second.item<int64_t>());
    const auto device = params[i].device();  // the state lives with it
    s->exp_avg(avg->second.to(device).clone());
    s->exp_avg_sq(sq->second.to(device).clone());
    state[state_key(state, params[i])] = std::move(s);
  }
}

double lr_schedule_factor(const std::string& schedule, int64_t step,
                          int64_t steps) {
  const double t = steps > 0 ? std::min(1.0, double(step) / steps) : 0.0;
  if (schedule == "linear") return 1.0 - t;
  if (schedule == "cosine") return 0.5 * (1.0 + std::cos(M_PI * t));
  return 1.0;
}

void check_lr_schedule(const std::string& schedule) {
  if (schedule != "constant" && schedule != "linear" && schedule != "cosine")
    throw InvalidArgument("schedule '" + schedule +
                          "' must be constant, linear or cosine");
}

void set_adam_lr(torch::optim::Adam& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

nlohmann::json checkpoint_metadata(const TensorFile& file,
                                   const std::string& path,
                                   const std::string& key,
                                   const std::string& kind) {
  auto it = file.metadata.find(key);
  if (it == file.metadata.end())
    throw Error(path + ": not a " + kind + " checkpoint");
  try {
    return nlohmann::json::parse(it->second);
  } catch (const std::exception& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  }
}

void require_same(const std::string& path, const std::string& what,
                  const std::string& was, const std::string& now) {
  if (was != now)
    throw Error(path + ": checkpoint was trained with " + what + " " + was +
                ", this run asks for " + now +
                " (use another --work-dir, or the same options)");
}

void restore_tensor(const TensorFile& file, const std::string& path,
                    const std::string& prefix, const std::string& name,
                    torch::Tensor& dst) {
  auto t = file.tensors.find(prefix + name);
  if (t == file.tensors.end() || t->second.sizes() != dst.sizes())
    throw Error(path + ": checkpoint lacks or mis-shapes '" + prefix + name +
                "'");
  torch::NoGradGuard no_grad;
  dst.copy_(t->second);
}

}  // namespace neuralart
