// Adam optimiser state in a tensor file, for complete checkpoints, the
// checks the trainers share when they resume one, and their learning-rate
// schedules.
#pragma once

#include <torch/optim/adam.h>

#include <nlohmann/json.hpp>

#include <string>

#include "neuralart/tensor_file.h"

namespace neuralart {

// Writes PREFIX<i>.exp_avg, .exp_avg_sq and .step for every parameter i
// that has state, numbered across the parameter groups in order (one
// group: its own indices).
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

// The JSON a trainer stored under `key` in checkpoint `file` read from
// `path`; throws Error naming the file when it is not a `kind` checkpoint
// (no such key) or the JSON does not parse.
nlohmann::json checkpoint_metadata(const TensorFile& file,
                                   const std::string& path,
                                   const std::string& key,
                                   const std::string& kind);

// Throws Error "PATH: checkpoint was trained with WHAT WAS, this run asks
// for NOW (use another --work-dir, or the same options)" unless equal.
void require_same(const std::string& path, const std::string& what,
                  const std::string& was, const std::string& now);

// Copies the tensor PREFIX+name of `file` into `dst` (a parameter or
// buffer named `name`); throws Error naming it when missing or of another
// shape.
void restore_tensor(const TensorFile& file, const std::string& path,
                    const std::string& prefix, const std::string& name,
                    torch::Tensor& dst);

}  // namespace neuralart
