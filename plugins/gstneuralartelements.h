/* One line per element: plugin.cpp registers what is listed here. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE(styletransfer);
GST_ELEMENT_REGISTER_DECLARE(gansrc);

/* TRUE when at least one element registered; one line per element. */
/* clang-format off */
#define NEURALART_REGISTER_ELEMENTS(plugin)      \
  (GST_ELEMENT_REGISTER(styletransfer, plugin) | \
   GST_ELEMENT_REGISTER(gansrc, plugin) | \
   FALSE)
/* clang-format on */

G_END_DECLS
