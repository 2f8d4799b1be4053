#include "neuralart/version.h"

#include <torch/version.h>

namespace neuralart {

std::string version() { return NEURALART_VERSION; }

std::string torch_version() { return TORCH_VERSION; }

}  // namespace neuralart
