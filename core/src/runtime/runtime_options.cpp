#include "neuralart/runtime/runtime_options.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cstdlib>

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/torch.h>

#include <fstream>
#include <thread>

#include "neuralart/error.h"

namespace neuralart {

bool cpu_has_native_bf16() {
  // Read once: every option check and trainer asks.
  static const bool native = [] {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      return line.find(" avx512_bf16") != std::string::npos ||
             line.find(" amx_bf16") != std::string::npos;
    }
    return false;
  }();
  return native;
}

Precision precision_from_string(const std::string& name) {
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "fp16") return Precision::FP16;
  if (name == "auto") return Precision::AUTO;
  throw InvalidArgument("unknown precision '" + name +
                        "' (expected auto, fp32, bf16 or fp16)");
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::FP32:
      return "fp32";
    case Precision::BF16:
      return "bf16";
    case Precision::FP16:
      return "fp16";
    case Precision::AUTO:
      return "auto";
  }
  return "?";
}

torch::ScalarType scalar_type(Precision precision) {
  switch (precision) {
    case Precision::BF16:
      return torch::kBFloat16;
    case Precision::FP16:
      return torch::kFloat16;
    default:
      return torch::kFloat32;
  }
}

Precision auto_precision_candidate(const torch::Device& device,
                                   bool native_bf16) {
  if (device.is_cuda()) return Precision::FP16;
  return native_bf16 ? Precision::BF16 : Precision::FP32;
}

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    int index = 0;
    if (name.size() > 4) {
      if (name[4] != ':' || name.size() == 5 ||
          name.find_first_not_of("0123456789", 5) != std::string::npos)
        throw InvalidArgument("bad device '" + name +
                              "' (expected cpu, cuda or cuda:N)");
      index = std::stoi(name.substr(5));
    }
    if (!at::CUDAHooksRegistry()->Has("CUDAHooks"))
      throw InvalidArgument("device '" + name +
                            "': this build of LibTorch has no CUDA; use cpu, "
                            "or build neuralart against a CUDA LibTorch "
                            "(docs/building.md)");
    if (!torch::cuda::is_available())
      throw InvalidArgument("device '" + name +
                            "': LibTorch has CUDA but sees no GPU (check "
                            "nvidia-smi and CUDA_VISIBLE_DEVICES); use cpu");
    if (index >= static_cast<int>(torch::cuda::device_count()))
      throw InvalidArgument("device '" + name + "': only " +
                            std::to_string(torch::cuda::device_count()) +
                            " CUDA devices present");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InvalidArgument("bad device '" + name +
                        "' (expected cpu, cuda or cuda:N)");
}

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

void apply_threads(int threads) {
  const int n = resolve_threads(threads);
  if (torch::get_num_threads() != n) torch::set_num_threads(n);
}

bool keep_freed_memory_wanted() {
#ifdef __GLIBC__
  for (const char* name :
       {"NEURALART_KEEP_MALLOC", "GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_",
        "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_",
        "MALLOC_ARENA_MAX"})
    if (std::getenv(name) != nullptr) return false;
  return true;
#else
  return false;
#endif
}

void keep_freed_memory_for_reuse() {
#ifdef __GLIBC__
  static const bool done = [] {
    if (!keep_freed_memory_wanted()) return false;
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);
    return true;
  }();
  (void)done;
#endif
}

}  // namespace neuralart
