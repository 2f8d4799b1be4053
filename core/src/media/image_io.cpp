#include "neuralart/media/image_io.h"

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "neuralart/error.h"

namespace neuralart {
namespace fs = std::filesystem;

torch::Tensor load_image_rgb(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such image file");
  cv::Mat bgr;
  try {
    bgr = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw Error(path + ": cannot decode image: " + e.what());
  }
  if (bgr.empty())
    throw Error(path + ": cannot decode image (corrupt or unsupported format)");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3},
                          {static_cast<int64_t>(rgb.step), 3, 1}, torch::kUInt8)
      .clone();
}

torch::Tensor load_image_tensor(const std::string& path, int short_side) {
  auto img =
      load_image_rgb(path).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
  if (short_side > 0) {
    const double scale =
        static_cast<double>(short_side) / std::min(img.size(2), img.size(3));
    const int64_t h = std::max<int64_t>(1, std::llround(img.size(2) * scale));
    const int64_t w = std::max<int64_t>(1, std::llround(img.size(3) * scale));
    img = torch::upsample_bilinear2d(img, {h, w}, /*align_corners=*/false)
              .clamp(0, 255);
  }
  return img;
}

void save_image_rgb(const std::string& path, const torch::Tensor& image_in) {
  auto image = image_in.to(torch::kCPU).to(torch::kUInt8).contiguous();
  TORCH_CHECK(image.dim() == 3 && (image.size(2) == 3 || image.size(2) == 1),
              "save_image_rgb expects [H, W, 3] or [H, W, 1]");
  cv::Mat mat(image.size(0), image.size(1),
              image.size(2) == 3 ? CV_8UC3 : CV_8UC1, image.data_ptr());
  cv::Mat out;
  if (image.size(2) == 3)
    cv::cvtColor(mat, out, cv::COLOR_RGB2BGR);
  else
    out = mat;
  const auto ext = fs::path(path).extension().string();
  const std::string tmp = path + ".tmp" + ext;
  bool ok = false;
  try {
    ok = cv::imwrite(tmp, out);
  } catch (const cv::Exception& e) {
    ok = false;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    throw Error("cannot write image " + path +
                " (unknown extension, unwritable folder or full disk)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot rename " + tmp + " to " + path);
  }
}

torch::Tensor make_grid(const torch::Tensor& images_in, int cols, double lo,
                        double hi) {
  auto images = images_in.detach().to(torch::kCPU, torch::kFloat32);
  TORCH_CHECK(images.dim() == 4, "make_grid expects [N, C, H, W]");
  if (images.size(1) == 1) images = images.repeat({1, 3, 1, 1});
  images = ((images - lo) / (hi - lo) * 255.0).round().clamp(0, 255);
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  cols = std::max<int>(1, std::min<int64_t>(cols, n));
  const int64_t rows = (n + cols - 1) / cols, pad = 2;
  auto grid =
      torch::full({3, rows * (h + pad) + pad, cols * (w + pad) + pad}, 32.0f);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i / cols, c = i % cols;
    grid.narrow(1, pad + r * (h + pad), h)
        .narrow(2, pad + c * (w + pad), w)
        .copy_(images[i]);
  }
  return grid.permute({1, 2, 0}).to(torch::kUInt8).contiguous();
}

std::vector<std::string> list_images(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder of images");
  static const std::vector<std::string> exts = {".png",  ".jpg",  ".jpeg",
                                                ".bmp",  ".webp", ".tif",
                                                ".tiff", ".ppm",  ".pgm"};
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(
           dir, fs::directory_options::skip_permission_denied)) {
    if (!e.is_regular_file()) continue;
    auto ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
    if (std::find(exts.begin(), exts.end(), ext) != exts.end())
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace neuralart
