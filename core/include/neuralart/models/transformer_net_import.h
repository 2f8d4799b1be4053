// pytorch/examples fast_neural_style TransformerNet state dicts as style
// networks: the same layers under other names (conv1.conv2d -> conv1.conv,
// res1.conv1 -> res_convs.0, deconv1 -> up1, deconv3 -> conv_out, ...),
// each instance norm's affine weight and bias as the one style's row, and
// the architecture fields that make the same function: "output": "linear"
// (no sigmoid), "upsample": "double" (nearest x2, as UpsampleConvLayer),
// value range byte (0-255 in and out).
#pragma once

#include <string>

#include "neuralart/models/style_net.h"
#include "neuralart/torch_checkpoint.h"

namespace neuralart {

// Width (conv1's output channels) and residual blocks (res1..resN) are
// read from the keys; InstanceNorm running_mean/running_var entries of old
// checkpoints are ignored, as the example's own loader deletes them.
// Throws BundleError, naming `origin` and the first key that does not fit
// (unknown, wrong shape, or not finite) or the first one missing.
StyleNet import_transformer_net(const TorchStateDict& state_dict,
                                const std::string& origin);

}  // namespace neuralart
