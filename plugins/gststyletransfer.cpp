/**
 * SECTION:element-styletransfer
 * @title: styletransfer
 *
 * Restyles every video frame with a feed-forward style network: a neuralart
 * style bundle (made by `neuralart-train`) or a TorchScript module that
 * follows the style I/O contract (input [N, 3, H, W] RGB in the range given
 * by #GstStyleTransfer:torchscript-range, output in the same range).
 *
 * The model loads and warms up when the element starts; `model` can change
 * while PLAYING: the new model loads off the streaming thread and replaces
 * the old one between two frames, or the old one stays and a warning is
 * posted. Alpha passes through untouched.
 *
 * With a universal style model (`neuralart-train universal`),
 * #GstStyleTransfer:style-image restyles in the manner of any painting, one
 * the model never trained on: the image is read, scaled and encoded once,
 * off the streaming thread, and can change while PLAYING like `model`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240
 * ! \ styletransfer model=candy.bundle strength=0.8 ! videoconvert !
 * autovideosink
 * ]|
 */
#include "gststyletransfer.h"

#include <gst/video/video.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "neuralart/error.h"
#include "neuralart/frame.h"
#include "neuralart/media/image_io.h"
#include "neuralart/media/temporal.h"
#include "neuralart/model_paths.h"
#include "neuralart/runtime/stylizer.h"

GST_DEBUG_CATEGORY_STATIC(gst_style_transfer_debug);
#define GST_CAT_DEFAULT gst_style_transfer_debug

#define DEFAULT_MODEL nullptr
#define DEFAULT_STYLE "0"
#define DEFAULT_STYLE_MIX ""
#define DEFAULT_STYLE_IMAGE nullptr
/* Larger files are refused before decoding (a 16k x 16k JPEG is ~40 MB). */
#define MAX_STYLE_IMAGE_BYTES (64 * 1024 * 1024)
#define DEFAULT_STRENGTH 1.0
#define DEFAULT_DEVICE "cpu"
#define DEFAULT_THREADS 0
#define DEFAULT_PRECISION GST_STYLE_TRANSFER_PRECISION_AUTO
#define DEFAULT_INFERENCE_SCALE 1.0
#define DEFAULT_TEMPORAL_SMOOTHING 0.0
#define DEFAULT_TEMPORAL_FLOW GST_STYLE_TRANSFER_FLOW_FAST
#define DEFAULT_TORCHSCRIPT_RANGE GST_STYLE_TRANSFER_RANGE_BYTE

enum {
  PROP_0,
  PROP_MODEL,
  PROP_STYLE,
  PROP_STYLE_MIX,
  PROP_STYLE_IMAGE,
  PROP_STRENGTH,
  PROP_DEVICE,
  PROP_THREADS,
  PROP_PRECISION,
  PROP_INFERENCE_SCALE,
  PROP_TEMPORAL_SMOOTHING,
  PROP_TEMPORAL_FLOW,
  PROP_TORCHSCRIPT_RANGE,
};

typedef enum {
  GST_STYLE_TRANSFER_PRECISION_FP32,
  GST_STYLE_TRANSFER_PRECISION_BF16,
  GST_STYLE_TRANSFER_PRECISION_FP16,
  GST_STYLE_TRANSFER_PRECISION_AUTO,
} GstStyleTransferPrecision;

typedef enum {
  GST_STYLE_TRANSFER_RANGE_BYTE,
  GST_STYLE_TRANSFER_RANGE_UNIT,
} GstStyleTransferRange;

typedef enum {
  GST_STYLE_TRANSFER_FLOW_FAST,
  GST_STYLE_TRANSFER_FLOW_FINE,
} GstStyleTransferFlow;

#define GST_TYPE_STYLE_TRANSFER_PRECISION \
  (gst_style_transfer_precision_get_type())
static GType gst_style_transfer_precision_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STYLE_TRANSFER_PRECISION_FP32, "32-bit float", "fp32"},
      {GST_STYLE_TRANSFER_PRECISION_BF16,
       "bfloat16 (checked at start: refused where unsupported)", "bf16"},
      {GST_STYLE_TRANSFER_PRECISION_FP16, "16-bit float (CUDA only)", "fp16"},
      {GST_STYLE_TRANSFER_PRECISION_AUTO,
       "the faster of fp32 and bf16 (CPU) or fp16 (CUDA), timed on the "
       "first frame",
       "auto"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstStyleTransferPrecision", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

#define GST_TYPE_STYLE_TRANSFER_RANGE (gst_style_transfer_range_get_type())
static GType gst_style_transfer_range_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STYLE_TRANSFER_RANGE_BYTE, "RGB values in [0, 255]", "0-255"},
      {GST_STYLE_TRANSFER_RANGE_UNIT, "RGB values in [0, 1]", "0-1"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstStyleTransferRange", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

#define GST_TYPE_STYLE_TRANSFER_FLOW (gst_style_transfer_flow_get_type())
static GType gst_style_transfer_flow_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_STYLE_TRANSFER_FLOW_FAST, "coarse motion, cheapest (live video)",
       "fast"},
      {GST_STYLE_TRANSFER_FLOW_FINE,
       "motion at twice the resolution: about twice the flow's cost, less "
       "flicker at the same temporal-smoothing (recorded video)",
       "fine"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstStyleTransferFlow", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

#define VIDEO_FORMATS \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(VIDEO_FORMATS)));

/* C++ state: settings shared with property setters, and per-stream state
 * built in start()/set_info() and dropped in stop(). */
struct GstStyleTransferPrivate {
  std::mutex lock;  // guards everything below but the atomics
  // Settings (properties).
  std::string model;  // empty: the shipped default
  std::string style = DEFAULT_STYLE;
  std::string style_mix = DEFAULT_STYLE_MIX;
  std::string style_image;  // empty: none
  double strength = DEFAULT_STRENGTH;
  std::string device = DEFAULT_DEVICE;
  int threads = DEFAULT_THREADS;
  GstStyleTransferPrecision precision = DEFAULT_PRECISION;
  double inference_scale = DEFAULT_INFERENCE_SCALE;
  double temporal_smoothing = DEFAULT_TEMPORAL_SMOOTHING;
  GstStyleTransferFlow temporal_flow = DEFAULT_TEMPORAL_FLOW;
  GstStyleTransferRange torchscript_range = DEFAULT_TORCHSCRIPT_RANGE;
  // Stream state.
  std::shared_ptr<neuralart::Stylizer> stylizer;
  neuralart::StyleParams params;  // style and mix resolved for the model
  std::unique_ptr<neuralart::TemporalSmoother> smoother;
  neuralart::PixelFormat format = neuralart::PixelFormat::RGB;
  std::thread loader;  // a model or style-image swap in progress
  std::atomic<bool> params_dirty{true};
  std::atomic<bool> discontinuity{false};  // a flush: forget the last frame
  std::atomic<uint64_t> frame_ns{0};       // measured time per frame (EMA)
  std::atomic<uint64_t> reported_ns{0};    // what the last latency message said
  std::atomic<bool> auto_logged{true};     // precision auto's choice logged
  uint64_t frames = 0;                     // processed since start (streaming)
};

struct _GstStyleTransfer {
  GstVideoFilter parent;
  GstStyleTransferPrivate* priv;
};

#define gst_style_transfer_parent_class parent_class
G_DEFINE_TYPE(GstStyleTransfer, gst_style_transfer, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(styletransfer, "styletransfer", GST_RANK_NONE,
                            GST_TYPE_STYLE_TRANSFER);

static void gst_style_transfer_set_property(GObject* object, guint prop_id,
                                            const GValue* value,
                                            GParamSpec* pspec);
static void gst_style_transfer_get_property(GObject* object, guint prop_id,
                                            GValue* value, GParamSpec* pspec);
static void gst_style_transfer_finalize(GObject* object);
static gboolean gst_style_transfer_start(GstBaseTransform* trans);
static gboolean gst_style_transfer_stop(GstBaseTransform* trans);
static gboolean gst_style_transfer_sink_event(GstBaseTransform* trans,
                                              GstEvent* event);
static gboolean gst_style_transfer_query(GstBaseTransform* trans,
                                         GstPadDirection direction,
                                         GstQuery* query);
/* After a flush (a flushing seek), the next frame is not the successor of
 * the last one: temporal smoothing must not blend them. */
static gboolean gst_style_transfer_sink_event(GstBaseTransform* trans,
                                              GstEvent* event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP)
    GST_STYLE_TRANSFER(trans)->priv->discontinuity = true;
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static void gst_style_transfer_before_transform(GstBaseTransform* trans,
                                                GstBuffer* buffer);
static gboolean gst_style_transfer_set_info(GstVideoFilter* filter,
                                            GstCaps* incaps,
                                            GstVideoInfo* in_info,
                                            GstCaps* outcaps,
                                            GstVideoInfo* out_info);
static GstFlowReturn gst_style_transfer_transform_frame_ip(
    GstVideoFilter* filter, GstVideoFrame* frame);

static void gst_style_transfer_class_init(GstStyleTransferClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  auto* filter_class = GST_VIDEO_FILTER_CLASS(klass);

  gobject_class->set_property = gst_style_transfer_set_property;
  gobject_class->get_property = gst_style_transfer_get_property;
  gobject_class->finalize = gst_style_transfer_finalize;

  const auto playing = static_cast<GParamFlags>(
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  const auto controllable =
      static_cast<GParamFlags>(playing | GST_PARAM_CONTROLLABLE);
  const auto ready = static_cast<GParamFlags>(
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string(
          "model", "Model",
          "Style model: a neuralart style bundle (neuralart-train) or a "
          "TorchScript module (input/output [N,3,H,W] RGB, see "
          "torchscript-range). A bundle is data; a TorchScript file is code "
          "and runs with this process's rights: load only trusted ones "
          "(docs/security.md). Unset: default-style.bundle from "
          "$NEURALART_MODEL_DIR, the installed share/neuralart/models or the "
          "source tree. Changing it while PLAYING loads the new model in the "
          "background and swaps it in; on failure the old model stays and a "
          "warning is posted",
          DEFAULT_MODEL, playing));
  g_object_class_install_property(
      gobject_class, PROP_STYLE,
      g_param_spec_string(
          "style", "Style",
          "Style of a multi-style model, by name or by index (0 = first); "
          "used when style-mix is empty",
          DEFAULT_STYLE, playing));
  g_object_class_install_property(
      gobject_class, PROP_STYLE_MIX,
      g_param_spec_string(
          "style-mix", "Style mix",
          "Blend of the styles of a multi-style model: one weight >= 0 per "
          "style, comma-separated (e.g. \"0.3,0.7\"), normalised to sum 1. "
          "Empty: use the style property",
          DEFAULT_STYLE_MIX, playing));
  g_object_class_install_property(
      gobject_class, PROP_STYLE_IMAGE,
      g_param_spec_string(
          "style-image", "Style image",
          "A painting (image file) to restyle like, with a universal style "
          "model (neuralart-train universal): read, scaled and encoded once, "
          "off the streaming thread; it becomes the model's last style and "
          "is used unless style-mix is set (whose last weight is then the "
          "image's, the others the model's trained paintings). Changing it "
          "while PLAYING swaps it in between two frames; a missing, "
          "unreadable or too large (over 64 MB) file, or a model that is "
          "not universal, posts a warning and keeps the current style "
          "(at start: an error). Unset: no style image",
          DEFAULT_STYLE_IMAGE, playing));
  g_object_class_install_property(
      gobject_class, PROP_STRENGTH,
      g_param_spec_double(
          "strength", "Strength",
          "Blend of the stylised frame with the original: 0 passes frames "
          "through untouched without running the network, 1 is fully "
          "stylised",
          0.0, 1.0, DEFAULT_STRENGTH, controllable));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string("device", "Device",
                          "Where the network runs: cpu, cuda or cuda:N "
                          "(CUDA needs a CUDA build of LibTorch)",
                          DEFAULT_DEVICE, ready));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_int("threads", "Threads",
                       "CPU threads for the network (0 = all cores)", 0, 1024,
                       DEFAULT_THREADS, ready));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum(
          "precision", "Precision",
          "Arithmetic of the network. auto (default): on the first frame (and "
          "the first after a model swap), time four forward passes each at "
          "that frame's size in fp32 and in bf16 (CPUs with AVX512-BF16 or "
          "AMX) or fp16 (CUDA) and keep the faster; fp32 untimed on other "
          "CPUs. fp32; bf16 (refused on CPUs without AVX512-BF16/AMX); fp16 "
          "(CUDA only)",
          GST_TYPE_STYLE_TRANSFER_PRECISION, DEFAULT_PRECISION, ready));
  g_object_class_install_property(
      gobject_class, PROP_INFERENCE_SCALE,
      g_param_spec_double(
          "inference-scale", "Inference scale",
          "Run the network on the frame scaled by this factor and upsample "
          "the result: lower is faster and coarser (1 = full resolution)",
          0.05, 1.0, DEFAULT_INFERENCE_SCALE, controllable));
  g_object_class_install_property(
      gobject_class, PROP_TEMPORAL_SMOOTHING,
      g_param_spec_double(
          "temporal-smoothing", "Temporal smoothing",
          "Less flicker: blend in the previous stylised frame, warped by the "
          "optical flow of the input (OpenCV DIS), where the flow passes a "
          "forward-backward occlusion check. 0 = off, 1 = strongest",
          0.0, 1.0, DEFAULT_TEMPORAL_SMOOTHING, controllable));
  g_object_class_install_property(
      gobject_class, PROP_TEMPORAL_FLOW,
      g_param_spec_enum(
          "temporal-flow", "Temporal smoothing flow",
          "How finely temporal-smoothing estimates motion: fast for live "
          "video; fine for recorded video (with temporal-smoothing=0.8 the "
          "least flicker, docs/elements.md)",
          GST_TYPE_STYLE_TRANSFER_FLOW, DEFAULT_TEMPORAL_FLOW, playing));
  g_object_class_install_property(
      gobject_class, PROP_TORCHSCRIPT_RANGE,
      g_param_spec_enum("torchscript-range", "TorchScript value range",
                        "Value range of RGB input and output of a TorchScript "
                        "model (bundles carry their own)",
                        GST_TYPE_STYLE_TRANSFER_RANGE,
                        DEFAULT_TORCHSCRIPT_RANGE, ready));

  gst_element_class_set_static_metadata(
      element_class, "Neural style transfer", "Filter/Effect/Video",
      "Restyles video frames with a feed-forward style network (LibTorch)",
      "neuralart <https://github.com/neuralart/neuralart>");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR(gst_style_transfer_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_style_transfer_stop);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_style_transfer_query);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_style_transfer_sink_event);
  trans_class->before_transform =
      GST_DEBUG_FUNCPTR(gst_style_transfer_before_transform);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_style_transfer_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR(gst_style_transfer_transform_frame_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_STYLE_TRANSFER_PRECISION,
                              static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_STYLE_TRANSFER_RANGE,
                              static_cast<GstPluginAPIFlags>(0));
  GST_DEBUG_CATEGORY_INIT(gst_style_transfer_debug, "styletransfer", 0,
                          "neural style transfer");
}

static void gst_style_transfer_init(GstStyleTransfer* self) {
  self->priv = new GstStyleTransferPrivate();
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}

static void join_loader(GstStyleTransferPrivate* priv) {
  std::thread loader;
  {
    std::lock_guard<std::mutex> lock(priv->lock);
    loader = std::move(priv->loader);
  }
  if (loader.joinable()) loader.join();
}

static void gst_style_transfer_finalize(GObject* object) {
  auto* self = GST_STYLE_TRANSFER(object);
  join_loader(self->priv);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static neuralart::Precision to_precision(GstStyleTransferPrecision p) {
  switch (p) {
    case GST_STYLE_TRANSFER_PRECISION_BF16:
      return neuralart::Precision::BF16;
    case GST_STYLE_TRANSFER_PRECISION_FP16:
      return neuralart::Precision::FP16;
    case GST_STYLE_TRANSFER_PRECISION_AUTO:
      return neuralart::Precision::AUTO;
    default:
      return neuralart::Precision::FP32;
  }
}

/* Reads `path` and makes it the style image of `stylizer` (empty: none),
 * on the calling thread. Throws with the file named. */
static void apply_style_image(neuralart::Stylizer& stylizer,
                              const std::string& path) {
  if (path.empty()) {
    if (stylizer.info().style_image_index >= 0)
      stylizer.set_style_image(torch::Tensor(), "");
    return;
  }
  const auto info = stylizer.info();
  if (!info.universal)
    throw neuralart::InvalidArgument(
        "style-image needs a universal style model (neuralart-train "
        "universal); " +
        info.path + " is not one");
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec) throw neuralart::Error("style image " + path + ": " + ec.message());
  if (bytes > MAX_STYLE_IMAGE_BYTES)
    throw neuralart::Error("style image " + path + " is " +
                           std::to_string(bytes >> 20) +
                           " MB, over the 64 MB limit: scale it down");
  const auto painting =
      neuralart::load_image_tensor(path, static_cast<int>(info.style_size));
  stylizer.set_style_image(painting,
                           std::filesystem::path(path).stem().string());
}

/* Runs `job` on the running stylizer off the streaming thread, after any
 * job still running; the streaming thread keeps the old model until the
 * job swaps. stop() and finalize join the thread, so it needs no
 * reference. Without a stylizer (not started) start() does the work. */
template <typename Job>
static void start_background(GstStyleTransfer* self, Job job) {
  auto* priv = self->priv;
  std::thread previous;
  std::shared_ptr<neuralart::Stylizer> stylizer;
  {
    std::lock_guard<std::mutex> lock(priv->lock);
    stylizer = priv->stylizer;
    previous = std::move(priv->loader);
  }
  if (previous.joinable()) {
    /* Set from a bus sync handler of the loader's own warning. */
    if (previous.get_id() == std::this_thread::get_id())
      previous.detach();
    else
      previous.join();
  }
  if (!stylizer) return;
  std::thread loader([stylizer, job]() { job(*stylizer); });
  std::lock_guard<std::mutex> lock(priv->lock);
  priv->loader = std::move(loader);
}

/* Posts a warning when the style image cannot be used; the style stays. */
static void apply_style_image_or_warn(GstStyleTransfer* self,
                                      neuralart::Stylizer& stylizer,
                                      const std::string& path) {
  try {
    apply_style_image(stylizer, path);
    self->priv->params_dirty = true;
    if (path.empty())
      GST_ELEMENT_INFO(self, RESOURCE, OPEN_READ,
                       ("No style image: the model's own styles again."),
                       (nullptr));
    else
      GST_ELEMENT_INFO(self, RESOURCE, OPEN_READ,
                       ("Restyling like \"%s\".", path.c_str()), (nullptr));
  } catch (const std::exception& e) {
    GST_ELEMENT_WARNING(self, RESOURCE, READ,
                        ("Could not use style image \"%s\"; keeping the "
                         "current style.",
                         path.c_str()),
                        ("%s", e.what()));
  }
}

/* Loads `path` (empty: the default model) into the running stylizer off
 * the streaming thread, then the style image again, if any. */
static void start_model_swap(GstStyleTransfer* self, const std::string& path) {
  GST_INFO_OBJECT(self, "loading model \"%s\" in the background", path.c_str());
  start_background(self, [self, path](neuralart::Stylizer& stylizer) {
    std::string file = path;
    try {
      if (file.empty())
        file = neuralart::default_model_path(neuralart::ModelKind::Style);
      stylizer.load_model(file);
      self->priv->params_dirty = true;
      /* precision auto times the new model on its first frame. */
      if (stylizer.options().runtime.precision == neuralart::Precision::AUTO)
        self->priv->auto_logged = false;
      GST_ELEMENT_INFO(self, RESOURCE, OPEN_READ,
                       ("Switched to style model \"%s\".", file.c_str()),
                       (nullptr));
    } catch (const std::exception& e) {
      GST_ELEMENT_WARNING(
          self, RESOURCE, NOT_FOUND,
          ("Could not switch to style model \"%s\"; keeping \"%s\".",
           file.c_str(), stylizer.info().path.c_str()),
          ("%s", e.what()));
      return;
    }
    std::string image;
    {
      std::lock_guard<std::mutex> lock(self->priv->lock);
      image = self->priv->style_image;
    }
    if (!image.empty()) apply_style_image_or_warn(self, stylizer, image);
  });
}

static void gst_style_transfer_set_property(GObject* object, guint prop_id,
                                            const GValue* value,
                                            GParamSpec* pspec) {
  auto* self = GST_STYLE_TRANSFER(object);
  auto* priv = self->priv;
  auto string_of = [value]() {
    const gchar* s = g_value_get_string(value);
    return std::string(s ? s : "");
  };
  switch (prop_id) {
    case PROP_MODEL: {
      const auto path = string_of();
      {
        std::lock_guard<std::mutex> lock(priv->lock);
        priv->model = path;
      }
      start_model_swap(self, path);
      break;
    }
    case PROP_STYLE: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->style = string_of();
      if (priv->style.empty()) priv->style = DEFAULT_STYLE;
      priv->params_dirty = true;
      break;
    }
    case PROP_STYLE_MIX: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->style_mix = string_of();
      priv->params_dirty = true;
      break;
    }
    case PROP_STYLE_IMAGE: {
      const auto path = string_of();
      {
        std::lock_guard<std::mutex> lock(priv->lock);
        priv->style_image = path;
      }
      start_background(self, [self, path](neuralart::Stylizer& stylizer) {
        apply_style_image_or_warn(self, stylizer, path);
      });
      break;
    }
    case PROP_STRENGTH: {
      double strength;
      {
        std::lock_guard<std::mutex> lock(priv->lock);
        strength = priv->strength = g_value_get_double(value);
      }
      /* 0 is a passthrough: buffers are not even made writable. */
      gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self),
                                         strength == 0.0);
      break;
    }
    case PROP_DEVICE: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->device = string_of();
      break;
    }
    case PROP_THREADS: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->threads = g_value_get_int(value);
      break;
    }
    case PROP_PRECISION: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->precision =
          static_cast<GstStyleTransferPrecision>(g_value_get_enum(value));
      break;
    }
    case PROP_INFERENCE_SCALE: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->inference_scale = g_value_get_double(value);
      break;
    }
    case PROP_TEMPORAL_SMOOTHING: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->temporal_smoothing = g_value_get_double(value);
      break;
    }
    case PROP_TEMPORAL_FLOW: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->temporal_flow =
          static_cast<GstStyleTransferFlow>(g_value_get_enum(value));
      break;
    }
    case PROP_TORCHSCRIPT_RANGE: {
      std::lock_guard<std::mutex> lock(priv->lock);
      priv->torchscript_range =
          static_cast<GstStyleTransferRange>(g_value_get_enum(value));
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

static void gst_style_transfer_get_property(GObject* object, guint prop_id,
                                            GValue* value, GParamSpec* pspec) {
  auto* self = GST_STYLE_TRANSFER(object);
  auto* priv = self->priv;
  std::lock_guard<std::mutex> lock(priv->lock);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string(value,
                         priv->model.empty() ? nullptr : priv->model.c_str());
      break;
    case PROP_STYLE:
      g_value_set_string(value, priv->style.c_str());
      break;
    case PROP_STYLE_MIX:
      g_value_set_string(value, priv->style_mix.c_str());
      break;
    case PROP_STYLE_IMAGE:
      g_value_set_string(value, priv->style_image.empty()
                                    ? nullptr
                                    : priv->style_image.c_str());
      break;
    case PROP_STRENGTH:
      g_value_set_double(value, priv->strength);
      break;
    case PROP_DEVICE:
      g_value_set_string(value, priv->device.c_str());
      break;
    case PROP_THREADS:
      g_value_set_int(value, priv->threads);
      break;
    case PROP_PRECISION:
      g_value_set_enum(value, priv->precision);
      break;
    case PROP_INFERENCE_SCALE:
      g_value_set_double(value, priv->inference_scale);
      break;
    case PROP_TEMPORAL_SMOOTHING:
      g_value_set_double(value, priv->temporal_smoothing);
      break;
    case PROP_TEMPORAL_FLOW:
      g_value_set_enum(value, priv->temporal_flow);
      break;
    case PROP_TORCHSCRIPT_RANGE:
      g_value_set_enum(value, priv->torchscript_range);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

/* style and style-mix -> parameters for the current model. Caller holds
 * priv->lock. Throws neuralart::InvalidArgument. */
static neuralart::StyleParams resolve_params(GstStyleTransferPrivate* priv) {
  neuralart::StyleParams p;
  if (!priv->style_mix.empty()) {
    p.mix = neuralart::parse_style_mix(priv->style_mix);
  } else {
    /* A style image in use is the last style, and the one restyled with. */
    const auto image = priv->stylizer->info().style_image_index;
    p.style = image >= 0 ? image : priv->stylizer->style_index(priv->style);
  }
  priv->stylizer->validate(p);
  return p;
}

static gboolean gst_style_transfer_start(GstBaseTransform* trans) {
  auto* self = GST_STYLE_TRANSFER(trans);
  auto* priv = self->priv;
  std::string path, style_image;
  neuralart::StylizerOptions options;
  {
    std::lock_guard<std::mutex> lock(priv->lock);
    path = priv->model;
    style_image = priv->style_image;
    options.runtime.device = priv->device;
    options.runtime.threads = priv->threads;
    options.runtime.precision = to_precision(priv->precision);
    options.torchscript_range =
        priv->torchscript_range == GST_STYLE_TRANSFER_RANGE_UNIT
            ? neuralart::ValueRange::Unit
            : neuralart::ValueRange::Byte;
  }
  if (path.empty()) {
    try {
      path = neuralart::default_model_path(neuralart::ModelKind::Style);
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                        ("No style model: the model property is not set and "
                         "no default style model is installed."),
                        ("%s", e.what()));
      return FALSE;
    }
  }
  std::shared_ptr<neuralart::Stylizer> stylizer;
  try {
    stylizer = std::make_shared<neuralart::Stylizer>(path, options);
  } catch (const std::exception& e) {
    if (!std::filesystem::exists(path)) {
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                        ("Style model \"%s\" not found.", path.c_str()),
                        ("%s", e.what()));
    } else {
      GST_ELEMENT_ERROR(self, LIBRARY, INIT,
                        ("Could not load style model \"%s\".", path.c_str()),
                        ("%s", e.what()));
    }
    return FALSE;
  }
  if (!style_image.empty()) {
    try {
      apply_style_image(*stylizer, style_image);
    } catch (const std::exception& e) {
      GST_ELEMENT_ERROR(
          self, RESOURCE, READ,
          ("Could not use style image \"%s\".", style_image.c_str()),
          ("%s", e.what()));
      return FALSE;
    }
  }
  const auto info = stylizer->info();
  GST_INFO_OBJECT(self,
                  "loaded %s (%s, %" G_GINT64_FORMAT
                  " style(s)); precision %s; warm-up frame %.1f ms",
                  path.c_str(), info.torchscript ? "TorchScript" : "bundle",
                  info.num_styles, neuralart::to_string(info.precision).c_str(),
                  info.warmup_ms);
  for (const auto& op : info.fp32_ops)
    GST_INFO_OBJECT(self, "%s runs in fp32 (no bf16 kernel in this LibTorch)",
                    op.c_str());
  std::lock_guard<std::mutex> lock(priv->lock);
  priv->stylizer = stylizer;
  try {
    priv->params = resolve_params(priv);
  } catch (const std::exception& e) {
    priv->stylizer.reset();
    GST_ELEMENT_ERROR(
        self, LIBRARY, SETTINGS,
        ("Invalid style settings for model \"%s\".", path.c_str()),
        ("%s", e.what()));
    return FALSE;
  }
  priv->params_dirty = false;
  priv->smoother = std::make_unique<neuralart::TemporalSmoother>();
  priv->frame_ns = static_cast<uint64_t>(info.warmup_ms * 1e6);
  priv->reported_ns = priv->frame_ns.load();
  priv->frames = 0;
  priv->auto_logged = options.runtime.precision != neuralart::Precision::AUTO;
  return TRUE;
}

static gboolean gst_style_transfer_stop(GstBaseTransform* trans) {
  auto* priv = GST_STYLE_TRANSFER(trans)->priv;
  join_loader(priv);
  std::lock_guard<std::mutex> lock(priv->lock);
  priv->stylizer.reset();
  priv->smoother.reset();
  priv->params_dirty = true;
  return TRUE;
}

/* Adds the measured time per frame to upstream's latency. */
static gboolean gst_style_transfer_query(GstBaseTransform* trans,
                                         GstPadDirection direction,
                                         GstQuery* query) {
  auto* self = GST_STYLE_TRANSFER(trans);
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    if (!gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(trans), query))
      return FALSE;
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    const GstClockTime ours = self->priv->frame_ns.load();
    GST_DEBUG_OBJECT(
        self, "upstream latency %" GST_TIME_FORMAT ", ours %" GST_TIME_FORMAT,
        GST_TIME_ARGS(min), GST_TIME_ARGS(ours));
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
    gst_query_set_latency(query, live, min, max);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query);
}

static void gst_style_transfer_before_transform(GstBaseTransform* trans,
                                                GstBuffer* buffer) {
  const GstClockTime ts = gst_segment_to_stream_time(
      &trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  if (GST_CLOCK_TIME_IS_VALID(ts))
    gst_object_sync_values(GST_OBJECT(trans), ts);
}

static gboolean gst_style_transfer_set_info(GstVideoFilter* filter,
                                            GstCaps* incaps,
                                            GstVideoInfo* in_info,
                                            GstCaps* outcaps,
                                            GstVideoInfo* out_info) {
  auto* self = GST_STYLE_TRANSFER(filter);
  const gchar* name =
      gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(in_info));
  try {
    const auto format = neuralart::pixel_format_from_string(name ? name : "");
    std::lock_guard<std::mutex> lock(self->priv->lock);
    self->priv->format = format;
    if (self->priv->smoother) self->priv->smoother->reset();
  } catch (const std::exception& e) {
    GST_ERROR_OBJECT(self, "unsupported format: %s", e.what());
    return FALSE;
  }
  return TRUE;
}

/* After a change of measured frame time, lets the pipeline re-query. */
static void maybe_post_latency(GstStyleTransfer* self, uint64_t ns) {
  auto* priv = self->priv;
  const uint64_t reported = priv->reported_ns.load();
  const uint64_t diff = ns > reported ? ns - reported : reported - ns;
  if (diff * 2 > reported && diff > GST_MSECOND) {
    priv->reported_ns = ns;
    gst_element_post_message(GST_ELEMENT(self),
                             gst_message_new_latency(GST_OBJECT(self)));
  }
}

/* Once precision auto has chosen for the current model (on the frame just
 * processed), logs the choice and returns the chosen forward pass's time
 * in ns; 0 otherwise. */
static uint64_t log_auto_precision(GstStyleTransfer* self,
                                   const neuralart::Stylizer& stylizer) {
  if (self->priv->auto_logged.load()) return 0;
  const auto info = stylizer.info();
  if (info.precision == neuralart::Precision::AUTO) return 0;
  self->priv->auto_logged = true;
  const auto& c = info.auto_choice;
  if (c.fp32_ms <= 0.0) {
    GST_INFO_OBJECT(self, "precision auto: %s (%s)",
                    neuralart::to_string(info.precision).c_str(),
                    c.note.c_str());
    return 0;
  }
  GST_INFO_OBJECT(self,
                  "precision auto: %s; forward pass at %" G_GINT64_FORMAT
                  "x%" G_GINT64_FORMAT " in fp32 %.2f ms, in %s %.2f ms%s%s",
                  neuralart::to_string(info.precision).c_str(), c.width,
                  c.height, c.fp32_ms,
                  neuralart::to_string(c.candidate).c_str(), c.candidate_ms,
                  c.note.empty() ? "" : "; ", c.note.c_str());
  const double ms =
      info.precision == neuralart::Precision::FP32 ? c.fp32_ms : c.candidate_ms;
  return static_cast<uint64_t>(ms * 1e6);
}

static GstFlowReturn gst_style_transfer_transform_frame_ip(
    GstVideoFilter* filter, GstVideoFrame* frame) {
  auto* self = GST_STYLE_TRANSFER(filter);
  auto* priv = self->priv;
  /* Passthrough maps the frame read-only: nothing to do. The smoother is
   * only touched here and in stop() (after streaming). */
  /* A seek or a gap (DISCONT buffer): the previous frame is not this one's
   * predecessor, so smoothing starts over. */
  const bool discont = priv->discontinuity.exchange(false) ||
                       GST_BUFFER_IS_DISCONT(frame->buffer);
  if (discont && priv->smoother) priv->smoother->reset();
  if (gst_base_transform_is_passthrough(GST_BASE_TRANSFORM(filter))) {
    if (priv->smoother) priv->smoother->reset();
    return GST_FLOW_OK;
  }

  std::shared_ptr<neuralart::Stylizer> stylizer;
  neuralart::StyleParams params;
  double smoothing = 0.0;
  auto flow = neuralart::SmootherFlow::kFast;
  std::string settings_problem;
  neuralart::TemporalSmoother* smoother = nullptr;
  neuralart::FrameView view;
  {
    std::lock_guard<std::mutex> lock(priv->lock);
    stylizer = priv->stylizer;
    if (stylizer && priv->params_dirty.exchange(false)) {
      try {
        priv->params = resolve_params(priv);
      } catch (const std::exception& e) {
        settings_problem = e.what();
        priv->params = neuralart::StyleParams{};  // style 0 fits any model
      }
    }
    params = priv->params;
    params.strength = priv->strength;
    params.inference_scale = priv->inference_scale;
    smoothing = priv->temporal_smoothing;
    if (priv->temporal_flow == GST_STYLE_TRANSFER_FLOW_FINE)
      flow = neuralart::SmootherFlow::kFine;
    smoother = priv->smoother.get();
    view.format = priv->format;
  }
  if (!stylizer) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("No style model loaded."),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  if (!settings_problem.empty()) {
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                        ("Invalid style settings; using style 0."),
                        ("%s", settings_problem.c_str()));
  }
  if (params.strength == 0.0) {
    if (smoother) smoother->reset();
    return GST_FLOW_OK;
  }

  view.data = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0));
  view.width = GST_VIDEO_FRAME_WIDTH(frame);
  view.height = GST_VIDEO_FRAME_HEIGHT(frame);
  view.stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  try {
    const bool smooth = smoother != nullptr && smoothing > 0.0;
    if (smooth) {
      smoother->set_flow(flow);
      smoother->observe_input(view);
    }
    const auto t0 = std::chrono::steady_clock::now();
    bool done = false;
    try {
      stylizer->process(view, view, params);
      done = true;
    } catch (const neuralart::InvalidArgument&) {
      /* A model swap between resolving the style and this frame (say to a
       * model with fewer styles): resolve again, once. */
      std::lock_guard<std::mutex> lock(priv->lock);
      try {
        priv->params = resolve_params(priv);
      } catch (const std::exception&) {
        priv->params = neuralart::StyleParams{};
      }
      params.style = priv->params.style;
      params.mix = priv->params.mix;
    }
    /* Checks fail before the frame is written: it is still the input. */
    if (!done) stylizer->process(view, view, params);
    auto ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - t0)
            .count());
    if (smooth) {
      smoother->blend(view, smoothing);
    } else if (smoother) {
      smoother->reset();
    }
    const uint64_t timed_ns = log_auto_precision(self, *stylizer);
    /* The first frame replaces the warm-up estimate (another size). */
    const uint64_t previous = priv->frame_ns.load();
    if (timed_ns > 0) ns = timed_ns;  // not the timing passes' sum
    const uint64_t ema = priv->frames++ == 0 ? ns : (previous * 7 + ns) / 8;
    priv->frame_ns = ema;
    maybe_post_latency(self, ema);
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(
        self, STREAM, FAILED,
        ("Style transfer failed on a %dx%d frame.", view.width, view.height),
        ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}
