// Gatys et al. (2016) optimisation: the image itself is the parameter.
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "neuralart/error.h"
#include "neuralart/train/mixed_precision.h"
#include "neuralart/train/style_train.h"

namespace neuralart {

void GatysOptions::validate() const {
  if (init != "content" && init != "noise")
    throw InvalidArgument("init '" + init + "' must be content or noise");
  if (optimizer != "lbfgs" && optimizer != "adam")
    throw InvalidArgument("optimizer '" + optimizer +
                          "' must be lbfgs or adam");
  if (steps < 1) throw InvalidArgument("steps must be >= 1");
  if (!(lr > 0)) throw InvalidArgument("lr must be > 0");
  if (content_weight < 0 || style_weight < 0 || tv_weight < 0)
    throw InvalidArgument("loss weights must be >= 0");
  if (loss.content_layers.empty() || loss.style_layers.empty())
    throw InvalidArgument("content and style layers must not be empty");
  resolve_training_precision(precision, torch::Device(torch::kCPU));
}

torch::Tensor gatys_stylize(LossNet& net, const torch::Tensor& content_in,
                            const std::vector<torch::Tensor>& styles_in,
                            const std::vector<double>& style_weights,
                            const GatysOptions& options,
                            const GatysCallbacks& callbacks) {
  options.validate();
  TORCH_CHECK(content_in.dim() == 4 && content_in.size(0) == 1 &&
                  content_in.size(1) == 3,
              "content must be [1, 3, H, W], got ", content_in.sizes());
  if (styles_in.empty()) throw InvalidArgument("at least one style is needed");
  if (style_weights.size() != styles_in.size())
    throw InvalidArgument(std::to_string(style_weights.size()) +
                          " style weights for " +
                          std::to_string(styles_in.size()) + " styles");
  double weight_sum = 0;
  for (double w : style_weights) {
    if (!(w >= 0)) throw InvalidArgument("style weights must be >= 0");
    weight_sum += w;
  }
  if (!(weight_sum > 0))
    throw InvalidArgument("style weights must not all be 0");

  // Colour preservation: transfer luminance only, styles matched to the
  // content's luminance statistics; chroma comes back from the content.
  torch::Tensor content = content_in.to(torch::kFloat32);
  std::vector<torch::Tensor> styles;
  for (const auto& s : styles_in)
    styles.push_back(options.preserve_color
                         ? luminance_matched(s.to(content.device()), content)
                         : s.to(content.device(), torch::kFloat32));
  if (options.preserve_color) content = luminance_matched(content, content);

  std::vector<torch::Tensor> content_targets;
  std::vector<StyleTargets> style_targets_list;
  {
    torch::NoGradGuard no_grad;
    content_targets = net.features(content, options.loss.content_layers);
    for (const auto& s : styles)
      style_targets_list.push_back(style_targets(net, s, options.loss));
  }

  torch::Tensor image;
  if (options.init == "content") {
    image = content.clone();
  } else {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    image = (at::normal(128.0, 40.0, content.sizes(), gen))
                .clamp(0, 255)
                .to(content.device());
  }
  image.requires_grad_(true);

  GatysStats stats;
  const double objective_scale =
      options.optimizer == "lbfgs" ? static_cast<double>(image.numel()) : 1.0;
  const auto precision =
      resolve_training_precision(options.precision, image.device());
  std::vector<const StyleTargets*> targets;
  for (size_t i = 0; i < styles.size(); ++i)
    targets.push_back(style_weights[i] > 0 ? &style_targets_list[i] : nullptr);
  auto closure = [&]() -> torch::Tensor {
    if (image.grad().defined()) image.grad().zero_();
    // One pass of the loss network serves the content loss and every
    // style's loss (they used to take one pass each).
    StyleLossTerms terms;
    {
      AutocastGuard autocast(precision, image.device());
      terms =
          style_loss_terms(net, image, content_targets, targets, options.loss);
    }
    auto c = terms.content;
    torch::Tensor s = torch::zeros({}, image.options());
    for (size_t i = 0; i < styles.size(); ++i)
      if (targets[i]) s = s + style_weights[i] / weight_sum * terms.style[i];
    auto tv = total_variation_loss(image / 255.0);
    auto total = options.content_weight * c + options.style_weight * s +
                 options.tv_weight * tv;
    // L-BFGS sees the loss summed over pixels rather than averaged: with
    // per-pixel gradients near 1e-5 its steps would vanish in float32.
    (total * objective_scale).backward();
    stats.content = c.item<double>();
    stats.style = s.item<double>();
    stats.tv = tv.item<double>();
    stats.total = total.item<double>();
    return total * objective_scale;
  };

  auto result_image = [&]() {
    torch::NoGradGuard no_grad;
    auto out = image.detach().clamp(0, 255);
    if (options.preserve_color) {
      auto yiq = rgb_to_yiq(content_in.to(torch::kFloat32));
      yiq.select(1, 0).copy_(rgb_to_yiq(out).select(1, 0));
      out = yiq_to_rgb(yiq).clamp(0, 255);
    }
    return out;
  };

  std::unique_ptr<torch::optim::Optimizer> opt;
  if (options.optimizer == "lbfgs") {
    // One L-BFGS iteration per step (a few function evaluations).
    opt = std::make_unique<torch::optim::LBFGS>(
        std::vector<torch::Tensor>{image},
        torch::optim::LBFGSOptions(options.lr)
            .max_iter(1)
            .history_size(50)
            // The losses are means (~1), so pixel gradients are tiny; the
            // line search finds the step size whatever the scale.
            .line_search_fn("strong_wolfe")
            // The normalised losses have tiny per-pixel gradients: only an
            // exact zero gradient means converged.
            .tolerance_grad(0)
            .tolerance_change(0));
  } else {
    opt = std::make_unique<torch::optim::Adam>(
        std::vector<torch::Tensor>{image},
        torch::optim::AdamOptions(options.lr));
  }

  for (int64_t step = 1; step <= options.steps; ++step) {
    if (callbacks.stop && callbacks.stop->load()) break;
    if (options.optimizer == "lbfgs") {
      opt->step(closure);
    } else {
      closure();
      opt->step();
      torch::NoGradGuard no_grad;
      image.clamp_(0, 255);
    }
    stats.step = step;
    if (!std::isfinite(stats.total))
      throw Error("stylize: the loss became " + std::to_string(stats.total) +
                  " at step " + std::to_string(step) +
                  "; lower --lr or the loss weights");
    if (callbacks.on_step) callbacks.on_step(stats);
    if (callbacks.on_image && callbacks.image_every > 0 &&
        step % callbacks.image_every == 0 && step != options.steps)
      callbacks.on_image(step, result_image());
  }
  return result_image();
}

}  // namespace neuralart
