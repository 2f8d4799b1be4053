// Adam optimiser state in a tensor file, for complete checkpoints.
#pragma once

#include <torch/optim/adam.h>

#include <string>

#include "neuralart/tensor_file.h"

namespace neuralart {

// Writes PREFIX<i>.exp_avg, .exp_avg_sq and .step for every parameter i of
// the first parameter group that has state.
void put_adam_state(TensorFile& file, const std::string& prefix,
                    torch::optim::Adam& optimizer);

// Restores what put_adam_state wrote; parameters without entries keep a
// fresh state.
void get_adam_state(const TensorFile& file, const std::string& prefix,
                    torch::optim::Adam& optimizer);

}  // namespace neuralart
