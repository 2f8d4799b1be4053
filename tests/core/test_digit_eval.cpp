// The mode-coverage evaluation behind `neuralart-train eval-gan`.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "neuralart/data/image_set.h"
#include "neuralart/error.h"
#include "neuralart/eval/digit_eval.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

// Ten synthetic "digits": class k is a bright bar in row band k (plus
// noise), so a classifier can learn them in a few epochs.
std::pair<torch::Tensor, torch::Tensor> bar_digits(int64_t per_class) {
  torch::manual_seed(3);
  auto images = torch::zeros({10 * per_class, 1, 28, 28});
  auto labels = torch::empty({10 * per_class}, torch::kInt64);
  for (int64_t k = 0; k < 10; ++k)
    for (int64_t i = 0; i < per_class; ++i) {
      const auto n = k * per_class + i;
      images[n][0].slice(0, 2 + 2 * k, 4 + 2 * k).slice(1, 4, 24).fill_(1.0);
      labels[n] = k;
    }
  images = (images * 200 + torch::rand_like(images) * 50).clamp(0, 255);
  auto perm = torch::randperm(10 * per_class);
  return {images.index_select(0, perm).to(torch::kUInt8),
          labels.index_select(0, perm)};
}

}  // namespace

TEST(DigitEval, UniformHistogramHasZeroKlAndFullCoverage) {
  auto probs = torch::zeros({1000, 10});
  for (int64_t i = 0; i < 1000; ++i) probs[i][i % 10] = 1.0;
  const auto r = coverage_from_probabilities(probs);
  EXPECT_EQ(r.samples, 1000);
  EXPECT_EQ(r.classes_covered, 10);
  EXPECT_NEAR(r.kl_to_uniform, 0.0, 1e-12);
  EXPECT_NEAR(r.mean_confidence, 1.0, 1e-6);
  for (auto c : r.counts) EXPECT_EQ(c, 100);
}

TEST(DigitEval, CollapsedHistogramHasKlLog10) {
  auto probs = torch::full({200, 10}, 0.05);
  probs.select(1, 3).fill_(0.55);
  const auto r = coverage_from_probabilities(probs);
  EXPECT_EQ(r.classes_covered, 1);
  EXPECT_EQ(r.counts[3], 200);
  EXPECT_NEAR(r.kl_to_uniform, std::log(10.0), 1e-9);
  EXPECT_NEAR(r.mean_confidence, 0.55, 1e-6);
}

TEST(DigitEval, RareClassIsNotCovered) {
  // 1 sample of class 9 among 1000 is below the 1% share.
  auto probs = torch::zeros({1000, 10});
  for (int64_t i = 0; i < 999; ++i) probs[i][i % 9] = 1.0;
  probs[999][9] = 1.0;
  EXPECT_EQ(coverage_from_probabilities(probs, 0.01).classes_covered, 9);
  EXPECT_EQ(coverage_from_probabilities(probs, 0.0).classes_covered, 10);
}

TEST(DigitEval, ClassifierLearnsAndRoundTripsThroughTheCache) {
  auto [images, labels] = bar_digits(40);
  ClassifierTraining o;
  o.epochs = 3;
  o.batch = 32;
  const auto c = train_digit_classifier(images, labels, o);
  EXPECT_GT(c.holdout_accuracy, 0.9);
  EXPECT_EQ(c.train_images + c.holdout_images, 400);

  auto input = images.to(torch::kFloat32) / 255.0;
  auto net = c.net;
  const auto before = class_coverage(net, input);
  EXPECT_EQ(before.classes_covered, 10);
  EXPECT_LT(before.kl_to_uniform, 0.05);

  TempDir dir;
  const auto path = dir.file("clf.tensors");
  save_digit_classifier(path, c, "key-a");
  TrainedClassifier loaded;
  ASSERT_TRUE(load_digit_classifier(path, "key-a", loaded));
  EXPECT_DOUBLE_EQ(loaded.holdout_accuracy, c.holdout_accuracy);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(loaded.net->forward(input.slice(0, 0, 8)),
                           net->forward(input.slice(0, 0, 8))));
  // Other data, or a missing/garbage file: retrain, never crash.
  EXPECT_FALSE(load_digit_classifier(path, "key-b", loaded));
  EXPECT_FALSE(load_digit_classifier(dir.file("missing"), "key-a", loaded));
  { std::ofstream(dir.file("junk")) << "not a tensor file"; }
  EXPECT_FALSE(load_digit_classifier(dir.file("junk"), "key-a", loaded));
}

TEST(DigitEval, InputConversionGreysAndResizes) {
  auto rgb = torch::full({2, 3, 32, 32}, 1.0);  // white in [-1, 1]
  auto x = to_classifier_input(rgb);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 1, 28, 28}));
  EXPECT_NEAR(x.min().item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(to_classifier_input(-rgb).max().item<float>(), 0.0f, 1e-6);
}

TEST(DigitEval, BadTrainingInput_n) {
  ClassifierTraining o;
  EXPECT_THROW(
      train_digit_classifier(torch::zeros({10, 1, 28, 28}, torch::kUInt8),
                             torch::Tensor(), o),
      std::exception);
  EXPECT_THROW(
      train_digit_classifier(torch::zeros({10, 3, 28, 28}, torch::kUInt8),
                             torch::zeros({10}, torch::kInt64), o),
      std::exception);
}

// Stacked MNIST: three digits per image, one per channel; the evaluation
// reads each channel and counts the 1,000 triples.
TEST(DigitEval, StackedDigitsAreDrawnAndCountedAsTriples) {
  auto [images, labels] = bar_digits(40);
  ImageSet digits;
  digits.images = images;
  digits.labels = labels;
  const auto a = make_stacked_mnist(digits, 1200, 7);
  EXPECT_EQ(a.images.sizes(), (std::vector<int64_t>{1200, 3, 28, 28}));
  EXPECT_TRUE(
      torch::equal(a.images, make_stacked_mnist(digits, 1200, 7).images));
  EXPECT_FALSE(
      torch::equal(a.images, make_stacked_mnist(digits, 1200, 8).images));
  EXPECT_GE(a.labels.min().item<int64_t>(), 0);
  EXPECT_LT(a.labels.max().item<int64_t>(), 1000);

  ClassifierTraining o;
  o.epochs = 3;
  o.batch = 32;
  auto net = train_digit_classifier(images, labels, o).net;
  const auto input = to_stacked_classifier_input(to_signed_range(a.images));
  EXPECT_EQ(input.sizes(), (std::vector<int64_t>{1200, 3, 28, 28}));
  const auto r = stacked_coverage(net, input);
  ASSERT_EQ(r.counts.size(), 1000u);
  EXPECT_EQ(r.samples, 1200);
  // The classifier reads each channel as the digit it was drawn from.
  const auto truth = torch::bincount(a.labels, {}, 1000);
  int64_t agree = 0;
  for (int64_t k = 0; k < 1000; ++k)
    agree += std::min(r.counts[k], truth[k].item<int64_t>());
  EXPECT_GT(agree, 1080);
  // 1,200 uniform draws over 1,000 modes cover ~700 of them (679-740 in
  // 200 simulated draws) with KL 0.48 (at most 0.52); a collapse: log 1000.
  EXPECT_GT(r.classes_covered, 640);
  EXPECT_LT(r.kl_to_uniform, 0.7);
  // One triple repeated: one mode, KL log 1000.
  const auto same = input.slice(0, 0, 1).expand({100, 3, 28, 28});
  const auto one = stacked_coverage(net, same.contiguous());
  EXPECT_EQ(one.classes_covered, 1);
  EXPECT_EQ(one.counts[a.labels[0].item<int64_t>()], 100);
  EXPECT_NEAR(one.kl_to_uniform, std::log(1000.0), 1e-9);
}

TEST(DigitEval, StackedNeedsLabelledGreyDigits_n) {
  ImageSet grey;
  grey.images = torch::zeros({10, 1, 28, 28}, torch::kUInt8);
  EXPECT_THROW(make_stacked_mnist(grey, 5, 1), InvalidArgument);  // no labels
  grey.labels = torch::zeros({10}, torch::kInt64);
  EXPECT_NO_THROW(make_stacked_mnist(grey, 5, 1));
  ImageSet rgb = grey;
  rgb.images = torch::zeros({10, 3, 28, 28}, torch::kUInt8);
  EXPECT_THROW(make_stacked_mnist(rgb, 5, 1), InvalidArgument);
  EXPECT_THROW(make_stacked_mnist(grey, 0, 1), InvalidArgument);
}
