// Stylizer: runs a feed-forward style network on strided 8-bit frames.
//
// Loads a neuralart style bundle or a TorchScript module (style I/O
// contract: input [N, 3, H, W] RGB in the model's value range, output in
// the same range, any H and W), picks device, threads and precision, warms
// up, and restyles frames in place or into another frame. The model can be
// swapped from any thread while another thread calls process().
#pragma once

#include <torch/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "neuralart/frame.h"
#include "neuralart/runtime/runtime_options.h"

namespace neuralart {

struct StylizerOptions {
  RuntimeOptions runtime;
  // Value range of TorchScript models (bundles carry their own).
  ValueRange torchscript_range = ValueRange::Byte;
  // Side of the square frame used to warm the model up (0 = no warm-up).
  int warmup_size = 64;
};

// What a loaded model is.
struct StyleModelInfo {
  std::string path;
  bool torchscript = false;
  ValueRange range = ValueRange::Byte;
  int64_t num_styles = 1;
  std::vector<std::string> style_names;  // may be empty or shorter
  double warmup_ms = 0.0;                // time of the last warm-up pass
};

// Per-frame settings; cheap to change between frames.
struct StyleParams {
  int64_t style = 0;             // style index, used when `mix` is empty
  std::vector<double> mix;       // one weight per style (normalised to sum 1)
  double strength = 1.0;         // 0 = input unchanged, 1 = fully stylised
  double inference_scale = 1.0;  // (0, 1]: run the network this much smaller
};

// Parses "0.25,0.75" into weights. Throws InvalidArgument on bad numbers.
std::vector<double> parse_style_mix(const std::string& text);

class Stylizer {
 public:
  // Loads and warms up `model_path`. Throws BundleError (file named) or
  // InvalidArgument (device, precision).
  Stylizer(const std::string& model_path, const StylizerOptions& options = {});
  ~Stylizer();
  Stylizer(const Stylizer&) = delete;
  Stylizer& operator=(const Stylizer&) = delete;

  // Restyles `in` into `out` (same size and format; may be the same
  // memory). Only colour bytes of `out` are written: alpha is untouched.
  // Throws InvalidArgument for bad params/frames, c10::Error from LibTorch.
  // Call from one thread at a time (the streaming thread).
  void process(const FrameView& in, const FrameView& out,
               const StyleParams& params);

  // Loads and warms up `model_path` on the calling thread, then swaps it in
  // atomically. On failure throws and keeps the current model.
  void load_model(const std::string& model_path);

  StyleModelInfo info() const;
  const StylizerOptions& options() const { return options_; }

  // Index of a style given as a name or a decimal index; throws
  // InvalidArgument naming the known styles when it matches none.
  int64_t style_index(const std::string& name_or_index) const;

  // Checks params against the current model; throws InvalidArgument.
  void validate(const StyleParams& params) const;

  struct Model;  // the loaded network (bundle or TorchScript)

 private:
  std::shared_ptr<const Model> current() const;

  StylizerOptions options_;
  torch::Device device_;
  mutable std::mutex mutex_;  // guards model_
  std::shared_ptr<const Model> model_;
  torch::Tensor pinned_;  // GPU -> host staging buffer, reused per frame
};

}  // namespace neuralart
