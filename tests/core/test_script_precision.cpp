// TorchScript modules with ops that have no bf16 kernel run in bf16 with
// fp32 islands (runtime/script_precision.h).
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "neuralart/runtime/runtime_options.h"
#include "neuralart/runtime/script_precision.h"
#include "neuralart/runtime/stylizer.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

// A reflection-padded 3x3 convolution inside a submodule (so the pass has
// to inline it), then a replication pad and a crop back to the input size.
torch::jit::Module padded_conv_module() {
  torch::manual_seed(3);
  torch::jit::Module conv("PaddedConv");
  conv.register_parameter("weight", torch::randn({3, 3, 3, 3}) * 0.2, false);
  conv.register_parameter("bias", torch::randn({3}), false);
  conv.define(R"(
def forward(self, x):
    y = torch.reflection_pad2d(x, [1, 1, 1, 1])
    return torch.conv2d(y, self.weight, self.bias)
)");
  torch::jit::Module m("Net");
  m.register_module("conv", conv);
  m.define(R"(
def forward(self, x):
    y = self.conv.forward(x)
    z = torch.replication_pad2d(y, [2, 2, 2, 2])
    return z[:, :, 2:-2, 2:-2] + 1.0
)");
  return m;
}

torch::Tensor input() {
  torch::manual_seed(5);
  return torch::rand({1, 3, 12, 20}) * 255.0;
}

}  // namespace

TEST(ScriptPrecision, FindsThePadsAndLeavesFp32Unchanged) {
  auto plain = padded_conv_module();
  auto prepared = padded_conv_module();
  const auto ops = prepare_script_for_bf16(prepared);
  // The reflection pad is rewritten (native in bf16); the replication pad
  // stays an fp32 island.
  EXPECT_EQ(ops, (std::vector<std::string>{"aten::replication_pad2d"}));
  torch::NoGradGuard no_grad;
  const auto want = plain.forward({input()}).toTensor();
  const auto got = prepared.forward({input()}).toTensor();
  EXPECT_TRUE(torch::equal(want, got));
}

TEST(ScriptPrecision, Bf16RunsWithNativeOrFp32Pads) {
  torch::NoGradGuard no_grad;
  auto plain = padded_conv_module();
  const auto want = plain.forward({input()}).toTensor();
  auto prepared = padded_conv_module();
  prepare_script_for_bf16(prepared);
  prepared.to(torch::kBFloat16);
  const auto got = prepared.forward({input().to(torch::kBFloat16)}).toTensor();
  EXPECT_EQ(got.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(got.sizes(), want.sizes());
  const double err =
      (got.to(torch::kFloat32) - want).abs().max().item<double>();
  EXPECT_LT(err, 0.02 * want.abs().max().item<double>()) << err;
  // Without the pass LibTorch 1.13 has no bf16 reflection_pad2d (newer
  // LibTorch does: then there is nothing to prove here).
  plain.to(torch::kBFloat16);
  try {
    plain.forward({input().to(torch::kBFloat16)});
    GTEST_LOG_(INFO) << "this LibTorch pads bf16 natively";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("BFloat16"), std::string::npos)
        << e.what();
  }
}

// The rewritten reflection pad is exact: 1-D and 2-D, asymmetric, zero and
// (outside the reflectable range) the original op's error.
TEST(ScriptPrecision, RewrittenReflectionPadsAreExact) {
  torch::jit::Module m("Pads");
  m.define(R"(
def forward(self, x):
    a = torch.reflection_pad2d(x, [3, 0, 1, 2])
    b = torch.reflection_pad1d(x[0], [2, 5])
    c = torch.reflection_pad2d(x, [0, 0, 0, 0])
    return torch.cat([a.flatten(), b.flatten(), c.flatten()])
)");
  EXPECT_TRUE(prepare_script_for_bf16(m).empty());
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({1, 3, 6, 7});
  const auto want = torch::cat(
      {torch::reflection_pad2d(x, {3, 0, 1, 2}).flatten(),
       torch::reflection_pad1d(x[0], {2, 5}).flatten(), x.flatten()});
  EXPECT_TRUE(torch::equal(m.forward({x}).toTensor(), want));
  const auto xl = x.contiguous(at::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(torch::equal(m.forward({xl}).toTensor(), want));
  const auto xb = x.to(torch::kBFloat16);
  EXPECT_TRUE(
      torch::equal(m.forward({xb}).toTensor(), want.to(torch::kBFloat16)));
  // A pad as wide as the side cannot reflect: LibTorch's own error.
  EXPECT_THROW(m.forward({torch::rand({1, 3, 6, 2})}), std::exception);
}

TEST(ScriptPrecision, ModulesWithoutPadsAreLeftAlone) {
  torch::jit::Module m("Plain");
  m.define("def forward(self, x):\n    return 255.0 - x\n");
  EXPECT_TRUE(prepare_script_for_bf16(m).empty());
  torch::NoGradGuard no_grad;
  const auto x = input();
  EXPECT_TRUE(torch::equal(m.forward({x}).toTensor(), 255.0 - x));
}

// The element's path: a TorchScript file in bf16 loads, says which op runs
// in fp32 and restyles.
TEST(ScriptPrecision, StylizerRunsATorchScriptFileInBf16) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  TempDir dir;
  const auto path = dir.file("padded.pt");
  padded_conv_module().save(path);
  StylizerOptions o;
  o.warmup_size = 16;
  o.runtime.precision = Precision::BF16;
  o.runtime.threads = 1;
  Stylizer s(path, o);
  EXPECT_EQ(s.info().precision, Precision::BF16);
  EXPECT_EQ(s.info().fp32_ops,
            (std::vector<std::string>{"aten::replication_pad2d"}));
  std::vector<uint8_t> in(20 * 12 * 3, 100), out(in.size());
  FrameView vin{in.data(), 20, 12, 60, PixelFormat::RGB};
  FrameView vout{out.data(), 20, 12, 60, PixelFormat::RGB};
  s.process(vin, vout, StyleParams{});
  EXPECT_NE(std::count(out.begin(), out.end(), 0),
            static_cast<std::ptrdiff_t>(out.size()));
}
