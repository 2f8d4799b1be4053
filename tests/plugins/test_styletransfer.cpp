// styletransfer element tests: GstHarness inside GoogleTest, hermetic
// registry, tiny models made here.
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../core/temp_dir.h"
#include "element_checks.h"
#include "neuralart/bundle.h"
#include "neuralart/model_paths.h"
#include "neuralart/models/load.h"
#include "neuralart/models/style_predictor.h"
#include "neuralart/runtime/stylizer.h"
#include "neuralart/train/loss_net.h"

namespace {

struct Models {
  TempDir dir;
  std::string invert, identity, two_styles, wrong_kind, corrupt, missing,
      fails_at_40, medium;
  // A universal style model and paintings for its style-image.
  std::string universal, stripes, blots, huge;
};

void save_script(const std::string& path, const std::string& body) {
  torch::jit::Module m("M");
  m.define("def forward(self, x):\n" + body);
  m.save(path);
}

std::string save_two_styles(const std::string& path, int64_t width = 4,
                            int64_t res_blocks = 1) {
  torch::manual_seed(11);
  neuralart::StyleNetOptions o;
  o.width = width;
  o.res_blocks = res_blocks;
  o.num_styles = 2;
  o.output = "linear";  // the byte values below are the output
  neuralart::StyleNet net(o);
  torch::NoGradGuard no_grad;
  for (auto& p : net->named_parameters())
    if (p.value().dim() == 2) p.value().uniform_(-1.0, 1.5);
  // Spread the untrained output over [0, 255] so that styles differ.
  net->named_parameters()["conv_out.conv.weight"].uniform_(-30.0, 30.0);
  net->named_parameters()["conv_out.conv.bias"].fill_(128.0);
  neuralart::save_bundle(path, neuralart::style_meta(o, {"ink", "fire"}), *net);
  return path;
}

// Binary PPM of vertical stripes (period) or of blots (period 0).
void write_painting(const std::string& path, int w, int h, int period) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << w << " " << h << "\n255\n";
  std::mt19937 rng(3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const bool on = period > 0 ? (x / period) % 2 == 0
                                 : ((x / 6) * 7 + (y / 6) * 3) % 5 < 2;
      const unsigned char px[3] = {static_cast<unsigned char>(on ? 230 : 20),
                                   static_cast<unsigned char>(on ? 70 : 120),
                                   static_cast<unsigned char>(rng() % 60)};
      out.write(reinterpret_cast<const char*>(px), 3);
    }
}

std::string save_universal(const std::string& path) {
  torch::manual_seed(13);
  neuralart::StyleNetOptions o;
  o.width = 4;
  o.res_blocks = 1;
  o.num_styles = 2;
  neuralart::StyleNet probe(o);
  neuralart::StylePredictorOptions p;
  p.encoder = "random";
  p.bottleneck = 8;
  p.code_size = probe->code_size();
  p.style_size = 32;
  neuralart::UniversalStyle u(o, p);
  torch::NoGradGuard no_grad;
  for (auto& t : u->named_parameters()) {
    if (t.key().rfind("net.", 0) == 0 && t.value().dim() == 2)
      t.value().uniform_(-1.0, 1.5);  // style tables: styles differ
    if (t.key() == "predictor.out.weight") t.value().uniform_(-0.3, 0.3);
  }
  u->predictor->set_encoder(*neuralart::make_random_loss_net(1));
  neuralart::save_bundle(
      path, neuralart::universal_style_meta(o, p, {"ink", "fire"}), *u);
  return path;
}

const Models& models() {
  // Destroyed at exit, which removes the folder (each test case runs in a
  // process of its own under ctest).
  static std::unique_ptr<Models> m = [] {
    auto m = std::make_unique<Models>();
    m->invert = m->dir.file("invert.pt");
    save_script(m->invert, "    return 255.0 - x\n");
    m->identity = m->dir.file("identity.pt");
    save_script(m->identity, "    return x.clone()\n");
    m->two_styles = save_two_styles(m->dir.file("two.bundle"));
    // ~1.2 MB of weights: a leak per start would show in the RSS.
    m->medium = save_two_styles(m->dir.file("medium.bundle"), 16, 3);
    m->universal = save_universal(m->dir.file("universal.bundle"));
    m->stripes = m->dir.file("stripes.ppm");
    write_painting(m->stripes, 64, 48, 3);
    m->blots = m->dir.file("blots.ppm");
    write_painting(m->blots, 48, 64, 0);
    // Sparse: over the 64 MB limit without writing 65 MB.
    m->huge = m->dir.file("huge.jpg");
    std::ofstream(m->huge) << "x";
    std::filesystem::resize_file(m->huge, 65ll << 20);
    neuralart::DCGANOptions g;
    g.resolution = 32;
    neuralart::DCGANGenerator gen(g);
    m->wrong_kind = m->dir.file("gan.bundle");
    neuralart::save_bundle(m->wrong_kind, neuralart::generator_meta(g), *gen);
    m->corrupt = m->dir.file("corrupt.bundle");
    std::ofstream(m->corrupt) << "definitely not a model";
    m->missing = m->dir.file("missing.bundle");
    m->fails_at_40 = m->dir.file("fails.pt");
    save_script(m->fails_at_40,
                "    if x.size(2) == 40:\n"
                "        return x.view(7, 7)  # fails at run time\n"
                "    return x\n");
    return m;
  }();
  return *m;
}

GstElement* make_element(const std::string& model) {
  GstElement* e = gst_element_factory_make("styletransfer", nullptr);
  EXPECT_NE(e, nullptr) << "styletransfer not in the registry";
  if (e && !model.empty()) g_object_set(e, "model", model.c_str(), nullptr);
  return e;
}

// A playing harness around a configured element, with a bus to read.
struct Harness {
  GstHarness* h = nullptr;
  GstBus* bus = gst_bus_new();
  GstVideoInfo info;
  explicit Harness(GstElement* element) {
    gst_element_set_bus(element, bus);
    h = gst_harness_new_with_element(element, "sink", "src");
    gst_object_unref(element);
  }
  ~Harness() {
    gst_harness_teardown(h);
    gst_object_unref(bus);
  }
  void set_caps(const char* format, int w, int h_) {
    gst_video_info_set_format(&info, gst_video_format_from_string(format), w,
                              h_);
    info.fps_n = 30;
    info.fps_d = 1;
    GstCaps* caps = gst_video_info_to_caps(&info);
    gst_harness_set_src_caps(h, caps);
  }
  GstMessage* pop(GstMessageType types, GstClockTime timeout) {
    return gst_bus_timed_pop_filtered(bus, timeout, types);
  }
};

GstBuffer* random_buffer(GstVideoInfo info, uint32_t seed) {
  GstBuffer* buf = gst_buffer_new_allocate(nullptr, info.size, nullptr);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  std::mt19937 rng(seed);
  for (gsize i = 0; i < map.size; ++i) map.data[i] = rng() & 0xff;
  gst_buffer_unmap(buf, &map);
  gst_buffer_add_video_meta_full(
      buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(&info),
      GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info), 1, info.offset,
      info.stride);
  return buf;
}

std::vector<uint8_t> bytes_of(GstBuffer* buf) {
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_READ);
  std::vector<uint8_t> v(map.data, map.data + map.size);
  gst_buffer_unmap(buf, &map);
  return v;
}

neuralart::FrameView view_of(std::vector<uint8_t>& bytes,
                             const GstVideoInfo& info) {
  neuralart::FrameView v;
  v.data = bytes.data();
  v.width = GST_VIDEO_INFO_WIDTH(&info);
  v.height = GST_VIDEO_INFO_HEIGHT(&info);
  v.stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  v.format = neuralart::pixel_format_from_string(
      gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)));
  return v;
}

enum class Expect { Inverted, Same };

// Checks every byte: colour per `expect`, alpha/padding unchanged.
void check_frame(const std::vector<uint8_t>& in,
                 const std::vector<uint8_t>& out, const GstVideoInfo& info,
                 Expect expect) {
  ASSERT_EQ(in.size(), out.size());
  const auto fmt = neuralart::pixel_format_from_string(
      gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)));
  const auto l = neuralart::pixel_layout(fmt);
  const int w = GST_VIDEO_INFO_WIDTH(&info), h = GST_VIDEO_INFO_HEIGHT(&info);
  const int stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < l.bytes_per_pixel; ++c) {
        const size_t i = size_t(y) * stride + size_t(x) * l.bytes_per_pixel + c;
        const bool colour = c == l.r || c == l.g || c == l.b;
        const int want =
            colour && expect == Expect::Inverted ? 255 - in[i] : in[i];
        ASSERT_EQ(out[i], want) << "pixel " << x << "," << y << " byte " << c;
      }
}

}  // namespace

class Formats
    : public ::testing::TestWithParam<std::tuple<const char*, int, int>> {};

TEST_P(Formats, ColourChangesAlphaAndPaddingStay) {
  const auto [format, w, h] = GetParam();
  Harness t(make_element(models().invert));
  t.set_caps(format, w, h);
  for (uint32_t seed = 1; seed <= 2; ++seed) {
    GstBuffer* in = random_buffer(t.info, seed);
    const auto before = bytes_of(in);
    GstBuffer* out = gst_harness_push_and_pull(t.h, in);
    ASSERT_NE(out, nullptr);
    check_frame(before, bytes_of(out), t.info, Expect::Inverted);
    gst_buffer_unref(out);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllFormatsOddSizes, Formats,
    ::testing::Combine(::testing::Values("RGB", "BGR", "RGBx", "BGRx", "xRGB",
                                         "xBGR", "RGBA", "BGRA", "ARGB",
                                         "ABGR"),
                       ::testing::Values(7), ::testing::Values(5, 33)));

TEST(StyleTransfer, PaddedStridesFromVideoMeta) {
  Harness t(make_element(models().invert));
  t.set_caps("RGB", 13, 9);
  // A frame whose rows carry 23 padding bytes, described by GstVideoMeta.
  GstVideoInfo padded = t.info;
  padded.stride[0] = 13 * 3 + 23;
  padded.size = static_cast<gsize>(padded.stride[0]) * 9;
  GstBuffer* in = random_buffer(padded, 5);
  const auto before = bytes_of(in);
  GstBuffer* out = gst_harness_push_and_pull(t.h, in);
  ASSERT_NE(out, nullptr);
  check_frame(before, bytes_of(out), padded, Expect::Inverted);
  gst_buffer_unref(out);
}

TEST(StyleTransfer, BundleGivesTheStylizersPixels) {
  GstElement* e = make_element(models().two_styles);
  g_object_set(e, "style", "fire", "threads", 1, nullptr);
  // The Stylizer below runs fp32; auto could pick bf16 here.
  gst_util_set_object_arg(G_OBJECT(e), "precision", "fp32");
  Harness t(e);
  t.set_caps("BGRA", 37, 21);
  GstBuffer* in = random_buffer(t.info, 9);
  auto expected = bytes_of(in);
  auto before = expected;
  GstBuffer* out = gst_harness_push_and_pull(t.h, in);
  ASSERT_NE(out, nullptr);
  const auto got = bytes_of(out);
  gst_buffer_unref(out);

  neuralart::StylizerOptions o;
  o.runtime.threads = 1;
  neuralart::Stylizer s(models().two_styles, o);
  neuralart::StyleParams p;
  p.style = 1;
  auto v = view_of(expected, t.info);
  s.process(v, v, p);
  int worst = 0, changed = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(int(got[i]) - int(expected[i])));
    changed += got[i] != before[i];
  }
  EXPECT_LE(worst, 1);
  EXPECT_GT(changed, static_cast<int>(got.size() / 4));
}

// The fastest path by default: precision is auto unless set.
TEST(StyleTransfer, PrecisionDefaultsToAuto) {
  GstElement* e = make_element("");
  GParamSpec* spec =
      g_object_class_find_property(G_OBJECT_GET_CLASS(e), "precision");
  ASSERT_NE(spec, nullptr);
  ASSERT_TRUE(G_IS_PARAM_SPEC_ENUM(spec));
  const GEnumValue* def =
      g_enum_get_value(G_PARAM_SPEC_ENUM(spec)->enum_class,
                       G_PARAM_SPEC_ENUM(spec)->default_value);
  ASSERT_NE(def, nullptr);
  EXPECT_STREQ(def->value_nick, "auto");
  gint value = -1;
  g_object_get(e, "precision", &value, nullptr);
  EXPECT_EQ(value, G_PARAM_SPEC_ENUM(spec)->default_value);
  // The blurb says what auto does (gst-inspect-1.0 is the manual).
  const std::string blurb = g_param_spec_get_blurb(spec);
  EXPECT_NE(blurb.find("auto"), std::string::npos) << blurb;
  EXPECT_NE(blurb.find("faster"), std::string::npos) << blurb;
  // The other values keep their nicks.
  for (const char* nick : {"fp32", "bf16", "fp16", "auto"})
    EXPECT_NE(
        g_enum_get_value_by_nick(G_PARAM_SPEC_ENUM(spec)->enum_class, nick),
        nullptr)
        << nick;
  gst_object_unref(e);
}

// precision=auto (as gst-launch-1.0 sets it) restyles frames like the
// Stylizer in fp32 or in bf16, whichever auto picked, on the first frame
// and after a model swap; the frames after the first are unchanged by the
// timing (same input, same output).
TEST(StyleTransfer, AutoPrecisionRuns) {
  GstElement* e = make_element(models().two_styles);
  gst_util_set_object_arg(G_OBJECT(e), "precision", "auto");
  g_object_set(e, "threads", 1, nullptr);
  Harness t(e);
  t.set_caps("RGBx", 40, 24);
  auto run = [&]() {
    GstBuffer* out = gst_harness_push_and_pull(t.h, random_buffer(t.info, 6));
    EXPECT_NE(out, nullptr);
    auto b = out ? bytes_of(out) : std::vector<uint8_t>{};
    if (out) gst_buffer_unref(out);
    return b;
  };
  const auto first = run();
  const auto second = run();
  EXPECT_EQ(first, second);
  // Against the Stylizer in fp32 (bf16 rounds: PSNR, not bytes).
  GstBuffer* in = random_buffer(t.info, 6);
  auto expected = bytes_of(in);
  gst_buffer_unref(in);
  neuralart::StylizerOptions o;
  o.runtime.threads = 1;
  neuralart::Stylizer s(models().two_styles, o);
  auto v = view_of(expected, t.info);
  s.process(v, v, neuralart::StyleParams{});
  ASSERT_EQ(expected.size(), first.size());
  double mse = 0;
  for (size_t i = 0; i < first.size(); ++i) {
    const double d = double(first[i]) - double(expected[i]);
    mse += d * d;
  }
  mse /= static_cast<double>(first.size());
  EXPECT_LT(mse, 255.0 * 255.0 / 1000.0) << "more than 30 dB from fp32";
  // A swapped-in model is timed on its first frame too.
  g_object_set(t.h->element, "model", models().invert.c_str(), nullptr);
  GstMessage* msg =
      t.pop(static_cast<GstMessageType>(GST_MESSAGE_INFO | GST_MESSAGE_WARNING),
            60 * GST_SECOND);
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_INFO);
  gst_message_unref(msg);
  GstBuffer* in2 = random_buffer(t.info, 8);
  const auto before = bytes_of(in2);
  GstBuffer* out = gst_harness_push_and_pull(t.h, in2);
  ASSERT_NE(out, nullptr);
  check_frame(before, bytes_of(out), t.info, Expect::Inverted);
  gst_buffer_unref(out);
  EXPECT_EQ(t.pop(GST_MESSAGE_ERROR, 0), nullptr);
}

TEST(StyleTransfer, StrengthZeroIsBitExactPassthrough) {
  GstElement* e = make_element(models().two_styles);
  g_object_set(e, "strength", 0.0, nullptr);
  Harness t(e);
  t.set_caps("RGBA", 31, 17);
  GstBuffer* in = random_buffer(t.info, 3);
  const auto before = bytes_of(in);
  GstBuffer* out = gst_harness_push_and_pull(t.h, in);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(bytes_of(out), before);
  gst_buffer_unref(out);
  // Back on while playing: frames change again.
  g_object_set(t.h->element, "strength", 1.0, nullptr);
  out = gst_harness_push_and_pull(t.h, random_buffer(t.info, 3));
  EXPECT_NE(bytes_of(out), before);
  gst_buffer_unref(out);
}

TEST(StyleTransfer, StyleSwitchWhilePlaying) {
  Harness t(make_element(models().two_styles));
  t.set_caps("RGB", 24, 16);
  auto run = [&]() {
    GstBuffer* out = gst_harness_push_and_pull(t.h, random_buffer(t.info, 4));
    auto b = bytes_of(out);
    gst_buffer_unref(out);
    return b;
  };
  const auto ink = run();
  g_object_set(t.h->element, "style", "1", nullptr);
  const auto fire = run();
  EXPECT_NE(ink, fire);
  g_object_set(t.h->element, "style-mix", "1,0", nullptr);
  EXPECT_EQ(run(), ink);
  g_object_set(t.h->element, "style-mix", "", "style", "ink", nullptr);
  EXPECT_EQ(run(), ink);
  // An unknown style: a warning, and style 0 meanwhile.
  g_object_set(t.h->element, "style", "nope", nullptr);
  EXPECT_EQ(run(), ink);
  GstMessage* msg = t.pop(GST_MESSAGE_WARNING, 0);
  ASSERT_NE(msg, nullptr);
  gst_message_unref(msg);
}

TEST(StyleTransfer, ModelSwapWhilePlaying) {
  Harness t(make_element(models().invert));
  t.set_caps("RGBx", 16, 12);
  auto push = [&](Expect expect) {
    GstBuffer* in = random_buffer(t.info, 8);
    const auto before = bytes_of(in);
    GstBuffer* out = gst_harness_push_and_pull(t.h, in);
    check_frame(before, bytes_of(out), t.info, expect);
    gst_buffer_unref(out);
  };
  push(Expect::Inverted);
  g_object_set(t.h->element, "model", models().identity.c_str(), nullptr);
  GstMessage* msg =
      t.pop(static_cast<GstMessageType>(GST_MESSAGE_INFO | GST_MESSAGE_WARNING),
            60 * GST_SECOND);
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_INFO);
  gst_message_unref(msg);
  push(Expect::Same);
}

TEST(StyleTransfer, SwapToAModelWithFewerStyles) {
  GstElement* e = make_element(models().two_styles);
  g_object_set(e, "style", "1", nullptr);
  Harness t(e);
  t.set_caps("RGB", 16, 12);
  gst_buffer_unref(gst_harness_push_and_pull(t.h, random_buffer(t.info, 1)));
  g_object_set(t.h->element, "model", models().identity.c_str(), nullptr);
  GstMessage* msg =
      t.pop(static_cast<GstMessageType>(GST_MESSAGE_INFO | GST_MESSAGE_WARNING),
            60 * GST_SECOND);
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_INFO);
  gst_message_unref(msg);
  // Style 1 does not exist any more: a warning, then style 0; no error.
  GstBuffer* in = random_buffer(t.info, 2);
  const auto before = bytes_of(in);
  GstBuffer* out = gst_harness_push_and_pull(t.h, in);
  ASSERT_NE(out, nullptr);
  check_frame(before, bytes_of(out), t.info, Expect::Same);
  gst_buffer_unref(out);
  msg = t.pop(GST_MESSAGE_WARNING, 0);
  ASSERT_NE(msg, nullptr);
  gst_message_unref(msg);
  EXPECT_EQ(t.pop(GST_MESSAGE_ERROR, 0), nullptr);
}

TEST(StyleTransfer, BadModelSwapKeepsTheOldOne_n) {
  Harness t(make_element(models().invert));
  t.set_caps("RGB", 16, 12);
  for (const auto* bad :
       {&models().corrupt, &models().missing, &models().wrong_kind}) {
    g_object_set(t.h->element, "model", bad->c_str(), nullptr);
    GstMessage* msg = t.pop(
        static_cast<GstMessageType>(GST_MESSAGE_INFO | GST_MESSAGE_WARNING),
        60 * GST_SECOND);
    ASSERT_NE(msg, nullptr);
    ASSERT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_WARNING);
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_warning(msg, &err, &debug);
    EXPECT_NE(std::string(debug).find(*bad), std::string::npos) << debug;
    g_error_free(err);
    g_free(debug);
    gst_message_unref(msg);
    GstBuffer* in = random_buffer(t.info, 2);
    const auto before = bytes_of(in);
    GstBuffer* out = gst_harness_push_and_pull(t.h, in);
    check_frame(before, bytes_of(out), t.info, Expect::Inverted);
    gst_buffer_unref(out);
  }
}

// Starts a lone element and returns the error it posts (or nullptr).
static GError* start_error(GstElement* e, std::string* debug_out) {
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  EXPECT_EQ(gst_element_set_state(e, GST_STATE_PAUSED),
            GST_STATE_CHANGE_FAILURE);
  GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  GError* err = nullptr;
  if (msg) {
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    *debug_out = debug ? debug : "";
    g_free(debug);
    gst_message_unref(msg);
  }
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);
  gst_object_unref(bus);
  return err;
}

TEST(StyleTransfer, MissingModel_n) {
  std::string debug;
  GError* err = start_error(make_element(models().missing), &debug);
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(
      g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
  EXPECT_NE(std::string(err->message).find(models().missing),
            std::string::npos);
  g_error_free(err);
}

TEST(StyleTransfer, CorruptAndWrongKindModels_n) {
  for (const auto* path : {&models().corrupt, &models().wrong_kind}) {
    std::string debug;
    GError* err = start_error(make_element(*path), &debug);
    ASSERT_NE(err, nullptr);
    EXPECT_TRUE(
        g_error_matches(err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT));
    EXPECT_NE(debug.find(*path), std::string::npos) << debug;
    g_error_free(err);
  }
}

TEST(StyleTransfer, BadSettings_n) {
  GstElement* e = make_element(models().two_styles);
  g_object_set(e, "style", "watercolour", nullptr);
  std::string debug;
  GError* err = start_error(e, &debug);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(debug.find("watercolour"), std::string::npos) << debug;
  g_error_free(err);

  e = make_element(models().invert);
  g_object_set(e, "device", "quantum", nullptr);
  err = start_error(e, &debug);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(debug.find("quantum"), std::string::npos) << debug;
  g_error_free(err);
}

TEST(StyleTransfer, DefaultModelFromModelDir) {
  TempDir dir;
  save_two_styles(dir.file("default-style.bundle"));
  g_setenv("NEURALART_MODEL_DIR", dir.path.c_str(), TRUE);
  {
    Harness t(make_element(""));
    t.set_caps("RGB", 8, 8);
    GstBuffer* out = gst_harness_push_and_pull(t.h, random_buffer(t.info, 1));
    EXPECT_NE(out, nullptr);
    gst_buffer_unref(out);
  }
  g_unsetenv("NEURALART_MODEL_DIR");
}

TEST(StyleTransfer, NoDefaultModel_n) {
  TempDir empty;
  g_setenv("NEURALART_MODEL_DIR", empty.path.c_str(), TRUE);
  try {
    neuralart::default_model_path(neuralart::ModelKind::Style);
    g_unsetenv("NEURALART_MODEL_DIR");
    GTEST_SKIP() << "a default style model is installed";
  } catch (const std::exception&) {
  }
  std::string debug;
  GError* err = start_error(make_element(""), &debug);
  g_unsetenv("NEURALART_MODEL_DIR");
  ASSERT_NE(err, nullptr);
  EXPECT_TRUE(
      g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
  EXPECT_NE(debug.find(empty.path.string()), std::string::npos) << debug;
  g_error_free(err);
}

TEST(StyleTransfer, InferenceFailureIsAStreamError_n) {
  Harness t(make_element(models().fails_at_40));
  t.set_caps("RGB", 32, 40);
  EXPECT_EQ(gst_harness_push(t.h, random_buffer(t.info, 1)), GST_FLOW_ERROR);
  GstMessage* msg = t.pop(GST_MESSAGE_ERROR, 0);
  ASSERT_NE(msg, nullptr);
  GError* err = nullptr;
  gst_message_parse_error(msg, &err, nullptr);
  EXPECT_TRUE(g_error_matches(err, GST_STREAM_ERROR, GST_STREAM_ERROR_FAILED));
  g_error_free(err);
  gst_message_unref(msg);
}

TEST(StyleTransfer, LatencyIncludesTheFrameTime) {
  Harness t(make_element(models().two_styles));
  t.set_caps("RGB", 32, 32);
  gst_buffer_unref(gst_harness_push_and_pull(t.h, random_buffer(t.info, 1)));
  GstQuery* q = gst_query_new_latency();
  ASSERT_TRUE(gst_pad_peer_query(t.h->sinkpad, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  EXPECT_GT(min, 0u);
  gst_query_unref(q);
}

TEST(StyleTransfer, TemporalFlowProperty) {
  GstElement* e = make_element(models().identity);
  auto flow = [&] {
    gint v = -1;
    g_object_get(e, "temporal-flow", &v, nullptr);
    return v;
  };
  EXPECT_EQ(flow(), 0) << "fast by default";
  gst_util_set_object_arg(G_OBJECT(e), "temporal-flow", "fine");
  EXPECT_EQ(flow(), 1);
  gst_util_set_object_arg(G_OBJECT(e), "temporal-flow", "medium");
  EXPECT_EQ(flow(), 1) << "an unknown value leaves the setting alone";
  gst_object_unref(e);
}

class TemporalSmoothingRuns : public ::testing::TestWithParam<const char*> {};

TEST_P(TemporalSmoothingRuns, WithEitherFlow) {
  GstElement* e = make_element(models().identity);
  g_object_set(e, "temporal-smoothing", 1.0, nullptr);
  gst_util_set_object_arg(G_OBJECT(e), "temporal-flow", GetParam());
  Harness t(e);
  t.set_caps("BGRA", 48, 32);
  GstBuffer* first = random_buffer(t.info, 1);
  const auto a = bytes_of(first);
  gst_buffer_unref(gst_harness_push_and_pull(t.h, first));
  // Same input again, full smoothing: the previous output, alpha intact.
  GstBuffer* out = gst_harness_push_and_pull(t.h, random_buffer(t.info, 1));
  const auto b = bytes_of(out);
  gst_buffer_unref(out);
  int worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
  EXPECT_LE(worst, 2);
}

INSTANTIATE_TEST_SUITE_P(StyleTransfer, TemporalSmoothingRuns,
                         ::testing::Values("fast", "fine"));

TEST(StyleTransfer, StateCycling) {
  GstElement* e = make_element(models().medium);
  g_object_set(e, "threads", 1, nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  auto rss_kb = []() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  long after_warmup = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_NE(gst_element_set_state(e, GST_STATE_PLAYING),
              GST_STATE_CHANGE_FAILURE);
    ASSERT_EQ(gst_element_set_state(e, GST_STATE_NULL),
              GST_STATE_CHANGE_SUCCESS);
    if (i == 9) after_warmup = rss_kb();
  }
  // A leak of the model per cycle would be 90 x 1.2 MB of weights.
  EXPECT_LT(rss_kb() - after_warmup, 32 * 1024);
  EXPECT_EQ(gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR), nullptr);
  gst_object_unref(e);
  gst_object_unref(bus);
}

TEST(StyleTransfer, PropertyStressWhileBuffersFlow) {
  Harness t(make_element(models().invert));
  t.set_caps("ABGR", 20, 14);
  GValue style = G_VALUE_INIT, strength = G_VALUE_INIT, model = G_VALUE_INIT,
         scale = G_VALUE_INIT;
  g_value_init(&style, G_TYPE_STRING);
  g_value_set_string(&style, "0");
  g_value_init(&strength, G_TYPE_DOUBLE);
  g_value_set_double(&strength, 1.0);
  g_value_init(&model, G_TYPE_STRING);
  g_value_set_string(&model, models().identity.c_str());
  g_value_init(&scale, G_TYPE_DOUBLE);
  g_value_set_double(&scale, 1.0);
  GstHarnessThread* threads[] = {
      gst_harness_stress_property_start_full(t.h, "style", &style, 100),
      gst_harness_stress_property_start_full(t.h, "strength", &strength, 100),
      gst_harness_stress_property_start_full(t.h, "inference-scale", &scale,
                                             100),
      gst_harness_stress_property_start_full(t.h, "model", &model, 20000),
  };
  int inverted = 0, same = 0;
  // At least 60 frames, and long enough for every stress thread to run.
  const gint64 until = g_get_monotonic_time() + 500 * 1000;
  for (int i = 0; i < 60 || g_get_monotonic_time() < until; ++i) {
    GstBuffer* in = random_buffer(t.info, i);
    const auto before = bytes_of(in);
    GstBuffer* out = gst_harness_push_and_pull(t.h, in);
    ASSERT_NE(out, nullptr);
    const auto after = bytes_of(out);
    gst_buffer_unref(out);
    // Every frame is wholly one model's: inverted or untouched (byte 1 is
    // blue in ABGR).
    const bool is_inverted = after[1] == 255 - before[1];
    check_frame(before, after, t.info,
                is_inverted ? Expect::Inverted : Expect::Same);
    (is_inverted ? inverted : same)++;
  }
  for (auto* th : threads) EXPECT_GT(gst_harness_stress_thread_stop(th), 0u);
  EXPECT_EQ(t.pop(GST_MESSAGE_ERROR, 0), nullptr);
  g_value_unset(&style);
  g_value_unset(&strength);
  g_value_unset(&model);
  g_value_unset(&scale);
}

TEST(StyleTransfer, FlushAndDiscontForgetThePreviousFrame) {
  // Full smoothing holds the previous output where the input did not move.
  // After a flush (a seek) or a DISCONT buffer, the new frame is not the
  // old one's successor: it must come out as itself, not as the old output.
  GstElement* e = make_element(models().invert);
  g_object_set(e, "temporal-smoothing", 1.0, "threads", 1, nullptr);
  Harness t(e);
  t.set_caps("RGBx", 48, 32);
  const auto inverted = bytes_of(random_buffer(t.info, 3));
  auto out_bytes = [&](bool discont) {
    GstBuffer* in = random_buffer(t.info, 3);
    if (discont) GST_BUFFER_FLAG_SET(in, GST_BUFFER_FLAG_DISCONT);
    GstBuffer* out = gst_harness_push_and_pull(t.h, in);
    EXPECT_NE(out, nullptr);
    auto bytes = out ? bytes_of(out) : std::vector<uint8_t>{};
    if (out) gst_buffer_unref(out);
    return bytes;
  };
  // A colour byte's distance from the fully inverted frame (0 = inverted,
  // ~64 = the half blend that strength 0.5 gives on its own).
  auto distance_from_inverted = [&](const std::vector<uint8_t>& out) {
    double sum = 0;
    int n = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      if (i % 4 == 3) continue;  // padding
      sum += std::abs(int(out[i]) - (255 - int(inverted[i])));
      ++n;
    }
    return sum / n;
  };
  EXPECT_LT(distance_from_inverted(out_bytes(false)), 1.0);
  g_object_set(t.h->element, "strength", 0.5, nullptr);
  EXPECT_LT(distance_from_inverted(out_bytes(false)), 3.0)
      << "the premise: smoothing holds the previous output";
  gst_harness_push_event(t.h, gst_event_new_flush_start());
  gst_harness_push_event(t.h, gst_event_new_flush_stop(TRUE));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_harness_push_event(t.h, gst_event_new_segment(&segment));
  EXPECT_GT(distance_from_inverted(out_bytes(false)), 40.0)
      << "after a flush the old frame was blended in";
  // Back to strength 1 under smoothing, then a DISCONT frame at 0.5.
  g_object_set(t.h->element, "strength", 1.0, nullptr);
  out_bytes(true);
  g_object_set(t.h->element, "strength", 0.5, nullptr);
  EXPECT_GT(distance_from_inverted(out_bytes(true)), 40.0)
      << "a DISCONT frame was blended with the one before the gap";
}

TEST(StyleTransfer, RenegotiatesToANewSizeMidStream) {
  GstElement* e = make_element(models().invert);
  g_object_set(e, "temporal-smoothing", 0.5, "threads", 1, nullptr);
  Harness t(e);
  for (const auto& [w, h] : {std::pair{48, 32}, {64, 40}, {17, 9}, {48, 32}}) {
    t.set_caps("BGRx", w, h);
    for (uint32_t seed = 1; seed <= 2; ++seed) {
      GstBuffer* in = random_buffer(t.info, seed + w);
      const auto before = bytes_of(in);
      GstBuffer* out = gst_harness_push_and_pull(t.h, in);
      ASSERT_NE(out, nullptr) << w << "x" << h;
      GstVideoMeta* meta = gst_buffer_get_video_meta(out);
      if (meta) {
        EXPECT_EQ(int(meta->width), w);
        EXPECT_EQ(int(meta->height), h);
      }
      // The first frame at a new size is not blended with the old size's.
      if (seed == 1)
        check_frame(before, bytes_of(out), t.info, Expect::Inverted);
      gst_buffer_unref(out);
    }
  }
  EXPECT_EQ(t.pop(GST_MESSAGE_ERROR, 0), nullptr);
}

namespace {

// videotestsrc ! styletransfer ! fakesink, with a probe on styletransfer's
// output that counts frames and notes the first one after a flush.
struct Pipeline {
  GstElement* pipe = nullptr;
  std::atomic<int> buffers{0};
  // The first frame's timestamp after the last flush (a seek).
  std::atomic<GstClockTime> after_flush{0};
  explicit Pipeline(const std::string& model) {
    const std::string desc =
        "videotestsrc pattern=ball ! video/x-raw,format=BGRx,width=64,"
        "height=48,framerate=30/1 ! styletransfer name=st threads=1 model=" +
        model + " ! fakesink sync=false";
    GError* err = nullptr;
    pipe = gst_parse_launch(desc.c_str(), &err);
    EXPECT_EQ(err, nullptr) << (err ? err->message : "");
    GstElement* st = gst_bin_get_by_name(GST_BIN(pipe), "st");
    GstPad* pad = gst_element_get_static_pad(st, "src");
    gst_pad_add_probe(
        pad,
        GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER |
                        GST_PAD_PROBE_TYPE_EVENT_FLUSH),
        [](GstPad*, GstPadProbeInfo* info, gpointer data) {
          auto* self = static_cast<Pipeline*>(data);
          if (info->type & GST_PAD_PROBE_TYPE_EVENT_FLUSH) {
            if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) ==
                GST_EVENT_FLUSH_STOP)
              self->after_flush = GST_CLOCK_TIME_NONE;
            return GST_PAD_PROBE_OK;
          }
          const GstClockTime pts =
              GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info));
          if (!GST_CLOCK_TIME_IS_VALID(self->after_flush))
            self->after_flush = pts;
          ++self->buffers;
          return GST_PAD_PROBE_OK;
        },
        this, nullptr);
    gst_object_unref(pad);
    gst_object_unref(st);
  }
  ~Pipeline() {
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
  }
  GstStateChangeReturn go(GstState state) {
    gst_element_set_state(pipe, state);
    return gst_element_get_state(pipe, nullptr, nullptr, 20 * GST_SECOND);
  }
  // Waits until `done` holds; false after 20 s.
  template <typename F>
  bool wait_for(F done) {
    for (int i = 0; i < 2000 && !done(); ++i) g_usleep(10 * 1000);
    return done();
  }
  GstMessage* error() {
    GstBus* bus = gst_element_get_bus(pipe);
    GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    return m;
  }
};

}  // namespace

TEST(StyleTransfer, EveryStateChangeWithFramesFlowing) {
  Pipeline p(models().invert);
  // Every transition, up and down, one and several steps at a time.
  const GstState walk[] = {
      GST_STATE_READY,   GST_STATE_PAUSED, GST_STATE_PLAYING, GST_STATE_PAUSED,
      GST_STATE_PLAYING, GST_STATE_READY,  GST_STATE_PLAYING, GST_STATE_NULL,
      GST_STATE_PAUSED,  GST_STATE_NULL,   GST_STATE_PLAYING, GST_STATE_PAUSED,
      GST_STATE_READY,   GST_STATE_NULL};
  for (int round = 0; round < 3; ++round)
    for (GstState s : walk) {
      ASSERT_EQ(p.go(s), GST_STATE_CHANGE_SUCCESS)
          << gst_element_state_get_name(s);
      if (s == GST_STATE_PLAYING) {
        const int seen = p.buffers;
        EXPECT_TRUE(p.wait_for([&] { return p.buffers > seen + 2; }))
            << "no frames in PLAYING";
      }
    }
  EXPECT_EQ(p.error(), nullptr);
}

TEST(StyleTransfer, FlushingSeeksAndEosMidStream) {
  Pipeline p(models().invert);
  ASSERT_EQ(p.go(GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  ASSERT_TRUE(p.wait_for([&] { return p.buffers > 3; }));
  for (gint64 seconds : {5, 1, 30, 0}) {
    const GstClockTime to = seconds * GST_SECOND;
    ASSERT_TRUE(gst_element_seek_simple(
        p.pipe, GST_FORMAT_TIME,
        GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), to));
    // The first frame after the flush is the one at the new position.
    ASSERT_TRUE(p.wait_for([&] {
      return GST_CLOCK_TIME_IS_VALID(GstClockTime(p.after_flush));
    })) << "no frame after a seek to "
        << seconds << " s";
    EXPECT_EQ(GstClockTime(p.after_flush), to);
  }
  // EOS in the middle of the stream: it reaches the sink, nothing hangs.
  element_checks::expect_eos_mid_stream(p.pipe);
  EXPECT_EQ(p.go(GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
}

TEST(StyleTransfer, EveryPropertyRefusesOutOfRangeValues_n) {
  // Numbers below and above each range, NaN for doubles, an enum past its
  // last value: refused, the property unchanged, the warning names it.
  EXPECT_GE(element_checks::expect_ranges_enforced("styletransfer"), 12);
}

int main(int argc, char** argv) {
  // Hermetic registry: only the system plugins and the one just built.
  static TempDir registry_dir;
  g_setenv("GST_REGISTRY", registry_dir.file("registry.bin").c_str(), TRUE);
  g_setenv("GST_PLUGIN_PATH_1_0", NEURALART_PLUGIN_DIR, TRUE);
  g_setenv("GST_PLUGIN_SYSTEM_PATH_1_0", GST_SYSTEM_PLUGIN_DIR, TRUE);
  g_setenv("GST_REGISTRY_FORK", "no", TRUE);
  g_unsetenv("NEURALART_MODEL_DIR");
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

namespace {

// The next INFO or WARNING on the bus (a background swap's outcome).
GstMessageType swap_outcome(Harness& t, std::string* debug_out = nullptr) {
  GstMessage* msg =
      t.pop(static_cast<GstMessageType>(GST_MESSAGE_INFO | GST_MESSAGE_WARNING),
            60 * GST_SECOND);
  EXPECT_NE(msg, nullptr);
  if (!msg) return GST_MESSAGE_UNKNOWN;
  const auto type = GST_MESSAGE_TYPE(msg);
  if (debug_out && type == GST_MESSAGE_WARNING) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_warning(msg, &err, &debug);
    *debug_out = debug ? debug : "";
    g_error_free(err);
    g_free(debug);
  }
  gst_message_unref(msg);
  return type;
}

std::vector<uint8_t> restyled(Harness& t, uint32_t seed = 4) {
  GstBuffer* out = gst_harness_push_and_pull(t.h, random_buffer(t.info, seed));
  EXPECT_NE(out, nullptr);
  auto bytes = bytes_of(out);
  gst_buffer_unref(out);
  return bytes;
}

}  // namespace

TEST(StyleTransfer, StyleImageSwapsWhilePlayingAndIsDeterministic) {
  GstElement* e = make_element(models().universal);
  gst_util_set_object_arg(G_OBJECT(e), "precision", "fp32");
  g_object_set(e, "style-image", models().stripes.c_str(), nullptr);
  Harness t(e);
  t.set_caps("RGB", 24, 16);
  const auto stripes = restyled(t);
  gchar* value = nullptr;
  g_object_get(t.h->element, "style-image", &value, nullptr);
  EXPECT_EQ(std::string(value ? value : ""), models().stripes);
  g_free(value);

  g_object_set(t.h->element, "style-image", models().blots.c_str(), nullptr);
  EXPECT_EQ(swap_outcome(t), GST_MESSAGE_INFO);
  const auto blots = restyled(t);
  EXPECT_NE(blots, stripes);
  // Back to the first painting: the same pixels (encoding is deterministic).
  g_object_set(t.h->element, "style-image", models().stripes.c_str(), nullptr);
  EXPECT_EQ(swap_outcome(t), GST_MESSAGE_INFO);
  EXPECT_EQ(restyled(t), stripes);
  // Mixed with a trained style: between both, neither.
  g_object_set(t.h->element, "style-mix", "0.5,0,0.5", nullptr);
  const auto mixed = restyled(t);
  EXPECT_NE(mixed, stripes);
  g_object_set(t.h->element, "style-mix", "0,0,1", nullptr);
  EXPECT_EQ(restyled(t), stripes);
  // Unset: the model's own style again.
  g_object_set(t.h->element, "style-mix", "", "style-image", nullptr, nullptr);
  EXPECT_EQ(swap_outcome(t), GST_MESSAGE_INFO);
  EXPECT_NE(restyled(t), stripes);
  EXPECT_EQ(t.pop(GST_MESSAGE_ERROR, 0), nullptr);
}

TEST(StyleTransfer, BadStyleImageWhilePlayingKeepsTheStyle_n) {
  GstElement* e = make_element(models().universal);
  gst_util_set_object_arg(G_OBJECT(e), "precision", "fp32");
  g_object_set(e, "style-image", models().stripes.c_str(), nullptr);
  Harness t(e);
  t.set_caps("RGB", 24, 16);
  const auto stripes = restyled(t);
  for (const auto* bad :
       {&models().missing, &models().corrupt, &models().huge}) {
    g_object_set(t.h->element, "style-image", bad->c_str(), nullptr);
    std::string debug;
    ASSERT_EQ(swap_outcome(t, &debug), GST_MESSAGE_WARNING) << *bad;
    EXPECT_NE(debug.find(*bad), std::string::npos) << debug;
    EXPECT_EQ(restyled(t), stripes) << *bad;
  }
  std::string debug;
  g_object_set(t.h->element, "style-image", models().huge.c_str(), nullptr);
  ASSERT_EQ(swap_outcome(t, &debug), GST_MESSAGE_WARNING);
  EXPECT_NE(debug.find("64 MB"), std::string::npos) << debug;
  EXPECT_EQ(t.pop(GST_MESSAGE_ERROR, 0), nullptr);
}

TEST(StyleTransfer, StyleImageNeedsAUniversalModel_n) {
  GstElement* e = make_element(models().two_styles);
  g_object_set(e, "style-image", models().stripes.c_str(), nullptr);
  std::string debug;
  GError* err = start_error(e, &debug);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err->message).find(models().stripes), std::string::npos)
      << err->message;
  EXPECT_NE(debug.find("universal"), std::string::npos) << debug;
  g_error_free(err);
  // While playing: a warning, and the stream goes on.
  Harness t(make_element(models().two_styles));
  t.set_caps("RGB", 24, 16);
  const auto before = restyled(t);
  g_object_set(t.h->element, "style-image", models().stripes.c_str(), nullptr);
  ASSERT_EQ(swap_outcome(t, &debug), GST_MESSAGE_WARNING);
  EXPECT_NE(debug.find("universal"), std::string::npos) << debug;
  EXPECT_EQ(restyled(t), before);
}

TEST(StyleTransfer, ModelSwapKeepsTheStyleImage) {
  GstElement* e = make_element(models().two_styles);
  gst_util_set_object_arg(G_OBJECT(e), "precision", "fp32");
  Harness t(e);
  t.set_caps("RGB", 24, 16);
  // Set before the model can take it: a warning now...
  g_object_set(t.h->element, "style-image", models().stripes.c_str(), nullptr);
  EXPECT_EQ(swap_outcome(t), GST_MESSAGE_WARNING);
  // ...and used once a universal model is swapped in.
  g_object_set(t.h->element, "model", models().universal.c_str(), nullptr);
  EXPECT_EQ(swap_outcome(t), GST_MESSAGE_INFO);  // switched
  EXPECT_EQ(swap_outcome(t), GST_MESSAGE_INFO);  // restyling like
  const auto swapped = restyled(t);
  GstElement* fresh = make_element(models().universal);
  gst_util_set_object_arg(G_OBJECT(fresh), "precision", "fp32");
  g_object_set(fresh, "style-image", models().stripes.c_str(), nullptr);
  Harness u(fresh);
  u.set_caps("RGB", 24, 16);
  EXPECT_EQ(restyled(u), swapped);
}
