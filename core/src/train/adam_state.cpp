#include "neuralart/train/adam_state.h"

#include <torch/torch.h>

namespace neuralart {

void put_adam_state(TensorFile& f, const std::string& prefix,
                    torch::optim::Adam& opt) {
  auto& state = opt.state();
  const auto& params = opt.param_groups().at(0).params();
  for (size_t i = 0; i < params.size(); ++i) {
    auto it = state.find(c10::guts::to_string(params[i].unsafeGetTensorImpl()));
    if (it == state.end()) continue;
    auto& s = static_cast<torch::optim::AdamParamState&>(*it->second);
    const auto key = prefix + std::to_string(i);
    f.tensors[key + ".exp_avg"] = s.exp_avg();
    f.tensors[key + ".exp_avg_sq"] = s.exp_avg_sq();
    f.tensors[key + ".step"] = torch::tensor({s.step()}, torch::kInt64);
  }
}

void get_adam_state(const TensorFile& f, const std::string& prefix,
                    torch::optim::Adam& opt) {
  auto& state = opt.state();
  const auto& params = opt.param_groups().at(0).params();
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
    state[c10::guts::to_string(params[i].unsafeGetTensorImpl())] = std::move(s);
  }
}

}  // namespace neuralart
