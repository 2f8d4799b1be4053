#include "neuralart/media/datasets.h"

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "neuralart/error.h"
#include "neuralart/media/image_io.h"

namespace neuralart {
namespace fs = std::filesystem;

namespace {

cv::Mat resize_crop(const cv::Mat& src, int r) {
  const double scale = static_cast<double>(r) / std::min(src.rows, src.cols);
  cv::Mat resized;
  cv::resize(src, resized,
             cv::Size(std::max(r, int(std::lround(src.cols * scale))),
                      std::max(r, int(std::lround(src.rows * scale)))),
             0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
  const int x = (resized.cols - r) / 2, y = (resized.rows - r) / 2;
  return resized(cv::Rect(x, y, r, r)).clone();
}

torch::Tensor mat_to_chw(const cv::Mat& m) {
  cv::Mat c = m.isContinuous() ? m : m.clone();
  return torch::from_blob(c.data, {c.rows, c.cols, c.channels()}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone();
}

}  // namespace

ImageSet load_image_folder(const std::string& dir, int64_t resolution,
                           int64_t channels) {
  if (!fs::exists(dir))
    throw Error(dir +
                ": no such folder (give --data a folder of images, "
                "mnist:PATH, tiles:IMAGE[:CELL], or builtin)");
  const auto files = list_images(dir);
  ImageSet set;
  std::vector<torch::Tensor> images;
  for (const auto& file : files) {
    cv::Mat m;
    try {
      m = cv::imread(file,
                     channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    } catch (const cv::Exception&) {
      m.release();
    }
    if (m.empty() || m.rows < 1 || m.cols < 1) {
      set.skipped.push_back(file + ": cannot decode");
      continue;
    }
    if (channels == 3) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
    images.push_back(mat_to_chw(resize_crop(m, int(resolution))));
  }
  if (images.empty())
    throw Error(dir + ": no readable images (" + std::to_string(files.size()) +
                " image files found, " + std::to_string(set.skipped.size()) +
                " unreadable)");
  set.images = torch::stack(images);
  set.description = "folder " + fs::absolute(dir).string() + " (" +
                    std::to_string(images.size()) + " images)";
  return set;
}

ImageSet make_glyph_dataset(int64_t count, int64_t resolution, int64_t channels,
                            uint64_t seed) {
  static const int kFonts[] = {
      cv::FONT_HERSHEY_SIMPLEX,        cv::FONT_HERSHEY_PLAIN,
      cv::FONT_HERSHEY_DUPLEX,         cv::FONT_HERSHEY_COMPLEX,
      cv::FONT_HERSHEY_TRIPLEX,        cv::FONT_HERSHEY_COMPLEX_SMALL,
      cv::FONT_HERSHEY_SCRIPT_SIMPLEX, cv::FONT_HERSHEY_SCRIPT_COMPLEX};
  std::mt19937_64 rng(seed);
  auto uniform = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const int big = int(resolution) * 4;  // draw large, then downscale (AA)
  auto images =
      torch::empty({count, channels, resolution, resolution}, torch::kUInt8);
  auto labels = torch::empty({count}, torch::kInt64);
  for (int64_t i = 0; i < count; ++i) {
    const int letter = int(rng() % 10);
    const int font = kFonts[rng() % 8] | (rng() % 3 == 0 ? cv::FONT_ITALIC : 0);
    const std::string text(1, char('A' + letter));
    const int thickness = 2 + int(rng() % 10);
    int baseline = 0;
    const auto unit = cv::getTextSize(text, font, 1.0, thickness, &baseline);
    const double scale =
        uniform(0.55, 0.8) * big / std::max(unit.width, unit.height);
    const auto size = cv::getTextSize(text, font, scale, thickness, &baseline);
    const cv::Point origin(
        int((big - size.width) / 2 + uniform(-0.08, 0.08) * big),
        int((big + size.height) / 2 + uniform(-0.08, 0.08) * big));
    cv::Mat canvas;
    if (channels == 1) {
      canvas = cv::Mat(big, big, CV_8UC1, cv::Scalar(0));
      cv::putText(canvas, text, origin, font, scale, cv::Scalar(255), thickness,
                  cv::LINE_AA);
    } else {
      // Bright letter on a dark background, hues chosen at random.
      cv::Mat hsv_fg(
          1, 1, CV_8UC3,
          cv::Scalar(rng() % 180, 160 + rng() % 96, 200 + rng() % 56));
      cv::Mat hsv_bg(
          1, 1, CV_8UC3,
          cv::Scalar(rng() % 180, 80 + rng() % 120, 20 + rng() % 50));
      cv::Mat fg, bg;
      cv::cvtColor(hsv_fg, fg, cv::COLOR_HSV2RGB);
      cv::cvtColor(hsv_bg, bg, cv::COLOR_HSV2RGB);
      canvas = cv::Mat(big, big, CV_8UC3, cv::Scalar(bg.at<cv::Vec3b>(0)));
      const auto c = fg.at<cv::Vec3b>(0);
      cv::putText(canvas, text, origin, font, scale,
                  cv::Scalar(c[0], c[1], c[2]), thickness, cv::LINE_AA);
    }
    cv::Mat small;
    cv::resize(canvas, small, cv::Size(int(resolution), int(resolution)), 0, 0,
               cv::INTER_AREA);
    images[i].copy_(mat_to_chw(small));
    labels[i] = letter;
  }
  ImageSet set;
  set.images = images;
  set.labels = labels;
  set.description = "builtin glyphs: letters A-J in OpenCV's Hershey fonts (" +
                    std::to_string(count) + " images, seed " +
                    std::to_string(seed) + ")";
  return set;
}

ImageSet load_tile_sheet(const std::string& path, int64_t cell,
                         int64_t resolution, int64_t channels) {
  if (cell < 4 || cell > 4096)
    throw InvalidArgument("tile size " + std::to_string(cell) +
                          " is out of range [4, 4096]");
  cv::Mat sheet;
  try {
    sheet = cv::imread(path,
                       channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  } catch (const cv::Exception&) {
    sheet.release();
  }
  if (sheet.empty())
    throw Error(path +
                ": cannot read the tile sheet (give tiles:IMAGE[:CELL] "
                "an image, e.g. OpenCV's digits.png from opencv-doc)");
  if (channels == 3) cv::cvtColor(sheet, sheet, cv::COLOR_BGR2RGB);
  const int c = static_cast<int>(cell);
  const int rows = sheet.rows / c, cols = sheet.cols / c;
  std::vector<torch::Tensor> images;
  ImageSet set;
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x) {
      const cv::Mat tile = sheet(cv::Rect(x * c, y * c, c, c));
      cv::Scalar mean, dev;
      cv::meanStdDev(tile, mean, dev);
      if (dev[0] + dev[1] + dev[2] < 1e-6) continue;  // a blank cell
      images.push_back(mat_to_chw(resize_crop(tile, int(resolution))));
    }
  if (images.empty())
    throw Error(path + ": no " + std::to_string(cell) + "x" +
                std::to_string(cell) + " tiles with content (the image is " +
                std::to_string(sheet.cols) + "x" + std::to_string(sheet.rows) +
                "; is the cell size right?)");
  set.images = torch::stack(images);
  set.description = "tiles of " + fs::absolute(path).string() + " (" +
                    std::to_string(images.size()) + " cells of " +
                    std::to_string(cell) + " px)";
  return set;
}

ImageSet load_dataset(const std::string& spec, int64_t resolution,
                      int64_t channels) {
  if (spec.rfind("tiles:", 0) == 0) {
    // tiles:PATH or tiles:PATH:CELL (the path itself may hold colons).
    std::string path = spec.substr(6);
    int64_t cell = 20;
    const auto colon = path.rfind(':');
    if (colon != std::string::npos) {
      const auto n = path.substr(colon + 1);
      if (!n.empty() && n.size() <= 4 &&
          n.find_first_not_of("0123456789") == std::string::npos) {
        cell = std::stoll(n);
        path = path.substr(0, colon);
      }
    }
    if (path.empty())
      throw InvalidArgument("--data '" + spec +
                            "': expected tiles:IMAGE or tiles:IMAGE:CELL");
    return load_tile_sheet(path, cell, resolution, channels);
  }
  if (spec == "builtin" || spec == "builtin:glyphs")
    return make_glyph_dataset(10000, resolution, channels, 2024);
  if (spec.rfind("builtin:", 0) == 0) {
    const auto count = spec.substr(8);
    if (count.empty() || count.size() > 7 ||
        count.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(count) < 1)
      throw InvalidArgument("--data '" + spec +
                            "': expected builtin or builtin:N with N in "
                            "[1, 9999999]");
    return make_glyph_dataset(std::stoll(count), resolution, channels, 2024);
  }
  if (spec.rfind("mnist:", 0) == 0)
    return read_mnist(spec.substr(6), resolution, channels);
  if (spec.rfind("stacked-mnist:", 0) == 0) {
    if (channels != 3)
      throw InvalidArgument("--data '" + spec +
                            "': stacked MNIST is three digits in the red, "
                            "green and blue channels; give --channels 3");
    return make_stacked_mnist(read_mnist(spec.substr(14), resolution, 1),
                              kStackedMnistImages, kStackedMnistSeed);
  }
  if (fs::path(spec).extension() == ".safetensors") {
    auto set = load_image_set(spec);
    if (set.images.size(1) != channels || set.images.size(2) != resolution)
      throw Error(spec + ": packed images are " +
                  std::to_string(set.images.size(1)) + "x" +
                  std::to_string(set.images.size(2)) + "x" +
                  std::to_string(set.images.size(3)) + ", the model needs " +
                  std::to_string(channels) + "x" + std::to_string(resolution) +
                  "x" + std::to_string(resolution));
    return set;
  }
  return load_image_folder(spec, resolution, channels);
}

torch::Tensor plot_loss_csv(const std::string& csv_path, int width,
                            int height) {
  std::ifstream in(csv_path);
  if (!in) throw Error(csv_path + ": cannot read");
  std::string line;
  std::getline(in, line);
  std::vector<double> steps, d, g;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    std::vector<double> row;
    while (std::getline(ss, cell, ',')) row.push_back(std::atof(cell.c_str()));
    if (row.size() < 3) continue;
    steps.push_back(row[0]);
    d.push_back(row[1]);
    g.push_back(row[2]);
  }
  cv::Mat img(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 60, right = 20, top = 30, bottom = 40;
  cv::rectangle(img, {left, top}, {width - right, height - bottom},
                cv::Scalar(0, 0, 0));
  cv::putText(img, "D loss", {left + 10, 20}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
              cv::Scalar(200, 60, 30), 1, cv::LINE_AA);
  cv::putText(img, "G loss", {left + 90, 20}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
              cv::Scalar(30, 90, 220), 1, cv::LINE_AA);
  if (steps.size() >= 2) {
    double lo = 0, hi = 1e-6;
    for (size_t i = 0; i < steps.size(); ++i) {
      lo = std::min({lo, d[i], g[i]});
      hi = std::max({hi, d[i], g[i]});
    }
    const double x0 = steps.front(), x1 = std::max(steps.back(), x0 + 1);
    auto px = [&](double s, double v) {
      return cv::Point(
          int(left + (s - x0) / (x1 - x0) * (width - left - right)),
          int(height - bottom -
              (v - lo) / (hi - lo) * (height - top - bottom)));
    };
    for (size_t i = 1; i < steps.size(); ++i) {
      cv::line(img, px(steps[i - 1], d[i - 1]), px(steps[i], d[i]),
               cv::Scalar(200, 60, 30), 1, cv::LINE_AA);
      cv::line(img, px(steps[i - 1], g[i - 1]), px(steps[i], g[i]),
               cv::Scalar(30, 90, 220), 1, cv::LINE_AA);
    }
    char label[64];
    std::snprintf(label, sizeof label, "%.2f", hi);
    cv::putText(img, label, {5, top + 5}, cv::FONT_HERSHEY_SIMPLEX, 0.4,
                cv::Scalar(0, 0, 0));
    std::snprintf(label, sizeof label, "%.2f", lo);
    cv::putText(img, label, {5, height - bottom}, cv::FONT_HERSHEY_SIMPLEX, 0.4,
                cv::Scalar(0, 0, 0));
    std::snprintf(label, sizeof label, "step %.0f", x1);
    cv::putText(img, label, {width - right - 90, height - 15},
                cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(0, 0, 0));
  }
  return mat_to_chw(img).permute({1, 2, 0}).contiguous();
}

}  // namespace neuralart
