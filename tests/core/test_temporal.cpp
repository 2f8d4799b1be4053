// Temporal smoothing and the warping-error (flicker) metric.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>
#include <tuple>
#include <vector>

#include "neuralart/error.h"
#include "neuralart/media/temporal.h"

using namespace neuralart;

namespace {

struct Image {
  std::vector<uint8_t> bytes;
  FrameView view;
  Image(int w, int h, PixelFormat f) {
    const int bpp = pixel_layout(f).bytes_per_pixel;
    view = FrameView{nullptr, w, h, static_cast<int64_t>(w) * bpp + 8, f};
    bytes.assign(static_cast<size_t>(view.stride) * h, 0);
    view.data = bytes.data();
  }
  Image(const Image& o) : bytes(o.bytes), view(o.view) {
    view.data = bytes.data();
  }
  uint8_t* px(int x, int y) {
    return view.data + y * view.stride +
           x * pixel_layout(view.format).bytes_per_pixel;
  }
};

// A smooth textured pattern shifted right by `shift` pixels; alpha = x.
Image pattern(int w, int h, double shift, PixelFormat f) {
  Image img(w, h, f);
  const auto l = pixel_layout(f);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double u = x - shift;
      auto* p = img.px(x, y);
      p[l.r] = static_cast<uint8_t>(128 + 100 * std::sin(u * 0.21) *
                                              std::cos(y * 0.17));
      p[l.g] = static_cast<uint8_t>(128 + 90 * std::sin(u * 0.13 + y * 0.11));
      p[l.b] = static_cast<uint8_t>(128 + 80 * std::cos(u * 0.07 - y * 0.19));
      if (l.alpha >= 0) p[l.alpha] = static_cast<uint8_t>(x & 0xff);
    }
  return img;
}

// Stands in for a stylisation that flickers: the input plus fresh noise.
Image flicker(const Image& in, std::mt19937& rng) {
  Image out = in;
  std::normal_distribution<double> noise(0.0, 20.0);
  const auto l = pixel_layout(in.view.format);
  for (int y = 0; y < in.view.height; ++y)
    for (int x = 0; x < in.view.width; ++x) {
      auto* p = out.px(x, y);
      for (int c : {l.r, l.g, l.b})
        p[c] = static_cast<uint8_t>(std::clamp(p[c] + noise(rng), 0.0, 255.0));
    }
  return out;
}

double mean_warping_error(double amount, PixelFormat f, int w = 96, int h = 64,
                          SmootherFlow flow = SmootherFlow::kFast) {
  std::mt19937 rng(3);
  TemporalSmoother smoother;
  smoother.set_flow(flow);
  std::vector<Image> inputs, outputs;
  for (int t = 0; t < 8; ++t) {
    inputs.push_back(pattern(w, h, 2.0 * t, f));
    Image out = flicker(inputs.back(), rng);
    smoother.observe_input(inputs.back().view);
    smoother.blend(out.view, amount);
    outputs.push_back(out);
  }
  double sum = 0;
  for (size_t t = 1; t < inputs.size(); ++t)
    sum += warping_error(inputs[t - 1].view, inputs[t].view,
                         outputs[t - 1].view, outputs[t].view);
  return sum / static_cast<double>(inputs.size() - 1);
}

}  // namespace

TEST(Temporal, SmoothingLowersWarpingError) {
  const double input_error = [] {
    auto a = pattern(96, 64, 0, PixelFormat::RGB);
    auto b = pattern(96, 64, 2, PixelFormat::RGB);
    return warping_error(a.view, b.view, a.view, b.view);
  }();
  const double off = mean_warping_error(0.0, PixelFormat::RGB);
  const double on = mean_warping_error(0.8, PixelFormat::RGB);
  std::cout << "warping error: input " << input_error << ", smoothing off "
            << off << ", on (0.8) " << on << "\n";
  EXPECT_LT(input_error, off / 4) << "the flow should explain the motion";
  EXPECT_LT(on, off * 0.7) << "off " << off << ", on " << on;
}

// The fine flow smooths as well, and it is a different estimate: the
// setting reaches DIS. Switching mid-stream keeps the previous frames.
TEST(Temporal, FineFlowSmoothsAndIsADifferentEstimate) {
  for (const auto& [w, h] : {std::pair{96, 64}, std::pair{640, 400}}) {
    const double off = mean_warping_error(0.0, PixelFormat::RGB, w, h);
    const double fast = mean_warping_error(0.8, PixelFormat::RGB, w, h);
    const double fine =
        mean_warping_error(0.8, PixelFormat::RGB, w, h, SmootherFlow::kFine);
    EXPECT_LT(fine, off * 0.7) << w << "x" << h << ": off " << off;
    EXPECT_NE(fine, fast) << w << "x" << h;
  }
  TemporalSmoother smoother;
  auto a = pattern(96, 64, 0, PixelFormat::RGB);
  auto b = pattern(96, 64, 0, PixelFormat::RGB);
  smoother.observe_input(a.view);
  smoother.blend(a.view, 1.0);
  smoother.set_flow(SmootherFlow::kFine);
  smoother.set_flow(SmootherFlow::kFine);
  std::mt19937 rng(5);
  Image out = flicker(b, rng);
  smoother.observe_input(b.view);
  smoother.blend(out.view, 1.0);
  int worst = 0;
  for (size_t i = 0; i < a.bytes.size(); ++i)
    worst = std::max(worst, std::abs(int(a.bytes[i]) - int(out.bytes[i])));
  EXPECT_LE(worst, 2) << "the frame before the switch was blended in fully";
}

// Frames whose shorter side is over 120 px get their flow from downscaled
// copies, brought back to full size a strip at a time: it must still follow
// the motion. 968x500 BGRx is first halved in its own 4-byte layout.
TEST(Temporal, SmoothingOnLargeFramesUsesScaledFlow) {
  for (const auto& [format, w, h] : {std::tuple{PixelFormat::RGB, 640, 400},
                                     std::tuple{PixelFormat::BGRx, 968, 500}}) {
    const double off = mean_warping_error(0.0, format, w, h);
    const double on = mean_warping_error(0.8, format, w, h);
    EXPECT_LT(on, off * 0.7) << w << "x" << h << " " << to_string(format)
                             << ": off " << off << ", on " << on;
  }
}

TEST(Temporal, BlendKeepsAlphaAndStillFrames) {
  TemporalSmoother smoother;
  auto in = pattern(40, 30, 0, PixelFormat::ARGB);
  Image first = in;
  smoother.observe_input(in.view);
  smoother.blend(first.view, 1.0);
  EXPECT_EQ(first.bytes, in.bytes);  // nothing to blend with yet
  Image second = in;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) second.px(x, y)[1] ^= 0x10;  // red changes
  Image expected_alpha = second;
  smoother.observe_input(in.view);
  smoother.blend(second.view, 1.0);
  // Still input, full smoothing: the previous output comes back.
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) {
      EXPECT_EQ(second.px(x, y)[0], expected_alpha.px(x, y)[0]);
      EXPECT_NEAR(second.px(x, y)[1], in.px(x, y)[1], 2);
    }
}

TEST(Temporal, SceneCutIsNotBlended) {
  // Frame 2 is unrelated to frame 1 (a cut to a flat grey scene): nothing
  // of the previous output may bleed into it, even where flat regions make
  // the flow look consistent.
  TemporalSmoother smoother;
  auto before = pattern(64, 48, 0, PixelFormat::RGB);
  Image out1 = before;
  smoother.observe_input(before.view);
  smoother.blend(out1.view, 1.0);
  Image cut(64, 48, PixelFormat::RGB);
  std::fill(cut.bytes.begin(), cut.bytes.end(), 40);
  Image out2 = cut;
  smoother.observe_input(cut.view);
  smoother.blend(out2.view, 1.0);
  EXPECT_EQ(out2.bytes, cut.bytes);
}

TEST(Temporal, SizeChangeAndTinyFramesAreSafe) {
  TemporalSmoother smoother;
  auto a = pattern(40, 30, 0, PixelFormat::RGB);
  auto b = pattern(50, 20, 0, PixelFormat::RGB);
  auto tiny = pattern(3, 2, 0, PixelFormat::RGB);
  for (auto* img : {&a, &b, &tiny, &a}) {
    Image out = *img;
    smoother.observe_input(img->view);
    EXPECT_NO_THROW(smoother.blend(out.view, 0.5));
  }
  // A stylised frame of another size than the observed input (a caller's
  // bug) is left alone, with flow at hand or not.
  auto big = pattern(400, 300, 0, PixelFormat::RGB);
  auto big2 = pattern(400, 300, 2, PixelFormat::RGB);
  for (auto* img : {&big, &big2}) {
    Image other = pattern(420, 300, 0, PixelFormat::RGB);
    const auto before = other.bytes;
    smoother.observe_input(img->view);
    EXPECT_NO_THROW(smoother.blend(other.view, 1.0));
    EXPECT_EQ(other.bytes, before);
  }
}

TEST(Temporal, WarpingErrorNeedsMatchingFrames_n) {
  auto a = pattern(40, 30, 0, PixelFormat::RGB);
  auto b = pattern(41, 30, 0, PixelFormat::RGB);
  EXPECT_THROW(warping_error(a.view, b.view, a.view, a.view), InvalidArgument);
  auto tiny = pattern(8, 8, 0, PixelFormat::RGB);
  EXPECT_THROW(warping_error(tiny.view, tiny.view, tiny.view, tiny.view),
               InvalidArgument);
}
