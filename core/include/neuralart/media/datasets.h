// Training images from folders, MNIST, packed files or the built-in set.
#pragma once

#include <string>

#include "neuralart/data/image_set.h"

namespace neuralart {

// Every image under DIR (JPEG, PNG, WebP, BMP, TIFF, PNM), resized so the
// shorter side is `resolution`, centre-cropped. Unreadable files are
// skipped and listed in ImageSet::skipped. Throws Error for a missing
// folder or one without any readable image.
ImageSet load_image_folder(const std::string& dir, int64_t resolution,
                           int64_t channels);

// The built-in dataset: the letters A to J (as notMNIST) drawn in
// OpenCV's eight Hershey vector fonts, upright and italic, with random
// size, stroke, position and colours. Needs no file from outside.
ImageSet make_glyph_dataset(int64_t count, int64_t resolution, int64_t channels,
                            uint64_t seed);

// Every non-blank CELLxCELL tile of one image, row by row, each resized to
// `resolution` (OpenCV's digits.png in opencv-doc: 5,000 handwritten digits
// in 20-px cells). Throws Error naming the file when it cannot be read or
// holds no tile.
ImageSet load_tile_sheet(const std::string& path, int64_t cell,
                         int64_t resolution, int64_t channels);

// SPEC: "builtin" (10,000 glyphs) or "builtin:N", "mnist:PATH",
// "stacked-mnist:PATH" (make_stacked_mnist: 60,000 RGB images of three
// digits, 1,000 modes; needs channels 3), "tiles:IMAGE[:CELL]" (CELL 20
// unless given), a packed .safetensors image set, or a folder of images.
ImageSet load_dataset(const std::string& spec, int64_t resolution,
                      int64_t channels);

// Draws losses.csv (columns d_loss and g_loss against step) as a plot,
// uint8 [H, W, 3]. Throws Error when the file cannot be read.
torch::Tensor plot_loss_csv(const std::string& csv_path, int width = 800,
                            int height = 400);

}  // namespace neuralart
