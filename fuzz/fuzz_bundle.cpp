// Fuzz target: a model bundle from file to network, as the elements load
// one: read_bundle (layout, CRC, metadata), then the architecture the
// metadata declares is built and the weights are loaded into it.
#include <torch/torch.h>

#include "fuzz_common.h"
#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/models/load.h"
#include "neuralart/models/style_predictor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = neuralart::fuzz::scratch_file(data, size, ".bundle");
  try {
    const auto bundle = neuralart::read_bundle(path);
    if (bundle.meta.kind == neuralart::ModelKind::Style)
      neuralart::load_style_net(bundle);
    else if (bundle.meta.kind == neuralart::ModelKind::UniversalStyle)
      neuralart::load_universal_style(bundle);
    else
      neuralart::load_generator(bundle);
  } catch (const neuralart::Error&) {
  }
  return 0;
}

void neuralart_fuzz_seeds(const std::string& dir) {
  torch::manual_seed(1);
  neuralart::StyleNetOptions s;
  s.width = 4;
  s.res_blocks = 0;
  neuralart::StyleNet net(s);
  neuralart::save_bundle(dir + "/style.bundle", neuralart::style_meta(s, {"x"}),
                         *net);
  neuralart::StylePredictorOptions p;
  p.encoder = "random";
  p.layers = {"relu1_1"};
  p.bottleneck = 2;
  p.code_size = net->code_size();
  neuralart::UniversalStyle u(s, p);
  neuralart::save_bundle(dir + "/universal.bundle",
                         neuralart::universal_style_meta(s, p, {"x"}), *u);
  neuralart::DCGANOptions g;
  g.latent_dim = 4;
  g.base_width = 8;
  g.max_width = 8;
  g.resolution = 32;
  neuralart::DCGANGenerator gen(g);
  neuralart::save_bundle(dir + "/generator.bundle",
                         neuralart::generator_meta(g), *gen);
}
