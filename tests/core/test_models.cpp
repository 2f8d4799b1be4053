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

TEST(StyleNet, BadStyleIndex_n) {
  StyleNetOptions o;
  o.width = 8;
  o.res_blocks = 1;
  StyleNet net(o);
  EXPECT_THROW(net->one_hot(1), c10::Error);
  o.width = 0;
  EXPECT_THROW(o.validate(), InvalidArgument);
}
