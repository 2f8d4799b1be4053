// Training images held in memory as one uint8 tensor.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace neuralart {

// Images [N, C, R, R] uint8, already resized and cropped to the model size.
struct ImageSet {
  torch::Tensor images;
  std::string description;           // what and where from, for provenance
  std::vector<std::string> skipped;  // unreadable inputs, with the reason
  torch::Tensor labels;              // [N] int64 when known (MNIST), else {}
};

// MNIST idx files (gzip or not): PATH is a folder holding
// *images-idx3-ubyte[.gz] (and *labels-idx1-ubyte[.gz]) or the images file
// itself. Digits are padded/resized to `resolution`. Throws Error naming
// the file for a missing, truncated or malformed file.
ImageSet read_mnist(const std::string& path, int64_t resolution,
                    int64_t channels);

// Stacked MNIST (Metz et al. 2017; the mode-coverage benchmark of VEEGAN,
// PacGAN and R3GAN): `count` RGB images whose red, green and blue channels
// are three digits of `mnist` drawn independently (grey [N, 1, R, R] uint8
// with labels). labels[i] = 100 * red + 10 * green + blue, one of 1,000
// modes. Deterministic for a seed; throws InvalidArgument for grey images
// without labels or of another shape.
ImageSet make_stacked_mnist(const ImageSet& mnist, int64_t count,
                            uint64_t seed);
// What `--data stacked-mnist:PATH` draws (neuralart-train gan, eval-gan).
constexpr int64_t kStackedMnistImages = 60000;
constexpr uint64_t kStackedMnistSeed = 2024;

// Parses idx bytes (used by read_mnist and the fuzzers).
torch::Tensor parse_idx(const std::vector<uint8_t>& bytes,
                        const std::string& origin);

// Reads a file, gunzipping when it starts with the gzip magic.
std::vector<uint8_t> read_maybe_gzip(const std::string& path);

// uint8 batch -> float in [-1, 1].
torch::Tensor to_signed_range(const torch::Tensor& images);

// Saves/loads an ImageSet as a tensor file (to carry data to a machine
// without OpenCV: `neuralart-train pack`).
void save_image_set(const std::string& path, const ImageSet& set);
ImageSet load_image_set(const std::string& path);

}  // namespace neuralart
