// Fuzz target: the image loader the trainer uses for every photo
// (load_image_rgb: OpenCV decoding behind neuralart's checks).
#include <torch/torch.h>

#include "fuzz_common.h"
#include "neuralart/error.h"
#include "neuralart/media/image_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = neuralart::fuzz::scratch_file(data, size, ".img");
  try {
    auto t = neuralart::load_image_rgb(path);
    (void)t.sum();
  } catch (const neuralart::Error&) {
  }
  return 0;
}

void neuralart_fuzz_seeds(const std::string& dir) {
  auto img = torch::arange(8 * 6 * 3, torch::kInt64)
                 .remainder(256)
                 .to(torch::kUInt8)
                 .view({6, 8, 3});
  neuralart::save_image_rgb(dir + "/small.png", img);
  neuralart::save_image_rgb(dir + "/small.jpg", img);
  neuralart::save_image_rgb(dir + "/small.ppm", img);
}
