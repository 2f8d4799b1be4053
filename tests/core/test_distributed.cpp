// Data-parallel training: DistEnv, DataParallel's collectives over a
// HashStore with one thread per rank, and GanTrainer and StyleTrainer on 2
// ranks against one process with the same global batch.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "neuralart/error.h"
#include "neuralart/train/distributed.h"
#include "neuralart/train/gan.h"
#include "neuralart/train/style_train.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

DistEnv env_of(const std::map<std::string, std::string>& vars) {
  return DistEnv::from_lookup([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    env_of(vars);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

// One DataParallel per rank over a fresh HashStore; joining is collective,
// so each rank joins on its own thread.
std::vector<std::shared_ptr<DataParallel>> join_ranks(
    int world, DataParallelOptions options = {}) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::shared_ptr<DataParallel>> ranks(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      ranks[r] = std::make_shared<DataParallel>(store, r, world, options);
    });
  for (auto& t : threads) t.join();
  return ranks;
}

// Runs body(rank) on one thread per rank; rethrows the first failure.
void on_ranks(int world, const std::function<void(int)>& body) {
  std::exception_ptr failure;
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        body(r);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

double max_abs_diff(torch::nn::Module& a, torch::nn::Module& b) {
  double worst = 0;
  auto pb = b.named_parameters();
  for (const auto& p : a.named_parameters())
    worst =
        std::max(worst, (p.value() - pb[p.key()]).abs().max().item<double>());
  return worst;
}

ImageSet squares(int64_t n) {
  torch::manual_seed(7);
  auto images = torch::zeros({n, 3, 32, 32}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const auto y = torch::randint(24, {1}).item<int64_t>();
    const auto x = torch::randint(24, {1}).item<int64_t>();
    images[i].narrow(1, y, 8).narrow(2, x, 8).fill_(200);
  }
  ImageSet s;
  s.images = images;
  s.description = "squares";
  return s;
}

GanTrainOptions tiny_gan(int64_t batch) {
  GanTrainOptions o;
  o.model.latent_dim = 8;
  o.model.base_width = 8;
  o.model.resolution = 32;
  o.batch = batch;
  o.threads = 1;
  // The equivalence is checked to 1e-5: bf16 rounding differs between a
  // batch and its halves by far more.
  o.precision = "fp32";
  return o;
}

}  // namespace

TEST(DistEnv, MissingVariablesMeanOneProcess) {
  auto env = env_of({});
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
  EXPECT_FALSE(env.distributed());
  env = env_of({{"RANK", "1"},
                {"WORLD_SIZE", "4"},
                {"LOCAL_RANK", "1"},
                {"MASTER_ADDR", "node0"},
                {"MASTER_PORT", "29511"}});
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node0");
  EXPECT_EQ(env.master_port, 29511);
  EXPECT_TRUE(env.distributed());
  EXPECT_FALSE(env.is_main());
}

TEST(DistEnv, MalformedValuesNameTheVariable_n) {
  const std::map<std::string, std::string> ok = {{"RANK", "0"},
                                                 {"WORLD_SIZE", "2"},
                                                 {"MASTER_ADDR", "127.0.0.1"},
                                                 {"MASTER_PORT", "29500"}};
  auto with = [&](const std::string& k, const std::string& v) {
    auto vars = ok;
    vars[k] = v;
    return error_of(vars);
  };
  auto without = [&](const std::string& k) {
    auto vars = ok;
    vars.erase(k);
    return error_of(vars);
  };
  EXPECT_EQ(error_of(ok), "");
  EXPECT_NE(with("WORLD_SIZE", "two").find("WORLD_SIZE='two'"),
            std::string::npos);
  EXPECT_NE(with("WORLD_SIZE", "0").find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(with("RANK", "2").find("RANK='2'"), std::string::npos);
  EXPECT_NE(with("RANK", "-1").find("RANK"), std::string::npos);
  EXPECT_NE(with("LOCAL_RANK", "1x").find("LOCAL_RANK"), std::string::npos);
  EXPECT_NE(with("MASTER_PORT", "70000").find("MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(without("RANK").find("RANK is not set"), std::string::npos);
  EXPECT_NE(without("MASTER_ADDR").find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(without("MASTER_PORT").find("MASTER_PORT"), std::string::npos);
}

TEST(DataParallel, BucketsKeepOrderDtypeAndSize) {
  auto f = [](int64_t n) { return torch::zeros({n}); };
  // 32-byte buckets: 3 + 5 floats fill one exactly (the boundary), 9 floats
  // exceed the size alone, a double tensor starts its own bucket.
  std::vector<torch::Tensor> t = {
      f(3), f(5), f(1), f(9), torch::zeros({2}, torch::kFloat64), f(2)};
  const std::vector<std::vector<size_t>> expected = {
      {0, 1}, {2}, {3}, {4}, {5}};
  EXPECT_EQ(make_buckets(t, 32), expected);
  EXPECT_EQ(make_buckets(t, 1 << 20).size(), 3u);  // split by dtype only
}

TEST(DataParallel, BucketedAllReduceAveragesGradients) {
  DataParallelOptions options;
  options.bucket_bytes = 32;  // several buckets, one exactly full
  auto ranks = join_ranks(2, options);
  const std::vector<std::vector<int64_t>> shapes = {{3}, {5}, {2, 2},
                                                    {9}, {2}, {1}};
  std::vector<std::vector<torch::Tensor>> params(2);
  for (int r = 0; r < 2; ++r)
    for (size_t i = 0; i < shapes.size(); ++i) {
      auto p = torch::zeros(shapes[i], torch::requires_grad());
      auto base =
          torch::arange(p.numel()).view(shapes[i]).to(torch::kFloat) + 10.0 * i;
      if (!(i == 4 && r == 0)) p.mutable_grad() = base * (r + 1);
      params[r].push_back(p);
    }
  auto frozen = torch::ones({2});  // requires no gradient: not reduced
  on_ranks(2, [&](int r) {
    auto list = params[r];
    list.push_back(frozen);
    ranks[r]->average_gradients(list);
  });
  for (int r = 0; r < 2; ++r)
    for (size_t i = 0; i < shapes.size(); ++i) {
      auto base = torch::arange(params[r][i].numel())
                      .view(shapes[i])
                      .to(torch::kFloat) +
                  10.0 * i;
      if (i == 4) {
        // Undefined on rank 0: counted as zero there, still undefined there.
        EXPECT_EQ(params[r][i].grad().defined(), r == 1);
        if (r == 1) {
          EXPECT_TRUE(torch::allclose(params[r][i].grad(), base));
        }
        continue;
      }
      EXPECT_TRUE(torch::allclose(params[r][i].grad(), base * 1.5))
          << "rank " << r << " tensor " << i;
    }
}

TEST(DataParallel, BroadcastMakesParametersEqual) {
  auto ranks = join_ranks(2);
  std::vector<torch::nn::Sequential> models;
  for (int r = 0; r < 2; ++r) {
    torch::manual_seed(100 + r);  // different initial weights per rank
    models.emplace_back(torch::nn::Linear(7, 5), torch::nn::BatchNorm1d(5),
                        torch::nn::Linear(5, 3));
    models.back()->buffers()[0].fill_(r + 1.0);  // a running mean
  }
  auto rank0_before = models[0]->parameters()[0].clone();
  EXPECT_GT(max_abs_diff(*models[0], *models[1]), 0.0);
  on_ranks(2, [&](int r) { ranks[r]->broadcast_module(*models[r]); });
  EXPECT_EQ(max_abs_diff(*models[0], *models[1]), 0.0);
  EXPECT_TRUE(torch::equal(models[1]->parameters()[0], rank0_before));
  EXPECT_TRUE(torch::equal(models[1]->buffers()[0], torch::ones({5})));
}

TEST(DataParallel, AveragesScalarsAndAgreesOnFlags) {
  auto ranks = join_ranks(2);
  std::vector<std::vector<double>> means(2);
  std::vector<int> any(2), none(2);
  on_ranks(2, [&](int r) {
    means[r] = ranks[r]->average({1.0 + r, 10.0 * r});
    any[r] = ranks[r]->any(r == 1);
    none[r] = ranks[r]->any(false);
    ranks[r]->barrier();
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(means[r], (std::vector<double>{1.5, 5.0}));
    EXPECT_TRUE(any[r]);
    EXPECT_FALSE(none[r]);
  }
}

TEST(DataParallel, RankSliceSplitsTheGlobalBatch) {
  auto x = torch::arange(8);
  EXPECT_TRUE(torch::equal(rank_slice(x, 1, 2), torch::arange(4, 8)));
  EXPECT_TRUE(torch::equal(rank_slice(x, 0, 4), torch::arange(0, 2)));
  EXPECT_THROW(rank_slice(x, 0, 3), c10::Error);
}

// Largest gradient difference relative to the largest gradient.
double relative_grad_diff(torch::nn::Module& a, torch::nn::Module& b) {
  double worst = 0, scale = 0;
  auto pb = b.named_parameters();
  for (const auto& p : a.named_parameters()) {
    if (!p.value().grad().defined()) continue;
    const auto& g = p.value().grad();
    worst =
        std::max(worst, (g - pb[p.key()].grad()).abs().max().item<double>());
    scale = std::max(scale, g.abs().max().item<double>());
  }
  return scale > 0 ? worst / scale : worst;
}

// Two ranks with half the batch each against one process with the whole
// batch: the averaged gradient is the global-batch gradient up to float
// rounding (no minibatch-std, pixel norm). Measured: step-1 gradients agree
// to ~3e-6 relative; after 3 Adam steps (lr 2e-4) parameters differ by up
// to ~4e-4 (bce, channels-last: oneDNN sums a batch of 8 and two of 4 in
// other orders; 2e-7 in NCHW) and ~1.2e-4 (hinge + augment + R1). That is
// Adam, not the reduction: one fc.bias gradient is -1.5e-8 in one process
// and 0 in two, and Adam turns that into a step of 0.6 lr (eps is 1e-8).
// So gradients are checked to 1e-5, parameters to 5 steps of lr.
TEST(GanTrainerDistributed, TwoRanksMatchOneProcessWithTheGlobalBatch) {
  TempDir dir;
  GanTrainOptions bce = tiny_gan(8);
  bce.model.minibatch_std = false;
  GanTrainOptions hinge = bce;
  hinge.loss = GanLoss::Hinge;
  hinge.augment = AugmentPolicy::parse("translation,color,cutout");
  hinge.r1_gamma = 1.0;
  for (const auto& o : {bce, hinge}) {
    const auto tag = to_string(o.loss);
    GanTrainer one(o, squares(32), dir.file("one-" + tag));
    auto ranks = join_ranks(2);
    std::vector<std::unique_ptr<GanTrainer>> two;
    for (int r = 0; r < 2; ++r)  // same seed: same initial models
      two.push_back(std::make_unique<GanTrainer>(
          o, squares(32), dir.file("two-" + tag), ranks[r]));
    std::vector<GanStats> last(2);
    GanStats one_last;
    auto steps = [&](int k) {
      for (int i = 0; i < k; ++i) one_last = one.step();
      on_ranks(2, [&](int r) {
        for (int i = 0; i < k; ++i) last[r] = two[r]->step();
      });
    };
    steps(1);  // gradients of the first step, from identical models
    const double g_grad =
        relative_grad_diff(*one.generator(), *two[0]->generator());
    const double d_grad =
        relative_grad_diff(*one.discriminator(), *two[0]->discriminator());
    steps(2);
    const double g_diff = max_abs_diff(*one.generator(), *two[0]->generator());
    const double d_diff =
        max_abs_diff(*one.discriminator(), *two[0]->discriminator());
    std::cout << "[ " << tag << " ] 1 vs 2 processes: step-1 gradients "
              << "differ by " << g_grad << " (G), " << d_grad
              << " (D) relative; parameters after 3 steps by " << g_diff
              << " (G), " << d_diff << " (D)\n";
    EXPECT_LT(g_grad, 1e-5);
    EXPECT_LT(d_grad, 1e-5);
    const double tolerance = 5 * o.lr_g;
    EXPECT_LT(g_diff, tolerance);
    EXPECT_LT(d_diff, tolerance);
    // The replicas stay identical, and agree on the logged losses.
    EXPECT_EQ(max_abs_diff(*two[0]->generator(), *two[1]->generator()), 0.0);
    EXPECT_EQ(max_abs_diff(*two[0]->discriminator(), *two[1]->discriminator()),
              0.0);
    EXPECT_EQ(last[0].d_loss, last[1].d_loss);
    EXPECT_EQ(last[0].g_loss, last[1].g_loss);
    // Logged losses are global-batch means, as in one process.
    EXPECT_NEAR(last[0].g_loss, one_last.g_loss, 1e-3);
    EXPECT_NEAR(last[0].d_loss, one_last.d_loss, 1e-3);
  }
}

TEST(GanTrainerDistributed, ResumeWithAnotherWorldSizeFails_n) {
  TempDir dir;
  GanTrainOptions o = tiny_gan(4);
  auto ranks = join_ranks(2);
  std::vector<std::unique_ptr<GanTrainer>> two;
  for (int r = 0; r < 2; ++r)
    two.push_back(
        std::make_unique<GanTrainer>(o, squares(8), dir.file("run"), ranks[r]));
  on_ranks(2, [&](int r) {
    two[r]->step();
    two[r]->save_checkpoint();  // rank 0 writes, rank 1 does nothing
  });
  try {
    GanTrainer::resume(dir.file("run"), squares(8), nullptr);
    FAIL() << "resumed a 2-process checkpoint in 1 process";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("resume it with 2"), std::string::npos)
        << e.what();
  }
  o.batch = 5;  // not divisible by 2
  EXPECT_THROW(GanTrainer(o, squares(8), dir.file("odd"), ranks[0]),
               InvalidArgument);
}

namespace {

StyleTrainOptions tiny_style(int64_t batch) {
  StyleTrainOptions o;
  o.model.width = 4;
  o.model.res_blocks = 1;
  o.size = 32;
  o.batch = batch;
  o.checkpoint_every = 100;
  o.preview_every = 0;
  o.lr = 1e-2;
  o.precision = "fp32";  // checked to 1e-5, as tiny_gan
  return o;
}

std::vector<torch::Tensor> style_content() {
  torch::manual_seed(3);
  std::vector<torch::Tensor> c;
  for (int i = 0; i < 4; ++i)
    c.push_back((torch::rand({3, 36 + i * 4, 40}) * 255).to(torch::kUInt8));
  return c;
}

std::vector<torch::Tensor> style_images() {
  auto stripes =
      (torch::arange(48).div(4, "floor") % 2).to(torch::kFloat32) * 255;
  auto a = stripes.view({1, 1, 1, 48}).expand({1, 3, 48, 48}).clone();
  auto b = a.transpose(2, 3).clone();
  b.select(1, 0).mul_(0.2);
  return {a, b};
}

}  // namespace

TEST(StyleTrainerDistributed, TwoRanksMatchOneProcessWithTheGlobalBatch) {
  TempDir dir;
  StyleTrainOptions o = tiny_style(4);
  // Style (per-image Gram) and TV losses are means over the batch, so
  // shards average to the global loss. The content loss divides by the
  // batch's own target energy and the temporal loss by its mask area:
  // ratios of sums, which shards only approximate (measured: 0.05 apart
  // after 3 steps at lr 1e-2), so they are off here.
  o.content_weight = 0.0;
  const std::vector<std::string> names{"h", "v"};
  StyleTrainer one(o, style_content(), style_images(), names, dir.file("one"));
  auto ranks = join_ranks(2);
  std::vector<std::unique_ptr<StyleTrainer>> two;
  for (int r = 0; r < 2; ++r)
    two.push_back(std::make_unique<StyleTrainer>(
        o, style_content(), style_images(), names, dir.file("two"), ranks[r]));
  StyleTrainStats one_last;
  std::vector<StyleTrainStats> last(2);
  auto steps = [&](int k) {
    for (int i = 0; i < k; ++i) one_last = one.step();
    on_ranks(2, [&](int r) {
      for (int i = 0; i < k; ++i) last[r] = two[r]->step();
    });
  };
  steps(1);  // gradients of the first step, from identical models
  const double grad = relative_grad_diff(*one.model(), *two[0]->model());
  EXPECT_NEAR(last[0].total, one_last.total, 1e-5 * std::abs(one_last.total));
  steps(2);
  const double diff = max_abs_diff(*one.model(), *two[0]->model());
  std::cout << "[ style ] 1 vs 2 processes: step-1 gradients differ by " << grad
            << " relative; parameters after 3 steps by " << diff
            << " (Adam at lr 1e-2 turns float noise in near-zero gradients "
               "into whole steps)\n";
  EXPECT_LT(grad, 1e-5);
  EXPECT_LT(diff, 6 * o.lr);  // at most ~lr per step and parameter
  EXPECT_EQ(max_abs_diff(*two[0]->model(), *two[1]->model()), 0.0);
  // Same style drawn everywhere; logged losses are global means.
  EXPECT_EQ(last[0].style_index, one_last.style_index);
  EXPECT_EQ(last[0].total, last[1].total);
  EXPECT_NEAR(last[0].total, one_last.total, 1e-3 * std::abs(one_last.total));
  // Rank 0 alone writes the checkpoint, which records the world size.
  on_ranks(2, [&](int r) { two[r]->save_checkpoint(); });
  EXPECT_EQ(StyleTrainer::checkpoint_world_size(dir.file("two")), 2);
  StyleTrainer alone(o, style_content(), style_images(), names,
                     dir.file("two"));
  try {
    alone.resume();
    FAIL() << "resumed a 2-process style checkpoint in 1 process";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("world size 2"), std::string::npos)
        << e.what();
  }
}

TEST(StyleTrainerDistributed, BatchNotDivisibleByRanksFails_n) {
  TempDir dir;
  auto ranks = join_ranks(2);
  EXPECT_THROW(StyleTrainer(tiny_style(3), style_content(), style_images(),
                            {"h", "v"}, dir.file("r"), ranks[0]),
               InvalidArgument);
}
