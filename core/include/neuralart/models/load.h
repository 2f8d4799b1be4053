// Builds the network a bundle describes and loads its weights.
#pragma once

#include "neuralart/bundle.h"
#include "neuralart/models/dcgan.h"
#include "neuralart/models/style_net.h"

namespace neuralart {

// Throws BundleError when the bundle is not a generator, its architecture
// is unknown or invalid, or its weights do not fit.
DCGANGenerator load_generator(const Bundle& bundle);
DCGANGenerator load_generator(const std::string& path);

// Same for style networks. A universal_style bundle gives its network,
// whose stored styles are the paintings it trained on.
StyleNet load_style_net(const Bundle& bundle);
StyleNet load_style_net(const std::string& path);

// Bundle metadata for a freshly built model (provenance to be filled).
BundleMeta generator_meta(const DCGANOptions& options);
BundleMeta style_meta(const StyleNetOptions& options,
                      const std::vector<std::string>& style_names);

}  // namespace neuralart
