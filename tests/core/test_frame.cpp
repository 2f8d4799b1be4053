#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
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

// The one-pass conversions of the Stylizer's fast path must give exactly
// what frame_to_tensor / tensor_to_frame (plus pixel_unshuffle / shuffle)
// give, for every format, range, padded stride and odd size.
class FoldedFrames
    : public ::testing::TestWithParam<std::tuple<PixelFormat, int, int>> {};

TEST_P(FoldedFrames, EqualTheTensorPathBitForBit) {
  const auto [format, width, height] = GetParam();
  const int bpp = pixel_layout(format).bytes_per_pixel;
  const int64_t stride = width * bpp + 5;
  for (auto range : {ValueRange::Byte, ValueRange::Unit, ValueRange::Signed}) {
    auto src = random_bytes(stride * height, 3 + width * height);
    FrameView in{src.data(), width, height, stride, format};
    const auto plain = frame_to_tensor(in, range);
    for (int64_t fold : {1, 2}) {
      SCOPED_TRACE(to_string(format) + " " + to_string(range) + " fold " +
                   std::to_string(fold));
      auto expected = plain;
      if (fold == 2) {  // odd sides repeat their last row / column
        if (height % 2)
          expected =
              torch::cat({expected, expected.narrow(2, height - 1, 1)}, 2);
        if (width % 2)
          expected =
              torch::cat({expected, expected.narrow(3, width - 1, 1)}, 3);
        expected = torch::pixel_unshuffle(expected, 2);
      }
      const auto folded = frame_to_folded(in, range, torch::kFloat32, fold);
      EXPECT_TRUE(folded.is_contiguous(at::MemoryFormat::ChannelsLast));
      ASSERT_EQ(folded.sizes(), expected.sizes());
      EXPECT_TRUE(torch::equal(folded, expected));
      EXPECT_TRUE(
          torch::equal(frame_to_folded(in, range, torch::kBFloat16, fold),
                       expected.to(torch::kBFloat16)));

      // Back: values off the byte grid, out of range and NaN, in fp32 and
      // bf16, channels-last or not.
      auto values = (torch::rand(expected.sizes()) * 1.4 - 0.2) *
                    (range == ValueRange::Byte ? 255.0 : 1.0);
      if (range == ValueRange::Signed) values = values * 2 - 1;
      values.view(-1)[0] = std::nanf("");
      for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
        const auto v = values.to(dtype);
        auto full = fold == 1 ? v : torch::pixel_shuffle(v, 2);
        full = full.narrow(2, 0, height).narrow(3, 0, width);
        auto want = src, got = src;
        // NaN is written as the range's lowest value (byte 0).
        const double lowest = range == ValueRange::Signed ? -1.0 : 0.0;
        tensor_to_frame(full.to(torch::kFloat32).nan_to_num(lowest), range,
                        FrameView{want.data(), width, height, stride, format});
        folded_to_frame(v.contiguous(at::MemoryFormat::ChannelsLast), range,
                        fold,
                        FrameView{got.data(), width, height, stride, format});
        EXPECT_EQ(got, want) << "channels-last, dtype " << dtype;
        got = src;
        folded_to_frame(v.contiguous(), range, fold,
                        FrameView{got.data(), width, height, stride, format});
        EXPECT_EQ(got, want) << "contiguous, dtype " << dtype;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    FormatsAndSizes, FoldedFrames,
    ::testing::Combine(::testing::Values(PixelFormat::RGB, PixelFormat::BGRx,
                                         PixelFormat::xRGB, PixelFormat::ABGR),
                       ::testing::Values(1, 6, 13),  // width
                       ::testing::Values(1, 4, 7)),  // height
    [](const auto& info) {
      return to_string(std::get<0>(info.param)) + "_" +
             std::to_string(std::get<1>(info.param)) + "x" +
             std::to_string(std::get<2>(info.param));
    });

TEST(Frame, FoldedShapesAndFolds_n) {
  std::vector<uint8_t> px(4 * 4 * 3, 9);
  FrameView f{px.data(), 4, 4, 12, PixelFormat::RGB};
  EXPECT_THROW(frame_to_folded(f, ValueRange::Byte, torch::kFloat32, 3),
               InvalidArgument);
  EXPECT_THROW(frame_to_folded(f, ValueRange::Byte, torch::kInt32, 1),
               InvalidArgument);
  EXPECT_THROW(
      folded_to_frame(torch::zeros({1, 3, 4, 4}), ValueRange::Byte, 2, f),
      InvalidArgument);
  EXPECT_THROW(
      folded_to_frame(torch::zeros({1, 12, 2, 3}), ValueRange::Byte, 2, f),
      InvalidArgument);
  EXPECT_THROW(
      folded_to_frame(torch::zeros({1, 12, 2, 2}), ValueRange::Byte, 0, f),
      InvalidArgument);
  FrameView null{nullptr, 4, 4, 12, PixelFormat::RGB};
  EXPECT_THROW(frame_to_folded(null, ValueRange::Byte, torch::kFloat32, 1),
               InvalidArgument);
}
