#include "neuralart/media/temporal.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include <algorithm>

#include "neuralart/error.h"

namespace neuralart {

// Outside the anonymous namespace: TemporalSmoother::State holds one (gcc's
// -Wsubobject-linkage, which a unity build, where this file is included,
// turns on).
struct FlowPair {
  cv::Mat map;   // where each current pixel was in the previous frame
  cv::Mat mask;  // 1 where that is reliable
};

namespace {

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

// Writes packed RGB into the colour bytes of `f`; alpha is not touched.
void from_rgb(const cv::Mat& rgb, const FrameView& f) {
  const auto l = pixel_layout(f.format);
  cv::Mat dst = wrap(f);
  const int pairs[] = {0, l.r, 1, l.g, 2, l.b};
  cv::mixChannels(&rgb, 1, &dst, 1, pairs, 3);
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
// style network itself (docs/elements.md), at 640x360 a quarter of that,
// and a blend needs no sub-pixel detail of the motion.
constexpr int kSmootherFlowSide = 360;

// `p` computed on frames of p.map's size, brought to `full` (sample
// coordinates scaled about pixel centres; the mask interpolated, so it
// fades at the edges of unreliable regions).
FlowPair upscale_flow(const FlowPair& p, cv::Size full) {
  if (p.map.size() == full) return p;
  const double sx = static_cast<double>(full.width) / p.map.cols;
  const double sy = static_cast<double>(full.height) / p.map.rows;
  FlowPair out;
  cv::resize(p.map, out.map, full, 0, 0, cv::INTER_LINEAR);
  cv::multiply(out.map, cv::Scalar(sx, sy), out.map);
  cv::add(out.map, cv::Scalar(0.5 * sx - 0.5, 0.5 * sy - 0.5), out.map);
  cv::resize(p.mask, out.mask, full, 0, 0, cv::INTER_LINEAR);
  return out;
}

}  // namespace

struct TemporalSmoother::State {
  cv::Ptr<cv::DISOpticalFlow> dis =
      cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_FAST);
  cv::Mat prev_gray, gray;
  cv::Mat prev_output;  // RGB, as blended
  FlowPair flow;
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

void TemporalSmoother::observe_input(const FrameView& input) {
  auto& s = *state_;
  s.have_flow = false;
  if (!flow_possible(input)) {
    reset();
    return;
  }
  s.gray = to_gray(to_rgb(input));
  if (s.prev_gray.empty() || s.prev_gray.size() != s.gray.size() ||
      s.prev_output.size() != s.gray.size())
    return;
  cv::Mat prev = s.prev_gray, cur = s.gray;
  const int shorter = std::min(cur.cols, cur.rows);
  if (shorter > kSmootherFlowSide) {
    const double f = static_cast<double>(kSmootherFlowSide) / shorter;
    const cv::Size small(cvRound(cur.cols * f), cvRound(cur.rows * f));
    cv::resize(s.prev_gray, prev, small, 0, 0, cv::INTER_AREA);
    cv::resize(s.gray, cur, small, 0, 0, cv::INTER_AREA);
  }
  s.flow = upscale_flow(flow_between(*s.dis, prev, cur, /*photometric=*/true),
                        s.gray.size());
  s.have_flow = true;
}

void TemporalSmoother::blend(const FrameView& stylised, double amount) {
  auto& s = *state_;
  if (s.gray.empty() || s.gray.cols != stylised.width ||
      s.gray.rows != stylised.height) {
    reset();
    return;
  }
  cv::Mat current = to_rgb(stylised);
  amount = std::clamp(amount, 0.0, 1.0);
  // When the flow explains less than half of the frame, the frames are not
  // related (a scene cut, a jump): blending would only leave ghosts.
  const bool related =
      s.have_flow && cv::mean(s.flow.mask)[0] >= kMinReliableShare;
  if (related && amount > 0.0) {
    cv::Mat warped, cur_f, weight;
    warp(s.prev_output, s.flow.map).convertTo(warped, CV_32FC3);
    current.convertTo(cur_f, CV_32FC3);
    cv::Mat w1 = s.flow.mask * amount;
    cv::merge(std::vector<cv::Mat>{w1, w1, w1}, weight);
    cv::Mat mixed = cur_f + weight.mul(warped - cur_f);
    mixed.convertTo(current, CV_8UC3);  // rounds and saturates
    from_rgb(current, stylised);
  }
  s.prev_output = current;
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

}  // namespace neuralart
