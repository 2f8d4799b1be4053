// Temporal smoothing of stylised video, and the flicker metric (OpenCV).
//
// Stylising frames one by one flickers: small input changes move texture.
// TemporalSmoother warps the previous stylised frame to the current one
// with dense optical flow of the inputs (OpenCV DIS) and blends it in where
// the flow is reliable: forward-backward consistency (Sundaram et al. 2010,
// as in Ruder et al. 2016 and Lai et al. 2018) and grey levels that agree
// with where the flow says a pixel came from (which also stops blending
// across scene cuts).
#pragma once

#include <memory>

#include "neuralart/frame.h"

namespace neuralart {

// How finely TemporalSmoother estimates motion. Both run OpenCV DIS (fast
// preset) on a copy of the frame whose shorter side is at most 120 px;
// kFast stops at half of that copy's resolution (DIS's finest scale 1),
// kFine goes on to all of it: about twice the flow's cost, and better
// aligned warps, so the same amount removes more flicker (docs/elements.md:
// on real footage 20 % less warping error at 0.6, and with 0.8 the
// painting models' flicker down to 1.6-2.7x the input's).
enum class SmootherFlow { kFast, kFine };

class TemporalSmoother {
 public:
  TemporalSmoother();
  ~TemporalSmoother();
  TemporalSmoother(const TemporalSmoother&) = delete;
  TemporalSmoother& operator=(const TemporalSmoother&) = delete;

  // Step 1, before the frame is stylised (it may be stylised in place):
  // remembers the input and computes its flow to the previous input.
  void observe_input(const FrameView& input);

  // Step 2: blends the warped previous output into `stylised` (same size
  // and format as the observed input) with weight `amount` in [0, 1] where
  // the flow is consistent, and remembers the result. Colour bytes only.
  void blend(const FrameView& stylised, double amount);

  // Forgets the previous frames (a seek, a new stream, a size change).
  void reset();

  // The flow used from the next observed frame on (default kFast); the
  // previous frames are kept.
  void set_flow(SmootherFlow flow);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Mean warping error between two consecutive output frames (Lai et al.,
// ECCV 2018): the previous output is warped to the current one with the
// optical flow of the inputs; the squared colour distance (values in
// [0, 1], summed over R, G, B) averaged over pixels that pass the occlusion
// check. All four frames have the same size and format.
double warping_error(const FrameView& prev_input, const FrameView& input,
                     const FrameView& prev_output, const FrameView& output);

}  // namespace neuralart
