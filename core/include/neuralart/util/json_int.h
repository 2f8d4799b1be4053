// Integers from JSON that may come from an untrusted file (a bundle's
// architecture, a TF.js manifest). nlohmann-json converts a JSON float to
// an integer type with a plain cast, undefined behaviour for 1e300 (found
// by fuzz/fuzz_tfjs.cpp under UBSan); this refuses non-integers instead.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "neuralart/error.h"

namespace neuralart {

inline int64_t json_int(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number_integer())
    throw InvalidArgument(what + " must be an integer, got " + v.dump());
  return v.get<int64_t>();
}

}  // namespace neuralart
