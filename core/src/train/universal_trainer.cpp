// Universal style training: StyleNet + style predictor on many paintings
// (Ghiasi et al. 2017), one random painting crop per step.
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>

#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/models/layers.h"
#include "neuralart/tensor_file.h"
#include "neuralart/train/adam_state.h"
#include "neuralart/train/loss_log.h"
#include "neuralart/train/mixed_precision.h"
#include "neuralart/train/universal_train.h"
#include "neuralart/util/json_int.h"

namespace neuralart {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUniversalCheckpointFile = "checkpoint.ckpt";
constexpr const char* kUniversalCheckpointKey =
    "neuralart.universal_checkpoint";
constexpr const char* kUniversalCsvHeader =
    "step,painting,content_loss,style_loss,tv_loss,temporal_loss,total_loss,"
    "images_per_second";

}  // namespace

// ---------------------------------------------------------- options ----

void UniversalTrainOptions::validate() const {
  auto s = style;
  s.frozen_styles = 0;
  s.model.num_styles = 1;
  s.validate();
  predictor.validate();
  if (!(min_crop >= 0.1 && min_crop <= 1.0))
    throw InvalidArgument("min-crop " + std::to_string(min_crop) +
                          " is out of range [0.1, 1]");
  if (!(predictor_lr_scale > 0.0 && predictor_lr_scale <= 10.0))
    throw InvalidArgument("predictor-lr-scale " +
                          std::to_string(predictor_lr_scale) +
                          " is out of range (0, 10]");
  if (!(color_shuffle >= 0.0 && color_shuffle <= 1.0))
    throw InvalidArgument("color-shuffle " + std::to_string(color_shuffle) +
                          " is out of range [0, 1]");
}

nlohmann::json UniversalTrainOptions::to_json() const {
  return {{"style", style.to_json()},
          {"predictor", predictor.to_json()},
          {"min_crop", min_crop},
          {"color_shuffle", color_shuffle},
          {"predictor_lr_scale", predictor_lr_scale}};
}

UniversalTrainOptions UniversalTrainOptions::from_json(
    const nlohmann::json& j) {
  UniversalTrainOptions o;
  try {
    o.style = StyleTrainOptions::from_json(j.at("style"));
    o.predictor = StylePredictorOptions::from_json(j.at("predictor"));
    o.min_crop = j.at("min_crop");
    o.color_shuffle = j.at("color_shuffle");
    o.predictor_lr_scale = j.value("predictor_lr_scale", 0.05);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("universal training options: ") +
                          e.what());
  }
  return o;
}

// ---------------------------------------------------------- trainer ----

UniversalTrainer::UniversalTrainer(UniversalTrainOptions options,
                                   std::vector<torch::Tensor> content,
                                   std::vector<torch::Tensor> paintings,
                                   std::vector<std::string> names,
                                   std::string run_dir,
                                   std::vector<torch::Tensor> preview_paintings)
    : options_(std::move(options)),
      content_(std::move(content)),
      paintings_(std::move(paintings)),
      preview_paintings_(std::move(preview_paintings)),
      names_(std::move(names)),
      run_dir_(std::move(run_dir)),
      device_(parse_device(options_.style.device)),
      precision_(
          resolve_training_precision(options_.style.precision, device_)) {
  auto& so = options_.style;
  so.model.num_styles = 1;
  so.frozen_styles = 0;
  if (paintings_.size() < 2)
    throw InvalidArgument("a universal model needs at least 2 paintings, got " +
                          std::to_string(paintings_.size()));
  if (names_.size() != paintings_.size())
    throw InvalidArgument("one name per painting is needed");
  {
    StyleNet probe(so.model);
    options_.predictor.code_size = probe->code_size();
  }
  options_.validate();
  check_content_images(content_, so.size);
  for (size_t i = 0; i < paintings_.size(); ++i) {
    auto& p = paintings_[i];
    if (p.dim() != 4 || p.size(0) != 1 || p.size(1) != 3)
      throw InvalidArgument("painting " + names_[i] + " is not [1, 3, H, W]");
    p = p.to(device_, torch::kFloat32);
  }
  for (auto& p : preview_paintings_) p = p.to(device_, torch::kFloat32);
  fs::create_directories(run_dir_);

  auto layers = loss_layers(so.loss);
  for (const auto& l : options_.predictor.layers)
    if (std::find(layers.begin(), layers.end(), l) == layers.end())
      layers.push_back(l);
  loss_net_ = make_loss_net(so.loss_net, layers);
  loss_net_->to(device_);
  torch::manual_seed(so.seed);
  rng_ = at::make_generator<at::CPUGeneratorImpl>(so.seed);
  net_ = StyleNet(so.model);
  predictor_ = StylePredictor(options_.predictor);
  predictor_->set_encoder(*loss_net_);
  net_->to(device_);
  predictor_->to(device_);
  {
    // The descriptors' standardisation: every painting whole and its
    // centre at the smallest crop.
    std::vector<torch::Tensor> d;
    for (const auto& p : paintings_) {
      d.push_back(predictor_->describe(painting_at_style_size(p)));
      const int64_t side =
          std::llround(options_.min_crop *
                       static_cast<double>(std::min(p.size(2), p.size(3))));
      const int64_t top = (p.size(2) - side) / 2, left = (p.size(3) - side) / 2;
      d.push_back(predictor_->describe(
          scale_painting(p.narrow(2, top, side).narrow(3, left, side),
                         options_.predictor.style_size)));
    }
    predictor_->set_descriptor_stats(torch::stack(d));
  }
  to_channels_last(*net_);
  net_->train();
  predictor_->train();
  std::vector<torch::Tensor> params;
  for (const auto& p : net_->named_parameters())
    // The style table is not used while training (codes come from the
    // predictor); export fills it.
    if (p.key().find("in") != 0 && p.key().find("res_norms") != 0)
      params.push_back(p.value());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(params,
                      std::make_unique<torch::optim::AdamOptions>(so.lr));
  groups.emplace_back(predictor_->parameters(),
                      std::make_unique<torch::optim::AdamOptions>(
                          so.lr * options_.predictor_lr_scale));
  opt_ = std::make_unique<torch::optim::Adam>(std::move(groups),
                                              torch::optim::AdamOptions(so.lr));
  const int64_t k = std::min<int64_t>(so.preview_count,
                                      static_cast<int64_t>(content_.size()));
  std::vector<torch::Tensor> previews;
  for (int64_t i = 0; i < k; ++i) {
    const auto& c = content_[i];
    const int64_t top = (c.size(1) - so.size) / 2;
    const int64_t left = (c.size(2) - so.size) / 2;
    previews.push_back(
        c.slice(1, top, top + so.size).slice(2, left, left + so.size));
  }
  preview_batch_ = torch::stack(previews).to(device_, torch::kFloat32);
}

UniversalTrainer::~UniversalTrainer() = default;

std::string UniversalTrainer::checkpoint_path() const {
  return (fs::path(run_dir_) / kUniversalCheckpointFile).string();
}

std::string UniversalTrainer::csv_path() const {
  return (fs::path(run_dir_) / "losses.csv").string();
}

bool UniversalTrainer::has_checkpoint() const {
  return fs::exists(checkpoint_path());
}

torch::Tensor UniversalTrainer::painting_at_style_size(
    const torch::Tensor& painting) const {
  return scale_painting(painting.to(torch::kFloat32),
                        options_.predictor.style_size);
}

torch::Tensor UniversalTrainer::random_batch() {
  const auto crops = random_content_crops(content_, options_.style.size,
                                          options_.style.batch, rng_);
  return channels_last(torch::stack(crops).to(device_).to(torch::kFloat32));
}

torch::Tensor UniversalTrainer::random_painting_crop(int64_t index) {
  const auto& p = paintings_[index];
  const int64_t shorter = std::min(p.size(2), p.size(3));
  const double frac =
      options_.min_crop +
      (1.0 - options_.min_crop) * torch::rand({1}, rng_).item<double>();
  const int64_t side =
      std::max<int64_t>(8, std::llround(frac * static_cast<double>(shorter)));
  const auto top =
      torch::randint(p.size(2) - side + 1, {1}, rng_).item<int64_t>();
  const auto left =
      torch::randint(p.size(3) - side + 1, {1}, rng_).item<int64_t>();
  auto crop = scale_painting(p.narrow(2, top, side).narrow(3, left, side),
                             options_.predictor.style_size);
  if (torch::randint(2, {1}, rng_).item<int64_t>() == 1) crop = crop.flip({3});
  if (torch::rand({1}, rng_).item<double>() < options_.color_shuffle) {
    auto order = torch::randperm(3, rng_, torch::kLong).to(crop.device());
    crop = crop.index_select(1, order);
  }
  return crop.contiguous();
}

StyleTrainStats UniversalTrainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& so = options_.style;
  StyleTrainStats stats;
  stats.style_index =
      torch::randint(static_cast<int64_t>(paintings_.size()), {1}, rng_)
          .item<int64_t>();
  const auto painting = random_painting_crop(stats.style_index);
  auto x = random_batch();
  std::optional<AutocastGuard> autocast;
  autocast.emplace(precision_, device_);
  // The painting's Gram targets and its description from one pass of the
  // loss network (the predictor's encoder is a copy of it), in the step's
  // precision: this pass costs as much as the network's own step at 192 px.
  StyleTargets targets;
  torch::Tensor descriptor;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> first;
    targets = style_targets(*loss_net_, painting, so.loss, &first);
    std::vector<torch::Tensor> picked;
    for (const auto& l : options_.predictor.layers) {
      const auto at = std::find(so.loss.style_layers.begin(),
                                so.loss.style_layers.end(), l);
      if (at == so.loss.style_layers.end()) break;
      picked.push_back(first[at - so.loss.style_layers.begin()]);
    }
    descriptor = picked.size() == options_.predictor.layers.size()
                     ? predictor_->describe_features(picked)
                     : predictor_->describe(painting);
  }
  torch::Tensor code;
  {
    NoAutocast fp32;
    code = predictor_->forward(descriptor);
  }
  auto y = net_->forward_code(x, code);
  std::vector<torch::Tensor> content_targets;
  {
    torch::NoGradGuard no_grad;
    content_targets = loss_net_->features(x, so.loss.content_layers);
  }
  auto terms =
      style_loss_terms(*loss_net_, y, content_targets, {&targets}, so.loss);
  auto tv = total_variation_loss(y / 255.0);
  auto total = so.content_weight * terms.content +
               so.style_weight * terms.style[0] + so.tv_weight * tv;
  torch::Tensor temporal;
  if (so.temporal_weight > 0) {
    auto theta = random_frame_motion(x.size(0), rng_);
    torch::Tensor noise;
    if (so.temporal_noise > 0) noise = torch::randn(x.sizes(), rng_);
    temporal = temporal_consistency_loss(
        [&](const torch::Tensor& in) { return net_->forward_code(in, code); },
        x, y, theta, noise, so.temporal_noise);
    total = total + so.temporal_weight * temporal;
  }
  autocast.reset();
  opt_->zero_grad();
  total.backward();
  const double lr = so.lr * lr_schedule_factor(so.lr_schedule, step_, so.steps);
  auto& groups = opt_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g)
    static_cast<torch::optim::AdamOptions&>(groups[g].options())
        .lr(g == 0 ? lr : lr * options_.predictor_lr_scale);
  opt_->step();
  ++step_;
  stats.step = step_;
  stats.content = terms.content.item<double>();
  stats.style = terms.style[0].item<double>();
  stats.tv = tv.item<double>();
  stats.temporal = temporal.defined() ? temporal.item<double>() : 0.0;
  stats.total = total.item<double>();
  const double dt =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  seconds_ += dt;
  stats.images_per_second = so.batch / std::max(dt, 1e-9);
  if (!std::isfinite(stats.total))
    throw Error("universal style training diverged: loss " +
                std::to_string(stats.total) + " at step " +
                std::to_string(step_) + "; lower --lr or the loss weights");
  return stats;
}

torch::Tensor UniversalTrainer::previews() {
  torch::NoGradGuard no_grad;
  net_->eval();
  predictor_->eval();
  std::vector<torch::Tensor> rows{preview_batch_};
  std::vector<torch::Tensor> shown;
  for (size_t i = 0; i < std::min<size_t>(2, paintings_.size()); ++i)
    shown.push_back(paintings_[i]);
  for (const auto& p : preview_paintings_) shown.push_back(p);
  for (const auto& p : shown) {
    auto code = predictor_->predict(painting_at_style_size(p));
    rows.push_back(net_->forward_code(preview_batch_, code).clamp(0, 255));
  }
  net_->train();
  predictor_->train();
  return torch::cat(rows).cpu();
}

int64_t UniversalTrainer::train(const StyleTrainCallbacks& callbacks) {
  const auto& so = options_.style;
  while (step_ < so.steps) {
    if (callbacks.stop && callbacks.stop->load()) break;
    const auto stats = step();
    if (step_ % so.log_every == 0 || step_ == so.steps) {
      std::ostringstream row;
      row << stats.step << "," << stats.style_index << "," << stats.content
          << "," << stats.style << "," << stats.tv << "," << stats.temporal
          << "," << stats.total << "," << stats.images_per_second;
      append_loss_row(csv_path(), kUniversalCsvHeader, row.str());
    }
    if (callbacks.on_step) callbacks.on_step(stats);
    if (so.preview_every > 0 && step_ % so.preview_every == 0 &&
        callbacks.on_preview)
      callbacks.on_preview(step_, previews());
    if (step_ % so.checkpoint_every == 0) save_checkpoint();
  }
  save_checkpoint();
  return step_;
}

void UniversalTrainer::save_checkpoint() const {
  TensorFile f;
  for (const auto& p : net_->named_parameters())
    f.tensors["net." + p.key()] = p.value().detach();
  for (const auto& p : predictor_->named_parameters())
    f.tensors["predictor." + p.key()] = p.value().detach();
  for (const auto& b : predictor_->named_buffers())
    f.tensors["predictor." + b.key()] = b.value().detach();
  put_adam_state(f, "adam.", *opt_);
  f.tensors["rng"] = rng_.get_state();
  nlohmann::json meta = {{"options", options_.to_json()},
                         {"step", step_},
                         {"seconds", seconds_},
                         {"paintings", names_},
                         {"provenance", provenance}};
  f.metadata[kUniversalCheckpointKey] = meta.dump();
  write_tensor_file(checkpoint_path(), f);
}

void UniversalTrainer::load_base(StyleNet& base) {
  if (step_ != 0)
    throw InvalidArgument("a base model can only start a run, not continue it");
  auto want = options_.style.model;
  auto have = base->options();
  want.num_styles = have.num_styles;
  if (have.to_json() != want.to_json())
    throw InvalidArgument("the base model's architecture " +
                          have.to_json().dump() + " differs from " +
                          want.to_json().dump());
  torch::NoGradGuard no_grad;
  auto mine = net_->named_parameters();
  for (const auto& p : base->named_parameters()) {
    auto* dst = mine.find(p.key());
    if (!dst) throw InvalidArgument("the base model has no '" + p.key() + "'");
    if (dst->sizes() == p.value().sizes())
      dst->copy_(p.value().to(dst->device(), torch::kFloat32));
  }
  predictor_->init_output(base->style_codes().mean(0).to(device_));
}

void UniversalTrainer::resume() {
  const auto path = checkpoint_path();
  if (!fs::exists(path))
    throw Error(run_dir_ + ": no " + kUniversalCheckpointFile +
                " to resume from");
  const auto f = read_tensor_file(path);
  const auto meta =
      checkpoint_metadata(f, path, kUniversalCheckpointKey, "universal style");
  UniversalTrainOptions saved;
  try {
    saved = UniversalTrainOptions::from_json(meta.at("options"));
  } catch (const std::exception& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  }
  auto mismatch = [&](const std::string& what, const std::string& was,
                      const std::string& now) {
    require_same(path, what, was, now);
  };
  mismatch("model", saved.style.model.to_json().dump(),
           options_.style.model.to_json().dump());
  mismatch("predictor", saved.predictor.to_json().dump(),
           options_.predictor.to_json().dump());
  mismatch("loss network", saved.style.loss_net, options_.style.loss_net);
  mismatch("paintings", meta.value("paintings", nlohmann::json()).dump(),
           nlohmann::json(names_).dump());
  for (auto& p : net_->named_parameters())
    restore_tensor(f, path, "net.", p.key(), p.value());
  for (auto& p : predictor_->named_parameters())
    restore_tensor(f, path, "predictor.", p.key(), p.value());
  for (auto& b : predictor_->named_buffers())
    restore_tensor(f, path, "predictor.", b.key(), b.value());
  get_adam_state(f, "adam.", *opt_);
  try {
    step_ = json_int(meta.at("step"), "step");
  } catch (const std::exception& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  }
  seconds_ = meta.value("seconds", 0.0);
  rng_.set_state(f.tensors.at("rng"));
  trim_loss_log(csv_path(), step_);
}

void UniversalTrainer::export_bundle(const std::string& path) const {
  torch::Tensor codes;
  {
    torch::NoGradGuard no_grad;
    StylePredictor predictor = predictor_;  // a handle: predict() is not const
    predictor->eval();
    std::vector<torch::Tensor> c;
    for (const auto& p : paintings_)
      c.push_back(predictor->predict(painting_at_style_size(p)).cpu());
    predictor->train();
    codes = torch::stack(c);
  }
  auto net_options = options_.style.model;
  net_options.num_styles = static_cast<int64_t>(paintings_.size());
  UniversalStyle model(net_options, options_.predictor);
  {
    torch::NoGradGuard no_grad;
    auto with_codes = style_net_with_codes(*net_, codes);
    auto dst = model->net->named_parameters();
    for (const auto& p : with_codes->named_parameters())
      dst[p.key()].copy_(p.value());
    auto pdst = model->predictor->named_parameters();
    for (const auto& p : predictor_->named_parameters())
      pdst[p.key()].copy_(p.value().cpu());
    auto bdst = model->predictor->named_buffers();
    for (const auto& b : predictor_->named_buffers())
      bdst[b.key()].copy_(b.value().cpu());
  }
  auto meta = universal_style_meta(net_options, options_.predictor, names_);
  for (auto it = provenance.begin(); it != provenance.end(); ++it)
    meta.provenance[it.key()] = it.value();
  meta.provenance["trainer"] = "neuralart-train universal";
  meta.provenance["steps"] = step_;
  meta.provenance["training_seconds"] = std::round(seconds_);
  meta.provenance["training"] = options_.to_json();
  meta.provenance["precision"] = to_string(precision_);
  save_bundle(path, meta, *model);
}

torch::Tensor UniversalTrainer::loss_plot() const {
  std::vector<std::vector<double>> series(4);
  const auto& so = options_.style;
  for (const auto& v : read_loss_rows(csv_path())) {
    if (v.size() < 8) continue;
    series[0].push_back(v[6]);
    series[1].push_back(v[2] * so.content_weight);
    series[2].push_back(v[3] * so.style_weight);
    if (so.temporal_weight > 0) series[3].push_back(v[5] * so.temporal_weight);
  }
  return render_line_plot(
      series, {{{0, 0, 0}}, {{40, 80, 220}}, {{220, 40, 40}}, {{30, 160, 60}}});
}

}  // namespace neuralart
