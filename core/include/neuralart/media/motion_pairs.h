// Real footage for the temporal term of style training: consecutive video
// frames with the optical flow between them (OpenCV DIS), computed once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "neuralart/train/style_train.h"

namespace neuralart {

// Pairs of consecutive frames from the image files under `dir` (sorted by
// path; consecutive files in one folder are consecutive frames of a clip,
// e.g. from `gst-launch-1.0 ... ! pngenc ! multifilesink
// location=clip/%05d.png`). Each frame is scaled so that its shorter side
// is `side` and centre-cropped to side x side. The flow is DIS's (medium
// preset) from each frame to the one before, with the smoother's
// reliability mask (forward-backward consistency and agreeing grey
// levels), so occlusions and scene cuts drop out. At most `max_pairs`
// pairs, spread evenly over all of them. `progress(done, total)` after each
// pair. Throws Error naming `dir` when it holds no two frames of one clip.
MotionPairs load_motion_pairs(
    const std::string& dir, int64_t side, int64_t max_pairs,
    const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace neuralart
