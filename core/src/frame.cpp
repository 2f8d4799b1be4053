#include "neuralart/frame.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <array>
#include <cmath>
#include <sstream>

#include "neuralart/error.h"

namespace neuralart {
namespace {

struct FormatInfo {
  PixelFormat format;
  const char* name;
  PixelLayout layout;
};

constexpr std::array<FormatInfo, 10> kFormats{{
    {PixelFormat::RGB, "RGB", {3, 0, 1, 2, -1}},
    {PixelFormat::BGR, "BGR", {3, 2, 1, 0, -1}},
    {PixelFormat::RGBx, "RGBx", {4, 0, 1, 2, 3}},
    {PixelFormat::BGRx, "BGRx", {4, 2, 1, 0, 3}},
    {PixelFormat::xRGB, "xRGB", {4, 1, 2, 3, 0}},
    {PixelFormat::xBGR, "xBGR", {4, 3, 2, 1, 0}},
    {PixelFormat::RGBA, "RGBA", {4, 0, 1, 2, 3}},
    {PixelFormat::BGRA, "BGRA", {4, 2, 1, 0, 3}},
    {PixelFormat::ARGB, "ARGB", {4, 1, 2, 3, 0}},
    {PixelFormat::ABGR, "ABGR", {4, 3, 2, 1, 0}},
}};

const FormatInfo& info(PixelFormat format) {
  for (const auto& f : kFormats)
    if (f.format == format) return f;
  throw InvalidArgument("unknown pixel format");
}

// A [H, W, 3] uint8 view of the colour bytes, in R, G, B order.
torch::Tensor colour_view(const FrameView& frame) {
  const auto layout = pixel_layout(frame.format);
  auto bytes = torch::from_blob(
      frame.data, {frame.height, frame.width, layout.bytes_per_pixel},
      {frame.stride, layout.bytes_per_pixel, 1}, torch::kUInt8);
  // Consecutive offsets (RGB order in memory) allow a plain slice.
  if (layout.g == layout.r + 1 && layout.b == layout.r + 2)
    return bytes.narrow(2, layout.r, 3);
  if (layout.g == layout.b + 1 && layout.r == layout.b + 2)
    return bytes.narrow(2, layout.b, 3).flip({2});
  return torch::stack({bytes.select(2, layout.r), bytes.select(2, layout.g),
                       bytes.select(2, layout.b)},
                      2);
}

}  // namespace

PixelLayout pixel_layout(PixelFormat format) { return info(format).layout; }

PixelFormat pixel_format_from_string(const std::string& name) {
  for (const auto& f : kFormats)
    if (name == f.name) return f.format;
  throw InvalidArgument("unknown pixel format '" + name +
                        "' (expected RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, "
                        "BGRA, ARGB or ABGR)");
}

std::string to_string(PixelFormat format) { return info(format).name; }

ValueRange value_range_from_string(const std::string& name) {
  if (name == "byte" || name == "0-255") return ValueRange::Byte;
  if (name == "unit" || name == "0-1") return ValueRange::Unit;
  if (name == "signed" || name == "-1-1") return ValueRange::Signed;
  throw InvalidArgument("unknown value range '" + name +
                        "' (expected byte, unit or signed)");
}

std::string to_string(ValueRange range) {
  switch (range) {
    case ValueRange::Byte:
      return "byte";
    case ValueRange::Unit:
      return "unit";
    case ValueRange::Signed:
      return "signed";
  }
  return "?";
}

void validate_frame(const FrameView& frame) {
  if (frame.data == nullptr) throw InvalidArgument("frame has no data");
  if (frame.width <= 0 || frame.height <= 0)
    throw InvalidArgument("frame size " + std::to_string(frame.width) + "x" +
                          std::to_string(frame.height) + " is empty");
  const auto bpp = pixel_layout(frame.format).bytes_per_pixel;
  if (frame.stride < static_cast<int64_t>(frame.width) * bpp)
    throw InvalidArgument("frame stride " + std::to_string(frame.stride) +
                          " is smaller than width * " + std::to_string(bpp));
}

torch::Tensor& bytes_to_range_(torch::Tensor& values, ValueRange range) {
  switch (range) {
    case ValueRange::Byte:
      break;
    case ValueRange::Unit:
      values.div_(255.0);
      break;
    case ValueRange::Signed:
      values.div_(127.5).sub_(1.0);
      break;
  }
  return values;
}

torch::Tensor range_to_bytes(const torch::Tensor& values_in, ValueRange range) {
  auto values = values_in.to(torch::kFloat32);
  switch (range) {
    case ValueRange::Byte:
      values = values.round();  // a new tensor: the input stays as it was
      break;
    case ValueRange::Unit:
      values = (values * 255.0).round_();
      break;
    case ValueRange::Signed:
      values = ((values + 1.0) * 127.5).round_();
      break;
  }
  return values.clamp_(0, 255).to(torch::kUInt8);
}

torch::Tensor frame_to_tensor(const FrameView& frame, ValueRange range,
                              torch::ScalarType dtype) {
  validate_frame(frame);
  auto image = colour_view(frame).permute({2, 0, 1}).unsqueeze(0).to(dtype);
  return bytes_to_range_(image, range).contiguous();
}

void tensor_to_frame(const torch::Tensor& image_in, ValueRange range,
                     const FrameView& out) {
  validate_frame(out);
  auto image = image_in.dim() == 4 ? image_in.squeeze(0) : image_in;
  if (image.dim() != 3 || image.size(0) != 3 || image.size(1) != out.height ||
      image.size(2) != out.width) {
    std::ostringstream msg;
    msg << "tensor of shape " << image_in.sizes() << " does not fit a "
        << out.width << "x" << out.height << " frame (expected [1, 3, "
        << out.height << ", " << out.width << "])";
    throw InvalidArgument(msg.str());
  }
  torch::NoGradGuard no_grad;
  auto bytes = range_to_bytes(image.to(torch::kCPU), range).permute({1, 2, 0});
  const auto layout = pixel_layout(out.format);
  auto dst = torch::from_blob(
      out.data, {out.height, out.width, layout.bytes_per_pixel},
      {out.stride, layout.bytes_per_pixel, 1}, torch::kUInt8);
  dst.select(2, layout.r).copy_(bytes.select(2, 0));
  dst.select(2, layout.g).copy_(bytes.select(2, 1));
  dst.select(2, layout.b).copy_(bytes.select(2, 2));
}

namespace {

void check_fold(int64_t fold) {
  if (fold != 1 && fold != 2)
    throw InvalidArgument("fold " + std::to_string(fold) + " must be 1 or 2");
}

// Byte v -> value in `range`, with the same float operations as
// bytes_to_range_ (so fp32 results are bit-identical).
inline float byte_to_value(uint8_t v, ValueRange range) {
  const float f = static_cast<float>(v);
  switch (range) {
    case ValueRange::Unit:
      return f / 255.0f;
    case ValueRange::Signed:
      return f / 127.5f - 1.0f;
    case ValueRange::Byte:
      break;
  }
  return f;
}

// Value in `range` -> byte, as range_to_bytes: round half to even,
// clamp, NaN -> 0. Clamping first lets the rounding add and subtract
// 1.5 * 2^23, which rounds a float in [0, 255] to the nearest integer
// (ties to even) in the default rounding mode without a libm call.
inline uint8_t value_to_byte(float v, float scale, float shift) {
  v = (v + shift) * scale;
  v = v >= 0.0f ? v : 0.0f;  // NaN fails the test -> 0
  v = v <= 255.0f ? v : 255.0f;
  constexpr float kRound = 12582912.0f;  // IEEE: not folded without fast-math
  return static_cast<uint8_t>((v + kRound) - kRound);
}

template <typename T>
void fold_frame(const FrameView& frame, ValueRange range, int64_t fold, T* dst,
                int64_t oh, int64_t ow) {
  const auto layout = pixel_layout(frame.format);
  const int64_t ff = fold * fold, channels = 3 * ff;
  const std::array<int, 3> offset{layout.r, layout.g, layout.b};
  std::array<T, 256> lut;  // byte -> value, computed once per frame
  for (int v = 0; v < 256; ++v)
    lut[v] = static_cast<T>(byte_to_value(static_cast<uint8_t>(v), range));
  at::parallel_for(0, oh, 8, [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      T* row = dst + y * ow * channels;
      for (int64_t i = 0; i < fold; ++i) {
        const int64_t sy = std::min<int64_t>(y * fold + i, frame.height - 1);
        const uint8_t* src = frame.data + sy * frame.stride;
        for (int64_t x = 0; x < ow; ++x) {
          for (int64_t j = 0; j < fold; ++j) {
            const int64_t sx = std::min<int64_t>(x * fold + j, frame.width - 1);
            const uint8_t* p = src + sx * layout.bytes_per_pixel;
            T* o = row + x * channels + i * fold + j;
            for (int c = 0; c < 3; ++c) o[c * ff] = lut[p[offset[c]]];
          }
        }
      }
    }
  });
}

template <typename T>
void unfold_to_frame(const T* src, ValueRange range, int64_t fold, int64_t oh,
                     int64_t ow, const FrameView& out) {
  const auto layout = pixel_layout(out.format);
  const int64_t ff = fold * fold, channels = 3 * ff;
  const std::array<int, 3> offset{layout.r, layout.g, layout.b};
  // v -> (v + shift) * scale is range_to_bytes' arithmetic for each range.
  const float scale = range == ValueRange::Unit     ? 255.0f
                      : range == ValueRange::Signed ? 127.5f
                                                    : 1.0f;
  const float shift = range == ValueRange::Signed ? 1.0f : 0.0f;
  at::parallel_for(0, oh, 8, [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      const T* row = src + y * ow * channels;
      for (int64_t i = 0; i < fold; ++i) {
        const int64_t dy = y * fold + i;
        if (dy >= out.height) break;
        uint8_t* dst = out.data + dy * out.stride;
        for (int64_t x = 0; x < ow; ++x) {
          for (int64_t j = 0; j < fold; ++j) {
            const int64_t dx = x * fold + j;
            if (dx >= out.width) break;
            const T* v = row + x * channels + i * fold + j;
            uint8_t* p = dst + dx * layout.bytes_per_pixel;
            for (int c = 0; c < 3; ++c)
              p[offset[c]] =
                  value_to_byte(static_cast<float>(v[c * ff]), scale, shift);
          }
        }
      }
    }
  });
}

}  // namespace

torch::Tensor frame_to_folded(const FrameView& frame, ValueRange range,
                              torch::ScalarType dtype, int64_t fold) {
  RECORD_FUNCTION("neuralart::frame_to_folded", std::vector<c10::IValue>());
  validate_frame(frame);
  check_fold(fold);
  const int64_t oh = (frame.height + fold - 1) / fold;
  const int64_t ow = (frame.width + fold - 1) / fold;
  auto t = torch::empty({1, 3 * fold * fold, oh, ow},
                        torch::TensorOptions().dtype(dtype).memory_format(
                            at::MemoryFormat::ChannelsLast));
  if (dtype == torch::kFloat32)
    fold_frame(frame, range, fold, t.data_ptr<float>(), oh, ow);
  else if (dtype == torch::kBFloat16)
    fold_frame(frame, range, fold, t.data_ptr<at::BFloat16>(), oh, ow);
  else
    throw InvalidArgument("frame_to_folded: dtype must be float32 or bfloat16");
  return t;
}

void folded_to_frame(const torch::Tensor& folded, ValueRange range,
                     int64_t fold, const FrameView& out) {
  RECORD_FUNCTION("neuralart::folded_to_frame", std::vector<c10::IValue>());
  validate_frame(out);
  check_fold(fold);
  const int64_t oh = (out.height + fold - 1) / fold;
  const int64_t ow = (out.width + fold - 1) / fold;
  if (folded.dim() != 4 || folded.size(0) != 1 ||
      folded.size(1) != 3 * fold * fold || folded.size(2) != oh ||
      folded.size(3) != ow) {
    std::ostringstream msg;
    msg << "tensor of shape " << folded.sizes() << " does not fit a "
        << out.width << "x" << out.height << " frame folded by " << fold
        << " (expected [1, " << 3 * fold * fold << ", " << oh << ", " << ow
        << "])";
    throw InvalidArgument(msg.str());
  }
  torch::NoGradGuard no_grad;
  auto t = folded.to(torch::kCPU);
  if (t.scalar_type() != torch::kBFloat16) t = t.to(torch::kFloat32);
  t = t.contiguous(at::MemoryFormat::ChannelsLast);
  if (t.scalar_type() == torch::kFloat32)
    unfold_to_frame(t.data_ptr<float>(), range, fold, oh, ow, out);
  else
    unfold_to_frame(t.data_ptr<at::BFloat16>(), range, fold, oh, ow, out);
}

void copy_alpha(const FrameView& src, const FrameView& dst) {
  validate_frame(src);
  validate_frame(dst);
  const auto layout = pixel_layout(src.format);
  if (layout.alpha < 0) return;
  if (src.format != dst.format || src.width != dst.width ||
      src.height != dst.height)
    throw InvalidArgument(
        "copy_alpha needs frames of the same size and format");
  auto s =
      torch::from_blob(src.data + layout.alpha, {src.height, src.width},
                       {src.stride, layout.bytes_per_pixel}, torch::kUInt8);
  auto d =
      torch::from_blob(dst.data + layout.alpha, {dst.height, dst.width},
                       {dst.stride, layout.bytes_per_pixel}, torch::kUInt8);
  d.copy_(s);
}

}  // namespace neuralart
