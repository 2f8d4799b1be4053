// Device, threads and precision: chosen once, shared by Generator and
// Stylizer (and the elements' device/threads/precision properties).
#pragma once

#include <torch/types.h>

#include <string>

namespace neuralart {

enum class Precision { FP32, BF16, FP16 };
// "fp32" | "bf16" | "fp16"; throws InvalidArgument otherwise.
Precision precision_from_string(const std::string& name);
std::string to_string(Precision precision);
torch::ScalarType scalar_type(Precision precision);

struct RuntimeOptions {
  std::string device = "cpu";  // cpu, cuda, cuda:N
  int threads = 0;             // 0 = all cores
  Precision precision = Precision::FP32;
};

// "cpu", "cuda", "cuda:1" -> torch::Device. Throws InvalidArgument for bad
// names, or when CUDA is asked for and this build or machine has none.
torch::Device parse_device(const std::string& name);

// Number of threads `threads` means (0 -> hardware cores).
int resolve_threads(int threads);

// Sets LibTorch's intra-op threads for the calling thread's pool. Call it
// on the thread that runs the model: the setting is per process for the
// OpenMP pool, but must be made before first use on that thread.
void apply_threads(int threads);

}  // namespace neuralart
