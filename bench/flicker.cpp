// neuralart-bench-flicker: the flicker metric of restyled video (mean
// warping error between consecutive output frames, Lai et al. ECCV 2018)
// over frame folders written by bench/flicker.sh.
//
//   neuralart-bench-flicker INPUT_DIR OUTPUT_DIR [OUTPUT_DIR...]
//
// INPUT_DIR holds the decoded input frames and each OUTPUT_DIR the
// restyled frames of one setting, as same-named PNGs in frame order. Prints
// one JSON line per folder: {"pairs": N, "warping_error": E}. INPUT_DIR
// itself is measured first (the input video's own value).
#include <torch/torch.h>

#include <exception>
#include <filesystem>
#include <iostream>

#include "bench_common.h"
#include "neuralart/media/image_io.h"
#include "neuralart/media/temporal.h"

namespace {

neuralart::FrameView view_of(torch::Tensor& rgb) {
  return neuralart::bench::frame_view(rgb, neuralart::PixelFormat::RGB);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::string(argv[1]) == "--help") {
    std::cerr << "usage: neuralart-bench-flicker INPUT_DIR OUTPUT_DIR "
                 "[OUTPUT_DIR...]\n";
    return argc < 3 ? 2 : 0;
  }
  try {
    namespace fs = std::filesystem;
    const auto inputs = neuralart::list_images(argv[1]);
    if (inputs.size() < 2)
      throw std::runtime_error(std::string(argv[1]) +
                               ": needs at least two frames");
    for (int d = 1; d < argc; ++d) {
      double total = 0;
      int64_t pairs = 0;
      torch::Tensor prev_in, prev_out;
      for (const auto& in_path : inputs) {
        const auto out_path = fs::path(argv[d]) / fs::path(in_path).filename();
        if (!fs::exists(out_path)) {
          // A pipeline cut by EOS may end a frame earlier: skip the pair.
          prev_in = torch::Tensor();
          continue;
        }
        auto in = neuralart::load_image_rgb(in_path).contiguous();
        auto out = neuralart::load_image_rgb(out_path.string()).contiguous();
        if (in.sizes() != out.sizes())
          throw std::runtime_error(out_path.string() +
                                   ": size differs from the input frame");
        if (prev_in.defined()) {
          total += neuralart::warping_error(view_of(prev_in), view_of(in),
                                            view_of(prev_out), view_of(out));
          ++pairs;
        }
        prev_in = in;
        prev_out = out;
      }
      if (pairs == 0)
        throw std::runtime_error(std::string(argv[d]) +
                                 ": no consecutive frame pairs in common "
                                 "with the input");
      std::cout << "{\"dir\": \"" << argv[d] << "\", \"pairs\": " << pairs
                << ", \"warping_error\": " << total / pairs << "}" << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "neuralart-bench-flicker: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
