// Arbitrary style: style codes of the StyleNet, the style predictor, the
// universal bundle, the universal trainer and the Stylizer's style image.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "neuralart/error.h"
#include "neuralart/frame.h"
#include "neuralart/models/load.h"
#include "neuralart/models/style_predictor.h"
#include "neuralart/runtime/stylizer.h"
#include "neuralart/train/universal_train.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

StyleNetOptions universal_net_options(int64_t styles) {
  StyleNetOptions o;
  o.width = 4;
  o.res_blocks = 1;
  o.num_styles = styles;
  return o;
}

// Random style tables, so that styles differ.
StyleNet random_styles(int64_t styles, uint64_t seed = 3) {
  torch::manual_seed(seed);
  StyleNet net(universal_net_options(styles));
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters())
    if (p.value().dim() == 2) p.value().uniform_(-1.0, 1.5);
  return net;
}

StylePredictorOptions tiny_predictor(int64_t code_size) {
  StylePredictorOptions p;
  p.encoder = "random";
  p.bottleneck = 8;
  p.code_size = code_size;
  p.style_size = 32;
  return p;
}

torch::Tensor stripes_image(int64_t h, int64_t w, int64_t period) {
  auto s = (torch::arange(w).div(period, "floor") % 2).to(torch::kFloat32);
  auto img = (s * 255).view({1, 1, 1, w}).expand({1, 3, h, w}).clone();
  img.select(1, 1).mul_(0.3);
  return img;
}

torch::Tensor blots_image(int64_t h, int64_t w) {
  torch::manual_seed(5);
  return torch::nn::functional::interpolate(
             torch::rand({1, 3, h / 8, w / 8}) * 255,
             torch::nn::functional::InterpolateFuncOptions()
                 .size(std::vector<int64_t>{h, w})
                 .mode(torch::kBilinear)
                 .align_corners(false))
      .contiguous();
}

// A universal model with random weights whose predictor sees its paintings.
UniversalStyle universal_model(int64_t styles = 2) {
  auto net = random_styles(styles);
  UniversalStyle u(universal_net_options(styles),
                   tiny_predictor(net->code_size()));
  torch::NoGradGuard no_grad;
  auto dst = u->net->named_parameters();
  for (const auto& p : net->named_parameters()) dst[p.key()].copy_(p.value());
  u->predictor->set_encoder(*make_random_loss_net(1));
  // Larger output weights than init: different paintings, different codes.
  for (auto& p : u->predictor->named_parameters())
    if (p.key() == "out.weight") p.value().uniform_(-0.5, 0.5);
  u->predictor->set_descriptor_stats(
      torch::stack({u->predictor->describe(stripes_image(32, 32, 2)),
                    u->predictor->describe(blots_image(32, 32))}));
  return u;
}

std::string save_universal(const std::string& path, UniversalStyle& u,
                           const std::vector<std::string>& names) {
  save_bundle(
      path,
      universal_style_meta(u->net->options(), u->predictor->options(), names),
      *u);
  return path;
}

}  // namespace

TEST(StyleCode, ForwardCodeEqualsTheTable) {
  auto net = random_styles(3);
  net->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 20, 24}) * 255;
  EXPECT_EQ(net->code_size(), 2 * (4 + 8 + 16 + 2 * 16 + 8 + 4));
  for (int64_t s = 0; s < 3; ++s) {
    auto by_table = net->forward(x, net->one_hot(s));
    auto by_code = net->forward_code(x, net->style_code(net->one_hot(s)));
    EXPECT_TRUE(torch::allclose(by_table, by_code, 1e-4, 1e-3)) << s;
  }
  auto mix = torch::tensor({0.2f, 0.5f, 0.3f});
  EXPECT_TRUE(torch::allclose(net->forward(x, mix),
                              net->forward_code(x, net->style_code(mix)), 1e-4,
                              1e-3));
  // Different styles, different pictures (the check above can fail).
  EXPECT_GT(
      (net->forward(x, net->one_hot(0)) - net->forward(x, net->one_hot(1)))
          .abs()
          .mean()
          .item<double>(),
      1.0);
}

TEST(StyleCode, NetWithCodesHoldsThem) {
  auto net = random_styles(2);
  net->eval();
  torch::NoGradGuard no_grad;
  auto codes = net->style_codes();
  auto extra = codes.mean(0, true) * 1.5;
  auto more = style_net_with_codes(*net, torch::cat({codes, extra}));
  more->eval();
  EXPECT_EQ(more->options().num_styles, 3);
  auto x = torch::rand({1, 3, 16, 16}) * 255;
  EXPECT_TRUE(torch::allclose(more->forward(x, more->one_hot(1)),
                              net->forward(x, net->one_hot(1)), 1e-4, 1e-3));
  EXPECT_TRUE(torch::allclose(more->forward(x, more->one_hot(2)),
                              net->forward_code(x, extra[0]), 1e-4, 1e-3));
  EXPECT_THROW(style_net_with_codes(*net, torch::zeros({1, 5})), c10::Error);
  EXPECT_THROW(net->forward_code(x, torch::zeros({7})), c10::Error);
}

TEST(StylePredictor, DescribesStatisticsAndStartsAtTheMean) {
  auto net = random_styles(2);
  StylePredictor p(tiny_predictor(net->code_size()));
  p->set_encoder(*make_random_loss_net(1));
  const auto flat = p->describe(torch::full({1, 3, 32, 32}, 100.0));
  ASSERT_EQ(flat.size(0), p->options().descriptor_size());
  // A flat image: every channel's spatial deviation is 0 (inside the
  // borders' padding effects: the stack pads with zeros).
  const auto striped_d = p->describe(stripes_image(32, 32, 2));
  EXPECT_FALSE(torch::allclose(flat, striped_d));
  p->init_output(net->style_codes().mean(0));
  auto code = p->predict(stripes_image(32, 32, 2));
  EXPECT_LT((code - net->style_codes().mean(0)).abs().max().item<double>(),
            0.2);
  // Deterministic.
  EXPECT_TRUE(torch::equal(code, p->predict(stripes_image(32, 32, 2))));
  // An encoder of the other family is refused with both named.
  StylePredictorOptions vgg = tiny_predictor(net->code_size());
  vgg.encoder = "vgg19";
  StylePredictor q(vgg);
  try {
    q->set_encoder(*make_random_loss_net(1));
    FAIL() << "a random encoder was copied into a vgg19 predictor";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("vgg19"), std::string::npos);
  }
}

TEST(StylePredictor, OptionsRefuseBadValues_n) {
  auto o = tiny_predictor(100);
  o.layers = {"relu9_9"};
  EXPECT_THROW(o.validate(), InvalidArgument);
  o = tiny_predictor(100);
  o.bottleneck = 0;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o = tiny_predictor(1);
  EXPECT_THROW(o.validate(), InvalidArgument);
  o = tiny_predictor(100);
  o.encoder = "resnet";
  EXPECT_THROW(o.validate(), InvalidArgument);
  o = tiny_predictor(100);
  EXPECT_EQ(StylePredictorOptions::from_json(o.to_json()).to_json(),
            o.to_json());
}

TEST(UniversalBundle, RoundTripsAndLoadsAsAStyleNet) {
  TempDir dir;
  auto u = universal_model();
  u->eval();
  const auto path = save_universal(dir.file("u.bundle"), u, {"a", "b"});
  auto back = load_universal_style(path);
  torch::NoGradGuard no_grad;
  const auto painting = blots_image(40, 48);
  EXPECT_TRUE(torch::equal(u->predictor->predict(painting),
                           back->predictor->predict(painting)));
  auto as_net = load_style_net(path);
  EXPECT_EQ(as_net->options().num_styles, 2);
  auto x = torch::rand({1, 3, 16, 16}) * 255;
  EXPECT_TRUE(torch::equal(as_net->forward(x, as_net->one_hot(1)),
                           u->net->forward(x, u->net->one_hot(1))));
  EXPECT_EQ(read_bundle_meta(path).kind, ModelKind::UniversalStyle);
}

TEST(UniversalBundle, WrongKindAndBadArchitectureNameTheFile_n) {
  TempDir dir;
  auto net = random_styles(2);
  const auto plain = dir.file("plain.bundle");
  save_bundle(plain, style_meta(net->options(), {"a", "b"}), *net);
  try {
    load_universal_style(plain);
    FAIL() << "a plain style bundle loaded as universal";
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find(plain), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("universal"), std::string::npos);
  }
  // Metadata whose predictor does not fit the network.
  auto u = universal_model();
  auto meta = universal_style_meta(
      u->net->options(), tiny_predictor(u->net->code_size() + 2), {"a", "b"});
  const auto bad = dir.file("bad.bundle");
  save_bundle(bad, meta, *u);
  EXPECT_THROW(load_universal_style(bad), BundleError);
}

namespace {

UniversalTrainOptions tiny_train_options() {
  UniversalTrainOptions o;
  o.style.model = universal_net_options(1);
  o.style.size = 32;
  o.style.batch = 2;
  o.style.steps = 4;
  o.style.checkpoint_every = 2;
  o.style.preview_every = 0;
  o.style.preview_count = 2;
  o.style.log_every = 1;
  o.style.lr = 1e-2;
  o.style.precision = "fp32";
  o.predictor = tiny_predictor(2);  // code_size is set by the trainer
  return o;
}

std::vector<torch::Tensor> universal_content() {
  torch::manual_seed(9);
  std::vector<torch::Tensor> c;
  for (int i = 0; i < 3; ++i)
    c.push_back((torch::rand({3, 36 + i * 4, 40}) * 255).to(torch::kUInt8));
  return c;
}

std::vector<torch::Tensor> universal_paintings() {
  return {stripes_image(64, 72, 2), blots_image(64, 64),
          stripes_image(80, 64, 5)};
}

}  // namespace

TEST(UniversalTrainer, TrainsResumesExactlyAndExports) {
  TempDir dir;
  auto o = tiny_train_options();
  const std::vector<std::string> names{"stripes", "blots", "bars"};
  UniversalTrainer whole(o, universal_content(), universal_paintings(), names,
                         dir.file("whole"), {blots_image(64, 80)});
  whole.train({});
  EXPECT_EQ(whole.current_step(), 4);
  auto previews = whole.previews();
  EXPECT_EQ(previews.size(0),
            2 * (1 + 2 + 1));  // content, 2 trained, 1 held out

  auto half = o;
  half.style.steps = 2;
  {
    UniversalTrainer first(half, universal_content(), universal_paintings(),
                           names, dir.file("split"));
    first.train({});
  }
  UniversalTrainer second(o, universal_content(), universal_paintings(), names,
                          dir.file("split"));
  second.resume();
  EXPECT_EQ(second.current_step(), 2);
  second.train({});
  torch::NoGradGuard no_grad;
  const auto probe = stripes_image(32, 32, 3);
  EXPECT_TRUE(torch::allclose(whole.predictor()->predict(probe),
                              second.predictor()->predict(probe), 1e-5, 1e-5));

  const auto path = dir.file("u.bundle");
  whole.export_bundle(path);
  auto u = load_universal_style(path);
  EXPECT_EQ(u->net->options().num_styles, 3);
  EXPECT_EQ(read_bundle_meta(path).styles, nlohmann::json(names));
  // A trained painting's stored style is its predicted code.
  auto x = torch::rand({1, 3, 16, 16}) * 255;
  auto code = u->predictor->predict(
      whole.painting_at_style_size(universal_paintings()[1]));
  EXPECT_TRUE(torch::allclose(u->net->forward(x, u->net->one_hot(1)),
                              u->net->forward_code(x, code), 1e-3, 1e-2));
}

TEST(UniversalTrainer, RefusesBadSetups_n) {
  TempDir dir;
  auto o = tiny_train_options();
  EXPECT_THROW(
      UniversalTrainer(o, universal_content(), {stripes_image(64, 64, 2)},
                       {"one"}, dir.file("a")),
      InvalidArgument);
  auto bad = o;
  bad.min_crop = 0.01;
  EXPECT_THROW(UniversalTrainer(bad, universal_content(), universal_paintings(),
                                {"a", "b", "c"}, dir.file("b")),
               InvalidArgument);
  UniversalTrainer t(o, universal_content(), universal_paintings(),
                     {"a", "b", "c"}, dir.file("c"));
  StyleNetOptions other = universal_net_options(2);
  other.width = 8;
  StyleNet base(other);
  try {
    t.load_base(base);
    FAIL() << "a base of another width was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("architecture"), std::string::npos);
  }
  EXPECT_THROW(t.resume(), Error);  // no checkpoint yet
}

namespace {

// RGB frame of a gradient, 48x40.
std::vector<uint8_t> gradient_frame(int w, int h) {
  std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        px[(static_cast<size_t>(y) * w + x) * 3 + c] =
            static_cast<uint8_t>((x * 5 + y * 3 + c * 60) % 256);
  return px;
}

std::vector<uint8_t> restyle(Stylizer& s, const StyleParams& p) {
  const int w = 48, h = 40;
  auto in = gradient_frame(w, h);
  std::vector<uint8_t> out(in.size());
  FrameView vin{in.data(), w, h, w * 3, PixelFormat::RGB};
  FrameView vout{out.data(), w, h, w * 3, PixelFormat::RGB};
  s.process(vin, vout, p);
  return out;
}

}  // namespace

TEST(StylizerStyleImage, AddsTheImageAsTheLastStyle) {
  TempDir dir;
  auto u = universal_model();
  const auto path = save_universal(dir.file("u.bundle"), u, {"a", "b"});
  StylizerOptions so;
  so.runtime.precision = Precision::FP32;
  Stylizer s(path, so);
  EXPECT_TRUE(s.info().universal);
  EXPECT_EQ(s.info().num_styles, 2);
  StyleParams trained;
  const auto before = restyle(s, trained);

  s.set_style_image(stripes_image(50, 70, 3), "stripes");
  auto info = s.info();
  EXPECT_EQ(info.num_styles, 3);
  EXPECT_EQ(info.style_image_index, 2);
  EXPECT_EQ(info.style_names.back(), "stripes");
  StyleParams image;
  image.style = 2;
  const auto with_image = restyle(s, image);
  EXPECT_NE(with_image, before);
  EXPECT_EQ(restyle(s, trained), before);  // trained styles unchanged
  // Deterministic: the same image again, the same pixels.
  s.set_style_image(stripes_image(50, 70, 3), "stripes");
  EXPECT_EQ(restyle(s, image), with_image);
  // Another painting, another picture; mixing reaches it too.
  s.set_style_image(blots_image(64, 64), "blots");
  EXPECT_NE(restyle(s, image), with_image);
  StyleParams mix;
  mix.mix = {0.0, 0.0, 1.0};
  EXPECT_EQ(restyle(s, mix), restyle(s, image));
  // Removed: back to the trained styles.
  s.set_style_image(torch::Tensor(), "");
  EXPECT_EQ(s.info().num_styles, 2);
  EXPECT_EQ(s.info().style_image_index, -1);
  EXPECT_EQ(restyle(s, trained), before);
}

TEST(StylizerStyleImage, RefusedByPlainModelsAndBadImages_n) {
  TempDir dir;
  auto net = random_styles(2);
  const auto plain = dir.file("plain.bundle");
  save_bundle(plain, style_meta(net->options(), {"a", "b"}), *net);
  StylizerOptions so;
  so.runtime.precision = Precision::FP32;
  Stylizer s(plain, so);
  try {
    s.set_style_image(stripes_image(32, 32, 2), "x");
    FAIL() << "a plain model took a style image";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("universal"), std::string::npos);
  }
  auto u = universal_model();
  Stylizer su(save_universal(dir.file("u.bundle"), u, {"a", "b"}), so);
  EXPECT_THROW(su.set_style_image(torch::zeros({1, 1, 32, 32}), "grey"),
               InvalidArgument);
  EXPECT_THROW(su.set_style_image(torch::zeros({1, 3, 4, 4}), "tiny"),
               InvalidArgument);
  EXPECT_EQ(su.info().num_styles, 2);  // unchanged
}
