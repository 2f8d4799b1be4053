#include "neuralart/eval/digit_eval.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "neuralart/error.h"
#include "neuralart/tensor_file.h"

namespace neuralart {
namespace {
constexpr const char* kKey = "neuralart.digit_classifier";
constexpr int kLayout = 1;  // bump when DigitClassifierImpl changes
}  // namespace

DigitClassifierImpl::DigitClassifierImpl() {
  conv1 = register_module(
      "conv1",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3).padding(1)));
  conv2 = register_module(
      "conv2",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).padding(1)));
  fc1 = register_module("fc1", torch::nn::Linear(64 * 7 * 7, 128));
  fc2 = register_module("fc2", torch::nn::Linear(128, 10));
}

torch::Tensor DigitClassifierImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(
      x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28,
      "digit classifier expects [N, 1, 28, 28], got ", x.sizes());
  auto y = torch::max_pool2d(torch::relu(conv1(x)), 2);  // 14x14
  y = torch::max_pool2d(torch::relu(conv2(y)), 2);       // 7x7
  y = torch::relu(fc1(y.flatten(1)));
  return fc2(y);
}

TrainedClassifier train_digit_classifier(const torch::Tensor& images,
                                         const torch::Tensor& labels,
                                         const ClassifierTraining& o) {
  if (images.dim() != 4 || images.size(1) != 1 || images.size(2) != 28 ||
      images.size(3) != 28 || images.scalar_type() != torch::kUInt8)
    throw InvalidArgument(
        "digit classifier training wants uint8 [N, 1, 28, 28]");
  if (!labels.defined() || labels.numel() != images.size(0))
    throw InvalidArgument(
        "digit classifier training needs one label per image (MNIST labels "
        "file missing?)");
  if (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() > 9)
    throw InvalidArgument("digit labels must be in 0..9");
  const int64_t n = images.size(0);
  const int64_t n_hold = static_cast<int64_t>(std::floor(n * o.holdout));
  const int64_t n_train = n - n_hold;
  if (n_train < o.batch)
    throw InvalidArgument("too few digits (" + std::to_string(n) +
                          ") to train the classifier");
  torch::manual_seed(o.seed);
  TrainedClassifier out;
  out.net = DigitClassifier();
  out.train_images = n_train;
  out.holdout_images = n_hold;
  auto x_all = images.to(torch::kFloat32) / 255.0;
  auto y_all = labels.to(torch::kInt64);
  auto x = x_all.slice(0, 0, n_train), y = y_all.slice(0, 0, n_train);
  torch::optim::Adam opt(out.net->parameters(),
                         torch::optim::AdamOptions(o.lr));
  out.net->train();
  for (int64_t e = 0; e < o.epochs; ++e) {
    auto perm = torch::randperm(n_train);
    double total = 0;
    int64_t batches = 0;
    for (int64_t i = 0; i + o.batch <= n_train; i += o.batch) {
      auto idx = perm.slice(0, i, i + o.batch);
      auto xb = x.index_select(0, idx);
      // One-pixel random shifts: generated digits are not centred exactly.
      const auto dx = torch::randint(-1, 2, {1}).item<int64_t>();
      const auto dy = torch::randint(-1, 2, {1}).item<int64_t>();
      xb = torch::roll(xb, {dy, dx}, {2, 3});
      auto loss = torch::nn::functional::cross_entropy(out.net->forward(xb),
                                                       y.index_select(0, idx));
      opt.zero_grad();
      loss.backward();
      opt.step();
      total += loss.item<double>();
      ++batches;
    }
    if (o.on_epoch) o.on_epoch(e + 1, total / std::max<int64_t>(batches, 1));
  }
  out.net->eval();
  if (n_hold > 0) {
    torch::NoGradGuard no_grad;
    auto pred = out.net->forward(x_all.slice(0, n_train)).argmax(1);
    out.holdout_accuracy = pred.eq(y_all.slice(0, n_train))
                               .to(torch::kFloat64)
                               .mean()
                               .item<double>();
  }
  return out;
}

void save_digit_classifier(const std::string& path, const TrainedClassifier& c,
                           const std::string& data_key) {
  TensorFile f;
  for (const auto& p : c.net->named_parameters())
    f.tensors[p.key()] = p.value().detach();
  f.metadata[kKey] = nlohmann::json({{"layout", kLayout},
                                     {"data", data_key},
                                     {"holdout_accuracy", c.holdout_accuracy},
                                     {"train_images", c.train_images},
                                     {"holdout_images", c.holdout_images}})
                         .dump();
  write_tensor_file(path, f);
}

bool load_digit_classifier(const std::string& path, const std::string& data_key,
                           TrainedClassifier& c) {
  TensorFile f;
  nlohmann::json meta;
  try {
    f = read_tensor_file(path);
    auto it = f.metadata.find(kKey);
    if (it == f.metadata.end()) return false;
    meta = nlohmann::json::parse(it->second);
    if (meta.at("layout") != kLayout || meta.at("data") != data_key)
      return false;
  } catch (const std::exception&) {
    return false;
  }
  DigitClassifier net;
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters()) {
    auto t = f.tensors.find(p.key());
    if (t == f.tensors.end() || t->second.sizes() != p.value().sizes())
      return false;
    p.value().copy_(t->second);
  }
  net->eval();
  c.net = net;
  c.holdout_accuracy = meta.value("holdout_accuracy", 0.0);
  c.train_images = meta.value("train_images", int64_t{0});
  c.holdout_images = meta.value("holdout_images", int64_t{0});
  return true;
}

torch::Tensor to_classifier_input(const torch::Tensor& images_signed) {
  TORCH_CHECK(images_signed.dim() == 4, "expected [N, C, H, W] images");
  auto grey = ((images_signed.to(torch::kFloat32) + 1) / 2)
                  .clamp(0, 1)
                  .mean(1, /*keepdim=*/true);
  if (grey.size(2) == 28 && grey.size(3) == 28) return grey;
  return torch::adaptive_avg_pool2d(grey, {28, 28});
}

namespace {

// r.counts, r.classes_covered and r.kl_to_uniform from the class index of
// each of r.samples samples (`cls`, int64), against `classes` uniform ones.
void count_classes(const torch::Tensor& cls, int64_t classes,
                   CoverageReport& r) {
  const auto counts = torch::bincount(cls, {}, classes).contiguous();
  const auto* c = counts.data_ptr<int64_t>();
  r.counts.assign(c, c + classes);
  for (int64_t k = 0; k < classes; ++k) {
    const double p = double(c[k]) / r.samples;
    if (p >= r.min_share && c[k] > 0) ++r.classes_covered;
    if (p > 0) r.kl_to_uniform += p * std::log(p * classes);
  }
}

}  // namespace

CoverageReport coverage_from_probabilities(const torch::Tensor& probs,
                                           double min_share) {
  TORCH_CHECK(probs.dim() == 2 && probs.size(1) == 10,
              "expected class probabilities [N, 10], got ", probs.sizes());
  CoverageReport r;
  r.min_share = min_share;
  r.samples = probs.size(0);
  r.counts.assign(10, 0);
  if (r.samples == 0) return r;
  auto [conf, cls] = probs.max(1);
  r.mean_confidence = conf.to(torch::kFloat64).mean().item<double>();
  count_classes(cls, 10, r);
  return r;
}

namespace {
// Digits classified per forward pass. The first convolution's output is
// 100 KB a digit: 192 of them stay under glibc's largest mmap threshold
// (32 MB), so the buffers are reused. At 500 (1,500 for stacked triples)
// every pass mapped and faulted in fresh pages: a stacked test spent more
// time in the kernel than in the network.
constexpr int64_t kClassifyChunk = 192;
}  // namespace

CoverageReport class_coverage(DigitClassifier& net, const torch::Tensor& images,
                              double min_share) {
  torch::NoGradGuard no_grad;
  net->eval();
  std::vector<torch::Tensor> probs;
  for (int64_t i = 0; i < images.size(0); i += kClassifyChunk)
    probs.push_back(torch::softmax(
        net->forward(images.slice(
            0, i, std::min<int64_t>(i + kClassifyChunk, images.size(0)))),
        1));
  if (probs.empty()) return coverage_from_probabilities(torch::zeros({0, 10}));
  return coverage_from_probabilities(torch::cat(probs), min_share);
}

torch::Tensor to_stacked_classifier_input(const torch::Tensor& images_signed) {
  TORCH_CHECK(images_signed.dim() == 4 && images_signed.size(1) == 3,
              "expected stacked digits [N, 3, H, W], got ",
              images_signed.sizes());
  auto x = ((images_signed.to(torch::kFloat32) + 1) / 2).clamp(0, 1);
  if (x.size(2) == 28 && x.size(3) == 28) return x;
  return torch::adaptive_avg_pool2d(x, {28, 28});
}

CoverageReport stacked_coverage(DigitClassifier& net,
                                const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3 &&
                  images.size(2) == 28 && images.size(3) == 28,
              "expected stacked classifier input [N, 3, 28, 28], got ",
              images.sizes());
  constexpr int64_t kModes = 1000;
  torch::NoGradGuard no_grad;
  net->eval();
  CoverageReport r;
  r.min_share = 0;
  r.samples = images.size(0);
  r.counts.assign(kModes, 0);
  if (r.samples == 0) return r;
  std::vector<torch::Tensor> classes, confidences;
  constexpr int64_t kTriples = kClassifyChunk / 3;
  for (int64_t i = 0; i < r.samples; i += kTriples) {
    const auto batch = images.slice(0, i, std::min(i + kTriples, r.samples));
    const auto probs = torch::softmax(
        net->forward(batch.reshape({-1, 1, 28, 28})), 1);  // [3n, 10]
    auto [conf, cls] = probs.max(1);
    classes.push_back(cls.view({-1, 3}));
    confidences.push_back(conf);
  }
  const auto cls = torch::cat(classes);
  const auto modes =
      cls.select(1, 0) * 100 + cls.select(1, 1) * 10 + cls.select(1, 2);
  r.mean_confidence =
      torch::cat(confidences).to(torch::kFloat64).mean().item<double>();
  count_classes(modes, kModes, r);
  return r;
}

}  // namespace neuralart
