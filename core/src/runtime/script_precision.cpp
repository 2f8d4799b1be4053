#include "neuralart/runtime/script_precision.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/jit.h>

#include <algorithm>
#include <functional>
#include <set>

namespace neuralart {

namespace {

namespace jit = torch::jit;

// Reflection padding as slices, flips and concatenations: exact, native in
// every dtype and fast on channels-last tensors (LibTorch 1.13's fp32
// kernel is slow on them). Pads outside (0, size) keep the original op, in
// fp32.
constexpr const char* kReflectPad = R"(
def reflect_pad(x: Tensor, pad: List[int]) -> Tensor:
    n = len(pad) // 2
    native = n >= 1 and n <= 3 and len(pad) == 2 * n and x.dim() > n
    if native:
        for i in range(n):
            size = x.size(-1 - i)
            if pad[2 * i] < 0 or pad[2 * i + 1] < 0 or pad[2 * i] >= size or pad[2 * i + 1] >= size:
                native = False
    if not native:
        if n == 1:
            return torch.reflection_pad1d(x.float(), pad).to(x.dtype)
        if n == 3:
            return torch.reflection_pad3d(x.float(), pad).to(x.dtype)
        return torch.reflection_pad2d(x.float(), pad).to(x.dtype)
    for i in range(n):
        d = x.dim() - 1 - i
        size = x.size(d)
        lo = pad[2 * i]
        hi = pad[2 * i + 1]
        parts = [x]
        if lo > 0:
            parts = [x.narrow(d, 1, lo).flip([d]), x]
        if hi > 0:
            parts.append(x.narrow(d, size - 1 - hi, hi).flip([d]))
        x = torch.cat(parts, d)
    return x
)";

bool is_reflect_pad(const jit::Node* node) {
  const std::string kind = node->kind().toQualString();
  if (kind.rfind("aten::reflection_pad", 0) == 0) return true;
  if (kind != "aten::pad" || node->inputs().size() < 3) return false;
  const auto mode = jit::toIValue(node->input(2));
  return mode && mode->isString() && mode->toStringRef() == "reflect";
}

// Replaces `node` (x, pad, ...) -> y with the composite above.
void replace_with_reflect_pad(jit::Graph& graph, jit::Node* node) {
  static const auto unit = torch::jit::compile(kReflectPad);
  auto& callee =
      *jit::toGraphFunction(unit->get_function("reflect_pad")).graph();
  jit::WithInsertPoint here(node);
  const auto out =
      jit::insertGraph(graph, callee, {node->input(0), node->input(1)});
  node->output()->replaceAllUsesWith(out.at(0));
  node->destroy();
}

bool needs_fp32(const jit::Node* node) {
  const auto& ops = ops_without_bf16_kernel();
  const std::string kind = node->kind().toQualString();
  if (std::find(ops.begin(), ops.end(), kind) != ops.end()) return true;
  // F.pad(x, p, mode) scripts to aten::pad, which dispatches to the
  // reflection/replication kernels unless mode is "constant".
  if (kind != "aten::pad" || node->inputs().size() < 3) return false;
  const auto mode = jit::toIValue(node->input(2));
  return !mode || !mode->isString() || mode->toStringRef() != "constant";
}

// x.float() -> node -> back to x's dtype, for a node whose first input and
// only output are tensors.
void wrap_in_fp32(jit::Graph& graph, jit::Node* node) {
  jit::Value* x = node->input(0);
  jit::Value* dtype = nullptr;
  {
    jit::WithInsertPoint before(node);
    dtype = graph.insert(c10::prim::dtype, {x});
    jit::Value* x32 = graph.insert(
        c10::aten::to, {x, jit::NamedValue(c10::IValue(
                               static_cast<int64_t>(c10::ScalarType::Float)))});
    node->replaceInput(0, x32);
  }
  jit::Value* y = node->output();
  jit::WithInsertPoint after(node->next());
  jit::Value* back = graph.insert(c10::aten::to, {y, dtype});
  y->replaceAllUsesAfterNodeWith(back->node(), back);
}

}  // namespace

const std::vector<std::string>& ops_without_bf16_kernel() {
  static const std::vector<std::string> ops = {
      "aten::reflection_pad1d",  "aten::reflection_pad2d",
      "aten::reflection_pad3d",  "aten::replication_pad1d",
      "aten::replication_pad2d", "aten::replication_pad3d"};
  return ops;
}

std::vector<std::string> prepare_script_for_bf16(torch::jit::Module& module) {
  auto graph = module.get_method("forward").graph();
  jit::Inline(*graph);
  std::vector<jit::Node*> targets;
  std::function<void(jit::Block*)> visit = [&](jit::Block* block) {
    for (auto* node : block->nodes()) {
      for (auto* sub : node->blocks()) visit(sub);
      if (needs_fp32(node) && node->outputs().size() == 1 &&
          node->output()->type()->cast<c10::TensorType>())
        targets.push_back(node);
    }
  };
  visit(graph->block());
  std::set<std::string> kinds;
  for (auto* node : targets) {
    if (is_reflect_pad(node)) {
      replace_with_reflect_pad(*graph, node);
    } else {
      kinds.insert(node->kind().toQualString());
      wrap_in_fp32(*graph, node);
    }
  }
  return {kinds.begin(), kinds.end()};
}

}  // namespace neuralart
