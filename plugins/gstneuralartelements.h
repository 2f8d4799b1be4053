/* One line per element: plugin.cpp registers what is listed here. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Elements land one by one; until then the plugin loads with none. */
#define NEURALART_REGISTER_ELEMENTS(plugin) TRUE

G_END_DECLS
