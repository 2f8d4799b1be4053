#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "neuralart/error.h"
#include "neuralart/models/dcgan.h"
#include "neuralart/models/style_net.h"

using namespace neuralart;

class DCGANShapes : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(DCGANShapes, GeneratorAndDiscriminator) {
  const auto [resolution, channels] = GetParam();
  DCGANOptions o;
  o.latent_dim = 8;
  o.base_width = 8;
  o.resolution = resolution;
  o.channels = channels;
  DCGANGenerator g(o);
  DCGANDiscriminator d(o);
  auto img = g->forward(torch::randn({4, 8}));
  EXPECT_EQ(img.sizes(),
            (std::vector<int64_t>{4, channels, resolution, resolution}));
  EXPECT_LE(img.abs().max().item<float>(), 1.0f);
  EXPECT_EQ(d->forward(img).sizes(), (std::vector<int64_t>{4}));
  // [N, nz, 1, 1] latents are accepted too.
  EXPECT_EQ(g->forward(torch::randn({1, 8, 1, 1})).size(0), 1);
}

INSTANTIATE_TEST_SUITE_P(Resolutions, DCGANShapes,
                         ::testing::Combine(::testing::Values(32, 64, 128),
                                            ::testing::Values(1, 3)));

TEST(DCGAN, ClassicWidths) {
  DCGANOptions o;  // 64x64, base 64: 512 at 4x4 down to 64 at 32x32
  EXPECT_EQ(o.width_at(4), 512);
  EXPECT_EQ(o.width_at(8), 256);
  EXPECT_EQ(o.width_at(32), 64);
}

TEST(DCGAN, MultiscaleEmitsEveryScale) {
  DCGANOptions o;
  o.latent_dim = 8;
  o.base_width = 8;
  o.resolution = 64;
  o.multiscale = true;
  DCGANGenerator g(o);
  DCGANDiscriminator d(o);
  auto images = g->forward_multiscale(torch::randn({2, 8}));
  ASSERT_EQ(images.size(), 5u);
  for (size_t i = 0; i < images.size(); ++i)
    EXPECT_EQ(images[i].size(2), 4 << i);
  EXPECT_EQ(d->forward_multiscale(images).sizes(), (std::vector<int64_t>{2}));
}

TEST(DCGAN, GeneratorHasNoBatchDependenceInEval) {
  for (const std::string norm : {"pixel", "batch", "none"}) {
    DCGANOptions o;
    o.latent_dim = 8;
    o.base_width = 8;
    o.resolution = 32;
    o.g_norm = norm;
    DCGANGenerator g(o);
    g->eval();
    torch::NoGradGuard no_grad;
    auto z = torch::randn({4, 8});
    auto batch = g->forward(z);
    auto single = g->forward(z.narrow(0, 1, 1));
    EXPECT_TRUE(torch::allclose(batch.narrow(0, 1, 1), single, 1e-5, 1e-5))
        << norm;
  }
}

TEST(DCGAN, SpectralNormBoundsSigma) {
  torch::manual_seed(0);
  Conv2dSN conv(Conv2dSNOptions{4, 8, 3, 1, 1, true});
  conv->train();
  for (int i = 0; i < 50; ++i) conv->effective_weight();
  auto w = conv->effective_weight().detach().reshape({8, -1});
  auto sigma = std::get<1>(torch::svd(w)).max().item<float>();
  EXPECT_NEAR(sigma, 1.0f, 0.02f);
}

TEST(DCGAN, MinibatchStddevAddsChannel) {
  auto x = torch::randn({8, 5, 4, 4});
  auto y = minibatch_stddev(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{8, 6, 4, 4}));
  // A collapsed batch (all samples equal) has zero deviation.
  auto same = torch::ones({8, 5, 4, 4});
  EXPECT_LT(minibatch_stddev(same).select(1, 5).abs().max().item<float>(),
            1e-3);
  // Odd batch sizes work (group shrinks to a divisor).
  EXPECT_EQ(minibatch_stddev(torch::randn({3, 2, 4, 4})).size(1), 3);
}

TEST(DCGAN, OptionsJsonRoundTrip) {
  DCGANOptions o;
  o.resolution = 128;
  o.spectral_norm = true;
  EXPECT_EQ(DCGANOptions::from_json(o.to_json()).to_json(), o.to_json());
}

TEST(DCGAN, BadOptions_n) {
  DCGANOptions o;
  o.resolution = 48;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o.resolution = 16;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o = DCGANOptions();
  o.channels = 2;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o = DCGANOptions();
  o.g_norm = "group";
  EXPECT_THROW(DCGANGenerator{o}, InvalidArgument);
  EXPECT_THROW(DCGANOptions::from_json({{"name", "stylegan"}}),
               InvalidArgument);
  EXPECT_THROW(DCGANOptions::from_json({{"name", "dcgan"}}), InvalidArgument);
}

TEST(DCGAN, WrongLatentSize_n) {
  DCGANOptions o;
  o.latent_dim = 8;
  o.base_width = 8;
  o.resolution = 32;
  DCGANGenerator g(o);
  EXPECT_THROW(g->forward(torch::randn({1, 9})), c10::Error);
}

class StyleNetSizes : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(StyleNetSizes, OutputMatchesInputSize) {
  const auto [h, w] = GetParam();
  StyleNetOptions o;
  o.width = 8;
  o.res_blocks = 1;
  StyleNet net(o);
  torch::NoGradGuard no_grad;
  auto y = net->forward(torch::rand({1, 3, h, w}) * 255);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, h, w}));
}

INSTANTIATE_TEST_SUITE_P(AnySize, StyleNetSizes,
                         ::testing::Values(std::make_pair(16, 16),
                                           std::make_pair(21, 37),
                                           std::make_pair(90, 160),
                                           std::make_pair(33, 8)));

TEST(StyleNet, DefaultLayoutMatchesTransformerNet) {
  StyleNet net(StyleNetOptions{});
  int64_t params = 0;
  for (const auto& p : net->parameters()) params += p.numel();
  // pytorch/examples TransformerNet has 1,679,235 parameters; ours matches.
  EXPECT_EQ(params, 1679235);
}

TEST(StyleNet, StyleMixSelectsAndBlends) {
  StyleNetOptions o;
  o.width = 8;
  o.res_blocks = 1;
  o.num_styles = 2;
  StyleNet net(o);
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters())
    if (p.key().find("weight") != std::string::npos && p.value().dim() == 2)
      p.value().normal_(1.0, 0.5);  // make the two styles differ
  auto x = torch::rand({1, 3, 24, 24}) * 255;
  auto a = net->forward(x, net->one_hot(0));
  auto b = net->forward(x, net->one_hot(1));
  EXPECT_FALSE(torch::allclose(a, b));
  EXPECT_TRUE(torch::allclose(net->forward(x), a));
}

TEST(StyleNet, SigmoidOutputStartsMidGreyInRange) {
  // An untrained network must not start black (the linear output does):
  // training then only has to move from grey toward the content.
  StyleNetOptions o;
  o.width = 8;
  o.res_blocks = 1;
  StyleNet net(o);
  torch::NoGradGuard no_grad;
  auto y = net->forward(torch::rand({2, 3, 32, 32}) * 255);
  EXPECT_GE(y.min().item<float>(), 0.0f);
  EXPECT_LE(y.max().item<float>(), 255.0f);
  EXPECT_NEAR(y.mean().item<float>(), 127.5f, 40.0f);
  o.output = "linear";
  StyleNet linear(o);
  EXPECT_LT(linear->forward(torch::rand({2, 3, 32, 32}) * 255)
                .abs()
                .mean()
                .item<float>(),
            40.0f);
}

TEST(StyleNet, OutputFieldDefaultsToLinearForOlderBundles) {
  auto j = StyleNetOptions{}.to_json();
  EXPECT_EQ(j.at("output"), "sigmoid");
  j.erase("output");
  EXPECT_EQ(StyleNetOptions::from_json(j).output, "linear");
  j["output"] = "tanh";
  EXPECT_THROW(StyleNetOptions::from_json(j), InvalidArgument);
}

// The compact variants: every convolution choice and stem, any frame size.
class StyleNetVariants
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  StyleNetOptions options() const {
    StyleNetOptions o;
    o.width = 8;
    o.res_blocks = 2;
    o.conv = std::get<0>(GetParam());
    o.stem = std::get<1>(GetParam());
    return o;
  }
};

TEST_P(StyleNetVariants, AnySizeInIsTheSizeOut) {
  StyleNet net(options());
  torch::NoGradGuard no_grad;
  for (auto [h, w] :
       {std::pair<int, int>{16, 16}, {21, 37}, {33, 9}, {90, 160}, {17, 17}}) {
    auto y = net->forward(torch::rand({2, 3, h, w}) * 255);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, h, w})) << h << "x" << w;
    EXPECT_GE(y.min().item<float>(), 0.0f);
    EXPECT_LE(y.max().item<float>(), 255.0f);
  }
}

TEST_P(StyleNetVariants, TooSmallFramesAreAClearError_n) {
  StyleNet net(options());
  torch::NoGradGuard no_grad;
  const int64_t side = 4 * net->fold();  // one pixel short
  try {
    net->forward(torch::rand({1, 3, side, 40}));
    ADD_FAILURE() << "no error for a " << side << "-pixel frame";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(net->forward(torch::rand({1, 3, side + 1, 40})).size(2), side + 1);
}

TEST_P(StyleNetVariants, LayersAreWhatTheOptionsSay) {
  const auto o = options();
  StyleNet net(o);
  auto params = net->named_parameters();
  const bool shuffle = o.stem == "shuffle";
  EXPECT_EQ(params["conv1.conv.weight"].sizes(),
            (std::vector<int64_t>{8, shuffle ? 12 : 3, shuffle ? 3 : 9,
                                  shuffle ? 3 : 9}));
  EXPECT_EQ(params["conv_out.conv.weight"].size(0), shuffle ? 12 : 3);
  // Separable: a depthwise 3x3 (one input channel per group) and a 1x1.
  const bool sep = o.conv == "separable";
  EXPECT_EQ(params["res_convs.0.conv.weight"].size(1), sep ? 1 : 32);
  EXPECT_EQ(params.contains("res_convs.0.pointwise.weight"), sep);
  EXPECT_EQ(params.contains("up1.pointwise.weight"), sep);
  EXPECT_FALSE(params.contains("conv1.pointwise.weight"));
  // The bundle's architecture names the variant and rebuilds it.
  const auto back = StyleNetOptions::from_json(o.to_json());
  EXPECT_EQ(back.conv, o.conv);
  EXPECT_EQ(back.stem, o.stem);
  StyleNet again(back);
  EXPECT_EQ(again->parameters().size(), net->parameters().size());
}

TEST_P(StyleNetVariants, FoldedForwardIsTheForwardBetweenFoldAndUnfold) {
  StyleNet net(options());
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 24, 40}) * 255;
  const int64_t f = net->fold();
  EXPECT_EQ(f, std::get<1>(GetParam()) == "shuffle" ? 2 : 1);
  auto folded = f == 1 ? x : torch::pixel_unshuffle(x, f);
  auto y = net->forward_folded(folded);
  EXPECT_EQ(y.size(1), 3 * f * f);
  auto unfolded = f == 1 ? y : torch::pixel_shuffle(y, f);
  EXPECT_TRUE(torch::allclose(unfolded, net->forward(x), 1e-4, 1e-3));
  EXPECT_THROW(net->forward_folded(torch::rand({1, 5, 8, 8})), c10::Error);
}

INSTANTIATE_TEST_SUITE_P(
    ConvAndStem, StyleNetVariants,
    ::testing::Combine(::testing::Values("standard", "separable"),
                       ::testing::Values("full", "shuffle")),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param);
    });

TEST(StyleNet, GflopOfTheReferenceAndTheCompactVariants) {
  StyleNetOptions o;  // pytorch/examples' TransformerNet
  // 307,584 FLOP per pixel (the "71 GFLOP per 640x360 frame").
  EXPECT_NEAR(style_net_gflop(o, 360, 640), 307584.0 * 360 * 640 / 1e9, 1e-9);
  auto sep = o;
  sep.conv = "separable";
  auto shuffle = o;
  shuffle.stem = "shuffle";
  const double ref = style_net_gflop(o, 720, 1280);
  EXPECT_LT(style_net_gflop(sep, 720, 1280), ref / 4);  // 9x9s remain
  EXPECT_LT(style_net_gflop(shuffle, 720, 1280), ref / 4);
  // Width 16, 3 blocks, separable, shuffle at 720p, by hand: the two 3x3
  // convolutions of the stem at 640x360 with 12 and 16 channels, 2 x 0.796;
  // the six separable residual convolutions (64 channels at 160x90),
  // 6 x 0.1346; down and up, 0.814: 3.214 GFLOP.
  StyleNetOptions compact;
  compact.width = 16;
  compact.res_blocks = 3;
  compact.conv = "separable";
  compact.stem = "shuffle";
  EXPECT_NEAR(style_net_gflop(compact, 720, 1280), 3.21, 0.01);
}

TEST(StyleNet, OlderBundlesAreStandardAndFull_n) {
  auto j = StyleNetOptions{}.to_json();
  EXPECT_EQ(j.at("conv"), "standard");
  EXPECT_EQ(j.at("stem"), "full");
  j.erase("conv");
  j.erase("stem");
  const auto o = StyleNetOptions::from_json(j);
  EXPECT_EQ(o.conv, "standard");
  EXPECT_EQ(o.stem, "full");
  j["conv"] = "dense";
  EXPECT_THROW(StyleNetOptions::from_json(j), InvalidArgument);
  j["conv"] = "separable";
  j["stem"] = "half";
  EXPECT_THROW(StyleNetOptions::from_json(j), InvalidArgument);
}

TEST(StyleNet, BadStyleIndex_n) {
  StyleNetOptions o;
  o.width = 8;
  o.res_blocks = 1;
  StyleNet net(o);
  EXPECT_THROW(net->one_hot(1), c10::Error);
  o.width = 0;
  EXPECT_THROW(o.validate(), InvalidArgument);
}

namespace {

DCGANOptions tiny_stylegan_options() {
  DCGANOptions o;
  o.arch = "stylegan";
  o.latent_dim = 8;
  o.w_dim = 16;
  o.mapping_layers = 2;
  o.base_width = 8;
  o.max_width = 32;
  o.resolution = 32;
  return o;
}

}  // namespace

TEST(StyleGAN, ShapesLayersAndRange) {
  torch::manual_seed(1);
  auto o = tiny_stylegan_options();
  DCGANGenerator g(o);
  ASSERT_TRUE(g->stylegan());
  auto net = g->stylegan();
  EXPECT_EQ(net->num_ws(), 8);  // 4x4: 1 conv; 8..32: 2 each; + last RGB
  g->eval();
  torch::NoGradGuard no_grad;
  auto w = net->mapping(torch::randn({3, 8}));
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{3, 16}));
  auto images = g->forward(torch::randn({3, 8}) * 5);
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_LE(images.abs().max().item<float>(), 1.0f);
  // The discriminator of the same options reads what G writes.
  DCGANDiscriminator d(o);
  EXPECT_EQ(d->forward(images).sizes(), (std::vector<int64_t>{3}));
}

TEST(StyleGAN, FixedNoiseIsDeterministicRandomNoiseIsNot) {
  torch::manual_seed(2);
  DCGANGenerator g(tiny_stylegan_options());
  auto net = g->stylegan();
  torch::NoGradGuard no_grad;
  for (auto& p : g->named_parameters())
    if (p.key().find("noise_strength") != std::string::npos) p.value().fill_(1);
  g->eval();
  auto ws = net->broadcast(net->mapping(torch::randn({2, 8})));
  EXPECT_TRUE(torch::equal(net->synthesis(ws), net->synthesis(ws)));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  EXPECT_FALSE(torch::equal(net->synthesis(ws, &gen), net->synthesis(ws)));
}

TEST(StyleGAN, DemodulationUndoesTheConvolutionWeightScale) {
  torch::manual_seed(3);
  DCGANGenerator g(tiny_stylegan_options());
  g->eval();
  torch::NoGradGuard no_grad;
  auto z = torch::randn({2, 8});
  auto before = g->forward(z);
  int scaled = 0;
  for (auto& p : g->named_parameters())
    if (p.key().find("convs.") != std::string::npos &&
        p.key().find(".weight") != std::string::npos &&
        p.key().find("affine") == std::string::npos) {
      p.value().mul_(7.0);
      ++scaled;
    }
  EXPECT_EQ(scaled, 7);
  EXPECT_TRUE(torch::allclose(g->forward(z), before, 1e-4, 1e-5));
}

TEST(StyleGAN, TruncationAndWAvg) {
  torch::manual_seed(4);
  DCGANGenerator g(tiny_stylegan_options());
  auto net = g->stylegan();
  torch::NoGradGuard no_grad;
  auto z = torch::randn({16, 8});
  g->eval();
  net->mapping(z);
  EXPECT_EQ(net->w_avg().abs().sum().item<float>(), 0.0f);  // eval: frozen
  g->train();
  auto w = net->mapping(z);
  EXPECT_TRUE(torch::allclose(net->w_avg(), 0.005 * w.mean(0), 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(net->truncate(w, 1.0), w));
  auto collapsed = net->truncate(w, 0.0);
  EXPECT_TRUE(torch::allclose(collapsed, net->w_avg().expand_as(w)));
}

TEST(StyleGAN, OptionsJsonRoundTripAndDCGANJsonUnchanged) {
  auto o = tiny_stylegan_options();
  const auto j = o.to_json();
  EXPECT_EQ(j["name"], "stylegan");
  EXPECT_EQ(j["w_dim"], 16);
  const auto back = DCGANOptions::from_json(j);
  EXPECT_TRUE(back.is_stylegan());
  EXPECT_EQ(back.to_json(), j);
  // Bundles written before stylegan existed hold exactly these keys.
  const auto dc = DCGANOptions().to_json();
  EXPECT_EQ(dc["name"], "dcgan");
  EXPECT_EQ(dc.size(), 10u);
  EXPECT_FALSE(DCGANOptions::from_json(dc).is_stylegan());
}

TEST(StyleGAN, BadOptions_n) {
  auto expect_names = [](const DCGANOptions& o, const std::string& field) {
    try {
      o.validate();
      ADD_FAILURE() << field << " accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos)
          << e.what();
    }
  };
  auto o = tiny_stylegan_options();
  o.w_dim = 0;
  expect_names(o, "w_dim");
  o = tiny_stylegan_options();
  o.mapping_layers = 9;
  expect_names(o, "mapping_layers");
  o = tiny_stylegan_options();
  o.multiscale = true;
  expect_names(o, "multiscale");
  o = tiny_stylegan_options();
  o.arch = "biggan";
  expect_names(o, "arch");
  auto j = tiny_stylegan_options().to_json();
  j["w_dim"] = 1.5;
  try {
    DCGANOptions::from_json(j);
    ADD_FAILURE() << "w_dim 1.5 accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("w_dim"), std::string::npos);
  }
  j = tiny_stylegan_options().to_json();
  j.erase("mapping_layers");
  EXPECT_THROW(DCGANOptions::from_json(j), InvalidArgument);
  j["name"] = "biggan";
  EXPECT_THROW(DCGANOptions::from_json(j), InvalidArgument);
  DCGANGenerator g(tiny_stylegan_options());
  EXPECT_THROW(g->forward(torch::randn({1, 9})), c10::Error);
  EXPECT_THROW(g->stylegan()->synthesis(torch::randn({1, 7, 16})), c10::Error);
}

TEST(StyleGAN, LastRgbOutputOnlyAndOldBundlesReadAsSkip) {
  torch::manual_seed(5);
  auto o = tiny_stylegan_options();
  o.rgb_output = "last";
  DCGANGenerator last(o);
  DCGANGenerator skip(tiny_stylegan_options());
  auto count_rgb = [](DCGANGenerator& g) {
    int n = 0;
    for (auto& p : g->named_parameters())
      if (p.key().find("to_rgb.") != std::string::npos &&
          p.key().find("affine") == std::string::npos &&
          p.key().find(".weight") != std::string::npos)
        ++n;
    return n;
  };
  EXPECT_EQ(count_rgb(skip), 4);  // 4, 8, 16, 32 px
  EXPECT_EQ(count_rgb(last), 1);
  EXPECT_EQ(last->stylegan()->num_ws(), skip->stylegan()->num_ws());
  last->eval();
  torch::NoGradGuard no_grad;
  const auto z = torch::randn({2, 8});
  EXPECT_EQ(last->forward(z).sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  // Only the last layers make the image: the 4x4 RGB output is gone, so
  // zeroing the (now unused) lower-resolution path changes nothing but
  // zeroing the last RGB weights gives a flat image.
  for (auto& p : last->named_parameters())
    if (p.key().find("to_rgb.0.weight") != std::string::npos) p.value().zero_();
  const auto flat = last->forward(z);
  EXPECT_LT((flat - flat.mean()).abs().max().item<float>(), 1e-6f);
  const auto j = o.to_json();
  EXPECT_EQ(j["rgb_output"], "last");
  EXPECT_EQ(DCGANOptions::from_json(j).rgb_output, "last");
  auto old = j;
  old.erase("rgb_output");  // bundles from before the option
  EXPECT_EQ(DCGANOptions::from_json(old).rgb_output, "skip");
  auto bad = j;
  bad["rgb_output"] = "residual";
  try {
    DCGANOptions::from_json(bad);
    ADD_FAILURE() << "rgb_output residual accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("rgb_output"), std::string::npos);
  }
}

TEST(StyleGAN, OneImageFastPathIsTheBatchPath) {
  // Inference on one image folds the modulation into the weights; a batch
  // modulates the activations. Same images either way.
  torch::manual_seed(5);
  DCGANGenerator g(tiny_stylegan_options());
  torch::NoGradGuard no_grad;
  for (auto& p : g->named_parameters())
    if (p.key().find("noise_strength") != std::string::npos)
      p.value().fill_(0.4);
  g->eval();
  auto z = torch::randn({2, 8});
  auto batch = g->forward(z);
  for (int i = 0; i < 2; ++i)
    EXPECT_TRUE(torch::allclose(g->forward(z.narrow(0, i, 1))[0], batch[i],
                                1e-4, 1e-5));
}
