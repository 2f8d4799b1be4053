// Checks shared by the element tests.
//
// expect_ranges_enforced: every numeric and enum property an element
// installs refuses values outside its declared range, and the refusal names
// the property. GObject does the refusing (the range is in the GParamSpec,
// which gst-inspect-1.0 prints); these checks prove that every property has
// a real range and that nothing of ours widens or bypasses it.
#pragma once

#include <glib-object.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace element_checks {

struct Captured {
  std::vector<std::string> messages;
};

inline void capture(const gchar*, GLogLevelFlags, const gchar* message,
                    gpointer data) {
  static_cast<Captured*>(data)->messages.emplace_back(message);
}

// Out-of-range values for `spec` (none when every value of the type is
// valid, e.g. a 64-bit seed).
inline std::vector<GValue> outside(GParamSpec* spec) {
  std::vector<GValue> values;
  const auto add = [&](GType type, auto set) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, type);
    set(&v);
    values.push_back(v);
  };
  if (G_IS_PARAM_SPEC_INT(spec)) {
    auto* s = G_PARAM_SPEC_INT(spec);
    if (s->minimum > G_MININT)
      add(G_TYPE_INT, [&](GValue* v) { g_value_set_int(v, s->minimum - 1); });
    if (s->maximum < G_MAXINT)
      add(G_TYPE_INT, [&](GValue* v) { g_value_set_int(v, s->maximum + 1); });
  } else if (G_IS_PARAM_SPEC_UINT(spec)) {
    auto* s = G_PARAM_SPEC_UINT(spec);
    if (s->minimum > 0)
      add(G_TYPE_UINT, [&](GValue* v) { g_value_set_uint(v, s->minimum - 1); });
    if (s->maximum < G_MAXUINT)
      add(G_TYPE_UINT, [&](GValue* v) { g_value_set_uint(v, s->maximum + 1); });
  } else if (G_IS_PARAM_SPEC_INT64(spec)) {
    auto* s = G_PARAM_SPEC_INT64(spec);
    if (s->minimum > G_MININT64)
      add(G_TYPE_INT64,
          [&](GValue* v) { g_value_set_int64(v, s->minimum - 1); });
    if (s->maximum < G_MAXINT64)
      add(G_TYPE_INT64,
          [&](GValue* v) { g_value_set_int64(v, s->maximum + 1); });
  } else if (G_IS_PARAM_SPEC_UINT64(spec)) {
    auto* s = G_PARAM_SPEC_UINT64(spec);
    if (s->minimum > 0)
      add(G_TYPE_UINT64,
          [&](GValue* v) { g_value_set_uint64(v, s->minimum - 1); });
    if (s->maximum < G_MAXUINT64)
      add(G_TYPE_UINT64,
          [&](GValue* v) { g_value_set_uint64(v, s->maximum + 1); });
  } else if (G_IS_PARAM_SPEC_DOUBLE(spec)) {
    auto* s = G_PARAM_SPEC_DOUBLE(spec);
    const double step = std::max(1e-3, (s->maximum - s->minimum) * 0.01);
    add(G_TYPE_DOUBLE,
        [&](GValue* v) { g_value_set_double(v, s->minimum - step); });
    add(G_TYPE_DOUBLE,
        [&](GValue* v) { g_value_set_double(v, s->maximum + step); });
    add(G_TYPE_DOUBLE, [&](GValue* v) { g_value_set_double(v, NAN); });
  } else if (G_IS_PARAM_SPEC_ENUM(spec)) {
    auto* klass = G_PARAM_SPEC_ENUM(spec)->enum_class;
    add(spec->value_type,
        [&](GValue* v) { g_value_set_enum(v, klass->maximum + 1); });
  }
  return values;
}

inline bool equal(GParamSpec* spec, const GValue* a, const GValue* b) {
  if (G_VALUE_HOLDS_DOUBLE(a))  // NaN never equals itself: compare bits
    return std::memcmp(&a->data[0].v_double, &b->data[0].v_double,
                       sizeof(double)) == 0;
  return g_param_values_cmp(spec, a, b) == 0;
}

// Sets each out-of-range value on a fresh `factory` element: the property
// keeps its value and the warning names it. Returns how many were tried.
inline int expect_ranges_enforced(const char* factory) {
  GstElement* element = gst_element_factory_make(factory, nullptr);
  EXPECT_NE(element, nullptr) << factory;
  if (!element) return 0;
  const GType own = G_OBJECT_TYPE(element);
  guint n = 0;
  GParamSpec** specs =
      g_object_class_list_properties(G_OBJECT_GET_CLASS(element), &n);
  int tried = 0;
  for (guint i = 0; i < n; ++i) {
    GParamSpec* spec = specs[i];
    if (spec->owner_type != own || !(spec->flags & G_PARAM_WRITABLE)) continue;
    for (GValue& bad : outside(spec)) {
      GValue before = G_VALUE_INIT, after = G_VALUE_INIT;
      g_value_init(&before, spec->value_type);
      g_value_init(&after, spec->value_type);
      g_object_get_property(G_OBJECT(element), spec->name, &before);
      Captured captured;
      const guint handler = g_log_set_handler(
          "GLib-GObject",
          GLogLevelFlags(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL), capture,
          &captured);
      g_object_set_property(G_OBJECT(element), spec->name, &bad);
      g_log_remove_handler("GLib-GObject", handler);
      g_object_get_property(G_OBJECT(element), spec->name, &after);
      gchar* shown = g_strdup_value_contents(&bad);
      EXPECT_TRUE(equal(spec, &before, &after))
          << factory << "::" << spec->name << " took " << shown;
      EXPECT_EQ(captured.messages.size(), 1u)
          << factory << "::" << spec->name << " = " << shown;
      for (const auto& message : captured.messages)
        EXPECT_NE(message.find(std::string("'") + spec->name + "'"),
                  std::string::npos)
            << message;
      g_free(shown);
      g_value_unset(&before);
      g_value_unset(&after);
      g_value_unset(&bad);
      ++tried;
    }
  }
  g_free(specs);
  gst_object_unref(element);
  return tried;
}

// Sends EOS into a playing pipeline mid-stream: it must reach the sink
// (an EOS message, not an error) within 20 s.
inline void expect_eos_mid_stream(GstElement* pipe) {
  ASSERT_TRUE(gst_element_send_event(pipe, gst_event_new_eos()));
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* m = gst_bus_timed_pop_filtered(
      bus, 20 * GST_SECOND,
      GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  gst_object_unref(bus);
  ASSERT_NE(m, nullptr) << "no EOS within 20 s";
  EXPECT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS);
  gst_message_unref(m);
}

}  // namespace element_checks
