// The CUDA paths: Stylizer on a GPU against the CPU output, GAN and style
// training steps on a GPU. Every test skips (with the reason) where
// LibTorch has no CUDA or sees no GPU, as in CI.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "neuralart/bundle.h"
#include "neuralart/models/load.h"
#include "neuralart/models/style_net.h"
#include "neuralart/runtime/generator.h"
#include "neuralart/runtime/stylizer.h"
#include "neuralart/train/gan.h"
#include "neuralart/train/style_train.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

#define SKIP_WITHOUT_CUDA()                                     \
  if (!torch::cuda::is_available())                             \
  GTEST_SKIP() << "no CUDA device (LibTorch " TORCH_VERSION " " \
               << (torch::cuda::device_count() ? "sees none" : "CPU") << ")"

std::string style_bundle(TempDir& dir, int64_t width) {
  torch::manual_seed(5);
  StyleNetOptions o;
  o.width = width;
  o.res_blocks = 2;
  o.num_styles = 2;
  StyleNet net(o);
  const auto path = dir.file("style.bundle");
  save_bundle(path, style_meta(o, {"a", "b"}), *net);
  return path;
}

// A smooth RGBx/BGRx frame with a row stride larger than width * 4.
torch::Tensor frame_bytes(int64_t h, int64_t w, int64_t stride) {
  auto rows = torch::zeros({h, stride}, torch::kUInt8);
  auto y = torch::linspace(0, 255, h).view({h, 1}).expand({h, w});
  auto x = torch::linspace(0, 255, w).view({1, w}).expand({h, w});
  auto px = rows.narrow(1, 0, w * 4).view({h, w, 4});
  px.select(2, 0).copy_(y.to(torch::kUInt8));
  px.select(2, 1).copy_(x.to(torch::kUInt8));
  px.select(2, 2).copy_(((x + y) / 2).to(torch::kUInt8));
  px.select(2, 3).fill_(77);  // alpha / padding must survive
  return rows;
}

FrameView view(torch::Tensor& rows, int64_t w, PixelFormat f) {
  FrameView v;
  v.data = rows.data_ptr<uint8_t>();
  v.height = static_cast<int>(rows.size(0));
  v.width = static_cast<int>(w);
  v.stride = rows.size(1);
  v.format = f;
  return v;
}

double psnr(const torch::Tensor& a, const torch::Tensor& b, int64_t w) {
  auto da = a.narrow(1, 0, w * 4).view({a.size(0), w, 4}).narrow(2, 0, 3);
  auto db = b.narrow(1, 0, w * 4).view({b.size(0), w, 4}).narrow(2, 0, 3);
  const double mse = (da.to(torch::kFloat64) - db.to(torch::kFloat64))
                         .pow(2)
                         .mean()
                         .item<double>();
  return mse == 0 ? 99.0 : 10 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace

TEST(Cuda, StylizerMatchesTheCpuInFp32AndFp16) {
  SKIP_WITHOUT_CUDA();
  TempDir dir;
  const auto bundle = style_bundle(dir, 8);
  const int64_t h = 90, w = 160, stride = w * 4 + 64;
  for (auto format : {PixelFormat::RGBx, PixelFormat::BGRx}) {
    auto in = frame_bytes(h, w, stride);
    StyleParams params;
    params.style = 1;
    StylizerOptions cpu_opts;
    auto cpu_out = in.clone();
    Stylizer(bundle, cpu_opts)
        .process(view(in, w, format), view(cpu_out, w, format), params);
    for (auto precision : {Precision::FP32, Precision::FP16}) {
      StylizerOptions o;
      o.runtime.device = "cuda";
      o.runtime.precision = precision;
      Stylizer gpu(bundle, o);
      auto out = torch::zeros_like(in);
      gpu.process(view(in, w, format), view(out, w, format), params);
      const double p = psnr(out, cpu_out, w);
      std::cout << "[ " << to_string(format) << " " << to_string(precision)
                << " ] PSNR against the CPU: " << p << " dB\n";
      EXPECT_GT(p, precision == Precision::FP32 ? 45.0 : 35.0);
      // Alpha comes from the input; padding after each row is untouched.
      auto px = out.narrow(1, 0, w * 4).view({h, w, 4});
      EXPECT_TRUE(px.select(2, 3).eq(77).all().item<bool>());
      EXPECT_TRUE(
          out.narrow(1, w * 4, stride - w * 4).eq(0).all().item<bool>());
      // In place gives the same bytes.
      auto inplace = in.clone();
      gpu.process(view(inplace, w, format), view(inplace, w, format), params);
      EXPECT_TRUE(inplace.narrow(1, 0, w * 4).equal(out.narrow(1, 0, w * 4)));
    }
  }
}

TEST(Cuda, StylizerStrengthScaleAndMixOnTheGpu) {
  SKIP_WITHOUT_CUDA();
  TempDir dir;
  const auto bundle = style_bundle(dir, 8);
  const int64_t h = 64, w = 96;
  auto in = frame_bytes(h, w, w * 4);
  StylizerOptions o;
  o.runtime.device = "cuda";
  Stylizer gpu(bundle, o);
  Stylizer cpu(bundle, StylizerOptions{});
  StyleParams params;
  params.strength = 0.5;
  params.inference_scale = 0.5;
  params.mix = {0.3, 0.7};
  auto a = torch::zeros_like(in), b = torch::zeros_like(in);
  gpu.process(view(in, w, PixelFormat::RGBx), view(a, w, PixelFormat::RGBx),
              params);
  cpu.process(view(in, w, PixelFormat::RGBx), view(b, w, PixelFormat::RGBx),
              params);
  EXPECT_GT(psnr(a, b, w), 40.0);
}

TEST(Cuda, GeneratorMatchesTheCpu) {
  SKIP_WITHOUT_CUDA();
  TempDir dir;
  GanTrainOptions o;
  o.model.latent_dim = 16;
  o.model.base_width = 8;
  o.model.resolution = 32;
  o.batch = 8;
  o.device = "cuda";
  ImageSet data;
  data.images = torch::randint(0, 256, {16, 3, 32, 32}, torch::kUInt8);
  data.description = "noise";
  GanTrainer trainer(o, data, dir.file("run"));
  for (int i = 0; i < 3; ++i) {
    const auto s = trainer.step();
    EXPECT_TRUE(std::isfinite(s.d_loss) && std::isfinite(s.g_loss));
  }
  const auto bundle = dir.file("g.bundle");
  trainer.export_generator(bundle, nlohmann::json::object());
  RuntimeOptions cpu_rt, gpu_rt;
  gpu_rt.device = "cuda";
  Generator cpu(bundle, cpu_rt), gpu(bundle, gpu_rt);
  auto z = torch::randn({4, 16});
  auto a = cpu.generate(z), b = gpu.generate(z).cpu();
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-3);
}

TEST(Cuda, StyleTrainingStepsOnTheGpu) {
  SKIP_WITHOUT_CUDA();
  TempDir dir;
  StyleTrainOptions o;
  o.model.width = 8;
  o.model.res_blocks = 1;
  o.size = 64;
  o.batch = 2;
  o.steps = 4;
  o.preview_every = 0;
  o.temporal_weight = 1.0;
  o.device = "cuda";
  std::vector<torch::Tensor> content;
  for (int i = 0; i < 3; ++i)
    content.push_back(torch::randint(0, 256, {3, 80, 80}, torch::kUInt8));
  std::vector<torch::Tensor> styles{torch::rand({1, 3, 64, 64}) * 255};
  StyleTrainer trainer(o, content, styles, {"noise"}, dir.file("run"));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(std::isfinite(trainer.step().total));
  EXPECT_TRUE(trainer.model()->parameters()[0].is_cuda());
  EXPECT_EQ(trainer.previews().device().type(), torch::kCPU);
  trainer.save_checkpoint();
  trainer.export_bundle(dir.file("s.bundle"));
  EXPECT_NO_THROW(Stylizer(dir.file("s.bundle"), StylizerOptions{}));
}
