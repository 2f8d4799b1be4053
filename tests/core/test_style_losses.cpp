// Losses and loss networks for style transfer: Gram, TV, normalised MSE,
// the image pyramid, the built-in random network and the TF.js VGG-19
// reader (a tiny manifest written by the test, and the real weights when
// ../shared/data is present).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "neuralart/error.h"
#include "neuralart/train/loss_net.h"
#include "temp_dir.h"

using namespace neuralart;
namespace fs = std::filesystem;

TEST(StyleLoss, GramOfKnownTensor) {
  // Two channels, two pixels: F = [[1, 2], [3, 4]].
  auto f = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 2, 1, 2});
  auto g = gram_matrix(f);
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{1, 2, 2}));
  // F F^T = [[5, 11], [11, 25]], divided by C * H * W = 4.
  auto expected = torch::tensor({1.25f, 2.75f, 2.75f, 6.25f}).view({1, 2, 2});
  EXPECT_TRUE(torch::allclose(g, expected));
}

TEST(StyleLoss, CentredGramIsCovariance) {
  // F = [[1, 3], [2, 6]]: means 2 and 4, centred [[-1, 1], [-2, 2]].
  auto f = torch::tensor({1.0f, 3.0f, 2.0f, 6.0f}).view({1, 2, 1, 2});
  auto g = gram_matrix(f, /*centred=*/true);
  auto expected = torch::tensor({0.5f, 1.0f, 1.0f, 2.0f}).view({1, 2, 2});
  EXPECT_TRUE(torch::allclose(g, expected));
  // A constant offset changes the plain Gram but not the centred one.
  EXPECT_TRUE(torch::allclose(gram_matrix(f + 5, true), g));
  EXPECT_FALSE(torch::allclose(gram_matrix(f + 5), gram_matrix(f)));
}

TEST(StyleLoss, OnlyTheRandomNetCentresItsGram) {
  EXPECT_TRUE(make_random_loss_net(1)->centred_gram());
}

TEST(StyleLoss, GramIsPerBatchItem) {
  auto f = torch::randn({3, 4, 5, 6});
  auto g = gram_matrix(f);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(torch::allclose(g[i], gram_matrix(f.slice(0, i, i + 1))[0]));
}

TEST(StyleLoss, TotalVariation) {
  EXPECT_EQ(total_variation_loss(torch::full({2, 3, 8, 8}, 0.7f)).item<float>(),
            0.0f);
  // Columns 0, 1: horizontal differences all 1, vertical all 0.
  auto img = torch::tensor({0.0f, 1.0f, 0.0f, 1.0f}).view({1, 1, 2, 2});
  EXPECT_FLOAT_EQ(total_variation_loss(img).item<float>(), 1.0f);
  auto noisy = torch::rand({1, 3, 16, 16});
  EXPECT_GT(
      total_variation_loss(noisy).item<float>(),
      total_variation_loss(torch::avg_pool2d(noisy, 3, 1, 1)).item<float>());
}

TEST(StyleLoss, NormalizedMseGradientReachesInputOnly) {
  auto target = torch::full({4}, 2.0f, torch::requires_grad());
  auto a = torch::zeros({4}, torch::requires_grad());
  auto l = normalized_mse(a, target);
  EXPECT_FLOAT_EQ(l.item<float>(), 1.0f);  // (0-2)^2 / 2^2
  l.backward();
  ASSERT_TRUE(a.grad().defined());
  EXPECT_LT(a.grad().max().item<float>(), 0.0f);
  EXPECT_FALSE(target.grad().defined());
}

TEST(StyleLoss, PyramidHalvesEachLevel) {
  auto levels = image_pyramid(torch::rand({1, 3, 64, 48}), 3);
  ASSERT_EQ(levels.size(), 3u);
  EXPECT_EQ(levels[1].size(2), 32);
  EXPECT_EQ(levels[2].size(3), 12);
}

TEST(StyleLoss, PyramidTooSmall_n) {
  EXPECT_THROW(image_pyramid(torch::rand({1, 3, 16, 16}), 3), InvalidArgument);
  EXPECT_THROW(image_pyramid(torch::rand({1, 3, 64, 64}), 0), InvalidArgument);
}

TEST(StyleLoss, GradientsFlowThroughStyleAndContentLoss) {
  auto net = make_random_loss_net(1);
  StyleLossConfig cfg;
  auto style = torch::rand({1, 3, 32, 32}) * 255;
  auto targets = style_targets(*net, style, cfg);
  EXPECT_EQ(targets.grams.size(), 2 * cfg.style_layers.size());
  auto x = (torch::rand({2, 3, 32, 32}) * 255).requires_grad_(true);
  auto content = torch::rand({2, 3, 32, 32}) * 255;
  auto s = style_loss(*net, x, targets, cfg);
  auto c = content_loss(net->features(x, cfg.content_layers),
                        net->features(content, cfg.content_layers));
  EXPECT_GT(s.item<float>(), 0.0f);
  EXPECT_GT(c.item<float>(), 0.0f);
  (s + c).backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_GT(x.grad().abs().sum().item<float>(), 0.0f);
  // The style image itself has zero style loss.
  EXPECT_NEAR(style_loss(*net, style, targets, cfg).item<float>(), 0.0f, 1e-6);
}

TEST(StyleLoss, RandomNetIsSeeded) {
  auto x = torch::rand({1, 3, 24, 24}) * 255;
  auto a = make_random_loss_net(7)->features(x, {"relu2_1"})[0];
  auto b = make_random_loss_net(7)->features(x, {"relu2_1"})[0];
  auto c = make_random_loss_net(8)->features(x, {"relu2_1"})[0];
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::allclose(a, c));
  EXPECT_EQ(a.size(1), 64);
  EXPECT_EQ(a.size(2), 12);  // one pooling before block 2
}

TEST(StyleLoss, LossNetSpecs_n) {
  EXPECT_THROW(make_loss_net("resnet", {"relu1_1"}), InvalidArgument);
  EXPECT_THROW(make_loss_net("random:x", {"relu1_1"}), InvalidArgument);
  try {
    make_loss_net("random", {"relu5_4"});
    FAIL() << "relu5_4 is not in the built-in network";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("relu5_4"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("relu4_2"), std::string::npos);
  }
  EXPECT_THROW(split_layers("relu1_1,,relu2_1"), InvalidArgument);
  EXPECT_EQ(split_layers("relu1_1, relu2_1").size(), 2u);
}

TEST(StyleLoss, YiqRoundTripAndLuminanceMatch) {
  auto rgb = torch::rand({1, 3, 8, 8}) * 255;
  EXPECT_TRUE(torch::allclose(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, 1e-3, 1e-2));
  auto grey = luminance_matched(rgb, rgb);
  EXPECT_TRUE(torch::allclose(grey.select(1, 0), grey.select(1, 2)));
  auto y = rgb_to_yiq(rgb).select(1, 0);
  EXPECT_NEAR(grey.select(1, 0).mean().item<float>(), y.mean().item<float>(),
              0.5);
}

// ------------------------------------------------------------ TF.js ----

namespace {

struct FakeVgg {
  torch::Tensor k1, b1, k2, b2;  // HWIO kernels as Keras stores them
};

void write_floats(const std::string& path, const std::vector<torch::Tensor>& ts,
                  int64_t skip_bytes = 0, int64_t max_bytes = -1) {
  std::string bytes;
  for (const auto& t : ts) {
    auto c = t.contiguous();
    bytes.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  }
  bytes =
      bytes.substr(skip_bytes, max_bytes < 0 ? std::string::npos
                                             : static_cast<size_t>(max_bytes));
  std::ofstream(path, std::ios::binary) << bytes;
}

// model.json with block1_conv1 (one group, split over two shards) and
// block1_conv2 (its own group), as tensorflowjs_converter writes them.
FakeVgg write_fake_vgg(const TempDir& dir,
                       std::vector<int64_t> k1_shape = {3, 3, 3, 64}) {
  FakeVgg v;
  v.k1 = torch::randn({3, 3, 3, 64});
  v.b1 = torch::randn({64});
  v.k2 = torch::randn({3, 3, 64, 64}) * 0.05;
  v.b2 = torch::randn({64});
  nlohmann::json m;
  m["modelTopology"] = {{"class_name", "Model"}};
  m["weightsManifest"] = {{{"paths", {"group1-shard1of2", "group1-shard2of2"}},
                           {"weights",
                            {{{"name", "block1_conv1/kernel"},
                              {"shape", k1_shape},
                              {"dtype", "float32"}},
                             {{"name", "block1_conv1/bias"},
                              {"shape", {64}},
                              {"dtype", "float32"}}}}},
                          {{"paths", {"group2-shard1of1"}},
                           {"weights",
                            {{{"name", "block1_conv2/kernel"},
                              {"shape", {3, 3, 64, 64}},
                              {"dtype", "float32"}},
                             {{"name", "block1_conv2/bias"},
                              {"shape", {64}},
                              {"dtype", "float32"}}}}}};
  std::ofstream(dir.file("model.json")) << m.dump();
  // Split group 1 at an odd byte: shards are raw concatenated bytes.
  write_floats(dir.file("group1-shard1of2"), {v.k1, v.b1}, 0, 1001);
  write_floats(dir.file("group1-shard2of2"), {v.k1, v.b1}, 1001);
  write_floats(dir.file("group2-shard1of1"), {v.k2, v.b2});
  return v;
}

// Reference conv with the kernel moved from HWIO to OIHW element by
// element, and Keras' BGR, mean-subtracted input.
torch::Tensor reference_relu1_1(const FakeVgg& v, const torch::Tensor& rgb) {
  auto oihw = torch::empty({64, 3, 3, 3});
  auto k = v.k1.accessor<float, 4>();
  auto o = oihw.accessor<float, 4>();
  for (int h = 0; h < 3; ++h)
    for (int w = 0; w < 3; ++w)
      for (int i = 0; i < 3; ++i)
        for (int c = 0; c < 64; ++c) o[c][i][h][w] = k[h][w][i][c];
  auto bgr =
      torch::stack({rgb.select(1, 2) - 103.939, rgb.select(1, 1) - 116.779,
                    rgb.select(1, 0) - 123.68},
                   1);
  return torch::relu(torch::conv2d(bgr, oihw, v.b1, 1, 1));
}

}  // namespace

TEST(Vgg19Tfjs, ReadsHwioKernelsAndBiases) {
  TempDir dir;
  auto v = write_fake_vgg(dir);
  auto net = load_vgg19_tfjs(dir.file("model.json"), {"relu1_1", "relu1_2"});
  auto x = torch::rand({1, 3, 10, 12}) * 255;
  auto f = net->features(x, {"relu1_1", "relu1_2"});
  EXPECT_TRUE(torch::allclose(f[0], reference_relu1_1(v, x), 1e-4, 1e-3));
  EXPECT_EQ(f[1].sizes(), (std::vector<int64_t>{1, 64, 10, 12}));
  EXPECT_EQ(net->layer_names().size(), 2u);
}

TEST(Vgg19Tfjs, LoadsOnlyUpToTheDeepestLayer) {
  TempDir dir;
  auto v = write_fake_vgg(dir);
  fs::remove(dir.file("group2-shard1of1"));  // block1_conv2 is not needed
  auto net = load_vgg19_tfjs(dir.file("model.json"), {"relu1_1"});
  auto x = torch::rand({1, 3, 6, 6}) * 255;
  EXPECT_TRUE(torch::allclose(net->features(x, {"relu1_1"})[0],
                              reference_relu1_1(v, x), 1e-4, 1e-3));
  EXPECT_THROW(net->features(x, {"relu1_2"}), InvalidArgument);
}

TEST(Vgg19Tfjs, MissingShard_n) {
  TempDir dir;
  write_fake_vgg(dir);
  fs::remove(dir.file("group2-shard1of1"));
  try {
    load_vgg19_tfjs(dir.file("model.json"), {"relu1_2"});
    FAIL() << "a missing shard must throw";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("relu1_2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("group2-shard1of1"), std::string::npos) << msg;
  }
}

TEST(Vgg19Tfjs, ShapeMismatch_n) {
  TempDir dir;
  write_fake_vgg(dir, {3, 3, 3, 32});
  try {
    load_vgg19_tfjs(dir.file("model.json"), {"relu1_1"});
    FAIL() << "a wrong shape must throw";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("relu1_1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 3, 3, 32]"), std::string::npos) << msg;
  }
}

TEST(Vgg19Tfjs, ShortShard_n) {
  TempDir dir;
  auto v = write_fake_vgg(dir);
  write_floats(dir.file("group1-shard2of2"), {v.k1, v.b1}, 1001, 100);
  try {
    load_vgg19_tfjs(dir.file("model.json"), {"relu1_1"});
    FAIL() << "a truncated shard must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("group1-shard2of2"), std::string::npos)
        << e.what();
  }
}

TEST(Vgg19Tfjs, BadInputs_n) {
  TempDir dir;
  EXPECT_THROW(load_vgg19_tfjs(dir.file("model.json"), {"relu1_1"}), Error);
  std::ofstream(dir.file("model.json")) << "{\"modelTopology\": {}}";
  EXPECT_THROW(load_vgg19_tfjs(dir.file("model.json"), {"relu1_1"}), Error);
  EXPECT_THROW(load_vgg19_tfjs(dir.file("model.json"), {"relu9_9"}),
               InvalidArgument);
}

TEST(Vgg19Tfjs, RealWeightsFromSharedData) {
  const fs::path model = fs::path(NEURALART_SOURCE_DIR) / ".." / "shared" /
                         "data" / "vgg19-tfjs" / "model.json";
  if (!fs::exists(model))
    GTEST_SKIP() << "no " << model.string() << " (real VGG-19 weights absent)";
  auto net = load_vgg19_tfjs(model.string(), {"relu1_1", "relu3_4"});
  auto x = torch::rand({1, 3, 32, 32}) * 255;
  auto f = net->features(x, {"relu1_1", "relu3_4"});
  EXPECT_EQ(f[0].sizes(), (std::vector<int64_t>{1, 64, 32, 32}));
  EXPECT_EQ(f[1].sizes(), (std::vector<int64_t>{1, 256, 8, 8}));
  EXPECT_TRUE(torch::isfinite(f[1]).all().item<bool>());
  EXPECT_GT(f[1].abs().sum().item<float>(), 0.0f);
  // Only block1..block3 are in ../shared/data: relu4_1 names its shard.
  try {
    load_vgg19_tfjs(model.string(), {"relu4_1"});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("relu4_1"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("group9-shard1of2"),
              std::string::npos);
  }
}

TEST(Vgg19Tfjs, HostileManifests_n) {
  auto refused = [](const std::string& text, const std::string& needle) {
    try {
      parse_tfjs_manifest(text, "m.json");
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << e.what();
      return;
    }
    ADD_FAILURE() << "accepted: " << text;
  };
  // A negative dimension once moved the next weight's offset before the
  // shard's first byte.
  refused(R"({"weightsManifest": [{"paths": ["s"], "weights": [
      {"name": "a", "shape": [-64]},
      {"name": "block1_conv1/bias", "shape": [64]}]}]})",
          "negative or over 2^31");
  refused(R"({"weightsManifest": [{"paths": ["s"], "weights": [
      {"name": "a", "shape": [65536, 65536, 65536]}]}]})",
          "negative or over 2^31");
  refused(R"({"weightsManifest": [{"paths": ["s"], "weights": [
      {"name": "a", "shape": [1073741824]}, {"name": "b", "shape": [1073741824]},
      {"name": "c", "shape": [1073741824]}]}]})",
          "over 4 GiB");
  refused(R"({"weightsManifest": [{"paths": ["../../etc/passwd"],
      "weights": []}]})",
          "leaves the model's folder");
  refused(R"({"weightsManifest": [{"paths": ["/etc/passwd"], "weights": []}]})",
          "leaves the model's folder");
  refused(R"({"weightsManifest": [{"paths": "s", "weights": []}]})",
          "malformed weightsManifest");
  refused("[[[[", "not valid JSON");
  // Found by fuzz/fuzz_tfjs.cpp under UBSan: a float dimension was cast to
  // int64 (undefined for 6.4e76).
  refused(R"({"weightsManifest": [{"paths": ["s"], "weights": [
      {"name": "a", "shape": [6.4e76]}]}]})",
          "non-integer");
  // A valid one still parses, offsets in order.
  const auto m = parse_tfjs_manifest(R"({"weightsManifest": [{"paths":
      ["sub/s1"], "weights": [{"name": "a", "shape": [2, 3]},
      {"name": "b", "shape": [4], "dtype": "float32"}]}]})",
                                     "m.json");
  EXPECT_EQ(m.weights.at("b").offset, 24);
  EXPECT_EQ(m.group_bytes.at(0), 40);
}
