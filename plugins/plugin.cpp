/* neuralart GStreamer plugin: registers every neuralart element.
 *
 * Elements: gansrc (a trained GAN generator as a video source) and
 * styletransfer (restyles every frame with a feed-forward style network).
 */
#include <gst/gst.h>

#include "gstneuralartelements.h"

#ifndef PACKAGE
#define PACKAGE "neuralart"
#endif

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ret = FALSE;

  ret |= NEURALART_REGISTER_ELEMENTS(plugin);

  return ret;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, neuralart,
                  "GANs and neural style transfer (LibTorch)", plugin_init,
                  NEURALART_VERSION_STRING, "LGPL", "neuralart",
                  "https://github.com/neuralart/neuralart")
