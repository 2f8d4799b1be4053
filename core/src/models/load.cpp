#include "neuralart/models/load.h"

#include <torch/torch.h>

#include "neuralart/error.h"
#include "neuralart/models/style_predictor.h"

namespace neuralart {
namespace {

void expect_kind(const Bundle& b, ModelKind kind) {
  if (b.meta.kind != kind)
    throw BundleError(b.path + ": is a " + to_string(b.meta.kind) +
                      " model, but a " + to_string(kind) +
                      " model is needed here");
}

template <typename Options>
Options arch_options(const Bundle& b) {
  try {
    return Options::from_json(b.meta.arch);
  } catch (const InvalidArgument& e) {
    throw BundleError(b.path + ": unsupported architecture: " + e.what());
  }
}

}  // namespace

DCGANGenerator load_generator(const Bundle& bundle) {
  expect_kind(bundle, ModelKind::Generator);
  DCGANGenerator g(arch_options<DCGANOptions>(bundle));
  load_weights(bundle, *g);
  g->eval();
  return g;
}

DCGANGenerator load_generator(const std::string& path) {
  return load_generator(read_bundle(path));
}

StyleNet load_style_net(const Bundle& bundle) {
  if (bundle.meta.kind == ModelKind::UniversalStyle) {
    // Its network alone: the paintings it trained on as stored styles.
    auto universal = load_universal_style(bundle);
    return universal->net;
  }
  expect_kind(bundle, ModelKind::Style);
  StyleNet net(arch_options<StyleNetOptions>(bundle));
  load_weights(bundle, *net);
  net->eval();
  return net;
}

StyleNet load_style_net(const std::string& path) {
  return load_style_net(read_bundle(path));
}

BundleMeta generator_meta(const DCGANOptions& options) {
  BundleMeta m;
  m.kind = ModelKind::Generator;
  m.arch = options.to_json();
  m.io = {{"input", "z ~ N(0, I), shape [N, latent_dim]"},
          {"latent_dim", options.latent_dim},
          {"value_range", "signed"},
          {"channel_order", options.channels == 1 ? "GRAY" : "RGB"},
          {"resolution", options.resolution}};
  m.provenance = default_provenance();
  return m;
}

BundleMeta style_meta(const StyleNetOptions& options,
                      const std::vector<std::string>& style_names) {
  BundleMeta m;
  m.kind = ModelKind::Style;
  m.arch = options.to_json();
  m.io = {{"value_range", options.value_range}, {"channel_order", "RGB"}};
  m.styles = style_names;
  m.provenance = default_provenance();
  return m;
}

}  // namespace neuralart
