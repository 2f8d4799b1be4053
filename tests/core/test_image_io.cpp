// The image loader's gate in front of OpenCV (docs/security.md).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <string>

#include "neuralart/error.h"
#include "neuralart/media/image_io.h"
#include "temp_dir.h"

using namespace neuralart;

TEST(ImageIo, LoadsTheDocumentedFormats) {
  TempDir dir;
  auto img =
      torch::arange(6 * 8 * 3).remainder(256).to(torch::kUInt8).view({6, 8, 3});
  for (const std::string ext : {"png", "jpg", "bmp", "ppm", "tiff", "webp"}) {
    const auto path = dir.file("x." + ext);
    save_image_rgb(path, img);
    const auto back = load_image_rgb(path);
    EXPECT_EQ(back.sizes(), img.sizes()) << ext;
  }
}

TEST(ImageIo, RefusesOtherFormatsBeforeDecoding_n) {
  TempDir dir;
  // A JPEG 2000 signature box, a text file, an empty file: OpenCV would try
  // its other decoders on them; the loader refuses them by their bytes.
  const std::string jp2("\0\0\0\x0cjP  \r\n\x87\n", 12);
  const std::pair<std::string, std::string> cases[] = {
      {"a.jp2", jp2}, {"b.png", "hello"}, {"c.jpg", ""}};
  for (const auto& [name, bytes] : cases) {
    std::ofstream(dir.file(name), std::ios::binary) << bytes;
    try {
      load_image_rgb(dir.file(name));
      ADD_FAILURE() << name << " was decoded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a PNG, JPEG, WebP, BMP, TIFF"),
                std::string::npos)
          << e.what();
    }
  }
}
