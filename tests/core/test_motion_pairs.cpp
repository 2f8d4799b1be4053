// load_motion_pairs: frames of a clip on disk -> pairs with optical flow.
#include <gtest/gtest.h>

#include <filesystem>

#include "neuralart/error.h"
#include "neuralart/media/image_io.h"
#include "neuralart/media/motion_pairs.h"
#include "temp_dir.h"

using namespace neuralart;
namespace fs = std::filesystem;

namespace {

// A textured scene of `w` x `h` seen through a window that moves right by
// `step` pixels a frame, so the content moves left: each pixel of frame
// t + 1 was `step` pixels to the right in frame t.
void write_clip(const fs::path& dir, int frames, int w, int h, int step) {
  fs::create_directories(dir);
  torch::manual_seed(7);
  const int wide = w + step * frames;
  auto scene = torch::rand({1, 3, h / 8, wide / 8});
  scene = torch::upsample_bilinear2d(scene, {h, wide}, false);
  scene = (scene * 255).clamp(0, 255).to(torch::kUInt8)[0].permute({1, 2, 0});
  for (int t = 0; t < frames; ++t) {
    char name[32];
    std::snprintf(name, sizeof name, "%05d.png", t);
    save_image_rgb((dir / name).string(),
                   scene.narrow(1, t * step, w).contiguous());
  }
}

}  // namespace

TEST(MotionPairs, FlowOfAPanningClipAndItsMask) {
  TempDir tmp;
  write_clip(tmp.path / "clip", 4, 96, 64, 3);
  // Frames scaled by 48/64 and cropped square: the motion is 2.25 px.
  const auto p = load_motion_pairs(tmp.path.string(), 48, 100);
  ASSERT_EQ(p.size(), 3);
  EXPECT_EQ(p.prev.sizes(), (torch::IntArrayRef{3, 3, 48, 48}));
  EXPECT_EQ(p.flow.sizes(), (torch::IntArrayRef{3, 48, 48, 2}));
  EXPECT_EQ(p.mask.sizes(), (torch::IntArrayRef{3, 1, 48, 48}));
  EXPECT_TRUE(torch::equal(p.prev[1], p.next[0]));  // consecutive pairs
  const auto reliable = p.mask.select(1, 0).gt(0);
  EXPECT_GT(reliable.to(torch::kFloat32).mean().item<double>(), 0.6);
  const auto dx = p.flow.select(3, 0).masked_select(reliable);
  const auto dy = p.flow.select(3, 1).masked_select(reliable);
  EXPECT_NEAR(dx.median().item<double>(), 2.25, 0.5);
  EXPECT_NEAR(dy.median().item<double>(), 0.0, 0.5);
  // Fewer pairs asked for: spread over the clip.
  EXPECT_EQ(load_motion_pairs(tmp.path.string(), 48, 2).size(), 2);
}

TEST(MotionPairs, PairsStayInsideOneClipFolder_n) {
  TempDir tmp;
  write_clip(tmp.path / "a", 1, 64, 64, 2);
  write_clip(tmp.path / "b", 1, 64, 64, 2);
  try {
    load_motion_pairs(tmp.path.string(), 32, 10);
    FAIL() << "one frame per clip made pairs";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(tmp.path.string()), std::string::npos)
        << e.what();
  }
  write_clip(tmp.path / "c", 3, 64, 64, 2);
  EXPECT_EQ(load_motion_pairs(tmp.path.string(), 32, 10).size(), 2);
  EXPECT_THROW(load_motion_pairs((tmp.path / "none").string(), 32, 10), Error);
  EXPECT_THROW(load_motion_pairs(tmp.path.string(), 8, 10), InvalidArgument);
}
