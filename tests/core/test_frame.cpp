#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "neuralart/error.h"
#include "neuralart/frame.h"

using namespace neuralart;

namespace {

const std::vector<PixelFormat> kAllFormats = {
    PixelFormat::RGB,  PixelFormat::BGR,  PixelFormat::RGBx, PixelFormat::BGRx,
    PixelFormat::xRGB, PixelFormat::xBGR, PixelFormat::RGBA, PixelFormat::BGRA,
    PixelFormat::ARGB, PixelFormat::ABGR};

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) {
    seed = seed * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(seed >> 24);
  }
  return v;
}

}  // namespace

class FrameRoundTrip
    : public ::testing::TestWithParam<std::tuple<PixelFormat, int, int>> {};

TEST_P(FrameRoundTrip, IsIdentityForEveryRange) {
  const auto [format, width, padding] = GetParam();
  const int height = 7;
  const int bpp = pixel_layout(format).bytes_per_pixel;
  const int64_t stride = width * bpp + padding;
  for (auto range : {ValueRange::Byte, ValueRange::Unit, ValueRange::Signed}) {
    auto src = random_bytes(stride * height, 42 + width);
    FrameView in{src.data(), width, height, stride, format};
    auto t = frame_to_tensor(in, range);
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{1, 3, height, width}));
    std::vector<uint8_t> dst = random_bytes(stride * height, 7);
    FrameView out{dst.data(), width, height, stride, format};
    tensor_to_frame(t, range, out);
    copy_alpha(in, out);
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width * bpp; ++x)
        ASSERT_EQ(src[y * stride + x], dst[y * stride + x])
            << to_string(format) << " range " << to_string(range) << " at ("
            << x << ", " << y << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllFormats, FrameRoundTrip,
    ::testing::Combine(::testing::ValuesIn(kAllFormats),
                       ::testing::Values(1, 5, 16),   // odd widths too
                       ::testing::Values(0, 3, 64)),  // padded strides
    [](const auto& info) {
      return to_string(std::get<0>(info.param)) + "_w" +
             std::to_string(std::get<1>(info.param)) + "_pad" +
             std::to_string(std::get<2>(info.param));
    });

TEST(Frame, ChannelOrderIsRgb) {
  // One BGRA pixel: B=10, G=20, R=30, A=40.
  uint8_t px[4] = {10, 20, 30, 40};
  FrameView f{px, 1, 1, 4, PixelFormat::BGRA};
  auto t = frame_to_tensor(f, ValueRange::Byte);
  EXPECT_FLOAT_EQ(t[0][0][0][0].item<float>(), 30);
  EXPECT_FLOAT_EQ(t[0][1][0][0].item<float>(), 20);
  EXPECT_FLOAT_EQ(t[0][2][0][0].item<float>(), 10);
}

TEST(Frame, WritingKeepsAlphaAndPadding) {
  std::vector<uint8_t> buf(2 * 12, 0xAB);  // 2 rows, stride 12, width 2
  FrameView f{buf.data(), 2, 2, 12, PixelFormat::ARGB};
  tensor_to_frame(torch::zeros({1, 3, 2, 2}), ValueRange::Byte, f);
  for (int y = 0; y < 2; ++y) {
    EXPECT_EQ(buf[y * 12 + 0], 0xAB);  // alpha of pixel 0
    EXPECT_EQ(buf[y * 12 + 1], 0);     // red
    EXPECT_EQ(buf[y * 12 + 4], 0xAB);  // alpha of pixel 1
    for (int x = 8; x < 12; ++x) EXPECT_EQ(buf[y * 12 + x], 0xAB);  // padding
  }
}

TEST(Frame, ClampsAndRoundsOutOfRangeValues) {
  uint8_t px[3] = {};
  FrameView f{px, 1, 1, 3, PixelFormat::RGB};
  auto t = torch::tensor({-20.0f, 300.0f, 99.6f}).view({1, 3, 1, 1});
  tensor_to_frame(t, ValueRange::Byte, f);
  EXPECT_EQ(px[0], 0);
  EXPECT_EQ(px[1], 255);
  EXPECT_EQ(px[2], 100);
}

TEST(Frame, FormatNames) {
  for (auto f : kAllFormats)
    EXPECT_EQ(pixel_format_from_string(to_string(f)), f);
}

TEST(Frame, UnknownFormatName_n) {
  EXPECT_THROW(pixel_format_from_string("I420"), InvalidArgument);
}

TEST(Frame, StrideTooSmall_n) {
  uint8_t px[6] = {};
  FrameView f{px, 2, 1, 5, PixelFormat::RGB};
  EXPECT_THROW(frame_to_tensor(f, ValueRange::Byte), InvalidArgument);
}

TEST(Frame, NullOrEmpty_n) {
  FrameView f{nullptr, 2, 2, 6, PixelFormat::RGB};
  EXPECT_THROW(frame_to_tensor(f, ValueRange::Byte), InvalidArgument);
  uint8_t px[6] = {};
  FrameView g{px, 0, 2, 6, PixelFormat::RGB};
  EXPECT_THROW(frame_to_tensor(g, ValueRange::Byte), InvalidArgument);
}

TEST(Frame, WrongTensorShape_n) {
  uint8_t px[12] = {};
  FrameView f{px, 2, 2, 6, PixelFormat::RGB};
  EXPECT_THROW(tensor_to_frame(torch::zeros({1, 3, 2, 3}), ValueRange::Byte, f),
               InvalidArgument);
  EXPECT_THROW(tensor_to_frame(torch::zeros({1, 1, 2, 2}), ValueRange::Byte, f),
               InvalidArgument);
}
