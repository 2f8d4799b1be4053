// Adam optimiser state in a tensor file, for complete checkpoints, and the
// learning-rate schedules the trainers share.
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

// The factor on the base learning rate at `step` of `steps`: constant (1),
// linear (1 -> 0) or cosine (1 -> 0, half a period).
double lr_schedule_factor(const std::string& schedule, int64_t step,
                          int64_t steps);
// Throws InvalidArgument unless constant, linear or cosine.
void check_lr_schedule(const std::string& schedule);
// Sets every parameter group's learning rate.
void set_adam_lr(torch::optim::Adam& optimizer, double lr);

}  // namespace neuralart
