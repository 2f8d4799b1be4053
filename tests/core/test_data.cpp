// MNIST idx reading and packed image sets.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "neuralart/data/image_set.h"
#include "neuralart/error.h"
#include "temp_dir.h"

using namespace std::string_literals;

using namespace neuralart;

namespace {

std::vector<uint8_t> idx_images(int n, int h, int w) {
  std::vector<uint8_t> b = {0, 0, 8, 3};
  for (int v : {n, h, w})
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
  for (int i = 0; i < n * h * w; ++i) b.push_back(uint8_t(i % 251));
  return b;
}

void write(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), b.size());
}

void write_gzip(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, b.data(), unsigned(b.size()));
  gzclose(f);
}

}  // namespace

TEST(Mnist, ReadsPlainAndGzipIdx) {
  TempDir dir;
  write(dir.file("train-images-idx3-ubyte"), idx_images(5, 28, 28));
  auto plain = read_mnist(dir.file("train-images-idx3-ubyte"), 28, 1);
  EXPECT_EQ(plain.images.sizes(), (std::vector<int64_t>{5, 1, 28, 28}));
  EXPECT_EQ(plain.images[0][0][0][3].item<int>(), 3);
  TempDir gz;
  write_gzip(gz.file("t10k-images-idx3-ubyte.gz"), idx_images(5, 28, 28));
  std::vector<uint8_t> labels = {0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3, 4, 5};
  write_gzip(gz.file("t10k-labels-idx1-ubyte.gz"), labels);
  auto packed = read_mnist(gz.path.string(), 32, 3);
  EXPECT_EQ(packed.images.sizes(), (std::vector<int64_t>{5, 3, 32, 32}));
  ASSERT_TRUE(packed.labels.defined());
  EXPECT_EQ(packed.labels[4].item<int64_t>(), 5);
}

TEST(Mnist, RealTestSetWhenPresent) {
  const std::string dir = "../shared/data/mnist";
  std::string path;
  for (auto d : {dir, "../../shared/data/mnist"s, "/work/shared/data/mnist"s})
    if (std::filesystem::exists(d)) path = d;
  if (path.empty()) GTEST_SKIP() << "../shared/data/mnist is absent";
  auto set = read_mnist(path, 32, 1);
  EXPECT_EQ(set.images.size(0), 10000);
  EXPECT_EQ(set.labels.size(0), 10000);
}

TEST(Mnist, TruncatedAndMalformed_n) {
  auto good = idx_images(2, 4, 4);
  for (size_t n : {size_t(0), size_t(3), size_t(10), good.size() - 1}) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    EXPECT_THROW(parse_idx(cut, "cut"), Error) << n;
  }
  auto bad = good;
  bad[2] = 0x0D;  // float elements
  EXPECT_THROW(parse_idx(bad, "float"), Error);
  bad = good;
  bad[4] = 0x7F;  // absurd count
  EXPECT_THROW(parse_idx(bad, "huge"), Error);
  TempDir dir;
  write(dir.file("x.gz"), {0x1f, 0x8b, 8, 0, 0, 0});
  EXPECT_THROW(read_maybe_gzip(dir.file("x.gz")), Error);
  EXPECT_THROW(read_mnist(dir.file("missing"), 32, 1), Error);
  EXPECT_THROW(read_mnist(dir.path.string(), 32, 1), Error);  // no idx inside
}

TEST(ImageSetFile, PackRoundTrip) {
  TempDir dir;
  ImageSet s;
  s.images = torch::randint(255, {3, 1, 32, 32}).to(torch::kUInt8);
  s.labels = torch::tensor({1, 2, 3}, torch::kInt64);
  s.description = "test set";
  save_image_set(dir.file("s.safetensors"), s);
  auto back = load_image_set(dir.file("s.safetensors"));
  EXPECT_TRUE(torch::equal(back.images, s.images));
  EXPECT_TRUE(torch::equal(back.labels, s.labels));
  EXPECT_EQ(back.description, "test set");
}

TEST(Mnist, EmptyAndImpossibleShapes_n) {
  // Found by fuzz/fuzz_idx.cpp: a zero dimension made the size check pass
  // and LibTorch then failed on [0, 178, 3e9, 3e9] with its own error.
  std::vector<uint8_t> huge{0, 0, 8, 4, 0, 0, 0, 0, 0, 0, 0, 178};
  for (int i = 0; i < 8; ++i) huge.push_back(0xb2);
  EXPECT_THROW(parse_idx(huge, "huge"), Error);
  // An honest empty file: zero images, no data bytes.
  const std::vector<uint8_t> empty{0, 0, 8, 3,  0, 0, 0, 0,
                                   0, 0, 0, 28, 0, 0, 0, 28};
  const auto t = parse_idx(empty, "empty");
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{0, 28, 28}));
}
