// Where shipped default models are found.
#pragma once

#include <string>
#include <vector>

#include "neuralart/bundle.h"

namespace neuralart {

// File names of the defaults inside a model folder.
constexpr const char* kDefaultGeneratorFile = "default-gan.bundle";
constexpr const char* kDefaultStyleFile = "default-style.bundle";

// Folders searched, in order: $NEURALART_MODEL_DIR, share/neuralart/models
// under the prefix the running program or plugin is installed in (e.g. /usr
// for the Debian package), the configured prefix's share/neuralart/models,
// the source tree's examples/models.
std::vector<std::string> model_search_dirs();

// The default model of `kind`. Throws Error listing the folders searched.
std::string default_model_path(ModelKind kind);

}  // namespace neuralart
