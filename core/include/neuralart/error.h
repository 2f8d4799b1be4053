// Errors raised by libneuralart: always with context a user can act on.
#pragma once

#include <stdexcept>
#include <string>

namespace neuralart {

// Base of every error thrown by the library. what() names the object
// (file, option, value) and the problem, and where possible the fix.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A model file that is missing, truncated, corrupt, of the wrong kind or of
// a newer format than this build reads.
class BundleError : public Error {
 public:
  using Error::Error;
};

// How the readers of model files refuse one: BundleError("ORIGIN: WHAT").
[[noreturn]] inline void fail_bundle(const std::string& origin,
                                     const std::string& what) {
  throw BundleError(origin + ": " + what);
}

// A value outside its valid range (an option, a property, a frame size).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

}  // namespace neuralart
