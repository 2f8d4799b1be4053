// gansrc element tests: GstHarness inside GoogleTest, hermetic registry,
// tiny generators made here.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../core/temp_dir.h"
#include "element_checks.h"
#include "neuralart/bundle.h"
#include "neuralart/models/load.h"

namespace {

struct Models {
  TempDir dir;
  std::string gan32, stylegan32, style, corrupt;
};

const Models& models() {
  // Destroyed at exit, which removes the folder (each test case runs in a
  // process of its own under ctest).
  static std::unique_ptr<Models> m = [] {
    auto m = std::make_unique<Models>();
    torch::manual_seed(5);
    neuralart::DCGANOptions g;
    g.latent_dim = 16;
    g.base_width = 8;
    g.resolution = 32;
    neuralart::DCGANGenerator gen(g);
    m->gan32 = m->dir.file("gan32.bundle");
    neuralart::save_bundle(m->gan32, neuralart::generator_meta(g), *gen);
    neuralart::DCGANOptions sg = g;
    sg.arch = "stylegan";
    sg.w_dim = 16;
    sg.mapping_layers = 2;
    neuralart::DCGANGenerator sgen(sg);
    m->stylegan32 = m->dir.file("stylegan32.bundle");
    neuralart::save_bundle(m->stylegan32, neuralart::generator_meta(sg), *sgen);
    neuralart::StyleNetOptions s;
    s.width = 4;
    s.res_blocks = 1;
    neuralart::StyleNet net(s);
    m->style = m->dir.file("style.bundle");
    neuralart::save_bundle(m->style, neuralart::style_meta(s, {"x"}), *net);
    m->corrupt = m->dir.file("corrupt.bundle");
    std::ofstream(m->corrupt) << "{ not a model at all }";
    return m;
  }();
  return *m;
}

GstHarness* make_harness(const std::string& props, const char* caps = nullptr,
                         const std::string& model = models().gan32) {
  const std::string desc = "gansrc model=" + model + " " + props;
  GstHarness* h = gst_harness_new_parse(desc.c_str());
  if (caps) gst_harness_set_sink_caps_str(h, caps);
  gst_harness_play(h);
  return h;
}

std::vector<uint8_t> bytes_of(GstBuffer* b) {
  GstMapInfo map;
  EXPECT_TRUE(gst_buffer_map(b, &map, GST_MAP_READ));
  std::vector<uint8_t> v(map.data, map.data + map.size);
  gst_buffer_unmap(b, &map);
  return v;
}

std::vector<std::vector<uint8_t>> pull_frames(GstHarness* h, int n) {
  std::vector<std::vector<uint8_t>> frames;
  for (int i = 0; i < n; ++i) {
    GstBuffer* b = gst_harness_pull(h);
    EXPECT_NE(b, nullptr);
    if (!b) break;
    frames.push_back(bytes_of(b));
    gst_buffer_unref(b);
  }
  return frames;
}

double mean_abs_diff(const std::vector<uint8_t>& a,
                     const std::vector<uint8_t>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(int(a[i]) - int(b[i]));
  return sum / a.size();
}

GstCaps* current_caps(GstHarness* h) {
  return gst_pad_get_current_caps(h->sinkpad);
}

// Runs "gansrc ... ! fakesink" to the first frame; returns the error text
// posted on the bus, or "" when it played.
std::string run_pipeline_error(const std::string& props) {
  GError* err = nullptr;
  const std::string desc = "gansrc " + props + " num-buffers=2 ! fakesink";
  GstElement* pipe = gst_parse_launch(desc.c_str(), &err);
  EXPECT_EQ(err, nullptr);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* msg = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND,
      static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  std::string text;
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &e, &debug);
    text = std::string(e->message) + " | " + (debug ? debug : "");
    g_error_free(e);
    g_free(debug);
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return text;
}

// Parses and plays a pipeline; null (and a test failure) when it fails.
GstElement* play(const std::string& desc) {
  GstElement* pipe = gst_parse_launch(desc.c_str(), nullptr);
  EXPECT_NE(pipe, nullptr) << desc;
  if (!pipe) return nullptr;
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  if (gst_element_get_state(pipe, nullptr, nullptr, 10 * GST_SECOND) !=
      GST_STATE_CHANGE_SUCCESS) {
    ADD_FAILURE() << "did not reach PLAYING: " << desc;
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
    return nullptr;
  }
  return pipe;
}

}  // namespace

TEST(GanSrc, FixatesToNativeSizeAnd30fps) {
  GstHarness* h = make_harness("num-buffers=1");
  auto frames = pull_frames(h, 1);
  GstCaps* caps = current_caps(h);
  GstVideoInfo info;
  ASSERT_TRUE(gst_video_info_from_caps(&info, caps));
  EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 32);
  EXPECT_EQ(GST_VIDEO_INFO_HEIGHT(&info), 32);
  EXPECT_EQ(GST_VIDEO_INFO_FPS_N(&info), 30);
  EXPECT_EQ(GST_VIDEO_INFO_FPS_D(&info), 1);
  gst_caps_unref(caps);
  gst_harness_teardown(h);
}

TEST(GanSrc, EveryFormatAndForcedSize) {
  for (const char* format : {"RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR",
                             "RGBA", "BGRA", "ARGB", "ABGR"}) {
    const std::string caps = std::string("video/x-raw,format=") + format +
                             ",width=45,height=27,framerate=25/1";
    GstHarness* h = make_harness("num-buffers=1", caps.c_str());
    GstBuffer* b = gst_harness_pull(h);
    ASSERT_NE(b, nullptr) << format;
    GstVideoInfo info;
    GstCaps* c = current_caps(h);
    ASSERT_TRUE(gst_video_info_from_caps(&info, c));
    EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 45) << format;
    GstVideoFrame frame;
    ASSERT_TRUE(gst_video_frame_map(&frame, &info, b, GST_MAP_READ));
    const auto* finfo = frame.info.finfo;
    if (GST_VIDEO_FORMAT_INFO_HAS_ALPHA(finfo)) {
      const int a = GST_VIDEO_FORMAT_INFO_POFFSET(finfo, 3);
      const auto* row =
          static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
      const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
      for (int y = 0; y < 27; ++y)
        for (int x = 0; x < 45; ++x)
          ASSERT_EQ(row[y * stride + x * 4 + a], 0xFF) << format;
    }
    gst_video_frame_unmap(&frame);
    gst_caps_unref(c);
    gst_buffer_unref(b);
    gst_harness_teardown(h);
  }
}

TEST(GanSrc, TimestampsFromFrameCounterAndEos) {
  GstHarness* h = make_harness("num-buffers=1000",
                               "video/x-raw,format=RGB,width=8,height=8,"
                               "framerate=30000/1001");
  GstClockTime expected_next = 0;
  for (guint64 n = 0; n < 1000; ++n) {
    GstBuffer* b = gst_harness_pull(h);
    ASSERT_NE(b, nullptr) << n;
    const GstClockTime pts = gst_util_uint64_scale(n * GST_SECOND, 1001, 30000);
    ASSERT_EQ(GST_BUFFER_PTS(b), pts) << n;
    ASSERT_EQ(GST_BUFFER_PTS(b), expected_next) << "gap or overlap at " << n;
    ASSERT_EQ(GST_BUFFER_OFFSET(b), n);
    expected_next = pts + GST_BUFFER_DURATION(b);
    gst_buffer_unref(b);
  }
  // Durations add up exactly to 1000 frames: no drift.
  EXPECT_EQ(expected_next,
            gst_util_uint64_scale(1000 * GST_SECOND, 1001, 30000));
  // Then EOS.
  bool eos = false;
  while (GstEvent* e = gst_harness_try_pull_event(h)) {
    eos |= GST_EVENT_TYPE(e) == GST_EVENT_EOS;
    gst_event_unref(e);
  }
  if (!eos) {
    GstEvent* e = gst_harness_pull_event(h);
    while (e && GST_EVENT_TYPE(e) != GST_EVENT_EOS) {
      gst_event_unref(e);
      e = gst_harness_pull_event(h);
    }
    eos = e != nullptr;
    if (e) gst_event_unref(e);
  }
  EXPECT_TRUE(eos);
  gst_harness_teardown(h);
}

TEST(GanSrc, DurationQueryWithNumBuffers) {
  GstHarness* h = make_harness("num-buffers=90");
  auto frames = pull_frames(h, 1);
  gint64 duration = -1;
  EXPECT_TRUE(
      gst_element_query_duration(h->element, GST_FORMAT_TIME, &duration));
  EXPECT_EQ(duration, 3 * GST_SECOND);  // 90 frames at 30/1
  gst_harness_teardown(h);
}

TEST(GanSrc, SameSeedSameFramesOtherSeedOtherFrames) {
  for (const char* mode : {"random", "walk", "loop", "fixed"}) {
    const std::string p = std::string("mode=") + mode + " num-buffers=4";
    GstHarness* a = make_harness(p + " seed=3");
    GstHarness* b = make_harness(p + " seed=3");
    GstHarness* c = make_harness(p + " seed=4");
    auto fa = pull_frames(a, 4), fb = pull_frames(b, 4), fc = pull_frames(c, 4);
    EXPECT_EQ(fa, fb) << mode;
    EXPECT_NE(fa, fc) << mode;
    gst_harness_teardown(a);
    gst_harness_teardown(b);
    gst_harness_teardown(c);
  }
}

// Mean frame-to-frame change of a walk and of random mode over n frames.
std::pair<double, double> walk_and_random_steps(const std::string& model,
                                                int n) {
  const auto count = " num-buffers=" + std::to_string(n);
  GstHarness* walk =
      make_harness("mode=walk walk-speed=0.5" + count, nullptr, model);
  GstHarness* rnd = make_harness("mode=random" + count, nullptr, model);
  auto w = pull_frames(walk, n), r = pull_frames(rnd, n);
  double step_walk = 0, step_random = 0;
  for (int i = 1; i < n; ++i) {
    step_walk += mean_abs_diff(w[i - 1], w[i]);
    step_random += mean_abs_diff(r[i - 1], r[i]);
  }
  gst_harness_teardown(walk);
  gst_harness_teardown(rnd);
  return {step_walk, step_random};
}

TEST(GanSrc, WalkIsContinuousRandomIsNot) {
  const auto [step_walk, step_random] =
      walk_and_random_steps(models().gan32, 20);
  EXPECT_GT(step_walk, 0.0);  // it moves
  EXPECT_LT(step_walk * 5, step_random);
}

TEST(GanSrc, FixedRepeatsOneFrame) {
  GstHarness* h = make_harness("mode=fixed num-buffers=3");
  auto f = pull_frames(h, 3);
  EXPECT_EQ(f[0], f[1]);
  EXPECT_EQ(f[1], f[2]);
  gst_harness_teardown(h);
}

TEST(GanSrc, LoopSeamIsExact) {
  GstHarness* h = make_harness("mode=loop loop-frames=12 num-buffers=13");
  auto f = pull_frames(h, 13);
  EXPECT_EQ(f[12], f[0]);
  EXPECT_NE(f[6], f[0]);
  // Neighbours across the seam are as close as neighbours inside the loop.
  EXPECT_LT(mean_abs_diff(f[11], f[12]), 3 * mean_abs_diff(f[5], f[6]) + 1);
  gst_harness_teardown(h);
}

TEST(GanSrc, GridIsAMosaicOfIndependentWalks) {
  GstHarness* one = make_harness("grid=1 mode=fixed seed=9 num-buffers=1",
                                 "video/x-raw,format=RGB");
  GstHarness* four = make_harness("grid=2 mode=fixed seed=9 num-buffers=1",
                                  "video/x-raw,format=RGB");
  auto single = pull_frames(one, 1)[0];
  auto mosaic = pull_frames(four, 1)[0];
  GstCaps* caps = current_caps(four);
  GstVideoInfo info;
  ASSERT_TRUE(gst_video_info_from_caps(&info, caps));
  EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 64);
  const int stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  auto cell = [&](int cx, int cy) {
    std::vector<uint8_t> v;
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32 * 3; ++x)
        v.push_back(mosaic[(cy * 32 + y) * stride + cx * 32 * 3 + x]);
    return v;
  };
  // The top-left cell is the grid=1 image; the other cells differ from it.
  std::vector<uint8_t> first;
  GstCaps* c1 = current_caps(one);
  GstVideoInfo i1;
  gst_video_info_from_caps(&i1, c1);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32 * 3; ++x)
      first.push_back(single[y * GST_VIDEO_INFO_PLANE_STRIDE(&i1, 0) + x]);
  EXPECT_EQ(cell(0, 0), first);
  EXPECT_NE(cell(1, 0), cell(0, 0));
  EXPECT_NE(cell(0, 1), cell(1, 1));
  gst_caps_unref(caps);
  gst_caps_unref(c1);
  gst_harness_teardown(one);
  gst_harness_teardown(four);
}

GstHarness* make_stylegan_harness(const std::string& props) {
  return make_harness(props, nullptr, models().stylegan32);
}

TEST(GanSrc, StyleGANSameSettingsSameFramesInEveryMode) {
  for (const char* mode : {"random", "walk", "loop", "fixed"}) {
    const std::string p = std::string("mode=") + mode + " num-buffers=3";
    GstHarness* a = make_stylegan_harness(p + " seed=3");
    GstHarness* b = make_stylegan_harness(p + " seed=3");
    GstHarness* c = make_stylegan_harness(p + " seed=4");
    auto fa = pull_frames(a, 3), fb = pull_frames(b, 3), fc = pull_frames(c, 3);
    EXPECT_EQ(fa, fb) << mode;
    EXPECT_NE(fa, fc) << mode;
    gst_harness_teardown(a);
    gst_harness_teardown(b);
    gst_harness_teardown(c);
  }
}

TEST(GanSrc, StyleGANWalkInWIsContinuousAndLoopsSeamlessly) {
  const auto [step_walk, step_random] =
      walk_and_random_steps(models().stylegan32, 12);
  EXPECT_GT(step_walk, 0.0);
  EXPECT_LT(step_walk * 5, step_random);
  GstHarness* loop =
      make_stylegan_harness("mode=loop loop-frames=9 num-buffers=10");
  auto f = pull_frames(loop, 10);
  EXPECT_EQ(f[9], f[0]);
  EXPECT_NE(f[4], f[0]);
  gst_harness_teardown(loop);
}

TEST(GanSrc, StyleGANMixingAndTruncationChangeFrames) {
  const std::string p = "mode=fixed seed=2 num-buffers=1";
  GstHarness* plain = make_stylegan_harness(p);
  GstHarness* mixed = make_stylegan_harness(p + " mix-layer=3 mix-seed=9");
  GstHarness* again = make_stylegan_harness(p + " mix-layer=3 mix-seed=9");
  GstHarness* other = make_stylegan_harness(p + " mix-layer=3 mix-seed=10");
  GstHarness* past = make_stylegan_harness(p + " mix-layer=64 mix-seed=9");
  GstHarness* trunc = make_stylegan_harness(p + " truncation=0.3");
  auto fp = pull_frames(plain, 1), fm = pull_frames(mixed, 1),
       fa = pull_frames(again, 1), fo = pull_frames(other, 1),
       fpast = pull_frames(past, 1), ft = pull_frames(trunc, 1);
  EXPECT_NE(fm, fp);
  EXPECT_EQ(fm, fa);
  EXPECT_NE(fm, fo);
  EXPECT_EQ(fpast, fp);  // past the model's last layer: no mixing
  EXPECT_NE(ft, fp);
  for (auto* h : {plain, mixed, again, other, past, trunc})
    gst_harness_teardown(h);
}

TEST(GanSrc, MixLayerOnADCGANChangesNothing) {
  GstHarness* a = make_harness("mode=fixed seed=2 num-buffers=1");
  GstHarness* b = make_harness("mode=fixed seed=2 num-buffers=1 mix-layer=2");
  EXPECT_EQ(pull_frames(a, 1), pull_frames(b, 1));
  gst_harness_teardown(a);
  gst_harness_teardown(b);
}

TEST(GanSrc, PlaysInAPipeline) {
  EXPECT_EQ(run_pipeline_error("model=" + models().gan32 + " grid=2"), "");
}

TEST(GanSrc, MissingModel_n) {
  auto err = run_pipeline_error("model=/nonexistent/gan.bundle");
  EXPECT_NE(err.find("/nonexistent/gan.bundle"), std::string::npos) << err;
}

TEST(GanSrc, CorruptModel_n) {
  auto err = run_pipeline_error("model=" + models().corrupt);
  EXPECT_NE(err.find(models().corrupt), std::string::npos) << err;
}

TEST(GanSrc, StyleModelIsTheWrongKind_n) {
  auto err = run_pipeline_error("model=" + models().style);
  EXPECT_NE(err.find("style"), std::string::npos) << err;
  EXPECT_NE(err.find("generator"), std::string::npos) << err;
}

TEST(GanSrc, NoDefaultModel_n) {
  TempDir empty;
  g_setenv("NEURALART_MODEL_DIR", empty.path.c_str(), TRUE);
  auto err = run_pipeline_error("");
  g_unsetenv("NEURALART_MODEL_DIR");
  // Either the shipped default plays, or the error lists where it looked.
  if (!err.empty()) {
    EXPECT_NE(err.find(empty.path.string()), std::string::npos) << err;
  }
}

TEST(GanSrc, StateCycling) {
  const std::string desc = "gansrc model=" + models().gan32 + " ! fakesink";
  GstElement* pipe = gst_parse_launch(desc.c_str(), nullptr);
  ASSERT_NE(pipe, nullptr);
  for (int i = 0; i < 3; ++i) {
    for (GstState s : {GST_STATE_READY, GST_STATE_PAUSED, GST_STATE_PLAYING,
                       GST_STATE_PAUSED, GST_STATE_READY, GST_STATE_NULL}) {
      auto ret = gst_element_set_state(pipe, s);
      ASSERT_NE(ret, GST_STATE_CHANGE_FAILURE);
      ASSERT_NE(gst_element_get_state(pipe, nullptr, nullptr, 10 * GST_SECOND),
                GST_STATE_CHANGE_FAILURE);
    }
  }
  gst_object_unref(pipe);
}

TEST(GanSrc, PropertiesChangeWhilePlaying) {
  GstHarness* h = make_harness("mode=walk");
  pull_frames(h, 2);
  GstElement* src = h->element;
  for (int i = 0; i < 20; ++i) {
    g_object_set(src, "seed", guint64(i), "walk-speed", 0.1 + i, "truncation",
                 0.5 + 0.02 * i, nullptr);
    gst_util_set_object_arg(G_OBJECT(src), "mode", i % 2 ? "random" : "loop");
    auto f = pull_frames(h, 1);
    ASSERT_EQ(f.size(), 1u);
  }
  gst_harness_teardown(h);
}

TEST(GanSrc, LiveReportsLatency) {
  const std::string desc = "gansrc is-live=true model=" + models().gan32 +
                           " name=src ! fakesink sync=true";
  GstElement* pipe = play(desc);
  ASSERT_NE(pipe, nullptr);
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  GstQuery* q = gst_query_new_latency();
  ASSERT_TRUE(gst_element_query(src, q));
  gboolean live = FALSE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(q, &live, &min, &max);
  EXPECT_TRUE(live);
  EXPECT_EQ(min, gst_util_uint64_scale(GST_SECOND, 1, 30));
  gst_query_unref(q);
  gst_object_unref(src);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
}

TEST(GanSrc, FlushingSeekPlaysTheFrameAtThatTime) {
  // Frame 60 of an unbroken run ...
  GstHarness* reference = make_harness("mode=walk", "video/x-raw,format=RGBx");
  const auto frames = pull_frames(reference, 61);
  gst_harness_teardown(reference);
  ASSERT_EQ(frames.size(), 61u);
  // ... is what a seek to 2 s plays first.
  GstHarness* h = make_harness("mode=walk", "video/x-raw,format=RGBx");
  pull_frames(h, 3);
  GstEvent* seek = gst_event_new_seek(
      1.0, GST_FORMAT_TIME,
      GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
      GST_SEEK_TYPE_SET, 2 * GST_SECOND, GST_SEEK_TYPE_NONE, 0);
  ASSERT_TRUE(gst_harness_push_upstream_event(h, seek));
  GstBuffer* b = gst_harness_pull(h);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(GST_BUFFER_PTS(b), 2 * GST_SECOND);
  EXPECT_EQ(GST_BUFFER_OFFSET(b), 60u);
  EXPECT_EQ(bytes_of(b), frames[60]);
  gst_buffer_unref(b);
  // Reverse playback is refused, not faked.
  GstEvent* reverse =
      gst_event_new_seek(-1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH,
                         GST_SEEK_TYPE_SET, 0, GST_SEEK_TYPE_SET, GST_SECOND);
  EXPECT_FALSE(gst_harness_push_upstream_event(h, reverse));
  gst_harness_teardown(h);
}

TEST(GanSrc, RenegotiatesToANewSizeMidStream) {
  GstHarness* h =
      make_harness("", "video/x-raw,format=RGBx,width=32,height=32");
  ASSERT_EQ(pull_frames(h, 2).front().size(), 32u * 32 * 4);
  for (const auto& [w, hh] : {std::pair{48, 40}, {17, 9}, {32, 32}}) {
    const std::string caps =
        "video/x-raw,format=RGBx,width=" + std::to_string(w) +
        ",height=" + std::to_string(hh);
    gst_harness_set_sink_caps_str(h, caps.c_str());
    // The next frames come at the new size (frames already in flight, a
    // few on a loaded machine, may be old).
    bool resized = false;
    for (int i = 0; i < 8 && !resized; ++i) {
      auto f = pull_frames(h, 1);
      ASSERT_EQ(f.size(), 1u);
      GstCaps* now = current_caps(h);
      GstVideoInfo info;
      ASSERT_TRUE(gst_video_info_from_caps(&info, now));
      gst_caps_unref(now);
      resized = info.width == w && info.height == hh &&
                f[0].size() >= size_t(GST_VIDEO_INFO_SIZE(&info));
    }
    EXPECT_TRUE(resized) << w << "x" << hh;
  }
  gst_harness_teardown(h);
}

TEST(GanSrc, EosMidStream) {
  const std::string desc = "gansrc model=" + models().gan32 + " ! fakesink";
  GstElement* pipe = play(desc);
  ASSERT_NE(pipe, nullptr);
  element_checks::expect_eos_mid_stream(pipe);
  EXPECT_EQ(gst_element_set_state(pipe, GST_STATE_NULL),
            GST_STATE_CHANGE_SUCCESS);
  gst_object_unref(pipe);
}

TEST(GanSrc, EveryPropertyRefusesOutOfRangeValues_n) {
  // Numbers below and above each range, NaN for doubles, an enum past its
  // last value: refused, the property unchanged, the warning names it.
  EXPECT_GE(element_checks::expect_ranges_enforced("gansrc"), 14);
}

int main(int argc, char** argv) {
  TempDir registry_dir;
  g_setenv("GST_REGISTRY", registry_dir.file("registry.bin").c_str(), TRUE);
  g_setenv("GST_PLUGIN_PATH_1_0", NEURALART_PLUGIN_DIR, TRUE);
  g_setenv("GST_PLUGIN_SYSTEM_PATH_1_0", GST_SYSTEM_PLUGIN_DIR, TRUE);
  g_setenv("GST_REGISTRY_FORK", "no", TRUE);
  g_unsetenv("NEURALART_MODEL_DIR");
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
