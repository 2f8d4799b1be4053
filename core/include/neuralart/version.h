#pragma once

#include <string>

namespace neuralart {

// The library version (same as the CMake project version).
std::string version();
// LibTorch version this build was compiled against, e.g. "1.13.0".
std::string torch_version();

}  // namespace neuralart
