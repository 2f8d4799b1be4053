// Training mechanics of the GAN trainer.
#include <gtest/gtest.h>

#include <torch/torch.h>
#include <limits>

#include <filesystem>
#include <fstream>

#include "neuralart/error.h"
#include "neuralart/models/load.h"
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
  for (auto loss : {GanLoss::BCE, GanLoss::Hinge, GanLoss::WGANGP}) {
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

TEST(GanTrainer, ResumeContinuesExactly) {
  TempDir dir;
  auto o = tiny();
  o.augment = AugmentPolicy::parse("translation,color");
  GanTrainer a(o, squares(32), dir.path.string());
  a.step();
  a.step();
  a.save_checkpoint();
  a.step();
  a.step();
  auto b = GanTrainer::resume(dir.path.string(), squares(32), nullptr);
  EXPECT_EQ(b->current_step(), 2);
  b->step();
  b->step();
  EXPECT_TRUE(same(snapshot(*a.generator()), snapshot(*b->generator())));
  EXPECT_TRUE(
      same(snapshot(*a.discriminator()), snapshot(*b->discriminator())));
  EXPECT_TRUE(
      same(snapshot(*a.ema_generator()), snapshot(*b->ema_generator())));
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
