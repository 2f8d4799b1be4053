// Embeds a neuralart pipeline in an application:
//   gansrc ! styletransfer ! videoconvert ! appsink
// built in code, frames pulled from appsink and written as PNG files.
//
// usage: neuralart-embed-example OUT_DIR [FRAMES] [GAN_MODEL] [STYLE_MODEL]
// (models default to the shipped ones; GST_PLUGIN_PATH must find the
// neuralart plugin, e.g. build/plugins).
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "neuralart/media/image_io.h"

namespace {

GstElement* make(const char* factory) {
  GstElement* e = gst_element_factory_make(factory, nullptr);
  if (!e) std::cerr << "missing GStreamer element '" << factory << "'\n";
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc < 2) {
    std::cerr << "usage: " << argv[0]
              << " OUT_DIR [FRAMES] [GAN_MODEL] [STYLE_MODEL]\n";
    return 2;
  }
  const std::string out_dir = argv[1];
  const int frames = argc > 2 ? std::atoi(argv[2]) : 10;
  if (frames < 1 || frames > 100000) {
    std::cerr << "FRAMES must be in [1, 100000]\n";
    return 2;
  }
  std::filesystem::create_directories(out_dir);

  GstElement* pipeline = gst_pipeline_new("embed");
  GstElement* src = make("gansrc");
  GstElement* style = make("styletransfer");
  GstElement* convert = make("videoconvert");
  GstElement* sink = make("appsink");
  if (!src || !style || !convert || !sink) {
    std::cerr << "set GST_PLUGIN_PATH to the folder holding "
                 "libgstneuralart.so\n";
    return 1;
  }
  g_object_set(src, "num-buffers", frames, "mode", 1 /* walk */, nullptr);
  if (argc > 3) g_object_set(src, "model", argv[3], nullptr);
  if (argc > 4) g_object_set(style, "model", argv[4], nullptr);
  GstCaps* caps = gst_caps_from_string("video/x-raw,format=RGB");
  g_object_set(sink, "caps", caps, "sync", FALSE, nullptr);
  gst_caps_unref(caps);
  gst_bin_add_many(GST_BIN(pipeline), src, style, convert, sink, nullptr);
  if (!gst_element_link_many(src, style, convert, sink, nullptr)) {
    std::cerr
        << "cannot link gansrc ! styletransfer ! videoconvert ! appsink\n";
    return 1;
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  int status = 0;
  auto report_error = [&](GstMessage* msg) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    std::cerr << "error: " << err->message << "\n"
              << (debug ? debug : "") << "\n";
    g_error_free(err);
    g_free(debug);
    gst_message_unref(msg);
    status = 1;
  };
  int written = 0;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    // The element posted why (e.g. a missing model) before failing.
    if (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR))
      report_error(msg);
    status = 1;
  }
  // Pull frames until EOS; poll the bus so an error never leaves us waiting.
  while (status == 0) {
    GstSample* sample =
        gst_app_sink_try_pull_sample(GST_APP_SINK(sink), GST_SECOND / 10);
    if (!sample) {
      if (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR))
        report_error(msg);
      else if (gst_app_sink_is_eos(GST_APP_SINK(sink)))
        break;
      continue;
    }
    GstVideoInfo info;
    GstVideoFrame frame;
    if (gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
        gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample),
                            GST_MAP_READ)) {
      const int w = GST_VIDEO_FRAME_WIDTH(&frame);
      const int h = GST_VIDEO_FRAME_HEIGHT(&frame);
      const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
      auto pixels = torch::from_blob(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
                                     {h, w, 3}, {stride, 3, 1}, torch::kUInt8)
                        .clone();
      gst_video_frame_unmap(&frame);
      char name[32];
      std::snprintf(name, sizeof name, "frame_%04d.png", written++);
      neuralart::save_image_rgb(out_dir + "/" + name, pixels);
    }
    gst_sample_unref(sample);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  std::cout << "wrote " << written << " frames to " << out_dir << "\n";
  return status != 0 ? status : (written == frames ? 0 : 1);
}
