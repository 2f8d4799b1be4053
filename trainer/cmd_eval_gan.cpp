// neuralart-train eval-gan: mode coverage of a digit generator. A small
// classifier is trained once on the MNIST data (and cached), then labels
// generated samples; the report gives the classes covered, the KL of the
// class histogram to uniform and the mean classifier confidence. With
// stacked-mnist:PATH each colour channel is a digit and the modes are the
// 1,000 triples (Stacked MNIST).
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "neuralart/data/image_set.h"
#include "neuralart/error.h"
#include "neuralart/eval/digit_eval.h"
#include "neuralart/runtime/generator.h"
#include "neuralart/runtime/runtime_options.h"

namespace neuralart::cli {
namespace fs = std::filesystem;

namespace {

// Generated samples for stacked MNIST when --samples is left out: the
// count of Metz et al. 2017 and the papers after it (KL of a perfect
// generator against 1,000 uniform modes is then ~0.02 from sampling alone).
constexpr int64_t kStackedSamples = 26000;

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return (fs::path(x) / "neuralart").string();
  if (const char* h = std::getenv("HOME"); h && *h)
    return (fs::path(h) / ".cache" / "neuralart").string();
  return (fs::temp_directory_path() / "neuralart-cache").string();
}

// Identifies the MNIST data: the classifier is retrained when it changes.
std::string data_key(const std::string& path, const torch::Tensor& images) {
  std::error_code ec;
  const auto canon = fs::weakly_canonical(path, ec);
  const auto sum = images.to(torch::kInt64).sum().item<int64_t>();
  return (ec ? path : canon.string()) + "|" + std::to_string(images.size(0)) +
         "|" + std::to_string(sum);
}

}  // namespace

int run_eval_gan(const std::vector<std::string>& args) {
  std::string model, data, cache_dir = default_cache_dir();
  int64_t samples = 10000, epochs = 8;
  uint64_t seed = 0;
  double truncation = 1.0, min_share = 0.01;
  int threads = 0;
  bool as_json = false;
  po::options_description options("eval-gan options");
  options.add_options()("model", po::value(&model)->required(),
                        "generator bundle (trained on digits)")(
      "data", po::value(&data)->required(),
      "mnist:PATH: MNIST idx files with labels, to train the classifier;\n"
      "stacked-mnist:PATH: the same for a generator trained on stacked\n"
      "MNIST (each colour channel a digit, 1,000 modes)")(
      "samples", po::value(&samples)->default_value(samples),
      "generated samples to classify, [100, 1000000]; 26000 when left out\n"
      "with stacked-mnist (the benchmark's count)")(
      "min-share", real_value(&min_share, min_share),
      "a class counts as covered with at least this share of the samples, "
      "[0, 0.1]")("truncation", real_value(&truncation, 1.0),
                  "psi in (0, 1] for the sampled latents (stylegan: w "
                  "toward the mean w)")(
      "cache-dir", po::value(&cache_dir)->default_value(cache_dir),
      "where the trained classifier is kept between runs")(
      "classifier-epochs", po::value(&epochs)->default_value(epochs),
      "epochs when the classifier is (re)trained, [1, 100]")(
      "seed", po::value(&seed)->default_value(seed),
      "sampling seed, any integer >= 0")(
      "threads", po::value(&threads)->default_value(threads),
      "CPU threads, [0, 1024] (0 = all)")("json", po::bool_switch(&as_json),
                                          "print the report as JSON");
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map vm;
  if (!parse("eval-gan",
             "MODEL --data mnist:PATH|stacked-mnist:PATH [--samples N]",
             options, positional, args, vm))
    return kExitOk;
  check_range<int64_t>("samples", samples, 100, 1000000);
  check_range<int64_t>("classifier-epochs", epochs, 1, 100);
  check_range("threads", threads, 0, 1024);
  if (!(min_share >= 0 && min_share <= 0.1))
    throw UsageError("--min-share " + format_number(min_share) +
                     " is out of range [0, 0.1]");
  if (truncation <= 0 || truncation > 1)
    throw UsageError("--truncation " + format_number(truncation) +
                     " is out of range (0, 1]");
  const bool stacked = data.rfind("stacked-mnist:", 0) == 0;
  if (data.rfind("mnist:", 0) != 0 && !stacked)
    throw UsageError("--data '" + data +
                     "' must be mnist:PATH or stacked-mnist:PATH (a folder "
                     "with the MNIST idx images and labels files)");
  const auto mnist_path = data.substr(data.find(':') + 1);
  if (stacked && vm["samples"].defaulted()) samples = kStackedSamples;
  RuntimeOptions ro;
  ro.threads = threads;
  apply_threads(threads);

  // The model first: a wrong one fails before the classifier trains.
  Generator gen(model, ro);
  if (stacked && gen.metadata()
                         .value("arch", nlohmann::json::object())
                         .value("channels", 3) != 3)
    throw UsageError(model +
                     " makes grey images: stacked MNIST needs a generator "
                     "trained with --channels 3 --data stacked-mnist:PATH");
  const auto set = read_mnist(mnist_path, 28, 1);
  if (!set.labels.defined())
    throw Error(mnist_path +
                ": no labels file (*labels-idx1-ubyte[.gz]) next to the "
                "images; eval-gan needs labels to train its classifier");
  const auto key =
      data_key(mnist_path, set.images) + "|epochs " + std::to_string(epochs);
  fs::create_directories(cache_dir);
  const auto cache =
      (fs::path(cache_dir) /
       ("digit-classifier-" + std::to_string(std::hash<std::string>{}(key)) +
        ".tensors"))
          .string();
  TrainedClassifier clf;
  if (load_digit_classifier(cache, key, clf)) {
    std::cerr << "eval-gan: classifier from " << cache << "\n";
  } else {
    std::cerr << "eval-gan: training the digit classifier on "
              << set.images.size(0) << " digits (" << epochs
              << " epochs; cached in " << cache << ")\n";
    ClassifierTraining t;
    t.epochs = epochs;
    t.on_epoch = [](int64_t e, double loss) {
      std::cerr << "  epoch " << e << ": loss " << loss << "\n";
    };
    const auto t0 = std::chrono::steady_clock::now();
    clf = train_digit_classifier(set.images, set.labels, t);
    std::cerr << "  hold-out accuracy " << std::fixed << std::setprecision(4)
              << clf.holdout_accuracy << " in "
              << std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - t0)
                     .count()
              << " s\n";
    save_digit_classifier(cache, clf, key);
  }

  torch::manual_seed(seed);
  std::vector<torch::Tensor> batches;
  for (int64_t i = 0; i < samples; i += 500) {
    auto z =
        torch::randn({std::min<int64_t>(500, samples - i), gen.latent_dim()});
    const auto images = gen.generate(z, truncation);
    batches.push_back(stacked ? to_stacked_classifier_input(images)
                              : to_classifier_input(images));
  }
  // The same statistics on the real digits: the best a generator can do
  // (for stacked MNIST, as many real triples as samples).
  CoverageReport generated, real;
  if (stacked) {
    generated = stacked_coverage(clf.net, torch::cat(batches));
    const auto triples =
        make_stacked_mnist(set, samples, kStackedMnistSeed).images;
    real = stacked_coverage(
        clf.net, to_stacked_classifier_input(to_signed_range(triples)));
  } else {
    generated = class_coverage(clf.net, torch::cat(batches), min_share);
    real = class_coverage(clf.net, set.images.to(torch::kFloat32) / 255.0,
                          min_share);
  }

  if (as_json) {
    auto report = [](const CoverageReport& r) {
      return nlohmann::json{{"samples", r.samples},
                            {"counts", r.counts},
                            {"classes_covered", r.classes_covered},
                            {"kl_to_uniform", r.kl_to_uniform},
                            {"mean_confidence", r.mean_confidence}};
    };
    std::cout << nlohmann::json{{"model", model},
                                {"data", data},
                                {"min_share", min_share},
                                {"classifier_holdout_accuracy",
                                 clf.holdout_accuracy},
                                {"generated", report(generated)},
                                {"real", report(real)}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  auto row = [stacked](const char* what, const CoverageReport& r) {
    std::cout << std::left << std::setw(10) << what << std::right
              << std::setw(8) << r.samples << std::setw(10)
              << (std::to_string(r.classes_covered) + "/" +
                  std::to_string(r.counts.size()))
              << std::fixed << std::setprecision(4) << std::setw(10)
              << r.kl_to_uniform << std::setw(12) << r.mean_confidence << "   ";
    if (stacked) {  // 1,000 counts: their range
      const auto [lo, hi] =
          std::minmax_element(r.counts.begin(), r.counts.end());
      std::cout << *lo << " .. " << *hi;
    } else {
      for (auto c : r.counts) std::cout << c << " ";
    }
    std::cout << "\n";
  };
  std::cout << "classifier hold-out accuracy " << std::fixed
            << std::setprecision(4) << clf.holdout_accuracy;
  if (stacked)
    std::cout << "; stacked MNIST: a mode is a digit triple, covered with "
                 "one sample or more\n"
              << "          samples   covered  KL(p||U)  confidence   "
                 "samples per mode\n";
  else
    std::cout << "; a class is covered with >= " << min_share * 100
              << "% of the samples\n"
              << "          samples   covered  KL(p||U)  confidence   "
                 "counts 0..9\n";
  row("generated", generated);
  row("real", real);
  return kExitOk;
}

}  // namespace neuralart::cli
