// Strided 8-bit frames and their conversion to and from tensors.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace neuralart {

// The 8-bit interleaved RGB family of DESIGN.md (GStreamer names).
enum class PixelFormat {
  RGB,
  BGR,
  RGBx,
  BGRx,
  xRGB,
  xBGR,
  RGBA,
  BGRA,
  ARGB,
  ABGR,
};

struct PixelLayout {
  int bytes_per_pixel;  // 3 or 4
  int r, g, b;          // byte offset of each colour inside a pixel
  int alpha;            // byte offset of the 4th byte, -1 when none
};

PixelLayout pixel_layout(PixelFormat format);
// "RGBA" -> PixelFormat::RGBA; throws InvalidArgument for unknown names.
PixelFormat pixel_format_from_string(const std::string& name);
std::string to_string(PixelFormat format);

// A view of pixels owned by someone else (a GstVideoFrame, a cv::Mat).
struct FrameView {
  uint8_t* data = nullptr;
  int width = 0;
  int height = 0;
  int64_t stride = 0;  // bytes from one row to the next, >= width * bpp
  PixelFormat format = PixelFormat::RGB;
};

// The value range a network sees: [0, 255], [0, 1] or [-1, 1].
enum class ValueRange { Byte, Unit, Signed };
ValueRange value_range_from_string(const std::string& name);
std::string to_string(ValueRange range);

// Byte values [0, 255] (any float dtype, any device) -> `range`, in place.
torch::Tensor& bytes_to_range_(torch::Tensor& values, ValueRange range);
// Values in `range` -> uint8 bytes, rounded and clamped, same device; the
// input is not modified.
torch::Tensor range_to_bytes(const torch::Tensor& values, ValueRange range);

// Frame -> float tensor [1, 3, H, W], RGB order, in `range`.
// Throws InvalidArgument when the view is malformed.
torch::Tensor frame_to_tensor(const FrameView& frame, ValueRange range,
                              torch::ScalarType dtype = torch::kFloat32);

// Tensor [1, 3, H, W] (or [3, H, W]) RGB in `range` -> the colour bytes of
// `out` (clamped, rounded). The alpha / padding byte of `out` is not
// touched, so writing in place keeps the alpha of the input.
void tensor_to_frame(const torch::Tensor& image, ValueRange range,
                     const FrameView& out);

// One pass from an 8-bit frame to the channels-last tensor a network reads:
// [1, 3*f*f, ceil(H/f), ceil(W/f)] in `range`, dtype float32 or bfloat16,
// CPU. f = 1 is the plain RGB image; f = 2 is pixel_unshuffle's layout
// (channel c*4 + i*2 + j holds colour c of pixel (2y+i, 2x+j)), odd sides
// repeating their last row or column. The values equal frame_to_tensor's.
torch::Tensor frame_to_folded(const FrameView& frame, ValueRange range,
                              torch::ScalarType dtype, int64_t fold);
// The inverse in one pass: `folded` (that shape, float32 or bfloat16, CPU,
// any strides) is rounded and clamped as range_to_bytes does and written to
// the colour bytes of `out`; entries past an odd side are dropped, alpha
// is not touched.
void folded_to_frame(const torch::Tensor& folded, ValueRange range,
                     int64_t fold, const FrameView& out);

// Copies the alpha / padding byte from `src` to `dst` (same size/format).
void copy_alpha(const FrameView& src, const FrameView& dst);

// Throws InvalidArgument unless the view is usable.
void validate_frame(const FrameView& frame);

}  // namespace neuralart
