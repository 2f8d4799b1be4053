// Mode-coverage evaluation of digit GANs: a small MNIST classifier labels
// generated samples; the class histogram shows which digits the generator
// makes (Salimans et al. 2016 / Metz et al. 2017 use the same idea).
// Tensor code only: no OpenCV.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>
#include <vector>

namespace neuralart {

// Two conv layers and two linear layers on 28x28 grey digits in [0, 1]
// (white on black, as MNIST). ~99% on MNIST after a few epochs.
class DigitClassifierImpl : public torch::nn::Module {
 public:
  DigitClassifierImpl();
  // x: [N, 1, 28, 28] in [0, 1] -> logits [N, 10].
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(DigitClassifier);

struct ClassifierTraining {
  int64_t epochs = 8;
  int64_t batch = 64;
  double lr = 1e-3;
  uint64_t seed = 1;
  double holdout = 0.1;  // last fraction of the data, for the accuracy
  std::function<void(int64_t epoch, double loss)> on_epoch;
};

struct TrainedClassifier {
  DigitClassifier net{nullptr};
  double holdout_accuracy = 0.0;
  int64_t train_images = 0, holdout_images = 0;
};

// images: uint8 [N, 1, 28, 28]; labels: int64 [N] in 0..9. Deterministic
// for a seed on the CPU.
TrainedClassifier train_digit_classifier(const torch::Tensor& images,
                                         const torch::Tensor& labels,
                                         const ClassifierTraining& options);

// Saves/loads the classifier's weights with its hold-out accuracy
// (tensor-file format, written atomically). load returns false when the
// file is missing, unreadable or of another layout, so the caller retrains.
void save_digit_classifier(const std::string& path, const TrainedClassifier& c,
                           const std::string& data_key);
bool load_digit_classifier(const std::string& path, const std::string& data_key,
                           TrainedClassifier& c);

// Images (any channels, any size, float in [-1, 1]) -> [N, 1, 28, 28] in
// [0, 1]: channel mean, then area resize.
torch::Tensor to_classifier_input(const torch::Tensor& images_signed);

struct CoverageReport {
  int64_t samples = 0;
  std::vector<int64_t> counts;  // per class
  int64_t classes_covered = 0;  // classes with >= min_share of the samples
  double min_share = 0.01;
  double kl_to_uniform = 0.0;    // KL(histogram || uniform), nats
  double mean_confidence = 0.0;  // mean max softmax probability
};

// The report for class probabilities [N, 10] (rows sum to 1).
CoverageReport coverage_from_probabilities(const torch::Tensor& probs,
                                           double min_share = 0.01);

// Classifies `images` (output of to_classifier_input) in batches.
CoverageReport class_coverage(DigitClassifier& net, const torch::Tensor& images,
                              double min_share = 0.01);

// Stacked MNIST (make_stacked_mnist): images [N, 3, H, W] in [-1, 1] ->
// [N, 3, 28, 28] in [0, 1], each channel area-resized on its own.
torch::Tensor to_stacked_classifier_input(const torch::Tensor& images_signed);

// Each channel of `images` (output of to_stacked_classifier_input) is
// classified on its own; the mode is 100 * red + 10 * green + blue. counts
// has 1,000 entries; a mode is covered with at least one sample (the
// benchmark's convention: min_share 0); KL is against the uniform 1,000
// modes; mean_confidence averages the three channels' top probabilities.
CoverageReport stacked_coverage(DigitClassifier& net,
                                const torch::Tensor& images);

}  // namespace neuralart
