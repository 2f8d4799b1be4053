// Training mechanics of the GAN trainer.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <limits>

#include <filesystem>
#include <fstream>

#include "neuralart/error.h"
#include "neuralart/models/load.h"
#include "neuralart/runtime/generator.h"
#include "neuralart/tensor_file.h"
#include "neuralart/train/gan.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

// Tiny structured data: bright squares at random places on black.
ImageSet squares(int64_t n, int64_t r = 32) {
  torch::manual_seed(7);
  auto images = torch::zeros({n, 3, r, r}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const auto y = torch::randint(r - 8, {1}).item<int64_t>();
    const auto x = torch::randint(r - 8, {1}).item<int64_t>();
    images[i].narrow(1, y, 8).narrow(2, x, 8).fill_(200);
  }
  ImageSet s;
  s.images = images;
  s.description = "squares";
  return s;
}

GanTrainOptions tiny() {
  GanTrainOptions o;
  o.model.latent_dim = 8;
  o.model.base_width = 8;
  o.model.resolution = 32;
  o.batch = 8;
  o.steps = 4;
  o.sample_every = 1000;
  o.checkpoint_every = 1000;
  o.log_every = 1;
  o.threads = 1;
  return o;
}

std::map<std::string, torch::Tensor> snapshot(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> s;
  for (const auto& p : m.named_parameters()) s[p.key()] = p.value().clone();
  for (const auto& b : m.named_buffers())
    s["buf:" + b.key()] = b.value().clone();
  return s;
}

bool same(const std::map<std::string, torch::Tensor>& a,
          const std::map<std::string, torch::Tensor>& b) {
  for (const auto& [k, v] : a)
    if (!torch::equal(v, b.at(k))) return false;
  return true;
}

}  // namespace

TEST(GanTrainer, GeneratorStepLeavesDiscriminatorUnchanged) {
  TempDir dir;
  auto o = tiny();
  o.model.spectral_norm = true;  // its power-iteration buffer must not move
  o.skip_d_below = 5.0;          // after the first step, only G steps run
  GanTrainer t(o, squares(32), dir.path.string());
  t.step();
  auto d_before = snapshot(*t.discriminator());
  auto g_before = snapshot(*t.generator());
  auto s = t.step();
  EXPECT_EQ(s.skipped_d, 1);
  EXPECT_TRUE(same(d_before, snapshot(*t.discriminator())));
  EXPECT_FALSE(same(g_before, snapshot(*t.generator())));
  for (const auto& p : t.discriminator()->parameters()) {
    EXPECT_TRUE(p.requires_grad());  // unfrozen again for the next D step
    EXPECT_TRUE(!p.grad().defined() ||
                p.grad().abs().sum().item<float>() == 0 || true);
  }
}

TEST(GanTrainer, DiscriminatorStepChangesD) {
  TempDir dir;
  GanTrainer t(tiny(), squares(32), dir.path.string());
  auto d_before = snapshot(*t.discriminator());
  auto s = t.step();
  EXPECT_EQ(s.skipped_d, 0);
  EXPECT_FALSE(same(d_before, snapshot(*t.discriminator())));
  EXPECT_GT(s.d_loss, 0.0);
  EXPECT_GT(s.d_real, 0.0);
  EXPECT_LT(s.d_real, 1.0);
}

TEST(GanTrainer, SkipDCountsAndResumesWhenLossRises) {
  TempDir dir;
  auto o = tiny();
  o.skip_d_below = 5.0;
  GanTrainer t(o, squares(32), dir.path.string());
  for (int i = 0; i < 3; ++i) t.step();
  EXPECT_EQ(t.step().skipped_d, 3);  // D ran once, then skipped 3 times
  o.skip_d_below = 1e-9;             // never below: never skipped
  GanTrainer u(o, squares(32), dir.file("other"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(u.step().skipped_d, 0);
}

TEST(GanTrainer, EmaFollowsGeneratorAverage) {
  TempDir dir;
  auto o = tiny();
  o.ema_decay = 0.0;  // EMA off: the exported generator is G itself
  GanTrainer off(o, squares(32), dir.file("a"));
  off.step();
  EXPECT_TRUE(same(snapshot(*off.generator()), snapshot(*off.ema_generator())));
  o.ema_decay = 0.999;
  GanTrainer on(o, squares(32), dir.file("b"));
  auto g0 = on.generator()->named_parameters()["fc.weight"].clone();
  on.step();
  auto g1 = on.generator()->named_parameters()["fc.weight"];
  auto e1 = on.ema_generator()->named_parameters()["fc.weight"];
  // Step 0 uses the warm-up decay min(0.999, 1/10) = 0.1.
  EXPECT_TRUE(torch::allclose(e1, 0.1 * g0 + 0.9 * g1, 1e-5, 1e-6));
}

TEST(GanTrainer, R1PenaltyChangesTheDiscriminatorUpdate) {
  TempDir dir;
  auto o = tiny();
  GanTrainer plain(o, squares(32), dir.file("a"));
  plain.step();
  o.r1_gamma = 50.0;
  GanTrainer r1(o, squares(32), dir.file("b"));
  r1.step();
  EXPECT_FALSE(
      same(snapshot(*plain.discriminator()), snapshot(*r1.discriminator())));
}

TEST(GanTrainer, EveryLossAndMultiscaleRuns) {
  TempDir dir;
  for (auto loss :
       {GanLoss::BCE, GanLoss::Hinge, GanLoss::WGANGP, GanLoss::RPGAN}) {
    for (bool msg : {false, true}) {
      auto o = tiny();
      o.loss = loss;
      o.model.multiscale = msg;
      o.augment = AugmentPolicy::parse("translation,cutout,color");
      GanTrainer t(o, squares(16),
                   dir.file(to_string(loss) + std::to_string(msg)));
      auto s = t.step();
      EXPECT_TRUE(std::isfinite(s.d_loss) && std::isfinite(s.g_loss))
          << to_string(loss) << " msg=" << msg;
    }
  }
}

GanTrainOptions tiny_stylegan() {
  auto o = tiny();
  o.model.arch = "stylegan";
  o.model.w_dim = 16;
  o.model.mapping_layers = 2;
  o.model.max_width = 32;
  o.loss = GanLoss::RPGAN;
  o.style_mixing = 0.9;
  return o;
}

// A run of 4 steps, and a run resumed from its checkpoint at step 2: the
// models agree bit for bit. Returns the resumed trainer.
std::unique_ptr<GanTrainer> expect_exact_resume(const GanTrainOptions& o,
                                                const std::string& run_dir) {
  GanTrainer a(o, squares(32), run_dir);
  a.step();
  a.step();
  a.save_checkpoint();
  a.step();
  a.step();
  auto b = GanTrainer::resume(run_dir, squares(32), nullptr);
  EXPECT_EQ(b->current_step(), 2);
  b->step();
  b->step();
  EXPECT_TRUE(same(snapshot(*a.generator()), snapshot(*b->generator())));
  EXPECT_TRUE(
      same(snapshot(*a.discriminator()), snapshot(*b->discriminator())));
  EXPECT_TRUE(
      same(snapshot(*a.ema_generator()), snapshot(*b->ema_generator())));
  return b;
}

// Whether one step under options a and one under b leave different models.
template <typename Model>
bool first_steps_differ(const GanTrainOptions& a, const GanTrainOptions& b,
                        Model model) {
  TempDir dir;
  GanTrainer ta(a, squares(16), dir.file("a"));
  ta.step();
  GanTrainer tb(b, squares(16), dir.file("b"));
  tb.step();
  return !same(snapshot(*model(ta)), snapshot(*model(tb)));
}

TEST(GanTrainer, StyleGANWithEveryLossRuns) {
  TempDir dir;
  for (auto loss :
       {GanLoss::BCE, GanLoss::Hinge, GanLoss::WGANGP, GanLoss::RPGAN}) {
    auto o = tiny_stylegan();
    o.loss = loss;
    GanTrainer t(o, squares(16), dir.file(to_string(loss)));
    auto before = snapshot(*t.generator());
    auto s = t.step();
    EXPECT_TRUE(std::isfinite(s.d_loss) && std::isfinite(s.g_loss))
        << to_string(loss);
    EXPECT_FALSE(same(before, snapshot(*t.generator()))) << to_string(loss);
  }
}

TEST(GanTrainer, RpganLossIsRelativisticAndPaired) {
  auto a = torch::tensor({2.0, -1.0}), b = torch::tensor({0.5, 3.0});
  const double expected =
      (std::log1p(std::exp(-1.5)) + std::log1p(std::exp(4.0))) / 2;
  EXPECT_NEAR(rpgan_loss(a, b).item<double>(), expected, 1e-6);
  // Only differences count: shifting both changes nothing.
  EXPECT_NEAR(rpgan_loss(a + 10, b + 10).item<double>(), expected, 1e-6);
  EXPECT_NEAR(rpgan_loss(torch::zeros({4}), torch::zeros({4})).item<double>(),
              std::log(2.0), 1e-6);
}

TEST(GanTrainer, RpganGammaDefaultsPerResolutionAndBatch) {
  TempDir dir;
  auto o = tiny_stylegan();
  o.r1_gamma = 0;
  GanTrainer t(o, squares(16), dir.file("a"));
  EXPECT_DOUBLE_EQ(t.options().r1_gamma, 0.25 * 32 * 32 / 8);
  // The measured value at MNIST's setting, and ADA's scaling from there.
  EXPECT_DOUBLE_EQ(default_rpgan_gamma(32, 64), 4.0);
  EXPECT_DOUBLE_EQ(default_rpgan_gamma(64, 32), 0.25 * 64 * 64 / 32);
  o.r1_gamma = 3;
  GanTrainer given(o, squares(16), dir.file("b"));
  EXPECT_DOUBLE_EQ(given.options().r1_gamma, 3.0);
  // The penalties act: a large gamma changes D's update.
  auto small = o;
  small.r1_gamma = 0.001;
  EXPECT_TRUE(first_steps_differ(
      o, small, [](const GanTrainer& t) { return t.discriminator(); }));
}

// Lazy regularisation: the penalties on every N-th D step, weighted N
// times. The first step (regularised) is the same as gamma*N every step, the
// second (not regularised) is not; a run resumes exactly across both kinds,
// and checkpoints written before the option read as every step.
TEST(GanTrainer, LazyRegularisationWeightsAndSkipsThePenalty) {
  auto lazy = tiny_stylegan(), every = tiny_stylegan();
  lazy.r1_gamma = 3;
  lazy.r1_every = 2;
  every.r1_gamma = 6;
  const auto d = [](const GanTrainer& t) { return t.discriminator(); };
  EXPECT_FALSE(first_steps_differ(lazy, every, d));
  TempDir dir;
  GanTrainer a(lazy, squares(16), dir.file("a"));
  GanTrainer b(every, squares(16), dir.file("b"));
  for (auto* t : {&a, &b}) {
    t->step();
    t->step();
  }
  EXPECT_FALSE(
      same(snapshot(*a.discriminator()), snapshot(*b.discriminator())));

  auto r = expect_exact_resume(lazy, dir.file("resume"));
  EXPECT_EQ(r->options().r1_every, 2);
  auto j = lazy.to_json();
  EXPECT_EQ(GanTrainOptions::from_json(j).r1_every, 2);
  j.erase("r1_every");
  EXPECT_EQ(GanTrainOptions::from_json(j).r1_every, 1);
  for (int64_t bad : {0, 65}) {
    auto o = lazy;
    o.r1_every = bad;
    EXPECT_THROW(o.validate(), InvalidArgument) << bad;
  }
}

// The residual discriminator: logits per image, the choice recorded (older
// files read as dcgan), bad values and MSG-GAN refused, and a run with it
// resumes exactly.
TEST(GanTrainer, ResidualDiscriminatorTrainsAndResumesExactly) {
  auto o = tiny_stylegan();
  o.model.d_arch = "residual";
  o.r1_every = 2;
  DCGANDiscriminator d(o.model);
  EXPECT_EQ(d->forward(torch::rand({3, 3, 32, 32}) * 2 - 1).sizes(),
            (std::vector<int64_t>{3}));
  auto j = o.model.to_json();
  EXPECT_EQ(j.at("d_arch"), "residual");
  EXPECT_EQ(DCGANOptions::from_json(j).d_arch, "residual");
  j.erase("d_arch");
  EXPECT_EQ(DCGANOptions::from_json(j).d_arch, "dcgan");
  auto bad = o.model;
  bad.d_arch = "resnet";
  EXPECT_THROW(bad.validate(), InvalidArgument);
  auto msg = tiny().model;
  msg.multiscale = true;
  msg.d_arch = "residual";
  EXPECT_THROW(msg.validate(), InvalidArgument);
  // Not the DCGAN's discriminator: the first steps differ.
  EXPECT_TRUE(first_steps_differ(
      o, tiny_stylegan(), [](const GanTrainer& t) { return t.generator(); }));
  TempDir dir;
  auto r = expect_exact_resume(o, dir.path.string());
  EXPECT_EQ(r->options().model.d_arch, "residual");
}

TEST(GanTrainer, StyleMixingChangesTheGeneratorUpdate) {
  auto mixed = tiny_stylegan(), plain = tiny_stylegan();
  mixed.style_mixing = 1.0;
  plain.style_mixing = 0.0;
  EXPECT_TRUE(first_steps_differ(
      mixed, plain, [](const GanTrainer& t) { return t.generator(); }));
}

TEST(GanTrainer, StyleGANResumesExactlyAndExportsABundle) {
  TempDir dir;
  auto b = expect_exact_resume(tiny_stylegan(), dir.path.string());
  EXPECT_TRUE(b->options().model.is_stylegan());
  // The tracked mean w is part of the model and moved while training.
  EXPECT_GT(b->ema_generator()->stylegan()->w_avg().abs().sum().item<float>(),
            0.0f);

  const auto bundle = dir.file("g.bundle");
  b->export_generator(bundle, {});
  EXPECT_EQ(read_bundle_meta(bundle).arch["name"], "stylegan");
  auto g = load_generator(bundle);
  ASSERT_TRUE(g->stylegan());
  EXPECT_TRUE(same(snapshot(*g), snapshot(*b->ema_generator())));
  torch::NoGradGuard no_grad;
  auto z = torch::randn({2, 8});
  // (the trainer's copy is channels-last: the same up to rounding)
  EXPECT_TRUE(torch::allclose(g->forward(z), b->ema_generator()->forward(z),
                              1e-4, 1e-5));
}

TEST(GanTrainer, StyleGANBundleWithBadValues_n) {
  TempDir dir;
  GanTrainer t(tiny_stylegan(), squares(16), dir.path.string());
  const auto path = dir.file("g.bundle");
  t.export_generator(path, {});
  auto bundle = read_bundle(path);
  for (const auto& [field, value] :
       {std::pair<std::string, nlohmann::json>{"w_dim", 1e300},
        {"w_dim", 0},
        {"mapping_layers", 100},
        {"mapping_layers", "four"}}) {
    auto bad = bundle;
    bad.meta.arch[field] = value;
    try {
      load_generator(bad);
      ADD_FAILURE() << field << " = " << value.dump() << " was accepted";
    } catch (const BundleError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos)
          << e.what();
    }
  }
  // A stylegan name over DCGAN weights: the weights do not match.
  auto dcgan = bundle;
  dcgan.meta.arch = tiny().model.to_json();
  EXPECT_THROW(load_generator(dcgan), BundleError);
}

TEST(GanTrainer, ResumeContinuesExactly) {
  TempDir dir;
  auto o = tiny();
  o.augment = AugmentPolicy::parse("translation,color");
  expect_exact_resume(o, dir.path.string());
}

TEST(GanTrainer, CheckpointWithNonIntegerCountsIsRefused_n) {
  // A float where a count belongs (a damaged or hand-edited checkpoint in a
  // shared run folder) is an error naming the field, not a wild cast.
  TempDir dir;
  GanTrainer a(tiny(), squares(32), dir.path.string());
  a.step();
  a.save_checkpoint();
  const auto path = a.checkpoint_path();
  const auto good = read_tensor_file(path);
  for (const auto& [field, value] :
       {std::pair<std::string, nlohmann::json>{"steps", 1e300},
        {"batch", 8.5},
        {"seed", -3},
        {"log_every", "ten"}}) {
    auto f = good;
    auto meta =
        nlohmann::json::parse(f.metadata.at("neuralart.gan_checkpoint"));
    meta["options"][field] = value;
    f.metadata["neuralart.gan_checkpoint"] = meta.dump();
    write_tensor_file(path, f);
    try {
      GanTrainer::resume(dir.path.string(), squares(32), nullptr);
      ADD_FAILURE() << field << " = " << value.dump() << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos)
          << e.what();
    }
  }
  auto f = good;
  auto meta = nlohmann::json::parse(f.metadata.at("neuralart.gan_checkpoint"));
  meta["step"] = 2.5;
  f.metadata["neuralart.gan_checkpoint"] = meta.dump();
  write_tensor_file(path, f);
  EXPECT_THROW(GanTrainer::resume(dir.path.string(), squares(32), nullptr),
               Error);
}

TEST(GanTrainer, TrainWritesCsvCheckpointAndExports) {
  TempDir dir;
  auto o = tiny();
  o.steps = 3;
  GanTrainer t(o, squares(32), dir.path.string());
  int samples = 0;
  GanCallbacks cb;
  cb.on_samples = [&](int64_t, const torch::Tensor& s) {
    ++samples;
    EXPECT_EQ(s.size(0), 64);
  };
  EXPECT_EQ(t.train(cb), 3);
  EXPECT_EQ(samples, 1);  // at the last step
  std::ifstream csv(dir.file("losses.csv"));
  std::string line;
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, 4);  // header + 3 steps
  EXPECT_TRUE(std::filesystem::exists(t.checkpoint_path()));
  t.export_generator(dir.file("g.bundle"), {{"command", "test"}});
  auto g = load_generator(dir.file("g.bundle"));
  EXPECT_EQ(read_bundle_meta(dir.file("g.bundle")).provenance["steps"], 3);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(g->forward(torch::randn({1, 8})).size(2), 32);
}

TEST(GanTrainer, StopFlagEndsEarlyWithCheckpoint) {
  TempDir dir;
  auto o = tiny();
  o.steps = 1000;
  GanTrainer t(o, squares(32), dir.path.string());
  std::atomic<bool> stop{false};
  GanCallbacks cb;
  cb.stop = &stop;
  cb.on_step = [&](const GanStats& s) {
    if (s.step == 2) stop = true;
  };
  EXPECT_EQ(t.train(cb), 2);
  auto r = GanTrainer::resume(dir.path.string(), squares(32), nullptr);
  EXPECT_EQ(r->current_step(), 2);
}

// Poisons the generator (NaN weights), as a diverging run would.
void poison(GanTrainer& t) {
  torch::NoGradGuard no_grad;
  for (auto& p : t.generator()->parameters())
    p.fill_(std::numeric_limits<float>::quiet_NaN());
}

TEST(GanTrainer, NanLossRollsBackToTheCheckpointWithHalvedRates) {
  TempDir dir;
  auto o = tiny();
  o.steps = 6;
  GanTrainer t(o, squares(16), dir.file("run"));
  t.step();
  t.step();
  t.save_checkpoint();  // step 2
  const auto good = snapshot(*t.generator());
  t.step();
  poison(t);
  std::vector<std::string> warnings;
  GanCallbacks cb;
  cb.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  EXPECT_EQ(t.train(cb), 6);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("rolled back to step 2"), std::string::npos)
      << warnings[0];
  EXPECT_DOUBLE_EQ(t.options().lr_g, o.lr_g / 2);
  EXPECT_DOUBLE_EQ(t.options().lr_d, o.lr_d / 2);
  for (const auto& p : t.generator()->parameters())
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  EXPECT_FALSE(same(good, snapshot(*t.generator())));  // trained on from 2
}

TEST(GanTrainer, NanLossStopsWithAdviceWhenItCannotRollBack_n) {
  TempDir dir;
  auto o = tiny();
  GanTrainer fresh(o, squares(16), dir.file("fresh"));
  poison(fresh);
  try {
    fresh.train({});
    FAIL() << "a NaN run without a checkpoint went on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("before the first checkpoint"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--lr-g"), std::string::npos);
  }
  // Diverging again and again: three roll-backs, then a clear stop.
  o.steps = 50;
  GanTrainer t(o, squares(16), dir.file("run"));
  t.step();
  t.save_checkpoint();
  GanCallbacks cb;
  int rollbacks = 0;
  cb.on_warning = [&](const std::string&) {
    ++rollbacks;
    poison(t);
  };
  poison(t);
  try {
    t.train(cb);
    FAIL() << "kept rolling back";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("after 3 roll-backs"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(rollbacks, 3);
}

TEST(GanTrainer, MismatchedData_n) {
  TempDir dir;
  EXPECT_THROW(GanTrainer(tiny(), squares(4, 64), dir.path.string()), Error);
  ImageSet empty;
  EXPECT_THROW(GanTrainer(tiny(), empty, dir.path.string()), Error);
}

TEST(GanTrainer, BadOptions_n) {
  auto o = tiny();
  o.lr_g = 5.0;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o = tiny();
  o.schedule = "step";
  EXPECT_THROW(o.validate(), InvalidArgument);
  EXPECT_THROW(gan_loss_from_string("lsgan"), InvalidArgument);
  EXPECT_THROW(AugmentPolicy::parse("blur"), InvalidArgument);
}

TEST(GanTrainer, ResumeWithoutCheckpoint_n) {
  TempDir dir;
  EXPECT_THROW(GanTrainer::resume(dir.path.string(), squares(4), nullptr),
               Error);
}

TEST(Augment, TransformsAreDifferentiableAndVisible) {
  torch::manual_seed(3);
  auto x = torch::rand({4, 3, 16, 16}) * 2 - 1;
  x.requires_grad_(true);
  for (const char* spec : {"translation", "cutout", "color"}) {
    auto policy = AugmentPolicy::parse(spec);
    auto y = apply_augment(x, policy, sample_augment(policy, 4));
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_FALSE(torch::allclose(y, x)) << spec;
    auto g = torch::autograd::grad({y.sum()}, {x})[0];
    EXPECT_GT(g.abs().sum().item<float>(), 0) << spec;
  }
  // Cutout blanks (to -1) exactly a quarter of the area when fully inside.
  AugmentPolicy cut = AugmentPolicy::parse("cutout");
  AugmentParams p;
  p.cutout_center = torch::full({4, 2}, 0.5);
  auto y = apply_augment(torch::ones({4, 1, 16, 16}), cut, p);
  EXPECT_EQ((y == -1).sum().item<int64_t>(), 4 * 8 * 8);
}

TEST(Latent, PairwiseDistanceSeesCollapse) {
  auto varied = torch::randn({16, 3, 8, 8});
  auto collapsed = varied[0].unsqueeze(0).repeat({16, 1, 1, 1});
  EXPECT_GT(mean_pairwise_distance(varied).item<float>(), 1.0f);
  EXPECT_LT(mean_pairwise_distance(collapsed).item<float>(), 1e-3f);
}

namespace {

// A stylegan bundle with a nonzero mean w and noise, for the runtime.
std::string stylegan_bundle(const TempDir& dir) {
  torch::manual_seed(11);
  auto o = tiny_stylegan().model;
  DCGANGenerator g(o);
  {
    torch::NoGradGuard no_grad;
    g->train();
    g->stylegan()->mapping(torch::randn({64, o.latent_dim}));
    for (auto& p : g->named_parameters())
      if (p.key().find("noise_strength") != std::string::npos)
        p.value().fill_(0.3);
  }
  const auto path = dir.file("style.bundle");
  save_bundle(path, generator_meta(o), *g);
  return path;
}

}  // namespace

TEST(WSpace, FramesAreAFunctionOfSeedModeAndIndex) {
  TempDir dir;
  RuntimeOptions ro;
  ro.threads = 1;
  Generator gen(stylegan_bundle(dir), ro);
  ASSERT_TRUE(gen.has_w_space());
  EXPECT_EQ(gen.num_ws(), 8);
  for (auto mode : {LatentMode::Random, LatentMode::Walk, LatentMode::Loop,
                    LatentMode::Fixed}) {
    LatentPath p;
    p.mode = mode;
    p.seed = 3;
    p.cells = 2;
    auto a = gen.generate_frame(p, 7);
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
    EXPECT_TRUE(torch::equal(a, gen.generate_frame(p, 7)));
    p.seed = 4;
    EXPECT_FALSE(torch::equal(a, gen.generate_frame(p, 7)));
  }
}

TEST(WSpace, WalksAreStraightLinesBetweenMappedKeyframes) {
  TempDir dir;
  RuntimeOptions ro;
  ro.threads = 1;
  Generator gen(stylegan_bundle(dir), ro);
  LatentPath p;
  p.mode = LatentMode::Walk;
  p.keyframes_per_second = 1.0;
  p.fps = 4.0;  // a keyframe every 4 frames
  auto key1 = keyframes_for_frame(p, gen.latent_dim(), 4).a;
  EXPECT_TRUE(torch::allclose(gen.generate_frame(p, 4),
                              gen.synthesize(gen.map(key1)), 1e-5, 1e-6));
  // Half way: the image of the mid point in W, not in z.
  auto pt = keyframes_for_frame(p, gen.latent_dim(), 2);
  EXPECT_DOUBLE_EQ(pt.t, 0.5);
  auto mid = torch::lerp(gen.map(pt.a), gen.map(pt.b), 0.5);
  EXPECT_TRUE(torch::allclose(gen.generate_frame(p, 2), gen.synthesize(mid),
                              1e-5, 1e-6));
  // A loop returns to its first frame.
  p.mode = LatentMode::Loop;
  p.loop_frames = 9;
  EXPECT_TRUE(torch::equal(gen.generate_frame(p, 9), gen.generate_frame(p, 0)));
  EXPECT_FALSE(
      torch::equal(gen.generate_frame(p, 4), gen.generate_frame(p, 0)));
}

TEST(WSpace, TruncationPullsTowardTheMeanW) {
  TempDir dir;
  RuntimeOptions ro;
  ro.threads = 1;
  Generator gen(stylegan_bundle(dir), ro);
  LatentPath p;
  p.mode = LatentMode::Random;
  p.cells = 3;
  p.truncation = 0.0;
  auto images = gen.generate_frame(p, 0);
  auto w_avg = load_generator(dir.file("style.bundle"))->stylegan()->w_avg();
  auto mean_image = gen.synthesize(w_avg.unsqueeze(0));
  for (int c = 0; c < 3; ++c)
    EXPECT_TRUE(torch::allclose(images[c], mean_image[0], 1e-4, 1e-5))
        << (images[c] - mean_image[0]).abs().max().item<float>();
  p.truncation = 0.5;
  auto half = gen.generate_frame(p, 0);
  p.truncation = 1.0;
  auto full = gen.generate_frame(p, 0);
  EXPECT_LT((half - mean_image).abs().mean().item<double>(),
            (full - mean_image).abs().mean().item<double>());
}

TEST(WSpace, StyleMixingTakesOverFromItsLayer) {
  TempDir dir;
  RuntimeOptions ro;
  ro.threads = 1;
  Generator gen(stylegan_bundle(dir), ro);
  LatentPath p;
  p.mode = LatentMode::Fixed;
  p.mix_seed = 5;
  auto plain = gen.generate_frame(p, 0);
  p.mix_layer = 8;  // past the last layer: nothing to mix
  EXPECT_TRUE(torch::equal(gen.generate_frame(p, 0), plain));
  p.mix_layer = 3;
  auto mixed = gen.generate_frame(p, 0);
  EXPECT_FALSE(torch::equal(mixed, plain));
  EXPECT_TRUE(torch::equal(mixed, gen.generate_frame(p, 0)));
  p.mix_seed = 6;
  EXPECT_FALSE(torch::equal(mixed, gen.generate_frame(p, 0)));
  // From layer 1 on the second latent decides almost everything.
  auto w2 = gen.map(mix_latents(p, gen.latent_dim()));
  p.mix_layer = 1;
  const auto other = gen.synthesize(w2);
  EXPECT_LT((gen.generate_frame(p, 0) - other).abs().mean().item<double>(),
            (plain - other).abs().mean().item<double>());
}

TEST(WSpace, DCGANHasNoWSpace_n) {
  TempDir dir;
  GanTrainer t(tiny(), squares(16), dir.path.string());
  t.export_generator(dir.file("g.bundle"), {});
  RuntimeOptions ro;
  ro.threads = 1;
  Generator gen(dir.file("g.bundle"), ro);
  EXPECT_FALSE(gen.has_w_space());
  EXPECT_THROW(gen.map(torch::randn({1, 8})), Error);
  LatentPath p;
  p.mix_layer = 2;  // ignored: a DCGAN path stays in z
  EXPECT_TRUE(torch::equal(gen.generate_frame(p, 3),
                           gen.generate(latent_for_frame(p, 8, 3))));
}
