// Integers from JSON that may come from an untrusted file (a bundle's
// architecture, a TF.js manifest, a checkpoint in a shared run folder).
// nlohmann-json converts a JSON float to an integer type with a plain cast,
// undefined behaviour for 1e300 (found by fuzz/fuzz_tfjs.cpp under UBSan); this
// refuses non-integers instead.
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

// A non-negative integer up to 2^64 - 1 (seeds).
inline uint64_t json_uint(const nlohmann::json& v, const std::string& what) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return uint64_t(v.get<int64_t>());
  throw InvalidArgument(what + " must be an integer >= 0, got " + v.dump());
}

}  // namespace neuralart
