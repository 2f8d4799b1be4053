// Fuzz target: the MNIST idx reader (parse_idx).
#include <torch/torch.h>

#include <fstream>
#include <vector>

#include "fuzz_common.h"
#include "neuralart/data/image_set.h"
#include "neuralart/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::vector<uint8_t> bytes(data, data + size);
    auto t = neuralart::parse_idx(bytes, "fuzz");
    (void)t.sum();
  } catch (const neuralart::Error&) {
  }
  return 0;
}

void neuralart_fuzz_seeds(const std::string& dir) {
  // 3 images of 4x4 (images file) and 3 labels (labels file).
  std::vector<uint8_t> images{0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 4};
  for (int i = 0; i < 48; ++i) images.push_back(static_cast<uint8_t>(i * 5));
  std::ofstream(dir + "/images.idx", std::ios::binary)
      .write(reinterpret_cast<const char*>(images.data()), images.size());
  const std::vector<uint8_t> labels{0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 9};
  std::ofstream(dir + "/labels.idx", std::ios::binary)
      .write(reinterpret_cast<const char*>(labels.data()), labels.size());
}
