#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/models/load.h"
#include "neuralart/tensor_file.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

DCGANOptions small_gan() {
  DCGANOptions o;
  o.latent_dim = 16;
  o.base_width = 16;
  o.resolution = 32;
  return o;
}

std::string expect_bundle_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const BundleError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected BundleError";
  return "";
}

}  // namespace

TEST(Bundle, GeneratorRoundTripGivesSameOutput) {
  TempDir dir;
  const auto path = dir.file("g.bundle");
  torch::manual_seed(1);
  DCGANGenerator g(small_gan());
  g->eval();
  auto meta = generator_meta(small_gan());
  meta.provenance["command"] = "test";
  save_bundle(path, meta, *g);

  auto loaded = load_generator(path);
  auto z = torch::randn({2, 16});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(g->forward(z), loaded->forward(z)));
  auto back = read_bundle_meta(path);
  EXPECT_EQ(back.kind, ModelKind::Generator);
  EXPECT_EQ(back.arch, small_gan().to_json());
  EXPECT_EQ(back.provenance["command"], "test");
  EXPECT_TRUE(back.provenance.contains("torch_version"));
  EXPECT_TRUE(looks_like_bundle(path));
}

TEST(Bundle, StyleRoundTripKeepsStyleNames) {
  TempDir dir;
  const auto path = dir.file("s.bundle");
  StyleNetOptions o;
  o.width = 8;
  o.res_blocks = 1;
  o.num_styles = 2;
  StyleNet net(o);
  save_bundle(path, style_meta(o, {"candy", "mosaic"}), *net);
  auto loaded = load_style_net(path);
  auto x = torch::rand({1, 3, 20, 24}) * 255;
  torch::NoGradGuard no_grad;
  net->eval();
  EXPECT_TRUE(torch::allclose(net->forward(x, net->one_hot(1)),
                              loaded->forward(x, loaded->one_hot(1))));
  EXPECT_EQ(read_bundle_meta(path).styles, json({"candy", "mosaic"}));
}

TEST(Bundle, WrongKind_n) {
  TempDir dir;
  const auto path = dir.file("g.bundle");
  DCGANGenerator g(small_gan());
  save_bundle(path, generator_meta(small_gan()), *g);
  auto msg = expect_bundle_error([&] { load_style_net(path); });
  EXPECT_NE(msg.find(path), std::string::npos);
  EXPECT_NE(msg.find("generator"), std::string::npos);
}

TEST(Bundle, NewerMajorVersion_n) {
  TempDir dir;
  const auto path = dir.file("g.bundle");
  DCGANGenerator g(small_gan());
  auto meta = generator_meta(small_gan());
  meta.format_major = kBundleFormatMajor + 1;
  save_bundle(path, meta, *g);
  auto msg = expect_bundle_error([&] { load_generator(path); });
  EXPECT_NE(msg.find("newer"), std::string::npos);
}

TEST(Bundle, OlderMinorVersionLoads) {
  TempDir dir;
  const auto path = dir.file("g.bundle");
  DCGANGenerator g(small_gan());
  auto meta = generator_meta(small_gan());
  meta.format_minor = 0;
  meta.format_major = 1;
  save_bundle(path, meta, *g);
  EXPECT_NO_THROW(load_generator(path));
}

TEST(Bundle, ArchitectureMismatch_n) {
  TempDir dir;
  const auto path = dir.file("g.bundle");
  DCGANGenerator g(small_gan());
  auto other = small_gan();
  other.base_width = 32;  // metadata says 32, weights are 16
  save_bundle(path, generator_meta(other), *g);
  auto msg = expect_bundle_error([&] { load_generator(path); });
  EXPECT_NE(msg.find("shape"), std::string::npos);
}

TEST(Bundle, InvalidArchitecture_n) {
  TempDir dir;
  const auto path = dir.file("g.bundle");
  DCGANGenerator g(small_gan());
  auto meta = generator_meta(small_gan());
  meta.arch["resolution"] = 48;
  save_bundle(path, meta, *g);
  auto msg = expect_bundle_error([&] { load_generator(path); });
  EXPECT_NE(msg.find("power of two"), std::string::npos);
}

TEST(Bundle, NotABundle_n) {
  TempDir dir;
  const auto path = dir.file("plain.safetensors");
  TensorFile f;
  f.tensors["x"] = torch::ones({2});
  write_tensor_file(path, f);
  expect_bundle_error([&] { read_bundle(path); });
  const auto text = dir.file("text.bundle");
  std::ofstream(text) << "hello, I am not a model";
  expect_bundle_error([&] { read_bundle(text); });
  EXPECT_FALSE(looks_like_bundle(text));
}

TEST(Bundle, FailedLoadLeavesModelUntouched_n) {
  TempDir dir;
  const auto path = dir.file("g.bundle");
  DCGANGenerator g(small_gan());
  auto meta = generator_meta(small_gan());
  save_bundle(path, meta, *g);
  auto bundle = read_bundle(path);
  bundle.tensors.erase("to_rgb.0.bias");
  DCGANGenerator target(small_gan());
  auto before = target->named_parameters()["fc.weight"].clone();
  EXPECT_THROW(load_weights(bundle, *target), BundleError);
  EXPECT_TRUE(torch::equal(before, target->named_parameters()["fc.weight"]));
}

TEST(Bundle, LooksLikeBundleWhenTheLengthStartsWithP) {
  // Regression: a header of 0x1550 bytes starts with 'P' like a zip file.
  TempDir dir;
  const auto path = dir.file("p.bundle");
  const char bytes[] = {'P', 0x15, 0, 0, 0, 0, 0, 0, '{', '"'};
  std::ofstream(path, std::ios::binary).write(bytes, sizeof bytes);
  EXPECT_TRUE(looks_like_bundle(path));
  const auto zip = dir.file("z.pt");
  const char zip_bytes[] = {'P', 'K', 3, 4, 0, 0, 0, 0, '{', '"'};
  std::ofstream(zip, std::ios::binary).write(zip_bytes, sizeof zip_bytes);
  EXPECT_FALSE(looks_like_bundle(zip));
}

TEST(Bundle, NonIntegerArchitectureValuesAreRefused_n) {
  // A float where an integer belongs: nlohmann-json would cast it with
  // undefined behaviour (1e300 to int64); the readers refuse it instead.
  nlohmann::json style = {{"name", "transformer_net"},
                          {"width", 1e300},
                          {"res_blocks", 1},
                          {"num_styles", 1}};
  EXPECT_THROW(StyleNetOptions::from_json(style), InvalidArgument);
  style["width"] = 8.5;
  EXPECT_THROW(StyleNetOptions::from_json(style), InvalidArgument);
  nlohmann::json dcgan = {{"name", "dcgan"}, {"latent_dim", 16},
                          {"base_width", 8}, {"resolution", 32},
                          {"channels", 3},   {"max_width", 6.4e76}};
  EXPECT_THROW(DCGANOptions::from_json(dcgan), InvalidArgument);
}
