// Gatys optimisation and the feed-forward style trainer on tiny images.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "neuralart/error.h"
#include "neuralart/models/load.h"
#include "neuralart/train/adam_state.h"
#include "neuralart/train/style_train.h"
#include "temp_dir.h"

using namespace neuralart;
namespace fs = std::filesystem;

namespace {

// Smooth content (gradients) and a striped style: different statistics.
torch::Tensor smooth_image(int64_t h, int64_t w) {
  auto y = torch::linspace(0, 255, h).view({1, 1, h, 1}).expand({1, 1, h, w});
  auto x = torch::linspace(0, 255, w).view({1, 1, 1, w}).expand({1, 1, h, w});
  return torch::cat({y, x, 255 - (y + x) / 2}, 1).contiguous();
}

torch::Tensor striped_image(int64_t h, int64_t w) {
  auto stripes =
      (torch::arange(w).div(2, "floor") % 2).to(torch::kFloat32) * 255;
  auto img = stripes.view({1, 1, 1, w}).expand({1, 3, h, w}).clone();
  img.select(1, 1).mul_(0.3);
  return img;
}

StyleTrainOptions tiny_options() {
  StyleTrainOptions o;
  o.model.width = 4;
  o.model.res_blocks = 1;
  o.size = 32;
  o.batch = 2;
  o.steps = 3;
  o.checkpoint_every = 2;
  o.preview_every = 0;
  o.preview_count = 2;
  o.log_every = 1;
  o.lr = 1e-2;
  return o;
}

std::vector<torch::Tensor> tiny_content() {
  std::vector<torch::Tensor> c;
  for (int i = 0; i < 3; ++i)
    c.push_back((torch::rand({3, 36 + i * 4, 40}) * 255).to(torch::kUInt8));
  return c;
}

}  // namespace

TEST(Gatys, FewStepsReduceTheLoss) {
  auto net = make_random_loss_net(1);
  for (const std::string optimizer : {"lbfgs", "adam"}) {
    GatysOptions o;
    o.optimizer = optimizer;
    o.lr = optimizer == "adam" ? 5.0 : 1.0;
    o.steps = 8;
    o.init = "noise";
    std::vector<double> totals;
    GatysCallbacks cb;
    cb.on_step = [&](const GatysStats& s) { totals.push_back(s.total); };
    auto out = gatys_stylize(*net, smooth_image(32, 32),
                             {striped_image(32, 32)}, {1.0}, o, cb);
    ASSERT_EQ(totals.size(), 8u) << optimizer;
    EXPECT_LT(totals.back(), totals.front()) << optimizer;
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
    EXPECT_GE(out.min().item<float>(), 0.0f);
    EXPECT_LE(out.max().item<float>(), 255.0f);
  }
}

TEST(Gatys, ContentInitWithoutStyleWeightKeepsContent) {
  auto net = make_random_loss_net(1);
  GatysOptions o;
  o.optimizer = "adam";
  o.steps = 3;
  o.style_weight = 0;
  o.tv_weight = 0;
  auto content = smooth_image(32, 32);
  auto out = gatys_stylize(*net, content, {striped_image(32, 32)}, {1.0}, o);
  // Starting at the optimum of the content loss: Adam barely moves.
  EXPECT_LT((out - content).abs().max().item<float>(), 20.0f);
}

TEST(Gatys, PreserveColorKeepsContentChroma) {
  auto net = make_random_loss_net(1);
  GatysOptions o;
  o.optimizer = "adam";
  o.steps = 4;
  o.preserve_color = true;
  int images = 0;
  GatysCallbacks cb;
  cb.image_every = 2;
  cb.on_image = [&](int64_t, const torch::Tensor&) { ++images; };
  auto content = smooth_image(32, 32);
  auto out =
      gatys_stylize(*net, content, {striped_image(32, 32)}, {1.0}, o, cb);
  EXPECT_EQ(images, 1);  // step 2; the last step is the result
  auto chroma_out = rgb_to_yiq(out).slice(1, 1);
  auto chroma_in = rgb_to_yiq(content).slice(1, 1);
  // Chroma comes back from the content except where clamping to 0-255 bit.
  EXPECT_LT((chroma_out - chroma_in).abs().mean().item<float>(), 5.0f);
}

TEST(Gatys, BadArguments_n) {
  auto net = make_random_loss_net(1);
  GatysOptions o;
  auto c = smooth_image(32, 32);
  EXPECT_THROW(gatys_stylize(*net, c, {}, {}, o), InvalidArgument);
  EXPECT_THROW(gatys_stylize(*net, c, {c}, {1.0, 2.0}, o), InvalidArgument);
  EXPECT_THROW(gatys_stylize(*net, c, {c}, {0.0}, o), InvalidArgument);
  o.init = "zeros";
  EXPECT_THROW(gatys_stylize(*net, c, {c}, {1.0}, o), InvalidArgument);
}

TEST(StyleTrainer, OptionsJsonRoundTrip) {
  auto o = tiny_options();
  o.temporal_weight = 3;
  o.loss_jitter = 4;
  o.lr_schedule = "cosine";
  o.loss.style_layers = {"relu1_2"};
  auto back = StyleTrainOptions::from_json(o.to_json());
  EXPECT_EQ(back.to_json(), o.to_json());
  EXPECT_EQ(back.lr_schedule, "cosine");
  auto bad = o;
  bad.lr_schedule = "step";
  EXPECT_THROW(bad.validate(), InvalidArgument);
  // Checkpoints written before the option had no jitter.
  auto old = o.to_json();
  old.erase("loss_jitter");
  old.erase("lr_schedule");
  EXPECT_EQ(StyleTrainOptions::from_json(old).loss_jitter, 0);
  EXPECT_EQ(StyleTrainOptions::from_json(old).lr_schedule, "constant");
  o.loss_jitter = 17;
  EXPECT_THROW(o.validate(), InvalidArgument);
}

TEST(StyleTrainer, LossJitterTrainsOnCroppedLosses) {
  TempDir dir;
  auto o = tiny_options();
  o.loss_jitter = 4;
  o.loss.pyramid_levels = 1;
  StyleTrainer t(o, tiny_content(), {striped_image(32, 32)}, {"stripes"},
                 dir.path.string());
  const auto first = t.step();
  EXPECT_TRUE(std::isfinite(first.total));
  EXPECT_EQ(t.train({}), 3);
}

TEST(StyleTrainer, StepsReduceTheLossOnOneImage) {
  TempDir dir;
  auto o = tiny_options();
  o.batch = 1;
  o.steps = 30;
  // One content image exactly the crop size: only the flip is random.
  std::vector<torch::Tensor> content{smooth_image(32, 32)[0].to(torch::kUInt8)};
  StyleTrainer t(o, content, {striped_image(32, 32)}, {"stripes"},
                 dir.path.string());
  std::vector<double> totals;
  StyleTrainCallbacks cb;
  cb.on_step = [&](const StyleTrainStats& s) { totals.push_back(s.total); };
  EXPECT_EQ(t.train(cb), 30);
  ASSERT_EQ(totals.size(), 30u);
  const double first = (totals[0] + totals[1]) / 2;
  const double last = (totals[28] + totals[29]) / 2;
  EXPECT_LT(last, first);
}

TEST(StyleTrainer, CheckpointResumeKeepsCounters) {
  TempDir dir;
  auto o = tiny_options();
  torch::Tensor saved_weight;
  {
    StyleTrainer t(o, tiny_content(),
                   {striped_image(32, 32), smooth_image(40, 32)},
                   {"stripes", "smooth"}, dir.path.string());
    int previews = 0;
    StyleTrainCallbacks cb;
    cb.on_preview = [&](int64_t, const torch::Tensor& p) {
      ++previews;
      EXPECT_EQ(p.sizes(), (std::vector<int64_t>{6, 3, 32, 32}));
    };
    EXPECT_EQ(t.train(cb), 3);
    EXPECT_EQ(previews, 0);  // preview_every = 0
    EXPECT_TRUE(fs::exists(t.checkpoint_path()));
    saved_weight = t.model()->named_parameters()["conv1.conv.weight"].clone();
    auto plot = t.loss_plot();
    EXPECT_EQ(plot.dim(), 3);
    EXPECT_LT(plot.min().item<uint8_t>(), 255);  // something was drawn
  }
  o.steps = 5;
  StyleTrainer t(o, tiny_content(),
                 {striped_image(32, 32), smooth_image(40, 32)},
                 {"stripes", "smooth"}, dir.path.string());
  ASSERT_TRUE(t.has_checkpoint());
  t.resume();
  EXPECT_EQ(t.current_step(), 3);
  EXPECT_TRUE(torch::equal(t.model()->named_parameters()["conv1.conv.weight"],
                           saved_weight));
  EXPECT_EQ(t.train({}), 5);
  // One CSV row per step, none repeated across the resume.
  std::ifstream csv(t.csv_path());
  std::string line;
  int rows = 0;
  while (std::getline(csv, line))
    if (line.rfind("step", 0) != 0) ++rows;
  EXPECT_EQ(rows, 5);

  const auto bundle = dir.file("model.bundle");
  t.provenance = {{"command", "test"}};
  t.export_bundle(bundle);
  auto net = load_style_net(bundle);
  EXPECT_EQ(net->options().num_styles, 2);
  EXPECT_EQ(net->options().width, 4);
  auto meta = read_bundle_meta(bundle);
  EXPECT_EQ(meta.styles, nlohmann::json({"stripes", "smooth"}));
  EXPECT_EQ(meta.provenance.at("steps"), 5);
  EXPECT_EQ(meta.provenance.at("command"), "test");
  torch::NoGradGuard no_grad;
  auto y = net->forward(torch::rand({1, 3, 20, 28}) * 255, net->one_hot(1));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 20, 28}));
}

TEST(StyleTrainer, ResumeWithOtherModel_n) {
  TempDir dir;
  auto o = tiny_options();
  o.steps = 2;
  {
    StyleTrainer t(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                   dir.path.string());
    t.train({});
  }
  o.model.width = 8;
  StyleTrainer t(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                 dir.path.string());
  try {
    t.resume();
    FAIL() << "a different width must not resume";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint"), std::string::npos);
  }
  TempDir empty;
  StyleTrainer fresh(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                     empty.path.string());
  EXPECT_THROW(fresh.resume(), Error);
}

TEST(StyleTrainer, StopFlagEndsWithACheckpoint) {
  TempDir dir;
  auto o = tiny_options();
  o.steps = 100;
  o.checkpoint_every = 1000;
  StyleTrainer t(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                 dir.path.string());
  std::atomic<bool> stop{false};
  StyleTrainCallbacks cb;
  cb.stop = &stop;
  cb.on_step = [&](const StyleTrainStats& s) {
    if (s.step == 2) stop = true;
  };
  EXPECT_EQ(t.train(cb), 2);
  EXPECT_TRUE(fs::exists(t.checkpoint_path()));
}

TEST(StyleTrainer, TemporalLossIsMeasured) {
  TempDir dir;
  auto o = tiny_options();
  o.temporal_weight = 10;
  StyleTrainer t(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                 dir.path.string());
  auto s = t.step();
  EXPECT_GT(s.temporal, 0.0);
  EXPECT_TRUE(std::isfinite(s.total));
}

// The temporal term on its own: T = identity (a static scene) and no noise
// give zero for any deterministic network; output that is redrawn on every
// call (flicker), a pattern fixed to the frame under motion, and noise the
// network passes through all cost.
static torch::Tensor affine(int64_t n, double dx, double dy) {
  auto t = torch::zeros({n, 2, 3});
  t.select(1, 0).select(1, 0).fill_(1.0);
  t.select(1, 1).select(1, 1).fill_(1.0);
  t.select(1, 0).select(1, 2).fill_(dx);
  t.select(1, 1).select(1, 2).fill_(dy);
  return t;
}

TEST(TemporalConsistencyLoss, ZeroForAStaticSceneAndADeterministicNetwork) {
  torch::manual_seed(3);
  auto x = torch::rand({2, 3, 24, 24}) * 255;
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 3, 3).padding(1));
  auto net = [&](const torch::Tensor& in) { return conv->forward(in); };
  torch::NoGradGuard no_grad;
  const auto loss =
      temporal_consistency_loss(net, x, net(x), affine(2, 0, 0)).item<double>();
  EXPECT_LT(loss, 1e-9);
  // The identity commutes with any motion.
  auto id = [](const torch::Tensor& in) { return in; };
  EXPECT_LT(
      temporal_consistency_loss(id, x, x, affine(2, 0.2, -0.1)).item<double>(),
      1e-9);
}

TEST(TemporalConsistencyLoss, FlickerFixedPatternsAndPassedNoiseCost) {
  torch::manual_seed(4);
  auto x = smooth_image(24, 24).repeat({2, 1, 1, 1});
  // Redrawn texture: fresh noise on every call, even for a static scene.
  auto flicker = [](const torch::Tensor& in) {
    return in + torch::randn(in.sizes()) * 20;
  };
  EXPECT_GT(temporal_consistency_loss(flicker, x, flicker(x), affine(2, 0, 0))
                .item<double>(),
            1e-3);
  // A pattern fixed to the frame does not move with the scene.
  const auto pattern = striped_image(24, 24);
  auto fixed = [&](const torch::Tensor& in) {
    return in * 0.5 + pattern * 0.5;
  };
  EXPECT_GT(temporal_consistency_loss(fixed, x, fixed(x), affine(2, 0.25, 0))
                .item<double>(),
            1e-3);
  // Noise: the identity passes it through (cost ~ (sigma / 255)^2), a
  // network that averages it away pays less, and sigma 0 adds none.
  const auto noise = torch::randn(x.sizes());
  auto id = [](const torch::Tensor& in) { return in; };
  const double passed =
      temporal_consistency_loss(id, x, x, affine(2, 0, 0), noise, 8.0)
          .item<double>();
  EXPECT_NEAR(passed, std::pow(8.0 / 255, 2), 0.3 * std::pow(8.0 / 255, 2));
  auto blur = [](const torch::Tensor& in) {
    return torch::avg_pool2d(in, 5, 1, 2, /*ceil_mode=*/false,
                             /*count_include_pad=*/false);
  };
  EXPECT_LT(
      temporal_consistency_loss(blur, x, blur(x), affine(2, 0, 0), noise, 8.0)
          .item<double>(),
      0.2 * passed);
  EXPECT_LT(temporal_consistency_loss(id, x, x, affine(2, 0, 0), noise, 0.0)
                .item<double>(),
            1e-9);
}

// The temporal term on real footage: a pair moved by a known flow.
// `next` is `prev` shifted right by `dx` pixels, so each pixel of `next`
// was dx to the left in `prev`: flow (-dx, 0).
static MotionPairs shifted_pairs(int64_t n, int64_t side, int64_t dx) {
  torch::manual_seed(5);
  MotionPairs p;
  const auto wide = (smooth_image(side, side + dx) +
                     torch::rand({1, 3, side, side + dx}) * 40)
                        .clamp(0, 255)
                        .to(torch::kUInt8)
                        .repeat({n, 1, 1, 1});
  p.prev = wide.narrow(3, dx, side).contiguous();
  p.next = wide.narrow(3, 0, side).contiguous();
  p.flow = torch::zeros({n, side, side, 2});
  p.flow.select(3, 0).fill_(-static_cast<double>(dx));
  p.mask = torch::ones({n, 1, side, side}, torch::kUInt8);
  return p;
}

TEST(FlowConsistencyLoss, ZeroForAStaticSceneAndForOutputThatMovesAlong) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 3, 3).padding(1));
  auto net = [&](const torch::Tensor& in) { return conv->forward(in); };
  auto still = shifted_pairs(2, 24, 0);
  EXPECT_LT(flow_consistency_loss(net, random_motion_crops(still, 16, 3, gen))
                .item<double>(),
            1e-9);
  // A pointwise network commutes with an integer shift: the warped output
  // of the previous frame is the output of this one (inside the crop).
  auto moved = shifted_pairs(2, 24, 3);
  auto pointwise = [](const torch::Tensor& in) { return in * 0.5 + 20; };
  const auto crops = random_motion_crops(moved, 16, 3, gen);
  EXPECT_LT(flow_consistency_loss(pointwise, crops).item<double>(), 1e-9);
  // The flow leaves the crop on its left edge: those pixels are masked.
  EXPECT_LT(crops.mask.mean().item<double>(), 1.0);
  EXPECT_GT(crops.mask.mean().item<double>(), 0.7);
}

TEST(FlowConsistencyLoss, FlickerAndAFixedPatternCost) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
  auto still = shifted_pairs(2, 24, 0);
  auto flicker = [](const torch::Tensor& in) {
    return in + torch::randn(in.sizes()) * 20;
  };
  EXPECT_GT(
      flow_consistency_loss(flicker, random_motion_crops(still, 16, 2, gen))
          .item<double>(),
      1e-3);
  // Texture fixed to the frame does not follow the motion.
  const auto pattern = striped_image(16, 16);
  auto fixed = [&](const torch::Tensor& in) { return in * 0.5 + pattern; };
  auto moved = shifted_pairs(2, 24, 3);
  EXPECT_GT(flow_consistency_loss(fixed, random_motion_crops(moved, 16, 2, gen))
                .item<double>(),
            1e-3);
  // A wrong flow costs the identity too; noise it passes through costs.
  auto id = [](const torch::Tensor& in) { return in; };
  auto wrong = moved;
  wrong.flow = wrong.flow.neg();
  EXPECT_GT(flow_consistency_loss(id, random_motion_crops(wrong, 16, 2, gen))
                .item<double>(),
            1e-4);
  const auto crops = random_motion_crops(still, 16, 2, gen);
  const double passed =
      flow_consistency_loss(id, crops, torch::randn(crops.next.sizes()), 8.0)
          .item<double>();
  EXPECT_NEAR(passed, std::pow(8.0 / 255, 2), 0.3 * std::pow(8.0 / 255, 2));
}

TEST(ShiftConsistencyLoss, ZeroWhereTheOutputMovesWithTheInput) {
  torch::NoGradGuard no_grad;
  auto x = torch::rand({2, 3, 40, 40}) * 255;
  auto pointwise = [](const torch::Tensor& in) { return in * 0.5 + 20; };
  for (auto [dy, dx] : {std::pair<int, int>{1, 0}, {0, 3}, {5, 7}, {0, 0}})
    EXPECT_LT(shift_consistency_loss(pointwise, x, pointwise(x), dy, dx)
                  .item<double>(),
              1e-12)
        << dy << "," << dx;
  // No shift: any deterministic network, whatever it paints.
  auto fixed = [](const torch::Tensor& in) {
    return in + striped_image(40, 40);
  };
  EXPECT_LT(shift_consistency_loss(fixed, x, fixed(x), 0, 0).item<double>(),
            1e-12);
}

TEST(ShiftConsistencyLoss, TextureFixedToTheGridCosts_n) {
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 40, 40}) * 255;
  // A pattern with a 4-pixel period drawn at the network's own pixel
  // positions, as a stride-4 network's texture: it stays where it is when
  // the content moves, except by whole periods.
  auto grid = [](const torch::Tensor& in) {
    auto col = torch::arange(in.size(3)).remainder(4).lt(2).to(torch::kFloat32);
    return in + 60 * col.view({1, 1, 1, -1});
  };
  const double one =
      shift_consistency_loss(grid, x, grid(x), 0, 1).item<double>();
  EXPECT_GT(one, 0.01);
  EXPECT_LT(shift_consistency_loss(grid, x, grid(x), 3, 4).item<double>(),
            1e-12);  // whole periods along x; any shift along y
  // The border is left out: an output that differs only there costs
  // nothing.
  auto edge = [](const torch::Tensor& in) {
    auto out = in.clone();
    out.narrow(3, 0, 4).fill_(0);
    return out;
  };
  EXPECT_LT(shift_consistency_loss(edge, x, edge(x), 2, 2).item<double>(),
            1e-12);
  EXPECT_THROW(shift_consistency_loss(grid, x, grid(x), 17, 0), c10::Error);
  EXPECT_THROW(shift_consistency_loss(grid, x.narrow(2, 0, 20),
                                      grid(x.narrow(2, 0, 20)), 4, 0),
               c10::Error);
}

TEST(StyleTrainer, ShiftWeightIsValidatedRecordedAndTrains_n) {
  auto o = tiny_options();
  o.shift_weight = -1;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o.shift_weight = 300;
  EXPECT_NO_THROW(o.validate());
  EXPECT_DOUBLE_EQ(StyleTrainOptions::from_json(o.to_json()).shift_weight, 300);
  // Checkpoints written before the option load as "off".
  auto j = o.to_json();
  j.erase("shift_weight");
  EXPECT_DOUBLE_EQ(StyleTrainOptions::from_json(j).shift_weight, 0);
  // It adds to the total: what the other terms leave unexplained.
  TempDir dir;
  auto rest = [&](const StyleTrainOptions& opt, const char* name) {
    StyleTrainer t(opt, tiny_content(), {striped_image(32, 32)}, {"s"},
                   (dir.path / name).string());
    const auto s = t.step();
    EXPECT_TRUE(std::isfinite(s.total));
    return (s.total - opt.content_weight * s.content -
            opt.style_weight * s.style - opt.tv_weight * s.tv) /
           s.total;
  };
  EXPECT_NEAR(rest(tiny_options(), "off"), 0.0, 1e-5);
  EXPECT_GT(rest(o, "on"), 1e-3);
}

TEST(StyleTrainer, MotionPairsAddToTheTemporalTerm_n) {
  TempDir dir;
  auto o = tiny_options();
  StyleTrainer off(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                   dir.path.string());
  // No temporal term to add to.
  EXPECT_THROW(off.set_motion_pairs(shifted_pairs(2, 40, 2)), InvalidArgument);
  o.temporal_weight = 10;
  StyleTrainer t(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                 dir.path.string());
  auto bad = shifted_pairs(2, 40, 2);
  bad.mask = bad.mask.to(torch::kFloat32);
  EXPECT_THROW(t.set_motion_pairs(bad), InvalidArgument);
  bad = shifted_pairs(2, 40, 2);
  bad.flow = bad.flow.narrow(0, 0, 1);
  EXPECT_THROW(t.set_motion_pairs(bad), InvalidArgument);
  EXPECT_THROW(t.set_motion_pairs(shifted_pairs(2, o.size - 1, 2)),
               InvalidArgument);  // frames smaller than the crop
  EXPECT_THROW(t.set_motion_pairs(MotionPairs{}), InvalidArgument);
  t.set_motion_pairs(shifted_pairs(2, 40, 2));
  const auto s = t.step();
  EXPECT_GT(s.temporal, 0.0);
  EXPECT_TRUE(std::isfinite(s.total));
}

TEST(StyleTrainer, TemporalNoiseIsValidatedAndRecorded_n) {
  auto o = tiny_options();
  o.temporal_noise = 65;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o.temporal_noise = -1;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o.temporal_noise = 4;
  EXPECT_NO_THROW(o.validate());
  EXPECT_DOUBLE_EQ(StyleTrainOptions::from_json(o.to_json()).temporal_noise, 4);
  // Checkpoints written before the option load as "no noise".
  auto j = o.to_json();
  j.erase("temporal_noise");
  EXPECT_DOUBLE_EQ(StyleTrainOptions::from_json(j).temporal_noise, 0);
}

TEST(StyleTrainer, TemporalNoiseTrains) {
  TempDir dir;
  auto o = tiny_options();
  o.temporal_weight = 10;
  o.temporal_noise = 4;
  StyleTrainer t(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                 dir.path.string());
  auto s = t.step();
  EXPECT_GT(s.temporal, 0.0);
  EXPECT_TRUE(std::isfinite(s.total));
}

TEST(StyleTrainer, BadInputs_n) {
  TempDir dir;
  auto o = tiny_options();
  // Content smaller than the crop.
  std::vector<torch::Tensor> small{torch::zeros({3, 20, 20}, torch::kUInt8)};
  EXPECT_THROW(
      StyleTrainer(o, small, {striped_image(32, 32)}, {"s"}, dir.path.string()),
      InvalidArgument);
  EXPECT_THROW(StyleTrainer(o, tiny_content(), {}, {}, dir.path.string()),
               InvalidArgument);
  o.batch = 0;
  EXPECT_THROW(StyleTrainer(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                            dir.path.string()),
               InvalidArgument);
  o = tiny_options();
  o.loss.style_layers = {"relu9_1"};
  EXPECT_THROW(StyleTrainer(o, tiny_content(), {striped_image(32, 32)}, {"s"},
                            dir.path.string()),
               InvalidArgument);
}

TEST(StyleTrainer, FrozenStylesTrainOnlyTheNewVectors) {
  TempDir dir;
  auto o = tiny_options();
  o.loss.pyramid_levels = 1;
  StyleTrainer base_run(o, tiny_content(), {striped_image(32, 32)}, {"stripes"},
                        (dir.path / "base").string());
  base_run.train({});
  auto base = base_run.model();

  auto o2 = o;
  o2.model.num_styles = 2;
  o2.frozen_styles = 1;
  o2.steps = 4;
  StyleTrainer t(o2, tiny_content(),
                 {striped_image(32, 32), smooth_image(32, 32)},
                 {"stripes", "smooth"}, (dir.path / "new").string());
  t.load_base(base);
  // The new style starts at the base's vectors.
  EXPECT_TRUE(torch::equal(t.model()->named_parameters()["in1.weight"][1],
                           base->named_parameters()["in1.weight"][0]));
  t.train({});
  auto after = t.model()->named_parameters();
  for (const auto& p : base->named_parameters()) {
    const auto& q = after[p.key()];
    if (p.value().sizes() == q.sizes()) {
      EXPECT_TRUE(torch::equal(p.value(), q)) << p.key();
    } else {
      EXPECT_TRUE(torch::equal(p.value()[0], q[0])) << p.key();
      EXPECT_FALSE(torch::equal(p.value()[0], q[1])) << p.key();
    }
  }
  // A base with another architecture is refused, naming the difference.
  auto o3 = o2;
  o3.model.width = 8;
  StyleTrainer wrong(o3, tiny_content(),
                     {striped_image(32, 32), smooth_image(32, 32)},
                     {"stripes", "smooth"}, (dir.path / "wrong").string());
  try {
    wrong.load_base(base);
    ADD_FAILURE() << "a mismatched base was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("architecture"), std::string::npos)
        << e.what();
  }
  // Every style frozen: nothing would train.
  auto o4 = o2;
  o4.frozen_styles = 2;
  EXPECT_THROW(o4.validate(), InvalidArgument);
  auto back = StyleTrainOptions::from_json(o2.to_json());
  EXPECT_EQ(back.frozen_styles, 1);
}

TEST(StyleTrainer, LearningRateSchedules) {
  EXPECT_DOUBLE_EQ(lr_schedule_factor("constant", 50, 100), 1.0);
  EXPECT_DOUBLE_EQ(lr_schedule_factor("linear", 25, 100), 0.75);
  EXPECT_NEAR(lr_schedule_factor("cosine", 0, 100), 1.0, 1e-12);
  EXPECT_NEAR(lr_schedule_factor("cosine", 50, 100), 0.5, 1e-12);
  EXPECT_NEAR(lr_schedule_factor("cosine", 100, 100), 0.0, 1e-12);
  // A cosine run trains (the last steps barely move the weights).
  TempDir dir;
  auto o = tiny_options();
  o.lr_schedule = "cosine";
  o.steps = 4;
  StyleTrainer t(o, tiny_content(), {striped_image(32, 32)}, {"stripes"},
                 dir.path.string());
  EXPECT_EQ(t.train({}), 4);
}
