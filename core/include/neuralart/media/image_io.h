// Image files in and out (OpenCV). The only part of core that needs OpenCV.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace neuralart {

// Reads any image OpenCV decodes as uint8 [H, W, 3] RGB. Throws Error
// naming the file when it is missing or cannot be decoded.
torch::Tensor load_image_rgb(const std::string& path);

// Float [1, 3, H, W] RGB in [0, 255], resized so that the shorter side is
// `short_side` (0 = keep size).
torch::Tensor load_image_tensor(const std::string& path, int short_side = 0);

// Writes uint8 [H, W, 3] RGB (or [H, W, 1] grey) atomically (temp + rename).
void save_image_rgb(const std::string& path, const torch::Tensor& image);

// Images [N, C, H, W] with values in [lo, hi] -> one grid image with `cols`
// columns and a 2-pixel border, uint8 [H', W', 3].
torch::Tensor make_grid(const torch::Tensor& images, int cols, double lo,
                        double hi);

// A caption strip: `text` centred in light grey on a dark strip of
// `height` x `width` pixels (the grid border's colour), in OpenCV's Hershey
// sans-serif font, shrunk to fit the width and, below a legible size, cut
// short with "...". ASCII only (other characters show as '?').
// uint8 [height, width, 3] RGB.
torch::Tensor caption_strip(const std::string& text, int64_t width,
                            int64_t height);

// Image files (by extension) in `dir`, sorted; recursive.
std::vector<std::string> list_images(const std::string& dir);

}  // namespace neuralart
