#include "neuralart/media/temporal.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <algorithm>
#include <filesystem>

#include "neuralart/error.h"
#include "neuralart/media/image_io.h"
#include "neuralart/media/motion_pairs.h"

namespace neuralart {

// Linear interpolation taps along one axis, from `n_small` samples to
// `n_full` (pixel centres aligned, clamped at the ends: cv::resize's
// INTER_LINEAR), so that the smoother can bring its small flow and mask to
// full size a strip at a time, where they are used.
// Outside the anonymous namespace: TemporalSmoother::State holds two (gcc's
// -Wsubobject-linkage, which a unity build, where this file is included,
// turns on).
struct Taps {
  std::vector<int> lo, hi;
  std::vector<float> w;  // weight of `hi`
};

namespace {

struct FlowPair {
  cv::Mat flow;  // (dx, dy) from each current pixel back to the previous frame
  cv::Mat map;   // where each current pixel was in the previous frame
  cv::Mat mask;  // 1 where that is reliable
};

// DIS needs a few patches per side; smaller frames are left alone.
constexpr int kMinFlowSide = 16;

cv::Mat wrap(const FrameView& f) {
  const int bpp = pixel_layout(f.format).bytes_per_pixel;
  return cv::Mat(f.height, f.width, CV_8UC(bpp), f.data,
                 static_cast<size_t>(f.stride));
}

// The colour bytes of `f` as a packed RGB image (a copy).
cv::Mat to_rgb(const FrameView& f) {
  validate_frame(f);
  const auto l = pixel_layout(f.format);
  cv::Mat src = wrap(f);
  cv::Mat rgb(f.height, f.width, CV_8UC3);
  const int pairs[] = {l.r, 0, l.g, 1, l.b, 2};
  cv::mixChannels(&src, 1, &rgb, 1, pairs, 3);
  return rgb;
}

cv::Mat to_gray(const cv::Mat& rgb) {
  cv::Mat gray;
  cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  return gray;
}

// Sampling positions x + flow(x) for cv::remap.
cv::Mat sample_map(const cv::Mat& flow) {
  cv::Mat map(flow.size(), CV_32FC2);
  for (int y = 0; y < flow.rows; ++y) {
    const auto* f = flow.ptr<cv::Point2f>(y);
    auto* m = map.ptr<cv::Point2f>(y);
    for (int x = 0; x < flow.cols; ++x)
      m[x] = cv::Point2f(static_cast<float>(x) + f[x].x,
                         static_cast<float>(y) + f[x].y);
  }
  return map;
}

// `image` sampled at x + flow(x) (bilinear; outside the frame: border).
cv::Mat warp(const cv::Mat& image, const cv::Mat& map) {
  cv::Mat out;
  cv::remap(image, out, map, cv::noArray(), cv::INTER_LINEAR,
            cv::BORDER_REPLICATE);
  return out;
}

// 1 where the backward flow (current -> previous) and the forward flow
// (previous -> current) agree, 0 at occlusions and motion boundaries:
// |b + f(x + b)|^2 <= 0.01 (|b|^2 + |f(x + b)|^2) + 0.5 (Sundaram 2010).
cv::Mat consistency_mask(const cv::Mat& backward, const cv::Mat& forward,
                         const cv::Mat& map) {
  cv::Mat f_at = warp(forward, map);
  cv::Mat mask(backward.size(), CV_32F);
  for (int y = 0; y < backward.rows; ++y) {
    const auto* b = backward.ptr<cv::Point2f>(y);
    const auto* f = f_at.ptr<cv::Point2f>(y);
    const auto* m = map.ptr<cv::Point2f>(y);
    auto* out = mask.ptr<float>(y);
    for (int x = 0; x < backward.cols; ++x) {
      const cv::Point2f sum = b[x] + f[x];
      const float lhs = sum.dot(sum);
      const float rhs = 0.01f * (b[x].dot(b[x]) + f[x].dot(f[x])) + 0.5f;
      const bool inside = m[x].x >= 0.f && m[x].y >= 0.f &&
                          m[x].x <= backward.cols - 1.f &&
                          m[x].y <= backward.rows - 1.f;
      out[x] = (inside && lhs <= rhs) ? 1.f : 0.f;
    }
  }
  return mask;
}

// Grey levels (of 255) by which a pixel may differ from where the flow says
// it came from. Larger differences mean the flow is wrong there, or that
// the frames are not related at all (a scene cut): forward-backward
// consistency alone passes flat regions across a cut.
constexpr float kPhotometricTolerance = 24.f;
// Below this share of reliable pixels a frame is treated as a scene cut.
constexpr double kMinReliableShare = 0.5;

// `photometric`: also require the grey levels to agree (the smoother does;
// the flicker metric keeps Lai et al.'s forward-backward mask only).
FlowPair flow_between(cv::DISOpticalFlow& dis, const cv::Mat& prev_gray,
                      const cv::Mat& gray, bool photometric) {
  cv::Mat backward, forward;
  dis.calc(gray, prev_gray, backward);
  dis.calc(prev_gray, gray, forward);
  FlowPair p;
  p.flow = backward;
  p.map = sample_map(backward);
  p.mask = consistency_mask(backward, forward, p.map);
  if (!photometric) return p;
  cv::Mat warped_prev, diff, agree;
  warp(prev_gray, p.map).convertTo(warped_prev, CV_32F);
  gray.convertTo(diff, CV_32F);
  cv::absdiff(diff, warped_prev, diff);
  cv::threshold(diff, agree, kPhotometricTolerance, 1.0, cv::THRESH_BINARY_INV);
  p.mask = p.mask.mul(agree);
  return p;
}

bool flow_possible(const FrameView& f) {
  return f.width >= kMinFlowSide && f.height >= kMinFlowSide;
}

// The smoother estimates flow on frames whose shorter side is at most this,
// and scales the result up: DIS at 1280x720 took longer than the compact
// style network itself (docs/elements.md), and a blend needs no sub-pixel
// detail of the motion. Measured (neuralart-bench-smoother, the hand-held
// clip restyled): the smoothed output's warping error is the same with
// flow at 240 px as at 360 px (0.000551 / 0.000553, against 0.00153
// unsmoothed); at 180 px it rises to 0.000602; DIS's ultrafast preset
// instead of fast costs more than that. DIS's fast preset stops at a quarter
// of its input's resolution, so it gets a 120-px copy and stops at half of
// it (smoother_dis): the same flow resolution as the 240-px copy at a
// quarter, and the masks and the grey-level check on a quarter of the
// pixels (at 720p the flow stage 5-6 instead of 7-7.7 ms, the fine flow's
// 14 instead of 18; a warping error 3-10 % lower, docs/benchmarks.md).
constexpr int kSmootherFlowSide = 120;

// The size flow is estimated at for frames of `full` size.
cv::Size flow_size(cv::Size full) {
  const int shorter = std::min(full.width, full.height);
  if (shorter <= kSmootherFlowSide) return full;
  const double f = static_cast<double>(kSmootherFlowSide) / shorter;
  return {cvRound(full.width * f), cvRound(full.height * f)};
}

// Grey levels of the colour bytes of `f` at `size` (area-averaged when
// smaller). The frame is halved in its own layout while it is at least
// twice that size (INTER_AREA's exact 2x path: 0.6 ms for 1280x720 BGRx
// against 3.2 ms for a direct scale to 427x240), converted to grey, and the
// grey image scaled the rest of the way.
cv::Mat small_gray(const FrameView& f, cv::Size size) {
  validate_frame(f);
  const auto l = pixel_layout(f.format);
  cv::Mat src = wrap(f);
  while (src.cols >= 2 * size.width && src.rows >= 2 * size.height &&
         src.cols % 2 == 0 && src.rows % 2 == 0) {
    cv::Mat half;
    cv::resize(src, half, {src.cols / 2, src.rows / 2}, 0, 0, cv::INTER_AREA);
    src = half;
  }
  cv::Mat gray(src.size(), CV_8U);
  for (int y = 0; y < src.rows; ++y) {
    const uint8_t* p = src.ptr<uint8_t>(y);
    uint8_t* g = gray.ptr<uint8_t>(y);
    for (int x = 0; x < src.cols; ++x, p += l.bytes_per_pixel)
      // ITU-R BT.601 weights in 1/256ths, as cv::cvtColor's RGB2GRAY.
      g[x] = static_cast<uint8_t>(
          (77 * p[l.r] + 150 * p[l.g] + 29 * p[l.b] + 128) >> 8);
  }
  if (gray.size() != size) cv::resize(gray, gray, size, 0, 0, cv::INTER_AREA);
  return gray;
}

Taps linear_taps(int n_full, int n_small) {
  Taps t;
  t.lo.resize(n_full);
  t.hi.resize(n_full);
  t.w.resize(n_full);
  const double scale = static_cast<double>(n_small) / n_full;
  for (int i = 0; i < n_full; ++i) {
    const double f = std::clamp((i + 0.5) * scale - 0.5, 0.0,
                                static_cast<double>(n_small - 1));
    t.lo[i] = static_cast<int>(f);
    t.hi[i] = std::min(t.lo[i] + 1, n_small - 1);
    t.w[i] = static_cast<float>(f - t.lo[i]);
  }
  return t;
}

// Row `y` of `small` (CV_32FC(cn)) interpolated to full size into `out`:
// the two small rows mixed first (a straight loop the compiler vectorises),
// then that one row spread along x. `tmp` holds the mixed row.
template <int cn>
void upsample_row(const cv::Mat& small, const Taps& tx, const Taps& ty, int y,
                  std::vector<float>& tmp, float* out) {
  const float* a = small.ptr<float>(ty.lo[y]);
  const float* b = small.ptr<float>(ty.hi[y]);
  const float wy = ty.w[y];
  const int n = small.cols * cn;
  tmp.resize(n);
  float* r = tmp.data();
  for (int i = 0; i < n; ++i) r[i] = a[i] + wy * (b[i] - a[i]);
  const int cols = static_cast<int>(tx.lo.size());
  const int* lo = tx.lo.data();
  const int* hi = tx.hi.data();
  const float* w = tx.w.data();
  for (int x = 0; x < cols; ++x) {
    const float* p = r + lo[x] * cn;
    const float* q = r + hi[x] * cn;
    for (int c = 0; c < cn; ++c) out[x * cn + c] = p[c] + w[x] * (q[c] - p[c]);
  }
}

// out = cur + k / 256 * (warped - cur) per byte, rounded half up; k in
// [0, 256] keeps the result between the two, so nothing saturates. Bytes
// with k = 0 (alpha, padding) stay as they are. Integer lanes: the compiler
// vectorises this loop, which the per-pixel float loop with three channel
// indices it replaced (5 ms of the 720p frame) it did not.
void mix_bytes(uint8_t* cur, const uint8_t* warped, const uint16_t* k, int n) {
  for (int i = 0; i < n; ++i) {
    const int d = static_cast<int>(warped[i]) - static_cast<int>(cur[i]);
    cur[i] = static_cast<uint8_t>(cur[i] + ((d * k[i] + 128) >> 8));
  }
}

// DIS for the smoother: the fast preset, down to half of the flow image's
// resolution (finest scale 1; the preset's own is 2) or, for kFine, to all
// of it.
cv::Ptr<cv::DISOpticalFlow> smoother_dis(SmootherFlow flow) {
  auto dis = cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_FAST);
  dis->setFinestScale(flow == SmootherFlow::kFine ? 0 : 1);
  return dis;
}

// Rows the blend warps and mixes at a time: the strip's map and warped
// pixels stay in cache between the two.
constexpr int kBlendStrip = 16;

}  // namespace

struct TemporalSmoother::State {
  SmootherFlow flow = SmootherFlow::kFast;
  cv::Ptr<cv::DISOpticalFlow> dis = smoother_dis(flow);
  cv::Size size;            // of the last observed input
  cv::Mat prev_gray, gray;  // at flow_size(size)
  cv::Mat prev_output;      // the last blended frame, all its bytes
  // The flow at gray's size: where each pixel was in the previous frame,
  // in full-size pixel coordinates, and how reliable that is (0..1).
  cv::Mat map, mask;
  Taps tx, ty;  // from gray's size to the frame's
  double reliable_share = 0;
  bool have_flow = false;
};

TemporalSmoother::TemporalSmoother() : state_(std::make_unique<State>()) {}
TemporalSmoother::~TemporalSmoother() = default;

void TemporalSmoother::reset() {
  state_->prev_gray.release();
  state_->gray.release();
  state_->prev_output.release();
  state_->have_flow = false;
}

void TemporalSmoother::set_flow(SmootherFlow flow) {
  if (flow == state_->flow) return;
  state_->flow = flow;
  state_->dis = smoother_dis(flow);
}

void TemporalSmoother::observe_input(const FrameView& input) {
  auto& s = *state_;
  s.have_flow = false;
  if (!flow_possible(input)) {
    reset();
    return;
  }
  const cv::Size full(input.width, input.height);
  s.size = full;
  s.gray = small_gray(input, flow_size(full));
  if (s.prev_gray.empty() || s.prev_gray.size() != s.gray.size() ||
      s.prev_output.size() != full)
    return;
  const auto flow =
      flow_between(*s.dis, s.prev_gray, s.gray, /*photometric=*/true);
  s.reliable_share = cv::mean(flow.mask)[0];
  // Sample coordinates scaled about pixel centres, on the small map:
  // linear interpolation commutes with that affine map.
  const double sx = static_cast<double>(full.width) / s.gray.cols;
  const double sy = static_cast<double>(full.height) / s.gray.rows;
  cv::multiply(flow.map, cv::Scalar(sx, sy), s.map);
  cv::add(s.map, cv::Scalar(0.5 * sx - 0.5, 0.5 * sy - 0.5), s.map);
  s.mask = flow.mask;
  if (static_cast<int>(s.tx.lo.size()) != full.width ||
      static_cast<int>(s.ty.lo.size()) != full.height) {
    s.tx = linear_taps(full.width, s.gray.cols);
    s.ty = linear_taps(full.height, s.gray.rows);
  }
  s.have_flow = true;
}

void TemporalSmoother::blend(const FrameView& stylised, double amount) {
  auto& s = *state_;
  if (s.gray.empty() || s.size != cv::Size(stylised.width, stylised.height)) {
    reset();
    return;
  }
  validate_frame(stylised);
  const auto l = pixel_layout(stylised.format);
  cv::Mat current = wrap(stylised);
  amount = std::clamp(amount, 0.0, 1.0);
  // When the flow explains less than half of the frame, the frames are not
  // related (a scene cut, a jump): blending would only leave ghosts.
  const bool related = s.have_flow && s.reliable_share >= kMinReliableShare;
  if (related && amount > 0.0 && s.prev_output.type() == current.type()) {
    // Per strip of rows: the flow and mask brought to full size, the
    // previous output warped with them, then
    // out = current + mask * amount * (warped - current) on the colour
    // bytes, the weight in 1/256ths (mix_bytes).
    const float a256 = static_cast<float>(amount * 256.0);
    const int strips = (current.rows + kBlendStrip - 1) / kBlendStrip;
    cv::parallel_for_(cv::Range(0, strips), [&](const cv::Range& range) {
      cv::Mat map(kBlendStrip, current.cols, CV_32FC2);
      std::vector<float> mask(current.cols), tmp;
      // Each byte's weight in 1/256ths: the colour bytes get the pixel's,
      // the others (alpha, padding) keep 0.
      std::vector<uint16_t> k(static_cast<size_t>(current.cols) *
                              l.bytes_per_pixel);
      cv::Mat warped;
      for (int strip = range.start; strip < range.end; ++strip) {
        const int y0 = strip * kBlendStrip;
        const int n = std::min(kBlendStrip, current.rows - y0);
        for (int i = 0; i < n; ++i)
          upsample_row<2>(s.map, s.tx, s.ty, y0 + i, tmp, map.ptr<float>(i));
        cv::remap(s.prev_output, warped, map.rowRange(0, n), cv::noArray(),
                  cv::INTER_LINEAR, cv::BORDER_REPLICATE);
        for (int i = 0; i < n; ++i) {
          upsample_row<1>(s.mask, s.tx, s.ty, y0 + i, tmp, mask.data());
          for (int x = 0; x < current.cols; ++x) {
            const auto kx = static_cast<uint16_t>(mask[x] * a256 + 0.5f);
            uint16_t* kp = k.data() + x * l.bytes_per_pixel;
            kp[l.r] = kx;
            kp[l.g] = kx;
            kp[l.b] = kx;
          }
          mix_bytes(current.ptr<uint8_t>(y0 + i), warped.ptr<uint8_t>(i),
                    k.data(), static_cast<int>(k.size()));
        }
      }
    });
  }
  current.copyTo(s.prev_output);
  s.prev_gray = s.gray;
  s.have_flow = false;
}

double warping_error(const FrameView& prev_input, const FrameView& input,
                     const FrameView& prev_output, const FrameView& output) {
  for (const auto* f : {&input, &prev_output, &output}) {
    if (f->width != prev_input.width || f->height != prev_input.height)
      throw InvalidArgument("warping_error needs frames of the same size");
  }
  if (!flow_possible(input))
    throw InvalidArgument("warping_error needs frames of at least 16x16");
  auto dis = cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_MEDIUM);
  const auto flow =
      flow_between(*dis, to_gray(to_rgb(prev_input)), to_gray(to_rgb(input)),
                   /*photometric=*/false);
  cv::Mat warped, current;
  warp(to_rgb(prev_output), flow.map).convertTo(warped, CV_32FC3, 1.0 / 255);
  to_rgb(output).convertTo(current, CV_32FC3, 1.0 / 255);
  cv::Mat diff = current - warped;
  cv::Mat sq = diff.mul(diff);
  std::vector<cv::Mat> ch;
  cv::split(sq, ch);
  cv::Mat per_pixel = ch[0] + ch[1] + ch[2];
  const double valid = cv::sum(flow.mask)[0];
  if (valid <= 0.0) return 0.0;
  return cv::sum(per_pixel.mul(flow.mask))[0] / valid;
}

namespace {

// A frame scaled to a shorter side of `side` and centre-cropped to a
// square: packed RGB.
cv::Mat square_frame(const std::string& path, int side) {
  const auto rgb = load_image_rgb(path).contiguous();  // uint8 [H, W, 3]
  cv::Mat img(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)),
              CV_8UC3, rgb.data_ptr<uint8_t>());
  const double f = static_cast<double>(side) / std::min(img.cols, img.rows);
  cv::Mat scaled;
  cv::resize(img, scaled,
             {std::max(side, cvRound(img.cols * f)),
              std::max(side, cvRound(img.rows * f))},
             0, 0, f < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const cv::Rect window((scaled.cols - side) / 2, (scaled.rows - side) / 2,
                        side, side);
  return scaled(window).clone();
}

torch::Tensor chw(const cv::Mat& rgb) {
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone();
}

}  // namespace

MotionPairs load_motion_pairs(
    const std::string& dir, int64_t side, int64_t max_pairs,
    const std::function<void(int64_t, int64_t)>& progress) {
  if (side < kMinFlowSide)
    throw InvalidArgument("motion pairs need frames of at least " +
                          std::to_string(kMinFlowSide) + " pixels");
  if (max_pairs < 1) throw InvalidArgument("motion pairs: max_pairs < 1");
  const auto files = list_images(dir);
  std::vector<size_t> firsts;  // pair (i, i + 1): both in one folder
  for (size_t i = 0; i + 1 < files.size(); ++i)
    if (std::filesystem::path(files[i]).parent_path() ==
        std::filesystem::path(files[i + 1]).parent_path())
      firsts.push_back(i);
  if (firsts.empty())
    throw Error(dir +
                ": no two consecutive video frames (give a folder of frames "
                "of one clip, or of clip folders, e.g. PNGs from "
                "gst-launch-1.0 ... ! pngenc ! multifilesink)");
  std::vector<size_t> chosen;
  const auto total = static_cast<int64_t>(firsts.size());
  const int64_t count = std::min(max_pairs, total);
  for (int64_t k = 0; k < count; ++k)
    chosen.push_back(firsts[k * total / count]);

  auto dis = cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_MEDIUM);
  const int s = static_cast<int>(side);
  std::vector<torch::Tensor> prev, next, flow, mask;
  for (size_t k = 0; k < chosen.size(); ++k) {
    const cv::Mat a = square_frame(files[chosen[k]], s);
    const cv::Mat b = square_frame(files[chosen[k] + 1], s);
    const auto pair =
        flow_between(*dis, to_gray(a), to_gray(b), /*photometric=*/true);
    prev.push_back(chw(a));
    next.push_back(chw(b));
    flow.push_back(
        torch::from_blob(pair.flow.data, {s, s, 2}, torch::kFloat32).clone());
    cv::Mat m8;
    pair.mask.convertTo(m8, CV_8U);
    mask.push_back(torch::from_blob(m8.data, {1, s, s}, torch::kUInt8).clone());
    if (progress) progress(static_cast<int64_t>(k + 1), count);
  }
  return {torch::stack(prev), torch::stack(next), torch::stack(flow),
          torch::stack(mask)};
}

}  // namespace neuralart
