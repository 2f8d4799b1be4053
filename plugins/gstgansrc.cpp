/**
 * SECTION:element-gansrc
 * @title: gansrc
 *
 * Plays a trained GAN generator as video: each frame is the generator's
 * image for a latent vector that moves through latent space (a random
 * sample per frame, a smooth walk, a seamless loop, or a fixed sample),
 * optionally as a mosaic of independent walks. The model is a neuralart
 * generator bundle from `neuralart-train gan`, or a TorchScript generator
 * (code: load only from trusted sources).
 *
 * A stylegan bundle (`neuralart-train gan --arch stylegan`) plays in W, the
 * mapping network's space: keyframes are mapped and joined by straight
 * lines, truncation pulls w toward the mean w, and mix-seed / mix-layer
 * give the layers from mix-layer on the styles of a second latent.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 gansrc num-buffers=300 mode=walk ! videoconvert ! \
 *     x264enc ! mp4mux ! filesink location=walk.mp4
 * gst-launch-1.0 gansrc model=stylegan.bundle mix-layer=4 mix-seed=7 ! \
 *     videoconvert ! autovideosink
 * ]|
 */
#include "gstgansrc.h"

#include <c10/util/Exception.h>

#include <torch/torch.h>
#include <memory>
#include <mutex>
#include <string>

#include "gstneuralartelements.h"
#include "neuralart/error.h"
#include "neuralart/frame.h"
#include "neuralart/model_paths.h"
#include "neuralart/runtime/generator.h"

GST_DEBUG_CATEGORY_STATIC(gst_gan_src_debug);
#define GST_CAT_DEFAULT gst_gan_src_debug

#define DEFAULT_MODEL NULL
#define DEFAULT_SEED 0
#define DEFAULT_MODE GST_GAN_SRC_MODE_WALK
#define DEFAULT_WALK_SPEED 0.5
#define DEFAULT_LOOP_FRAMES 150
#define DEFAULT_TRUNCATION 1.0
#define DEFAULT_MIX_SEED 1
#define DEFAULT_MIX_LAYER 0
#define DEFAULT_GRID 1
#define DEFAULT_SCALE_METHOD GST_GAN_SRC_SCALE_BILINEAR
#define DEFAULT_DEVICE "cpu"
#define DEFAULT_THREADS 0
#define DEFAULT_IS_LIVE FALSE

enum {
  PROP_0,
  PROP_MODEL,
  PROP_SEED,
  PROP_MODE,
  PROP_WALK_SPEED,
  PROP_LOOP_FRAMES,
  PROP_TRUNCATION,
  PROP_MIX_SEED,
  PROP_MIX_LAYER,
  PROP_GRID,
  PROP_SCALE_METHOD,
  PROP_DEVICE,
  PROP_THREADS,
  PROP_IS_LIVE,
};

#define GAN_SRC_FORMATS \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR }"

static GstStaticPadTemplate gst_gan_src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-raw, format = (string) " GAN_SRC_FORMATS
                    ", width = (int) [ 1, 8192 ], height = (int) [ 1, 8192 ], "
                    "framerate = (fraction) [ 1/1000, 1000/1 ]"));

/* Settings shared by property setters and the streaming thread. */
struct GanSrcSettings {
  std::string model;
  guint64 seed = DEFAULT_SEED;
  GstGanSrcMode mode = DEFAULT_MODE;
  gdouble walk_speed = DEFAULT_WALK_SPEED;
  guint loop_frames = DEFAULT_LOOP_FRAMES;
  gdouble truncation = DEFAULT_TRUNCATION;
  guint64 mix_seed = DEFAULT_MIX_SEED;
  guint mix_layer = DEFAULT_MIX_LAYER;
  guint grid = DEFAULT_GRID;
  GstGanSrcScaleMethod scale_method = DEFAULT_SCALE_METHOD;
  std::string device = DEFAULT_DEVICE;
  gint threads = DEFAULT_THREADS;
};

struct GstGanSrcPrivate {
  std::mutex lock;
  GanSrcSettings settings;
  /* Per-stream state: built in start()/set_caps(), dropped in stop(). */
  std::unique_ptr<neuralart::Generator> generator;
  GstVideoInfo info;
  gboolean have_info = FALSE;
  gint64 n_frames = 0;
  /* A seek before the caps (so before the frame rate) is known. */
  GstClockTime pending_seek = GST_CLOCK_TIME_NONE;
};

struct _GstGanSrc {
  GstPushSrc parent;
  GstGanSrcPrivate* priv;
};

#define gst_gan_src_parent_class parent_class
G_DEFINE_TYPE(GstGanSrc, gst_gan_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE(gansrc, "gansrc", GST_RANK_NONE, GST_TYPE_GAN_SRC);

#define GST_TYPE_GAN_SRC_MODE (gst_gan_src_mode_get_type())
static GType gst_gan_src_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_GAN_SRC_MODE_RANDOM, "A new random sample every frame", "random"},
      {GST_GAN_SRC_MODE_WALK, "A smooth walk through random keyframes (slerp)",
       "walk"},
      {GST_GAN_SRC_MODE_LOOP, "A seamless loop of loop-frames frames", "loop"},
      {GST_GAN_SRC_MODE_FIXED, "One sample, repeated", "fixed"},
      {0, NULL, NULL}};
  if (!type) type = g_enum_register_static("GstGanSrcMode", values);
  return type;
}

#define GST_TYPE_GAN_SRC_SCALE_METHOD (gst_gan_src_scale_method_get_type())
static GType gst_gan_src_scale_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_GAN_SRC_SCALE_NEAREST, "Nearest neighbour (pixel-art look)",
       "nearest"},
      {GST_GAN_SRC_SCALE_BILINEAR, "Bilinear", "bilinear"},
      {GST_GAN_SRC_SCALE_BICUBIC, "Bicubic", "bicubic"},
      {0, NULL, NULL}};
  if (!type) type = g_enum_register_static("GstGanSrcScaleMethod", values);
  return type;
}

static void gst_gan_src_set_property(GObject* object, guint prop_id,
                                     const GValue* value, GParamSpec* pspec);
static void gst_gan_src_get_property(GObject* object, guint prop_id,
                                     GValue* value, GParamSpec* pspec);
static void gst_gan_src_finalize(GObject* object);
static gboolean gst_gan_src_start(GstBaseSrc* src);
static gboolean gst_gan_src_stop(GstBaseSrc* src);
static GstCaps* gst_gan_src_fixate(GstBaseSrc* src, GstCaps* caps);
static gboolean gst_gan_src_set_caps(GstBaseSrc* src, GstCaps* caps);
static gboolean gst_gan_src_decide_allocation(GstBaseSrc* src, GstQuery* query);
static gboolean gst_gan_src_query(GstBaseSrc* src, GstQuery* query);
static gboolean gst_gan_src_is_seekable(GstBaseSrc* src);
static gboolean gst_gan_src_do_seek(GstBaseSrc* src, GstSegment* segment);
static void gst_gan_src_get_times(GstBaseSrc* src, GstBuffer* buffer,
                                  GstClockTime* start, GstClockTime* end);
static GstFlowReturn gst_gan_src_fill(GstPushSrc* src, GstBuffer* buffer);

static void gst_gan_src_class_init(GstGanSrcClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass* base_class = GST_BASE_SRC_CLASS(klass);
  GstPushSrcClass* push_class = GST_PUSH_SRC_CLASS(klass);

  gobject_class->set_property = gst_gan_src_set_property;
  gobject_class->get_property = gst_gan_src_get_property;
  gobject_class->finalize = gst_gan_src_finalize;

  const auto flags =
      static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto playing = static_cast<GParamFlags>(
      flags | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE);
  const auto ready = static_cast<GParamFlags>(flags | GST_PARAM_MUTABLE_READY);

  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string(
          "model", "Model",
          "Generator to play: a neuralart bundle (.bundle, from "
          "neuralart-train gan) or a TorchScript generator with a "
          "'latent_dim' attribute (TorchScript is code: load only trusted "
          "files). Unset: the default model that ships with neuralart",
          DEFAULT_MODEL, ready));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_uint64("seed", "Seed",
                          "Random seed of the latent path; same model, seed "
                          "and settings give identical frames",
                          0, G_MAXUINT64, DEFAULT_SEED, playing));
  g_object_class_install_property(
      gobject_class, PROP_MODE,
      g_param_spec_enum("mode", "Mode", "How the latent vector moves",
                        GST_TYPE_GAN_SRC_MODE, DEFAULT_MODE, playing));
  g_object_class_install_property(
      gobject_class, PROP_WALK_SPEED,
      g_param_spec_double("walk-speed", "Walk speed",
                          "Keyframes per second in walk mode (larger: "
                          "faster morphing)",
                          0.001, 100.0, DEFAULT_WALK_SPEED, playing));
  g_object_class_install_property(
      gobject_class, PROP_LOOP_FRAMES,
      g_param_spec_uint("loop-frames", "Loop frames",
                        "Frames in one seamless loop (loop mode)", 2, 1000000,
                        DEFAULT_LOOP_FRAMES, playing));
  g_object_class_install_property(
      gobject_class, PROP_TRUNCATION,
      g_param_spec_double("truncation", "Truncation",
                          "Truncation psi: pull latents toward the mean "
                          "(smaller: cleaner, less varied images); stylegan "
                          "models: w toward the mean w",
                          0.0, 2.0, DEFAULT_TRUNCATION, playing));
  g_object_class_install_property(
      gobject_class, PROP_MIX_SEED,
      g_param_spec_uint64("mix-seed", "Mix seed",
                          "Style mixing (stylegan models): seed of the "
                          "second, fixed latent whose styles take over "
                          "from mix-layer on",
                          0, G_MAXUINT64, DEFAULT_MIX_SEED, playing));
  g_object_class_install_property(
      gobject_class, PROP_MIX_LAYER,
      g_param_spec_uint("mix-layer", "Mix layer",
                        "Style mixing (stylegan models): first layer that "
                        "takes mix-seed's styles (0 = no mixing; small: "
                        "coarse shape from mix-seed, large: only fine "
                        "detail; at or past the model's layer count: none)",
                        0, 64, DEFAULT_MIX_LAYER, playing));
  g_object_class_install_property(
      gobject_class, PROP_GRID,
      g_param_spec_uint("grid", "Grid",
                        "Show a GRID x GRID mosaic of independent latent "
                        "paths (1 = a single image)",
                        1, 16, DEFAULT_GRID, ready));
  g_object_class_install_property(
      gobject_class, PROP_SCALE_METHOD,
      g_param_spec_enum("scale-method", "Scale method",
                        "How the generator's native size is scaled to the "
                        "negotiated size",
                        GST_TYPE_GAN_SRC_SCALE_METHOD, DEFAULT_SCALE_METHOD,
                        playing));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device",
                          "Where the generator runs: cpu, cuda or cuda:N",
                          DEFAULT_DEVICE, ready));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads", "CPU threads (0 = all cores)", 0,
                       1024, DEFAULT_THREADS, ready));
  g_object_class_install_property(
      gobject_class, PROP_IS_LIVE,
      g_param_spec_boolean("is-live", "Is live",
                           "Act as a live source (frames paced by the clock)",
                           DEFAULT_IS_LIVE, ready));

  gst_element_class_set_static_metadata(
      element_class, "GAN video source", "Source/Video",
      "Plays a trained GAN generator as video: latent walks, loops and "
      "mosaics (in W, with style mixing, for stylegan models)",
      "neuralart <https://github.com/neuralart/neuralart>");
  gst_element_class_add_static_pad_template(element_class,
                                            &gst_gan_src_template);

  base_class->start = GST_DEBUG_FUNCPTR(gst_gan_src_start);
  base_class->stop = GST_DEBUG_FUNCPTR(gst_gan_src_stop);
  base_class->fixate = GST_DEBUG_FUNCPTR(gst_gan_src_fixate);
  base_class->set_caps = GST_DEBUG_FUNCPTR(gst_gan_src_set_caps);
  base_class->decide_allocation =
      GST_DEBUG_FUNCPTR(gst_gan_src_decide_allocation);
  base_class->query = GST_DEBUG_FUNCPTR(gst_gan_src_query);
  base_class->is_seekable = GST_DEBUG_FUNCPTR(gst_gan_src_is_seekable);
  base_class->do_seek = GST_DEBUG_FUNCPTR(gst_gan_src_do_seek);
  base_class->get_times = GST_DEBUG_FUNCPTR(gst_gan_src_get_times);
  push_class->fill = GST_DEBUG_FUNCPTR(gst_gan_src_fill);

  gst_type_mark_as_plugin_api(GST_TYPE_GAN_SRC_MODE, (GstPluginAPIFlags)0);
  gst_type_mark_as_plugin_api(GST_TYPE_GAN_SRC_SCALE_METHOD,
                              (GstPluginAPIFlags)0);
  GST_DEBUG_CATEGORY_INIT(gst_gan_src_debug, "gansrc", 0,
                          "GAN generator video source");
}

static void gst_gan_src_init(GstGanSrc* self) {
  self->priv = new GstGanSrcPrivate();
  gst_video_info_init(&self->priv->info);
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
  gst_base_src_set_live(GST_BASE_SRC(self), DEFAULT_IS_LIVE);
}

static void gst_gan_src_finalize(GObject* object) {
  GstGanSrc* self = GST_GAN_SRC(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_gan_src_set_property(GObject* object, guint prop_id,
                                     const GValue* value, GParamSpec* pspec) {
  GstGanSrc* self = GST_GAN_SRC(object);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  GanSrcSettings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_MODEL: {
      const gchar* v = g_value_get_string(value);
      s.model = v ? v : "";
      break;
    }
    case PROP_SEED:
      s.seed = g_value_get_uint64(value);
      break;
    case PROP_MODE:
      s.mode = static_cast<GstGanSrcMode>(g_value_get_enum(value));
      break;
    case PROP_WALK_SPEED:
      s.walk_speed = g_value_get_double(value);
      break;
    case PROP_LOOP_FRAMES:
      s.loop_frames = g_value_get_uint(value);
      break;
    case PROP_TRUNCATION:
      s.truncation = g_value_get_double(value);
      break;
    case PROP_MIX_SEED:
      s.mix_seed = g_value_get_uint64(value);
      break;
    case PROP_MIX_LAYER:
      s.mix_layer = g_value_get_uint(value);
      break;
    case PROP_GRID:
      s.grid = g_value_get_uint(value);
      break;
    case PROP_SCALE_METHOD:
      s.scale_method =
          static_cast<GstGanSrcScaleMethod>(g_value_get_enum(value));
      break;
    case PROP_DEVICE: {
      const gchar* v = g_value_get_string(value);
      s.device = v ? v : DEFAULT_DEVICE;
      break;
    }
    case PROP_THREADS:
      s.threads = g_value_get_int(value);
      break;
    case PROP_IS_LIVE:
      gst_base_src_set_live(GST_BASE_SRC(self), g_value_get_boolean(value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_gan_src_get_property(GObject* object, guint prop_id,
                                     GValue* value, GParamSpec* pspec) {
  GstGanSrc* self = GST_GAN_SRC(object);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  const GanSrcSettings& s = self->priv->settings;
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value, s.model.empty() ? NULL : s.model.c_str());
      break;
    case PROP_SEED:
      g_value_set_uint64(value, s.seed);
      break;
    case PROP_MODE:
      g_value_set_enum(value, s.mode);
      break;
    case PROP_WALK_SPEED:
      g_value_set_double(value, s.walk_speed);
      break;
    case PROP_LOOP_FRAMES:
      g_value_set_uint(value, s.loop_frames);
      break;
    case PROP_TRUNCATION:
      g_value_set_double(value, s.truncation);
      break;
    case PROP_MIX_SEED:
      g_value_set_uint64(value, s.mix_seed);
      break;
    case PROP_MIX_LAYER:
      g_value_set_uint(value, s.mix_layer);
      break;
    case PROP_GRID:
      g_value_set_uint(value, s.grid);
      break;
    case PROP_SCALE_METHOD:
      g_value_set_enum(value, s.scale_method);
      break;
    case PROP_DEVICE:
      g_value_set_string(value, s.device.c_str());
      break;
    case PROP_THREADS:
      g_value_set_int(value, s.threads);
      break;
    case PROP_IS_LIVE:
      g_value_set_boolean(value, gst_base_src_is_live(GST_BASE_SRC(self)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

/* Loads and warms up the generator: heavy work belongs here, not in caps
 * negotiation (start() runs before negotiation). */
static gboolean gst_gan_src_start(GstBaseSrc* src) {
  GstGanSrc* self = GST_GAN_SRC(src);
  GanSrcSettings settings;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    settings = self->priv->settings;
  }
  std::string path = settings.model;
  try {
    if (path.empty())
      path = neuralart::default_model_path(neuralart::ModelKind::Generator);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No generator model found"),
                      ("%s", e.what()));
    return FALSE;
  }
  try {
    neuralart::RuntimeOptions options;
    options.device = settings.device;
    options.threads = settings.threads;
    auto generator = std::make_unique<neuralart::Generator>(path, options);
    GST_INFO_OBJECT(
        self, "loaded %s: latent %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " px",
        path.c_str(), generator->latent_dim(), generator->resolution());
    std::lock_guard<std::mutex> guard(self->priv->lock);
    self->priv->generator = std::move(generator);
    self->priv->n_frames = 0;
    self->priv->pending_seek = GST_CLOCK_TIME_NONE;
    self->priv->have_info = FALSE;
  } catch (const neuralart::BundleError& e) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                      ("Cannot load generator model '%s'", path.c_str()),
                      ("%s", e.what()));
    return FALSE;
  } catch (const c10::Error& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT,
                      ("Cannot run generator model '%s'", path.c_str()),
                      ("%s", e.what_without_backtrace()));
    return FALSE;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT,
                      ("Cannot load generator model '%s'", path.c_str()),
                      ("%s", e.what()));
    return FALSE;
  }
  return TRUE;
}

static gboolean gst_gan_src_stop(GstBaseSrc* src) {
  GstGanSrc* self = GST_GAN_SRC(src);
  std::lock_guard<std::mutex> guard(self->priv->lock);
  self->priv->generator.reset();
  self->priv->have_info = FALSE;
  return TRUE;
}

/* Native size (times the grid) and 30/1 when downstream does not care. */
static GstCaps* gst_gan_src_fixate(GstBaseSrc* src, GstCaps* caps) {
  GstGanSrc* self = GST_GAN_SRC(src);
  gint native = 64;
  {
    std::lock_guard<std::mutex> guard(self->priv->lock);
    if (self->priv->generator)
      native = static_cast<gint>(self->priv->generator->resolution() *
                                 self->priv->settings.grid);
  }
  caps = gst_caps_make_writable(caps);
  GstStructure* s = gst_caps_get_structure(caps, 0);
  gst_structure_fixate_field_nearest_int(s, "width", native);
  gst_structure_fixate_field_nearest_int(s, "height", native);
  gst_structure_fixate_field_nearest_fraction(s, "framerate", 30, 1);
  gst_structure_fixate_field(s, "format");
  return GST_BASE_SRC_CLASS(parent_class)->fixate(src, caps);
}

/* The first frame that starts at or after `position`. */
static gint64 first_frame_at(const GstVideoInfo& info, GstClockTime position) {
  if (!GST_CLOCK_TIME_IS_VALID(position) || GST_VIDEO_INFO_FPS_N(&info) <= 0)
    return 0;
  return gst_util_uint64_scale_ceil(position, GST_VIDEO_INFO_FPS_N(&info),
                                    GST_VIDEO_INFO_FPS_D(&info) * GST_SECOND);
}

static gboolean gst_gan_src_set_caps(GstBaseSrc* src, GstCaps* caps) {
  GstGanSrc* self = GST_GAN_SRC(src);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps) ||
      GST_VIDEO_INFO_FPS_N(&info) <= 0) {
    GST_ERROR_OBJECT(self, "unusable caps %" GST_PTR_FORMAT, caps);
    return FALSE;
  }
  std::lock_guard<std::mutex> guard(self->priv->lock);
  self->priv->info = info;
  self->priv->have_info = TRUE;
  if (GST_CLOCK_TIME_IS_VALID(self->priv->pending_seek)) {
    self->priv->n_frames = first_frame_at(info, self->priv->pending_seek);
    self->priv->pending_seek = GST_CLOCK_TIME_NONE;
  }
  return TRUE;
}

static gboolean gst_gan_src_decide_allocation(GstBaseSrc* src,
                                              GstQuery* query) {
  GstCaps* caps = NULL;
  gst_query_parse_allocation(query, &caps, NULL);
  GstVideoInfo info;
  if (!caps || !gst_video_info_from_caps(&info, caps)) return FALSE;
  GstBufferPool* pool = NULL;
  guint size = info.size, min = 0, max = 0;
  const gboolean have_pool = gst_query_get_n_allocation_pools(query) > 0;
  if (have_pool) {
    gst_query_parse_nth_allocation_pool(query, 0, &pool, &size, &min, &max);
    size = MAX(size, (guint)info.size);
  }
  if (!pool) pool = gst_video_buffer_pool_new();
  GstStructure* config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, caps, size, min, max);
  if (gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, NULL))
    gst_buffer_pool_config_add_option(config,
                                      GST_BUFFER_POOL_OPTION_VIDEO_META);
  gst_buffer_pool_set_config(pool, config);
  if (have_pool)
    gst_query_set_nth_allocation_pool(query, 0, pool, size, min, max);
  else
    gst_query_add_allocation_pool(query, pool, size, min, max);
  gst_object_unref(pool);
  return GST_BASE_SRC_CLASS(parent_class)->decide_allocation(src, query);
}

/* Every frame is a function of its index (generate_frame), so any time
 * can be played without replaying what comes before it. A live source plays
 * "now" and cannot seek. */
static gboolean gst_gan_src_is_seekable(GstBaseSrc* src) {
  return !gst_base_src_is_live(src);
}

static gboolean gst_gan_src_do_seek(GstBaseSrc* src, GstSegment* segment) {
  GstGanSrc* self = GST_GAN_SRC(src);
  if (segment->rate < 0) {
    GST_WARNING_OBJECT(self, "reverse playback is not supported");
    return FALSE;
  }
  segment->time = segment->start;
  std::lock_guard<std::mutex> guard(self->priv->lock);
  GST_DEBUG_OBJECT(self, "seek to %" GST_TIME_FORMAT,
                   GST_TIME_ARGS(segment->position));
  if (self->priv->have_info) {
    self->priv->n_frames = first_frame_at(self->priv->info, segment->position);
  } else {
    self->priv->n_frames = 0;
    self->priv->pending_seek = segment->position;
  }
  return TRUE;
}

static gboolean gst_gan_src_query(GstBaseSrc* src, GstQuery* query) {
  GstGanSrc* self = GST_GAN_SRC(src);
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_LATENCY: {
      std::lock_guard<std::mutex> guard(self->priv->lock);
      if (!self->priv->have_info) return FALSE;
      const GstVideoInfo& info = self->priv->info;
      const GstClockTime frame = gst_util_uint64_scale(
          GST_SECOND, GST_VIDEO_INFO_FPS_D(&info), GST_VIDEO_INFO_FPS_N(&info));
      gst_query_set_latency(query, gst_base_src_is_live(src), frame, frame);
      return TRUE;
    }
    case GST_QUERY_DURATION: {
      GstFormat format;
      gst_query_parse_duration(query, &format, NULL);
      std::lock_guard<std::mutex> guard(self->priv->lock);
      if (format != GST_FORMAT_TIME || src->num_buffers < 0 ||
          !self->priv->have_info)
        break;
      const GstVideoInfo& info = self->priv->info;
      gst_query_set_duration(
          query, GST_FORMAT_TIME,
          gst_util_uint64_scale(src->num_buffers * GST_SECOND,
                                GST_VIDEO_INFO_FPS_D(&info),
                                GST_VIDEO_INFO_FPS_N(&info)));
      return TRUE;
    }
    default:
      break;
  }
  return GST_BASE_SRC_CLASS(parent_class)->query(src, query);
}

static void gst_gan_src_get_times(GstBaseSrc* src, GstBuffer* buffer,
                                  GstClockTime* start, GstClockTime* end) {
  /* Live: sync on the clock with the buffer timestamps. */
  if (gst_base_src_is_live(src)) {
    GstClockTime ts = GST_BUFFER_PTS(buffer);
    if (GST_CLOCK_TIME_IS_VALID(ts)) {
      *start = ts;
      GstClockTime d = GST_BUFFER_DURATION(buffer);
      *end = GST_CLOCK_TIME_IS_VALID(d) ? ts + d : GST_CLOCK_TIME_NONE;
      return;
    }
  }
  *start = GST_CLOCK_TIME_NONE;
  *end = GST_CLOCK_TIME_NONE;
}

namespace {

/* Unmaps a video frame on every path out of fill(). */
struct MappedFrame {
  GstVideoFrame frame;
  bool mapped = false;
  ~MappedFrame() {
    if (mapped) gst_video_frame_unmap(&frame);
  }
};

neuralart::PixelFormat to_pixel_format(GstVideoFormat f) {
  return neuralart::pixel_format_from_string(gst_video_format_to_string(f));
}

torch::Tensor scale_to(const torch::Tensor& image, int64_t h, int64_t w,
                       GstGanSrcScaleMethod method) {
  if (image.size(1) == h && image.size(2) == w) return image;
  auto x = image.unsqueeze(0);
  switch (method) {
    case GST_GAN_SRC_SCALE_NEAREST:
      x = torch::upsample_nearest2d(x, {h, w});
      break;
    case GST_GAN_SRC_SCALE_BICUBIC:
      x = torch::upsample_bicubic2d(x, {h, w}, false).clamp(-1, 1);
      break;
    default:
      x = torch::upsample_bilinear2d(x, {h, w}, false);
      break;
  }
  return x.squeeze(0);
}

}  // namespace

static GstFlowReturn gst_gan_src_fill(GstPushSrc* psrc, GstBuffer* buffer) {
  GstGanSrc* self = GST_GAN_SRC(psrc);
  GstGanSrcPrivate* priv = self->priv;
  GanSrcSettings s;
  GstVideoInfo info;
  gint64 n;
  neuralart::Generator* generator;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    if (!priv->have_info || !priv->generator) {
      GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                        ("no caps or no model before the first frame"));
      return GST_FLOW_NOT_NEGOTIATED;
    }
    s = priv->settings;
    info = priv->info;
    n = priv->n_frames;
    generator = priv->generator.get();
  }
  try {
    neuralart::LatentPath path;
    switch (s.mode) {
      case GST_GAN_SRC_MODE_RANDOM:
        path.mode = neuralart::LatentMode::Random;
        break;
      case GST_GAN_SRC_MODE_LOOP:
        path.mode = neuralart::LatentMode::Loop;
        break;
      case GST_GAN_SRC_MODE_FIXED:
        path.mode = neuralart::LatentMode::Fixed;
        break;
      default:
        path.mode = neuralart::LatentMode::Walk;
        break;
    }
    path.seed = s.seed;
    path.keyframes_per_second = s.walk_speed;
    path.loop_frames = s.loop_frames;
    path.fps =
        double(GST_VIDEO_INFO_FPS_N(&info)) / GST_VIDEO_INFO_FPS_D(&info);
    path.cells = int64_t(s.grid) * s.grid;
    path.truncation = s.truncation;
    path.mix_seed = s.mix_seed;
    path.mix_layer = s.mix_layer;
    /* Only the streaming thread calls fill(); the generator lives until
     * stop(), which basesrc runs after the streaming task has ended. */
    auto images = generator->generate_frame(path, n);
    auto picture = neuralart::mosaic(images, s.grid);
    picture = scale_to(picture, GST_VIDEO_INFO_HEIGHT(&info),
                       GST_VIDEO_INFO_WIDTH(&info), s.scale_method);

    MappedFrame mapped;
    if (!gst_video_frame_map(&mapped.frame, &info, buffer, GST_MAP_WRITE)) {
      GST_ELEMENT_ERROR(self, RESOURCE, WRITE, (NULL),
                        ("cannot map output buffer"));
      return GST_FLOW_ERROR;
    }
    mapped.mapped = true;
    neuralart::FrameView view;
    view.data =
        static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&mapped.frame, 0));
    view.width = GST_VIDEO_FRAME_WIDTH(&mapped.frame);
    view.height = GST_VIDEO_FRAME_HEIGHT(&mapped.frame);
    view.stride = GST_VIDEO_FRAME_PLANE_STRIDE(&mapped.frame, 0);
    view.format = to_pixel_format(GST_VIDEO_FRAME_FORMAT(&mapped.frame));
    const auto layout = neuralart::pixel_layout(view.format);
    if (layout.alpha >= 0) {
      /* Opaque alpha (and defined padding bytes). */
      for (int y = 0; y < view.height; ++y) {
        guint8* row = view.data + y * view.stride;
        for (int x = 0; x < view.width; ++x)
          row[x * layout.bytes_per_pixel + layout.alpha] = 0xFF;
      }
    }
    neuralart::tensor_to_frame(picture, neuralart::ValueRange::Signed, view);
  } catch (const c10::Error& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Generator failed"),
                      ("%s", e.what_without_backtrace()));
    return GST_FLOW_ERROR;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Generator failed"),
                      ("%s", e.what()));
    return GST_FLOW_ERROR;
  }

  const gint fps_n = GST_VIDEO_INFO_FPS_N(&info),
             fps_d = GST_VIDEO_INFO_FPS_D(&info);
  const GstClockTime pts = gst_util_uint64_scale(n * GST_SECOND, fps_d, fps_n);
  const GstClockTime next =
      gst_util_uint64_scale((n + 1) * GST_SECOND, fps_d, fps_n);
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buffer) = next - pts;
  GST_BUFFER_OFFSET(buffer) = n;
  GST_BUFFER_OFFSET_END(buffer) = n + 1;
  {
    std::lock_guard<std::mutex> guard(priv->lock);
    priv->n_frames = n + 1;
  }
  return GST_FLOW_OK;
}
