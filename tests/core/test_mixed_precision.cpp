// Training precision and layout: --precision resolution, the autocast
// guards, the channels-last reflection pad and Gram matrix with their
// gradients, conditional instance norm on a batch, and the three trainers in
// bf16 against fp32 (close losses, resume across precisions).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/models/layers.h"
#include "neuralart/models/style_net.h"
#include "neuralart/train/gan.h"
#include "neuralart/train/loss_net.h"
#include "neuralart/train/mixed_precision.h"
#include "neuralart/train/style_train.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat32) - b.to(torch::kFloat32))
      .abs()
      .max()
      .item<double>();
}

double relative_diff(double a, double b) {
  return std::abs(a - b) / std::max(std::abs(b), 1e-12);
}

// Smooth content with some texture, as photos have.
std::vector<torch::Tensor> content_images() {
  torch::manual_seed(3);
  std::vector<torch::Tensor> c;
  for (int i = 0; i < 3; ++i) {
    auto ramp =
        torch::linspace(0, 255, 48).view({1, 1, 48}).expand({3, 40, 48});
    c.push_back((ramp * 0.7 + torch::rand({3, 40, 48}) * 70)
                    .clamp(0, 255)
                    .to(torch::kUInt8));
  }
  return c;
}

torch::Tensor stripes() {
  auto s = (torch::arange(40).div(3, "floor") % 2).to(torch::kFloat32) * 255;
  return s.view({1, 1, 1, 40}).expand({1, 3, 40, 40}).contiguous();
}

StyleTrainOptions style_options(const std::string& precision) {
  StyleTrainOptions o;
  o.model.width = 8;
  o.model.res_blocks = 1;
  o.size = 32;
  o.batch = 2;
  o.steps = 4;
  o.checkpoint_every = 2;
  o.preview_every = 0;
  o.log_every = 1;
  o.lr = 1e-2;
  o.loss.pyramid_levels = 1;
  o.precision = precision;
  return o;
}

}  // namespace

TEST(TrainingPrecision, ResolvesNames) {
  const torch::Device cpu(torch::kCPU);
  EXPECT_EQ(resolve_training_precision("fp32", cpu), Precision::FP32);
  EXPECT_EQ(resolve_training_precision("bf16", cpu), Precision::BF16);
  // auto follows the CPU: bf16 only where it is native.
  EXPECT_EQ(resolve_training_precision("auto", cpu),
            cpu_has_native_bf16() ? Precision::BF16 : Precision::FP32);
  EXPECT_EQ(resolve_training_precision("auto", torch::Device(torch::kCUDA)),
            Precision::FP32);
}

TEST(TrainingPrecision, BadNamesAreRefused_n) {
  for (const std::string bad : {"fp16", "", "BF16", "float"}) {
    try {
      resolve_training_precision(bad, torch::Device(torch::kCPU));
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("--precision"), std::string::npos)
          << e.what();
    }
  }
  StyleTrainOptions s;
  s.precision = "fp16";
  EXPECT_THROW(s.validate(), InvalidArgument);
  GanTrainOptions g;
  g.precision = "half";
  EXPECT_THROW(g.validate(), InvalidArgument);
  GatysOptions y;
  y.precision = "fp64";
  EXPECT_THROW(y.validate(), InvalidArgument);
}

TEST(AutocastGuard, Bf16ConvolutionsOnlyInsideTheGuard) {
  const torch::Device cpu(torch::kCPU);
  auto x = torch::rand({1, 3, 8, 8});
  auto w = torch::rand({4, 3, 3, 3});
  {
    AutocastGuard bf16(Precision::BF16, cpu);
    EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kBFloat16);
    {
      NoAutocast fp32;
      EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat32);
    }
    EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat32);
  AutocastGuard fp32(Precision::FP32, cpu);
  EXPECT_EQ(torch::conv2d(x, w).scalar_type(), torch::kFloat32);
}

TEST(ReflectionPad, ChannelsLastGradientMatchesReflectionPad2d) {
  torch::manual_seed(1);
  for (int64_t pad : {1, 2, 4}) {
    auto base = torch::randn({2, 5, 7, 9});
    auto x = base.contiguous(kChannelsLast).requires_grad_(true);
    auto ref_x = base.clone().requires_grad_(true);
    auto y = reflection_pad(x, pad);
    auto ref = torch::reflection_pad2d(ref_x, {pad, pad, pad, pad});
    ASSERT_EQ(y.sizes(), ref.sizes());
    EXPECT_TRUE(y.is_contiguous(kChannelsLast));
    EXPECT_EQ(max_abs_diff(y, ref), 0.0) << "pad " << pad;
    auto weights = torch::randn(ref.sizes());
    (y * weights).sum().backward();
    (ref * weights).sum().backward();
    EXPECT_LT(max_abs_diff(x.grad(), ref_x.grad()), 1e-5) << "pad " << pad;
  }
}

TEST(ReflectionPad, Bf16ChannelsLastKeepsDtypeAndValues) {
  auto x = torch::randn({1, 16, 6, 5})
               .to(torch::kBFloat16)
               .contiguous(kChannelsLast);
  auto y = reflection_pad(x.requires_grad_(true), 2);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  auto ref =
      torch::reflection_pad2d(x.detach().to(torch::kFloat32), {2, 2, 2, 2});
  EXPECT_EQ(max_abs_diff(y, ref), 0.0);
  y.sum().backward();
  EXPECT_EQ(x.grad().scalar_type(), torch::kBFloat16);
}

TEST(GramMatrix, ChannelsLastAndGradientMatchTheDefinition) {
  torch::manual_seed(2);
  for (bool centred : {false, true}) {
    auto base = torch::randn({2, 6, 5, 7});
    auto reference = [&](const torch::Tensor& f) {
      auto m = f.reshape({2, 6, 35});
      if (centred) m = m - m.mean(2, true);
      return torch::bmm(m, m.transpose(1, 2)) / (6.0 * 35);
    };
    auto ref_x = base.clone().requires_grad_(true);
    auto ref = reference(ref_x);
    auto weights = torch::randn(ref.sizes());
    (ref * weights).sum().backward();
    for (auto format : {at::MemoryFormat::Contiguous, kChannelsLast}) {
      auto x = base.clone().contiguous(format).requires_grad_(true);
      auto g = gram_matrix(x, centred);
      EXPECT_EQ(g.scalar_type(), torch::kFloat32);
      EXPECT_LT(max_abs_diff(g, ref), 1e-5);
      (g * weights).sum().backward();
      EXPECT_LT(max_abs_diff(x.grad(), ref_x.grad()), 1e-5)
          << "centred " << centred;
    }
  }
}

TEST(GramMatrix, Bf16FeaturesGiveAnFp32GramCloseToFp32) {
  if (!cpu_has_native_bf16())
    GTEST_SKIP() << "no AVX512-BF16/AMX: bf16 here is emulated, and auto "
                    "never picks it";
  torch::manual_seed(3);
  auto f = torch::relu(torch::randn({2, 32, 16, 16})).contiguous(kChannelsLast);
  auto g32 = gram_matrix(f, false);
  auto g16 = gram_matrix(f.to(torch::kBFloat16), false);
  EXPECT_EQ(g16.scalar_type(), torch::kFloat32);
  // Only the inputs' and G's roundings to bf16 (2^-9 relative) differ.
  EXPECT_LT(normalized_mse(g16, g32).item<double>(), 1e-4);
}

TEST(CondInstanceNorm, ABatchIsNormalisedImageByImage) {
  torch::manual_seed(4);
  CondInstanceNorm norm(6, 2);
  {
    torch::NoGradGuard no_grad;
    norm->weight.uniform_(0.5, 1.5);
    norm->bias.uniform_(-1, 1);
  }
  auto mix = torch::tensor({0.25f, 0.75f});
  auto base = torch::randn({3, 6, 5, 4}) * 3 + 1;
  auto x = base.contiguous(kChannelsLast).requires_grad_(true);
  auto y = norm->forward(x, mix);
  // The definition: per image and channel, (x - mean) / sqrt(var + eps).
  auto ref_x = base.clone().requires_grad_(true);
  auto vm = torch::var_mean(ref_x, {2, 3}, false, true);
  auto gamma = torch::matmul(mix, norm->weight).view({1, -1, 1, 1});
  auto beta = torch::matmul(mix, norm->bias).view({1, -1, 1, 1});
  auto ref =
      (ref_x - std::get<1>(vm)) * torch::rsqrt(std::get<0>(vm) + 1e-5) * gamma +
      beta;
  EXPECT_LT(max_abs_diff(y, ref), 1e-4);
  auto weights = torch::randn(ref.sizes());
  (y * weights).sum().backward();
  (ref * weights).sum().backward();
  EXPECT_LT(max_abs_diff(x.grad(), ref_x.grad()), 1e-4);
}

TEST(StyleTrainer, Bf16StepMatchesFp32AtTheSameWeights) {
  if (!cpu_has_native_bf16())
    GTEST_SKIP() << "no AVX512-BF16/AMX: bf16 here is emulated, and auto "
                    "never picks it";
  // The first step starts from the same weights: its losses differ only
  // by bf16 rounding.
  std::map<std::string, StyleTrainStats> first;
  for (const std::string precision : {"fp32", "bf16"}) {
    TempDir dir;
    StyleTrainer t(style_options(precision), content_images(), {stripes()},
                   {"stripes"}, dir.path.string());
    first[precision] = t.step();
  }
  EXPECT_LT(relative_diff(first["bf16"].content, first["fp32"].content), 0.02);
  EXPECT_LT(relative_diff(first["bf16"].style, first["fp32"].style), 0.02);
  EXPECT_LT(relative_diff(first["bf16"].total, first["fp32"].total), 0.02);
}

TEST(StyleTrainer, ResumesInAnotherPrecision) {
  TempDir dir;
  {
    StyleTrainer t(style_options("fp32"), content_images(), {stripes()},
                   {"stripes"}, dir.path.string());
    EXPECT_EQ(t.train({}), 4);
  }
  auto o = style_options("bf16");
  o.steps = 6;
  StyleTrainer t(o, content_images(), {stripes()}, {"stripes"},
                 dir.path.string());
  t.resume();
  EXPECT_EQ(t.current_step(), 4);
  EXPECT_EQ(t.train({}), 6);
  // The weights stay fp32 (master weights) and channels-last.
  for (const auto& p : t.model()->parameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat32);
    if (p.dim() == 4) {
      EXPECT_TRUE(p.is_contiguous(kChannelsLast));
    }
  }
  const auto bundle = dir.file("m.bundle");
  t.export_bundle(bundle);
  EXPECT_EQ(read_bundle_meta(bundle).provenance.at("precision"), "bf16");
}

TEST(GanTrainer, Bf16TrainsAndResumesInFp32) {
  TempDir dir;
  GanTrainOptions o;
  o.model.latent_dim = 8;
  o.model.base_width = 8;
  o.model.resolution = 32;
  o.batch = 8;
  o.steps = 3;
  o.sample_every = 1000;
  o.checkpoint_every = 1000;
  o.log_every = 1;
  o.threads = 1;
  o.precision = "bf16";
  torch::manual_seed(5);
  ImageSet data;
  data.images = (torch::rand({16, 3, 32, 32}) * 255).to(torch::kUInt8);
  data.description = "noise";
  {
    GanTrainer t(o, data, dir.path.string());
    for (int i = 0; i < 3; ++i) {
      const auto s = t.step();
      EXPECT_TRUE(std::isfinite(s.d_loss) && std::isfinite(s.g_loss));
    }
    t.save_checkpoint();
  }
  auto overrides = GanTrainer::checkpoint_options(dir.path.string(), nullptr);
  EXPECT_EQ(overrides.precision, "bf16");
  overrides.precision = "fp32";
  overrides.steps = 5;
  auto t = GanTrainer::resume(dir.path.string(), data, &overrides);
  EXPECT_EQ(t->current_step(), 3);
  const auto s = t->step();
  EXPECT_TRUE(std::isfinite(s.d_loss) && std::isfinite(s.g_loss));
  for (const auto& p : t->generator()->parameters())
    EXPECT_EQ(p.scalar_type(), torch::kFloat32);
}

TEST(Gatys, Bf16ReachesTheFp32Loss) {
  if (!cpu_has_native_bf16())
    GTEST_SKIP() << "no AVX512-BF16/AMX: bf16 here is emulated, and auto "
                    "never picks it";
  auto net = make_random_loss_net(1);
  torch::manual_seed(6);
  auto content = torch::rand({1, 3, 40, 40}) * 255;
  std::map<std::string, double> final_loss;
  for (const std::string precision : {"fp32", "bf16"}) {
    GatysOptions o;
    o.optimizer = "adam";
    o.lr = 5;
    o.steps = 8;
    o.loss.pyramid_levels = 1;
    o.precision = precision;
    GatysStats last;
    GatysCallbacks cb;
    cb.on_step = [&](const GatysStats& s) { last = s; };
    gatys_stylize(*net, content, {stripes()}, {1.0}, o, cb);
    final_loss[precision] = last.total;
  }
  EXPECT_LT(relative_diff(final_loss["bf16"], final_loss["fp32"]), 0.03);
}
