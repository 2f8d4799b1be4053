#include "neuralart/media/image_io.h"

#include <sys/statvfs.h>
#include <torch/torch.h>
#include <unistd.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "neuralart/error.h"
#include "neuralart/util/atomic_file.h"

namespace neuralart {
namespace fs = std::filesystem;

namespace {

// The formats the trainer documents, by their first bytes. OpenCV's imread
// would also hand anything else to its other decoders (JPEG 2000, OpenEXR,
// GDAL's hundreds of formats): a large attack surface for files from the
// internet, closed here (docs/security.md).
bool known_image_magic(const std::string& path) {
  unsigned char b[12] = {0};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(b), sizeof b);
  const auto n = in.gcount();
  auto is = [&](const char* magic, size_t len, size_t at = 0) {
    return static_cast<size_t>(n) >= at + len &&
           std::memcmp(b + at, magic, len) == 0;
  };
  return is("\x89PNG\r\n\x1a\n", 8) || is("\xff\xd8\xff", 3) ||
         (is("RIFF", 4) && is("WEBP", 4, 8)) || is("BM", 2) || is("II*\0", 4) ||
         is("MM\0*", 4) ||
         (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6');
}

// OpenCV refuses images over OPENCV_IO_MAX_IMAGE_PIXELS before allocating
// them; its default (2^30 pixels, 3 GB decoded) is lowered to 2^28 (16k x
// 16k) unless the user set it.
void limit_decoded_pixels() {
  static const bool once = [] {
    setenv("OPENCV_IO_MAX_IMAGE_PIXELS", "268435456", /*overwrite=*/0);
    return true;
  }();
  (void)once;
}

}  // namespace

torch::Tensor load_image_rgb(const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no such image file");
  if (!known_image_magic(path))
    throw Error(path +
                ": not a PNG, JPEG, WebP, BMP, TIFF or PNM image (by its "
                "first bytes)");
  limit_decoded_pixels();
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

namespace {

// OpenCV's imwrite says only "false": find the cause.
std::string why_image_write_failed(const std::string& path, int err) {
  bool have_writer = false;
  try {
    have_writer = cv::haveImageWriter(path);
  } catch (const cv::Exception&) {
  }
  if (!have_writer)
    return "unknown image extension '" + fs::path(path).extension().string() +
           "' (use .png or .jpg)";
  auto dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (access(dir.c_str(), W_OK) != 0)
    return "the folder " + dir.string() + " does not exist or is not writable";
  struct statvfs disk;
  if (statvfs(dir.c_str(), &disk) == 0 &&
      uint64_t(disk.f_bavail) * disk.f_bsize < (uint64_t(1) << 20))
    return std::string(std::strerror(ENOSPC)) +
           " (is the disk full?); the previous file is unchanged";
  return std::string(err ? std::strerror(err) : "the encoder failed") +
         "; the previous file is unchanged";
}

}  // namespace

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
  remove_stale_temporaries(path);  // left by a writer killed mid-write
  const std::string tmp = temporary_path(path, ext);
  bool ok = false;
  try {
    ok = cv::imwrite(tmp, out);
  } catch (const cv::Exception& e) {
    ok = false;
  }
  if (!ok) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Error("cannot write image " + path + ": " +
                why_image_write_failed(path, err));
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

torch::Tensor caption_strip(const std::string& text_in, int64_t width,
                            int64_t height) {
  TORCH_CHECK(width > 0 && height > 0 && width <= 65536 && height <= 4096,
              "caption_strip: bad size ", width, "x", height);
  // Hershey fonts draw ASCII only: one '?' per other UTF-8 character.
  std::string text;
  for (const unsigned char c : text_in) {
    if (c >= 0x20 && c < 0x7f)
      text += static_cast<char>(c);
    else if (c < 0x80 || c >= 0xc0)
      text += '?';  // a control character or a UTF-8 lead byte
  }
  cv::Mat strip(static_cast<int>(height), static_cast<int>(width), CV_8UC3,
                cv::Scalar(32, 32, 32));
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  int baseline = 0;
  const cv::Size unit = cv::getTextSize("Ag", font, 1.0, 1, &baseline);
  // Capitals take about half the strip; below 9 px they blur into each other.
  const double legible = 9.0 / unit.height;
  double scale = std::max(legible, 0.5 * height / unit.height);
  const int margin = std::max<int>(2, static_cast<int>(height / 4));
  const int room = std::max(1, static_cast<int>(width) - 2 * margin);
  auto thickness = [](double s) {
    return std::max(1, static_cast<int>(std::lround(s * 1.6)));
  };
  auto text_width = [&](const std::string& t, double s) {
    return cv::getTextSize(t, font, s, thickness(s), &baseline).width;
  };
  if (!text.empty() && text_width(text, scale) > room)
    scale = std::max(legible, scale * room / text_width(text, scale));
  if (text_width(text, scale) > room) {
    while (!text.empty() && text_width(text + "...", scale) > room)
      text.pop_back();
    text += "...";
  }
  const cv::Size size =
      cv::getTextSize(text, font, scale, thickness(scale), &baseline);
  const cv::Point origin(
      std::max(margin, (static_cast<int>(width) - size.width) / 2),
      (static_cast<int>(height) + size.height) / 2);
  cv::putText(strip, text, origin, font, scale, cv::Scalar(235, 235, 235),
              thickness(scale), cv::LINE_AA);
  return torch::from_blob(strip.data, {strip.rows, strip.cols, 3},
                          {static_cast<int64_t>(strip.step), 3, 1},
                          torch::kUInt8)
      .clone();
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
