// Device, threads and precision: chosen once, shared by Generator and
// Stylizer (and the elements' device/threads/precision properties).
#pragma once

#include <torch/types.h>

#include <string>

namespace neuralart {

// AUTO: the Stylizer runs the faster of fp32 and bf16 (fp16 on CUDA) for
// the machine and network, timed on the first frame (stylizer.h); the
// Generator and scalar_type() take it as fp32.
enum class Precision { FP32, BF16, FP16, AUTO };
// "fp32" | "bf16" | "fp16" | "auto"; throws InvalidArgument otherwise.
Precision precision_from_string(const std::string& name);
std::string to_string(Precision precision);
torch::ScalarType scalar_type(Precision precision);

struct RuntimeOptions {
  std::string device = "cpu";  // cpu, cuda, cuda:N
  int threads = 0;             // 0 = all cores
  Precision precision = Precision::FP32;
};

// Whether this CPU has native bf16 arithmetic (AVX512-BF16 or AMX, from
// /proc/cpuinfo): bf16 is only faster than fp32 there (measured: 2.3x fp32
// per frame with AVX512-BF16, docs/benchmarks.md); elsewhere it is emulated.
bool cpu_has_native_bf16();

// What precision auto times fp32 against on `device`: fp16 on CUDA, bf16
// on a CPU with native bf16, and fp32 (nothing to time: auto is fp32) on
// any other CPU.
Precision auto_precision_candidate(const torch::Device& device,
                                   bool native_bf16 = cpu_has_native_bf16());

// "cpu", "cuda", "cuda:1" -> torch::Device. Throws InvalidArgument for bad
// names, or when CUDA is asked for and this build or machine has none.
torch::Device parse_device(const std::string& name);

// Number of threads `threads` means (0 -> hardware cores).
int resolve_threads(int threads);

// Sets LibTorch's intra-op threads for the calling thread's pool. Call it
// on the thread that runs the model: the setting is per process for the
// OpenMP pool, but must be made before first use on that thread.
void apply_threads(int threads);

// Per-frame inference frees and allocates the same large activations every
// frame; glibc returns such blocks to the kernel (mmap above 128 KiB, trim
// above 128 KiB free at the top), so each frame page-faults them in again
// (measured: a third of a compact model's 720p frame). Raises glibc's
// mmap threshold to its 32 MiB maximum and the trim threshold to 1 GiB, and
// pads the heap by 64 MiB: without the pad the element at 1280x720 still
// spent 10 of 18 s in the kernel (docs/benchmarks.md#the-allocator; likely,
// not verified: the streaming thread allocates from a thread arena, which
// unmaps a whole empty heap regardless of the trim threshold but not within
// the pad).
// Process-wide, once; a no-op with another C library, when
// NEURALART_KEEP_MALLOC is set (to keep the allocator's defaults), or when
// glibc's own MALLOC_*_ variables or GLIBC_TUNABLES are (the user's choice
// wins). Called by Stylizer, Generator and neuralart-train.
void keep_freed_memory_for_reuse();

// Whether keep_freed_memory_for_reuse() applies its settings (the
// environment checks above).
bool keep_freed_memory_wanted();

}  // namespace neuralart
