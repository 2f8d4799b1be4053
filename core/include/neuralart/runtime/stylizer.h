// Stylizer: runs a feed-forward style network on strided 8-bit frames.
//
// Loads a neuralart style bundle or a TorchScript module (style I/O
// contract: input [N, 3, H, W] RGB in the model's value range, output in
// the same range, any H and W), picks device, threads and precision, warms
// up, and restyles frames in place or into another frame. The model can be
// swapped from any thread while another thread calls process().
//
// Precision::AUTO runs what is faster for this machine and network. On a
// CPU with native bf16 or on CUDA, the first frame a model restyles first
// times four forward passes each in fp32 and in the candidate (bf16 on a
// CPU, fp16 on CUDA), alternating, at that frame's network size; the model
// keeps the faster. On other CPUs auto is fp32, untimed. The frame's size,
// not the warm-up's: which is faster depends on it (the compact model ties
// at 64x64), and the frame's thread has the cores to itself (a swap's
// loading thread shares them with frames in flight).
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

// How precision auto chose for a model.
struct PrecisionChoice {
  // What fp32 is timed against: bf16 on a CPU with native bf16, fp16 on
  // CUDA; FP32 where nothing is timed (a CPU without native bf16).
  Precision candidate = Precision::FP32;
  double fp32_ms = 0.0;       // fastest timed forward pass in fp32
  double candidate_ms = 0.0;  // the same in the candidate (0: failed)
  int64_t width = 0;          // network input they were timed at
  int64_t height = 0;
  std::string note;  // why fp32 was kept untimed, or the candidate's error
};

// What a loaded model is.
struct StyleModelInfo {
  std::string path;
  bool torchscript = false;
  ValueRange range = ValueRange::Byte;
  int64_t num_styles = 1;
  std::vector<std::string> style_names;  // may be empty or shorter
  double warmup_ms = 0.0;  // fastest warm-up pass (fp32 under auto)
  // What the model runs in: the precision asked for, or auto's choice;
  // AUTO until auto has timed the first frame this model restyles.
  Precision precision = Precision::FP32;
  PrecisionChoice auto_choice;  // set under precision auto only
  // TorchScript ops that run in fp32 whatever the precision, for want of a
  // bf16 kernel (script_precision.h), e.g. "aten::reflection_pad2d".
  std::vector<std::string> fp32_ops;
  // A universal style model (neuralart-train universal): takes a style
  // image (set_style_image). Its trained paintings are the first styles;
  // a style image in use is one more, the last (index style_image_index).
  bool universal = false;
  int64_t style_size = 0;          // shorter side a style image is read at
  std::string style_image;         // label of the style image in use
  int64_t style_image_index = -1;  // -1: none
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
  // Under precision auto the first frame a model restyles also times the
  // precisions (see above). Throws InvalidArgument for bad params/frames,
  // c10::Error from LibTorch. Call from one thread at a time (the
  // streaming thread).
  void process(const FrameView& in, const FrameView& out,
               const StyleParams& params);

  // Loads and warms up `model_path` on the calling thread, then swaps it in
  // atomically. On failure throws and keeps the current model.
  void load_model(const std::string& model_path);

  // Universal models only: predicts `painting`'s style code ([1, 3, h, w]
  // RGB 0-255, any size: scaled to the model's style size) on the calling
  // thread and swaps in the network with it as one more style, the last
  // (info().style_image_index, named `label`), the trained ones kept for
  // mixing. An undefined tensor removes the style image. The first frame
  // after the swap runs at full speed: the precision already chosen is
  // kept. Throws InvalidArgument for a model that is not universal and
  // keeps the current one on any failure.
  void set_style_image(const torch::Tensor& painting, const std::string& label);

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
  // Two timed passes at warmup_size (info.warmup_ms); throws BundleError
  // naming `label` when the model fails or breaks the I/O contract.
  void warm_up(Model& model, const std::string& label,
               Precision precision) const;
  // Precision auto's timing at the network size h x w: the model decided,
  // swapped in for `pending` unless another model replaced it meanwhile.
  std::shared_ptr<const Model> decide_precision(
      const std::shared_ptr<const Model>& pending, int64_t h, int64_t w);

  StylizerOptions options_;
  torch::Device device_;
  mutable std::mutex mutex_;  // guards model_
  std::shared_ptr<const Model> model_;
  torch::Tensor pinned_;  // GPU -> host staging buffer, reused per frame
};

}  // namespace neuralart
