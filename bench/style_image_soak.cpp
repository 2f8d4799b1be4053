// Memory of the styletransfer element over many frames while its
// style-image changes every N frames (issue #21: memory flat over 10,000
// frames with a swap every 100). Runs
//   videotestsrc num-buffers=FRAMES ! WxH ! styletransfer model=MODEL
//   style-image=A ! fakesink
// and, from the main thread, sets style-image to the next of the given
// paintings every EVERY frames; prints "frame,rss_mib,swaps" every 1,000
// frames, then a summary line.
//
//   neuralart-bench-style-image-soak MODEL PAINTING[,PAINTING...]
//       [--frames 10000] [--every 100] [--size 320x180]
#include <gst/gst.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

double rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024;
  return 0.0;
}

struct Soak {
  GMainLoop* loop = nullptr;
  GstElement* pipeline = nullptr;
  GstElement* style = nullptr;
  std::vector<std::string> paintings;
  std::atomic<long> frames{0};
  long every = 100, next_swap = 100, next_report = 1000, swaps = 0;
  double first_rss = 0, peak_rss = 0;
  bool failed = false;
};

GstPadProbeReturn count_frame(GstPad*, GstPadProbeInfo*, gpointer data) {
  static_cast<Soak*>(data)->frames++;
  return GST_PAD_PROBE_OK;
}

gboolean tick(gpointer data) {
  auto* s = static_cast<Soak*>(data);
  const long n = s->frames.load();
  if (n >= s->next_swap) {
    const auto& next = s->paintings[(++s->swaps) % s->paintings.size()];
    g_object_set(s->style, "style-image", next.c_str(), nullptr);
    s->next_swap += s->every;
  }
  if (n >= s->next_report) {
    const double rss = rss_mib();
    if (s->first_rss == 0) s->first_rss = rss;
    if (rss > s->peak_rss) s->peak_rss = rss;
    std::printf("%ld,%.1f,%ld\n", n, rss, s->swaps);
    std::fflush(stdout);
    s->next_report += 1000;
  }
  return G_SOURCE_CONTINUE;
}

gboolean on_message(GstBus*, GstMessage* msg, gpointer data) {
  auto* s = static_cast<Soak*>(data);
  switch (GST_MESSAGE_TYPE(msg)) {
    case GST_MESSAGE_ERROR: {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(msg, &err, &debug);
      std::fprintf(stderr, "error: %s (%s)\n", err->message,
                   debug ? debug : "");
      g_error_free(err);
      g_free(debug);
      s->failed = true;
      g_main_loop_quit(s->loop);
      break;
    }
    case GST_MESSAGE_WARNING: {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_warning(msg, &err, &debug);
      std::fprintf(stderr, "warning: %s (%s)\n", err->message,
                   debug ? debug : "");
      g_error_free(err);
      g_free(debug);
      s->failed = true;
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit(s->loop);
      break;
    default:
      break;
  }
  return TRUE;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s MODEL PAINTING[,PAINTING...] [--frames N] "
                 "[--every N] [--size WxH]\n",
                 argv[0]);
    return 2;
  }
  Soak s;
  const std::string model = argv[1];
  std::stringstream list(argv[2]);
  for (std::string p; std::getline(list, p, ',');) s.paintings.push_back(p);
  long frames = 10000;
  std::string size = "320x180";
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    if (opt == "--frames") {
      frames = std::atol(argv[i + 1]);
    } else if (opt == "--every") {
      s.every = s.next_swap = std::atol(argv[i + 1]);
    } else if (opt == "--size") {
      size = argv[i + 1];
    } else {
      std::fprintf(stderr, "unknown option %s\n", opt.c_str());
      return 2;
    }
  }
  const auto x = size.find('x');
  if (s.paintings.empty() || frames < 1 || s.every < 1 ||
      x == std::string::npos) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  const std::string launch =
      "videotestsrc num-buffers=" + std::to_string(frames) +
      " pattern=ball ! video/x-raw,width=" + size.substr(0, x) +
      ",height=" + size.substr(x + 1) +
      " ! styletransfer name=style threads=2 model=\"" + model +
      "\" style-image=\"" + s.paintings[0] +
      "\" ! fakesink name=sink sync=false";
  GError* err = nullptr;
  s.pipeline = gst_parse_launch(launch.c_str(), &err);
  if (!s.pipeline) {
    std::fprintf(stderr, "pipeline: %s\n", err ? err->message : "?");
    return 1;
  }
  s.style = gst_bin_get_by_name(GST_BIN(s.pipeline), "style");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(s.pipeline), "sink");
  GstPad* pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_frame, &s, nullptr);
  gst_object_unref(pad);
  gst_object_unref(sink);
  s.loop = g_main_loop_new(nullptr, FALSE);
  GstBus* bus = gst_element_get_bus(s.pipeline);
  gst_bus_add_watch(bus, on_message, &s);
  gst_object_unref(bus);
  g_timeout_add(2, tick, &s);
  std::printf("frame,rss_mib,swaps\n");
  const gint64 t0 = g_get_monotonic_time();
  gst_element_set_state(s.pipeline, GST_STATE_PLAYING);
  g_main_loop_run(s.loop);
  const double seconds = (g_get_monotonic_time() - t0) / 1e6;
  const double end_rss = rss_mib();
  if (end_rss > s.peak_rss) s.peak_rss = end_rss;
  gst_element_set_state(s.pipeline, GST_STATE_NULL);
  std::printf(
      "# %ld frames at %s in %.1f s (%.1f fps), %ld style-image swaps; "
      "RSS %.1f MiB at frame 1,000, %.1f at the end, peak %.1f MiB "
      "(+%.1f)%s\n",
      s.frames.load(), size.c_str(), seconds, s.frames.load() / seconds,
      s.swaps, s.first_rss, end_rss, s.peak_rss, s.peak_rss - s.first_rss,
      s.failed ? "; errors or warnings above" : "");
  gst_object_unref(s.style);
  gst_object_unref(s.pipeline);
  g_main_loop_unref(s.loop);
  return s.failed ? 1 : 0;
}
