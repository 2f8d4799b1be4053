// For tests/cli/test_import.sh: runs an imported style bundle on the input
// image PyTorch ran, every way the project runs a style network, and writes
// the outputs for transformer_net_import.py to compare with PyTorch's.
//
//   neuralart_import_check MODEL.bundle INPUT.safetensors OUTPUT.safetensors
//
// INPUT holds "input": float32 [1, 3, H, W], integer values 0-255. OUTPUT
// holds "fp32" and "fp32_cl" (the network's forward pass in fp32, NCHW and
// channels-last; float32 [1, 3, H, W]) and "frame_fp32" and "frame_bf16"
// (the Stylizer on an RGB frame, the elements' path, with precision fp32
// and bf16; uint8 [H, W, 3]).
#include <torch/torch.h>

#include <iostream>

#include "neuralart/models/load.h"
#include "neuralart/runtime/stylizer.h"
#include "neuralart/tensor_file.h"

using namespace neuralart;

namespace {

torch::Tensor stylize_frame(const std::string& model, const torch::Tensor& rgb,
                            Precision precision) {
  StylizerOptions options;
  options.runtime.precision = precision;
  options.warmup_size = 0;
  Stylizer stylizer(model, options);
  auto in = rgb.clone();
  auto out = torch::zeros_like(in);
  const int h = static_cast<int>(in.size(0)), w = static_cast<int>(in.size(1));
  FrameView in_view{in.data_ptr<uint8_t>(), w, h, 3 * w, PixelFormat::RGB};
  FrameView out_view{out.data_ptr<uint8_t>(), w, h, 3 * w, PixelFormat::RGB};
  stylizer.process(in_view, out_view, StyleParams{});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0]
              << " MODEL.bundle INPUT.safetensors OUTPUT.safetensors\n";
    return 2;
  }
  try {
    const std::string model = argv[1];
    const auto input = read_tensor_file(argv[2]).tensors.at("input");
    TensorFile out;
    {
      c10::InferenceMode guard;
      auto net = load_style_net(model);
      out.tensors["fp32"] = net->forward(input).contiguous();
      out.tensors["fp32_cl"] =
          net->forward(input.contiguous(at::MemoryFormat::ChannelsLast))
              .contiguous();
    }
    const auto rgb =
        input[0].permute({1, 2, 0}).round().to(torch::kUInt8).contiguous();
    out.tensors["frame_fp32"] = stylize_frame(model, rgb, Precision::FP32);
    out.tensors["frame_bf16"] = stylize_frame(model, rgb, Precision::BF16);
    write_tensor_file(argv[3], out);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
