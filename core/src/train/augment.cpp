#include "neuralart/train/augment.h"

#include <torch/torch.h>

#include <algorithm>
#include <sstream>

#include "neuralart/error.h"

namespace neuralart {

AugmentPolicy AugmentPolicy::parse(const std::string& spec) {
  AugmentPolicy p;
  if (spec.empty() || spec == "none") return p;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item == "translation")
      p.translation = true;
    else if (item == "cutout")
      p.cutout = true;
    else if (item == "color" || item == "colour")
      p.color = true;
    else
      throw InvalidArgument("unknown augmentation '" + item +
                            "' (expected translation, cutout, color or none)");
  }
  return p;
}

std::string AugmentPolicy::to_string() const {
  std::string s;
  auto add = [&](bool on, const char* name) {
    if (on) s += (s.empty() ? "" : ",") + std::string(name);
  };
  add(translation, "translation");
  add(cutout, "cutout");
  add(color, "color");
  return s.empty() ? "none" : s;
}

AugmentParams sample_augment(const AugmentPolicy& policy, int64_t n,
                             c10::optional<at::Generator> gen) {
  AugmentParams p;
  if (policy.color) {
    p.brightness = torch::rand({n, 1, 1, 1}, gen) - 0.5;  // +-0.5 in [0,1]
    p.saturation = torch::rand({n, 1, 1, 1}, gen) * 2.0;
    p.contrast = torch::rand({n, 1, 1, 1}, gen) + 0.5;
  }
  if (policy.translation)
    p.shift = (torch::rand({n, 2}, gen) * 2.0 - 1.0) * 0.25;  // 1/8 of size
  if (policy.cutout) p.cutout_center = torch::rand({n, 2}, gen);
  return p;
}

AugmentParams slice_augment(const AugmentParams& params, int64_t start,
                            int64_t length, const torch::Device& device) {
  auto part = [&](const torch::Tensor& t) {
    return t.defined() ? t.narrow(0, start, length).to(device) : t;
  };
  return {part(params.brightness), part(params.saturation),
          part(params.contrast), part(params.shift),
          part(params.cutout_center)};
}

torch::Tensor apply_augment(const torch::Tensor& images,
                            const AugmentPolicy& policy,
                            const AugmentParams& p) {
  auto x = images;
  const auto n = x.size(0), h = x.size(2), w = x.size(3);
  const auto opts = x.options();
  if (policy.color) {
    // DiffAugment's colour ops, in [-1, 1] units (x2 of the [0, 1] ones).
    x = x + p.brightness.to(opts) * 2.0;
    auto mean = x.mean(1, true);
    x = (x - mean) * p.saturation.to(opts) + mean;
    auto mean_all = x.mean({1, 2, 3}, true);
    x = (x - mean_all) * p.contrast.to(opts) + mean_all;
  }
  if (policy.translation) {
    // Integer shift with black fill, by gathering from a padded copy:
    // index ops have double backward (R1, WGAN-GP); grid_sampler does not.
    const auto pad = std::max<int64_t>(1, (std::max(h, w) + 7) / 8);
    auto padded = torch::constant_pad_nd(x + 1.0, {pad, pad, pad, pad}, 0.0)
                      .permute({0, 2, 3, 1});  // [N, H+2p, W+2p, C]
    auto dx = (p.shift.select(1, 0) * 0.5 * w)
                  .round()
                  .to(torch::kLong)
                  .clamp(-pad, pad)
                  .view({n, 1, 1});
    auto dy = (p.shift.select(1, 1) * 0.5 * h)
                  .round()
                  .to(torch::kLong)
                  .clamp(-pad, pad)
                  .view({n, 1, 1});
    const auto index = opts.dtype(torch::kLong);  // on the images' device
    auto iy = torch::arange(h, index).view({1, h, 1}) - dy + pad;
    auto ix = torch::arange(w, index).view({1, 1, w}) - dx + pad;
    auto in = torch::arange(n, index).view({n, 1, 1});
    x = padded
            .index({in.expand({n, h, w}), iy.expand({n, h, w}),
                    ix.expand({n, h, w})})
            .permute({0, 3, 1, 2}) -
        1.0;
  }
  if (policy.cutout) {
    auto ys = (torch::arange(h, opts) + 0.5) / h;  // [H]
    auto xs = (torch::arange(w, opts) + 0.5) / w;  // [W]
    auto cy = p.cutout_center.select(1, 0).to(opts).view({n, 1, 1});
    auto cx = p.cutout_center.select(1, 1).to(opts).view({n, 1, 1});
    auto inside = ((ys.view({1, h, 1}) - cy).abs() < 0.25) &
                  ((xs.view({1, 1, w}) - cx).abs() < 0.25);
    auto mask = (~inside).to(opts.dtype()).unsqueeze(1);
    x = (x + 1.0) * mask - 1.0;
  }
  return x;
}

}  // namespace neuralart
