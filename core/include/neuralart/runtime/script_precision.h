// TorchScript models at reduced precision: LibTorch 1.13 has no bf16 CPU
// kernel for a few ops common in style networks (reflection and replication
// padding; the reference TransformerNet pads before every convolution), so
// such a module fails as a whole in bf16. prepare_script_for_bf16() inlines
// the module's forward graph, then
//   - replaces each reflection pad (aten::reflection_pad*d, aten::pad with
//     mode "reflect") by slices, flips and concatenations: exact, native in
//     bf16 and fast on channels-last tensors;
//   - runs each other op without a bf16 kernel (replication padding) in fp32
//     between two casts (x.float() -> op -> back to x's dtype).
// The rest of the module runs in bf16, and fp32 results are unchanged.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

namespace neuralart {

// The ops LibTorch 1.13 has no bf16 CPU kernel for (aten::reflection_pad2d,
// ...): reflection pads are rewritten, the others get fp32 islands.
const std::vector<std::string>& ops_without_bf16_kernel();

// Rewrites `module`'s forward graph in place; returns the kinds of the ops
// that still run in fp32 (sorted, unique; empty when none). Call before the
// first forward pass. Throws c10::Error when the module has no forward method.
std::vector<std::string> prepare_script_for_bf16(torch::jit::Module& module);

}  // namespace neuralart
