// Fuzz target: the TensorFlow.js model.json weights manifest reader
// (parse_tfjs_manifest), which load_vgg19_tfjs uses before it reads any
// shard.
#include <fstream>
#include <string>

#include "fuzz_common.h"
#include "neuralart/error.h"
#include "neuralart/train/loss_net.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto m = neuralart::parse_tfjs_manifest(text, "fuzz");
    // What the loader relies on: every weight inside its group's bytes.
    for (const auto& [name, w] : m.weights)
      if (w.group >= m.group_bytes.size() || w.offset < 0 ||
          w.offset > m.group_bytes[w.group])
        __builtin_trap();
  } catch (const neuralart::Error&) {
  }
  return 0;
}

void neuralart_fuzz_seeds(const std::string& dir) {
  // The shape of a Keras VGG-19 export, two layers.
  std::ofstream(dir + "/model.json") << R"({"format": "layers-model",
 "weightsManifest": [
  {"paths": ["group1-shard1of1"], "weights": [
    {"name": "block1_conv1/kernel", "shape": [3, 3, 3, 64], "dtype": "float32"},
    {"name": "block1_conv1/bias", "shape": [64], "dtype": "float32"}]},
  {"paths": ["group2-shard1of2", "group2-shard2of2"], "weights": [
    {"name": "block1_conv2/kernel", "shape": [3, 3, 64, 64], "dtype": "float32"},
    {"name": "block1_conv2/bias", "shape": [64], "dtype": "float32"}]}]})";
}
