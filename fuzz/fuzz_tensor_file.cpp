// Fuzz target: the tensor file reader under bundles and checkpoints
// (safetensors layout + CRC), parse_tensor_file.
#include <torch/torch.h>

#include "fuzz_common.h"
#include "neuralart/error.h"
#include "neuralart/tensor_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = neuralart::parse_tensor_file(data, size, "fuzz");
    for (const auto& [name, t] : f.tensors) (void)t.sum();  // touch the bytes
  } catch (const neuralart::Error&) {
  }
  return 0;
}

void neuralart_fuzz_seeds(const std::string& dir) {
  neuralart::TensorFile f;
  f.metadata["note"] = "seed";
  f.tensors["a"] = torch::arange(6, torch::kFloat32).view({2, 3});
  f.tensors["b"] = torch::tensor({1, 2, 3}, torch::kInt64);
  f.tensors["c"] = torch::ones({2}, torch::kUInt8);
  neuralart::write_tensor_file(dir + "/small.ckpt", f);
  neuralart::TensorFile empty;
  neuralart::write_tensor_file(dir + "/empty.ckpt", empty);
}
