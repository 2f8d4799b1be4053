// Feed-forward style training (Johnson et al. 2016), several styles in one
// model through conditional instance norm (Dumoulin et al. 2017).
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/models/load.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/tensor_file.h"
#include "neuralart/train/adam_state.h"
#include "neuralart/train/distributed.h"
#include "neuralart/train/loss_log.h"
#include "neuralart/train/mixed_precision.h"
#include "neuralart/train/style_train.h"
#include "neuralart/util/json_int.h"

namespace neuralart {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCheckpointFile = "checkpoint.ckpt";
constexpr const char* kCheckpointKey = "neuralart.style_checkpoint";
constexpr const char* kCsvHeader =
    "step,style,content_loss,style_loss,tv_loss,temporal_loss,total_loss,"
    "images_per_second";

template <typename T>
void check(const std::string& name, T value, T lo, T hi) {
  if (!(value >= lo && value <= hi)) {
    std::ostringstream s;
    s << name << " " << value << " is out of range [" << lo << ", " << hi
      << "]";
    throw InvalidArgument(s.str());
  }
}

nlohmann::json loss_json(const StyleLossConfig& c) {
  return {{"content_layers", c.content_layers},
          {"style_layers", c.style_layers},
          {"pyramid_levels", c.pyramid_levels}};
}

torch::Tensor center_crop(const torch::Tensor& chw, int64_t size) {
  const int64_t top = (chw.size(1) - size) / 2;
  const int64_t left = (chw.size(2) - size) / 2;
  return chw.slice(1, top, top + size).slice(2, left, left + size);
}

}  // namespace

// Everything, or only the conditional instance norms' scale and shift
// tables (a style's few vectors) when the convolutions are a frozen base.
static std::vector<torch::Tensor> trainable_parameters(StyleNetImpl& net,
                                                       bool norms_only) {
  if (!norms_only) return net.parameters();
  std::vector<torch::Tensor> params;
  for (const auto& m : net.modules(/*include_self=*/false))
    if (auto* in = dynamic_cast<CondInstanceNormImpl*>(m.get())) {
      params.push_back(in->weight);
      params.push_back(in->bias);
    }
  return params;
}

// ---------------------------------------------------------- options ----

void StyleTrainOptions::validate() const {
  model.validate();
  check<int64_t>("size", size, 32, 2048);
  check<int64_t>("batch", batch, 1, 256);
  check<int64_t>("steps", steps, 1, 100000000);
  check<double>("lr", lr, 1e-7, 1.0);
  check_lr_schedule(lr_schedule);
  check<double>("content-weight", content_weight, 0.0, 1e9);
  check<double>("style-weight", style_weight, 0.0, 1e9);
  check<double>("tv-weight", tv_weight, 0.0, 1e9);
  check<double>("temporal-weight", temporal_weight, 0.0, 1e9);
  check<double>("temporal-noise", temporal_noise, 0.0, 64.0);
  check<double>("shift-weight", shift_weight, 0.0, 1e9);
  check<int64_t>("loss-jitter", loss_jitter, 0, 16);
  if (frozen_styles < 0 || frozen_styles >= model.num_styles)
    throw InvalidArgument("frozen styles " + std::to_string(frozen_styles) +
                          " must be in [0, " +
                          std::to_string(model.num_styles - 1) +
                          "]: at least one style must train");
  check<int64_t>("preview-every", preview_every, 0, 100000000);
  check<int64_t>("checkpoint-every", checkpoint_every, 1, 100000000);
  check<int64_t>("log-every", log_every, 1, 100000000);
  check<int64_t>("preview-count", preview_count, 1, 16);
  resolve_training_precision(precision, torch::Device(torch::kCPU));
  check<int>("pyramid-levels", loss.pyramid_levels, 1, 6);
  if ((size >> (loss.pyramid_levels - 1)) < 8)
    throw InvalidArgument(
        "size " + std::to_string(size) + " is too small for " +
        std::to_string(loss.pyramid_levels) + " pyramid levels");
  if (loss.content_layers.empty() || loss.style_layers.empty())
    throw InvalidArgument("content and style layers must not be empty");
}

nlohmann::json StyleTrainOptions::to_json() const {
  return {{"model", model.to_json()},
          {"loss_net", loss_net},
          {"loss", loss_json(loss)},
          {"size", size},
          {"batch", batch},
          {"steps", steps},
          {"lr", lr},
          {"lr_schedule", lr_schedule},
          {"content_weight", content_weight},
          {"style_weight", style_weight},
          {"tv_weight", tv_weight},
          {"temporal_weight", temporal_weight},
          {"temporal_noise", temporal_noise},
          {"shift_weight", shift_weight},
          {"loss_jitter", loss_jitter},
          {"frozen_styles", frozen_styles},
          {"preview_every", preview_every},
          {"checkpoint_every", checkpoint_every},
          {"log_every", log_every},
          {"preview_count", preview_count},
          {"seed", seed}};
}

StyleTrainOptions StyleTrainOptions::from_json(const nlohmann::json& j) {
  StyleTrainOptions o;
  try {
    o.model = StyleNetOptions::from_json(j.at("model"));
    o.loss_net = j.at("loss_net");
    o.loss.content_layers =
        j.at("loss").at("content_layers").get<std::vector<std::string>>();
    o.loss.style_layers =
        j.at("loss").at("style_layers").get<std::vector<std::string>>();
    o.loss.pyramid_levels =
        json_int(j.at("loss").at("pyramid_levels"), "pyramid_levels");
    o.size = json_int(j.at("size"), "size");
    o.batch = json_int(j.at("batch"), "batch");
    o.steps = json_int(j.at("steps"), "steps");
    o.lr = j.at("lr");
    o.lr_schedule = j.value("lr_schedule", std::string("constant"));
    o.content_weight = j.at("content_weight");
    o.style_weight = j.at("style_weight");
    o.tv_weight = j.at("tv_weight");
    o.temporal_weight = j.at("temporal_weight");
    o.temporal_noise = j.value("temporal_noise", 0.0);
    o.shift_weight = j.value("shift_weight", 0.0);
    o.loss_jitter =
        json_int(j.value("loss_jitter", nlohmann::json(0)), "loss_jitter");
    o.frozen_styles =
        json_int(j.value("frozen_styles", nlohmann::json(0)), "frozen_styles");
    o.preview_every = json_int(j.at("preview_every"), "preview_every");
    o.checkpoint_every = json_int(j.at("checkpoint_every"), "checkpoint_every");
    o.log_every = json_int(j.at("log_every"), "log_every");
    o.preview_count = json_int(j.at("preview_count"), "preview_count");
    o.seed = json_uint(j.at("seed"), "seed");
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string("style training options: ") + e.what());
  }
  return o;
}

// ---------------------------------------------------------- trainer ----

StyleTrainer::StyleTrainer(StyleTrainOptions options,
                           std::vector<torch::Tensor> content,
                           std::vector<torch::Tensor> styles,
                           std::vector<std::string> style_names,
                           std::string run_dir,
                           std::shared_ptr<DataParallel> parallel)
    : options_(std::move(options)),
      content_(std::move(content)),
      styles_(std::move(styles)),
      style_names_(std::move(style_names)),
      run_dir_(std::move(run_dir)),
      device_(parse_device(options_.device)),
      precision_(resolve_training_precision(options_.precision, device_)),
      parallel_(std::move(parallel)) {
  if (styles_.empty()) throw InvalidArgument("at least one style is needed");
  if (style_names_.size() != styles_.size())
    throw InvalidArgument("one name per style is needed");
  options_.model.num_styles = static_cast<int64_t>(styles_.size());
  options_.validate();
  if (options_.batch % world_size() != 0)
    throw InvalidArgument("--batch " + std::to_string(options_.batch) +
                          " must be a multiple of the " +
                          std::to_string(world_size()) + " processes");
  check_content_images(content_, options_.size);
  if (is_main()) fs::create_directories(run_dir_);

  loss_net_ = make_loss_net(options_.loss_net, loss_layers(options_.loss));
  loss_net_->to(device_);
  for (size_t i = 0; i < styles_.size(); ++i) {
    auto& s = styles_[i];
    s = s.to(device_, torch::kFloat32);
    // A frozen base style never trains: no targets needed.
    targets_.push_back(static_cast<int64_t>(i) < options_.frozen_styles
                           ? StyleTargets{}
                           : style_targets(*loss_net_, s, options_.loss));
  }
  torch::manual_seed(options_.seed);
  // The data's own generator: ranks in one process (tests) or several
  // draw the same sequence of crops and styles.
  rng_ = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  net_ = StyleNet(options_.model);
  net_->to(device_);
  to_channels_last(*net_);  // oneDNN's fast layout, before Adam sees them
  net_->train();
  if (options_.frozen_styles > 0) {
    // A frozen base: no weight gradients for its convolutions (a third of
    // the network's backward pass saved).
    for (auto& p : net_->parameters()) p.requires_grad_(false);
    for (auto& p : trainable_parameters(*net_, true)) p.requires_grad_(true);
  }
  opt_ = std::make_unique<torch::optim::Adam>(
      trainable_parameters(*net_, options_.frozen_styles > 0),
      torch::optim::AdamOptions(options_.lr));
  const int64_t k = std::min<int64_t>(options_.preview_count,
                                      static_cast<int64_t>(content_.size()));
  std::vector<torch::Tensor> previews;
  for (int64_t i = 0; i < k; ++i)
    previews.push_back(center_crop(content_[i], options_.size));
  preview_batch_ = torch::stack(previews).to(device_, torch::kFloat32);
}

StyleTrainer::~StyleTrainer() = default;

int StyleTrainer::world_size() const {
  return parallel_ ? parallel_->world_size() : 1;
}

bool StyleTrainer::is_main() const {
  return !parallel_ || parallel_->is_main();
}

std::string StyleTrainer::checkpoint_path() const {
  return (fs::path(run_dir_) / kCheckpointFile).string();
}

std::string StyleTrainer::csv_path() const {
  return (fs::path(run_dir_) / "losses.csv").string();
}

bool StyleTrainer::has_checkpoint() const {
  return fs::exists(checkpoint_path());
}

torch::Tensor StyleTrainer::random_batch() {
  // Every rank draws the whole global batch (same generator state) and
  // keeps its share, so N ranks see what one process would.
  const int64_t s = options_.size;
  const int64_t share = options_.batch / world_size();
  const int64_t first = parallel_ ? parallel_->rank() * share : 0;
  auto all = random_content_crops(content_, s, options_.batch, rng_);
  std::vector<torch::Tensor> crops(all.begin() + first,
                                   all.begin() + first + share);
  return channels_last(torch::stack(crops).to(device_).to(torch::kFloat32));
}

namespace {

// Mean squared difference (0-255 units, returned in [0, 1] units) over the
// pixels and colours `mask` [N, 1, H, W] keeps: the temporal terms' measure.
torch::Tensor masked_mean_square(const torch::Tensor& diff,
                                 const torch::Tensor& mask) {
  return ((diff / 255.0).pow(2) * mask).sum() / (mask.sum() * 3 + 1.0);
}

// x + sigma * noise, kept in 0-255; x itself without noise.
torch::Tensor with_noise(const torch::Tensor& x, const torch::Tensor& noise,
                         double sigma) {
  if (!noise.defined() || sigma <= 0) return x;
  return (x + noise.to(x.device()) * sigma).clamp(0.0, 255.0);
}

}  // namespace

torch::Tensor temporal_consistency_loss(
    const std::function<torch::Tensor(const torch::Tensor&)>& net,
    const torch::Tensor& x, const torch::Tensor& output,
    const torch::Tensor& theta, const torch::Tensor& noise,
    double noise_sigma) {
  namespace F = torch::nn::functional;
  const int64_t n = x.size(0);
  auto grid = F::affine_grid(theta.to(x.device(), torch::kFloat32), x.sizes(),
                             /*align_corners=*/false);
  auto sample = [&](const torch::Tensor& t, bool zeros) {
    auto o =
        F::GridSampleFuncOptions().mode(torch::kBilinear).align_corners(false);
    if (zeros)
      o.padding_mode(torch::kZeros);
    else
      o.padding_mode(torch::kBorder);
    return F::grid_sample(t.to(torch::kFloat32), grid, o);
  };
  auto out_of_moved = net(with_noise(sample(x, false), noise, noise_sigma));
  auto moved_out = sample(output, false);
  // Only where T maps inside the frame: borders are invented content.
  auto mask =
      sample(torch::ones({n, 1, x.size(2), x.size(3)}, x.options()), true)
          .gt(0.999)
          .to(torch::kFloat32);
  return masked_mean_square(out_of_moved.to(torch::kFloat32) - moved_out, mask);
}

torch::Tensor shift_consistency_loss(
    const std::function<torch::Tensor(const torch::Tensor&)>& net,
    const torch::Tensor& x, const torch::Tensor& output, int64_t dy,
    int64_t dx) {
  constexpr int64_t kBorder = 8;  // padding differs within this of an edge
  TORCH_CHECK(dy >= 0 && dy <= 16 && dx >= 0 && dx <= 16,
              "shift must be in [0, 16] pixels, got ", dy, ", ", dx);
  const int64_t h = x.size(2) - dy, w = x.size(3) - dx;
  TORCH_CHECK(h > 2 * kBorder && w > 2 * kBorder, "shift consistency needs ",
              "crops larger than the shift plus ", 2 * kBorder, " pixels");
  auto moved_in = x.narrow(2, dy, h).narrow(3, dx, w);
  auto out_of_moved =
      net(moved_in.contiguous(x.suggest_memory_format())).to(torch::kFloat32);
  auto moved_out = output.narrow(2, dy, h).narrow(3, dx, w).to(torch::kFloat32);
  auto inside = [&](const torch::Tensor& t) {
    return t.narrow(2, kBorder, h - 2 * kBorder)
        .narrow(3, kBorder, w - 2 * kBorder);
  };
  return ((inside(out_of_moved) - inside(moved_out)) / 255.0).pow(2).mean();
}

void check_motion_pairs(const MotionPairs& p, int64_t crop) {
  auto fail = [](const std::string& what) {
    throw InvalidArgument("motion pairs: " + what);
  };
  if (p.size() < 1) fail("none given");
  for (const auto* t : {&p.prev, &p.next})
    if (!t->defined() || t->dim() != 4 || t->size(1) != 3 ||
        t->scalar_type() != torch::kUInt8 || t->sizes() != p.prev.sizes())
      fail("frames must be uint8 [P, 3, H, W], both the same shape");
  const auto n = p.prev.size(0), h = p.prev.size(2), w = p.prev.size(3);
  if (!p.flow.defined() || p.flow.sizes() != torch::IntArrayRef{n, h, w, 2} ||
      p.flow.scalar_type() != torch::kFloat32)
    fail("flow must be float [P, H, W, 2] like the frames");
  if (!p.mask.defined() || p.mask.sizes() != torch::IntArrayRef{n, 1, h, w} ||
      p.mask.scalar_type() != torch::kUInt8)
    fail("mask must be uint8 [P, 1, H, W] like the frames");
  if (std::min(h, w) < crop)
    fail("frames of " + std::to_string(w) + "x" + std::to_string(h) +
         " are smaller than the crop size " + std::to_string(crop));
}

MotionCrops random_motion_crops(const MotionPairs& pairs, int64_t size,
                                int64_t count, at::Generator& rng) {
  const int64_t h = pairs.prev.size(2), w = pairs.prev.size(3);
  std::vector<torch::Tensor> prev, next, grid, mask;
  // Pixel centres of the crop, for the sample positions x + flow(x).
  const auto xs = torch::arange(size, torch::kFloat32).view({1, size});
  const auto ys = torch::arange(size, torch::kFloat32).view({size, 1});
  for (int64_t b = 0; b < count; ++b) {
    const auto i = torch::randint(pairs.size(), {1}, rng).item<int64_t>();
    const auto top = torch::randint(h - size + 1, {1}, rng).item<int64_t>();
    const auto left = torch::randint(w - size + 1, {1}, rng).item<int64_t>();
    auto window = [&](const torch::Tensor& t, int64_t dim) {
      return t[i].narrow(dim, top, size).narrow(dim + 1, left, size);
    };
    prev.push_back(window(pairs.prev, 1));
    next.push_back(window(pairs.next, 1));
    const auto f = window(pairs.flow, 0);  // [size, size, 2]
    const auto sx = xs + f.select(2, 0), sy = ys + f.select(2, 1);
    const auto inside = sx.ge(0) & sx.le(size - 1) & sy.ge(0) & sy.le(size - 1);
    mask.push_back((window(pairs.mask, 1).gt(0) & inside.unsqueeze(0))
                       .to(torch::kFloat32));
    // align_corners=false: pixel centre x sits at (2x + 1) / size - 1.
    grid.push_back(
        torch::stack({(2 * sx + 1) / size - 1, (2 * sy + 1) / size - 1}, 2));
  }
  return {torch::stack(prev).to(torch::kFloat32),
          torch::stack(next).to(torch::kFloat32), torch::stack(grid),
          torch::stack(mask)};
}

torch::Tensor flow_consistency_loss(
    const std::function<torch::Tensor(const torch::Tensor&)>& net,
    const MotionCrops& crops, const torch::Tensor& noise, double noise_sigma) {
  namespace F = torch::nn::functional;
  const auto out_next =
      net(with_noise(crops.next, noise, noise_sigma)).to(torch::kFloat32);
  const auto out_prev = net(crops.prev).to(torch::kFloat32);
  const auto warped = F::grid_sample(out_prev, crops.grid.to(out_prev.device()),
                                     F::GridSampleFuncOptions()
                                         .mode(torch::kBilinear)
                                         .padding_mode(torch::kBorder)
                                         .align_corners(false));
  return masked_mean_square(out_next - warped,
                            crops.mask.to(out_prev.device()));
}

void check_content_images(const std::vector<torch::Tensor>& content,
                          int64_t size) {
  if (content.empty()) throw InvalidArgument("no content images");
  for (size_t i = 0; i < content.size(); ++i) {
    const auto& c = content[i];
    if (c.dim() != 3 || c.size(0) != 3 || c.scalar_type() != torch::kUInt8)
      throw InvalidArgument("content image " + std::to_string(i) +
                            " is not uint8 [3, H, W]");
    if (std::min(c.size(1), c.size(2)) < size)
      throw InvalidArgument(
          "content image " + std::to_string(i) + " (" +
          std::to_string(c.size(2)) + "x" + std::to_string(c.size(1)) +
          ") is smaller than the crop size " + std::to_string(size));
  }
}

std::vector<torch::Tensor> random_content_crops(
    const std::vector<torch::Tensor>& content, int64_t size, int64_t count,
    at::Generator& rng) {
  std::vector<torch::Tensor> crops;
  for (int64_t b = 0; b < count; ++b) {
    const auto idx =
        torch::randint(static_cast<int64_t>(content.size()), {1}, rng)
            .item<int64_t>();
    const auto& img = content[idx];
    const auto top =
        torch::randint(img.size(1) - size + 1, {1}, rng).item<int64_t>();
    const auto left =
        torch::randint(img.size(2) - size + 1, {1}, rng).item<int64_t>();
    auto crop = img.slice(1, top, top + size).slice(2, left, left + size);
    if (torch::randint(2, {1}, rng).item<int64_t>() == 1) crop = crop.flip({2});
    crops.push_back(crop);
  }
  return crops;
}

torch::Tensor random_frame_motion(int64_t n, at::Generator& rng) {
  auto angle = (torch::rand({n}, rng) * 2 - 1) * (2.0 * M_PI / 180.0);
  auto scale = 1.0 + (torch::rand({n}, rng) * 2 - 1) * 0.04;
  auto shift = (torch::rand({n, 2}, rng) * 2 - 1) * 0.03;
  auto cos = torch::cos(angle) / scale, sin = torch::sin(angle) / scale;
  return torch::stack({torch::stack({cos, -sin, shift.select(1, 0)}, 1),
                       torch::stack({sin, cos, shift.select(1, 1)}, 1)},
                      1);
}

torch::Tensor StyleTrainer::temporal_loss(const torch::Tensor& batch,
                                          const torch::Tensor& output,
                                          const torch::Tensor& mix) {
  // A small random similarity transform T (as between video frames): the
  // network should commute with it, net(T x) == T net(x). No optical flow.
  // Drawn for the global batch (as random_batch), this rank's share kept.
  const int64_t n = batch.size(0), all = n * world_size();
  const int64_t first = parallel_ ? parallel_->rank() * n : 0;
  auto theta = random_frame_motion(all, rng_).narrow(0, first, n);
  // Drawn only when asked for, so that runs without it keep their RNG
  // stream (and resume) exactly as before the option existed.
  // Pixel noise for the global batch, this rank's share.
  const auto draw_noise = [&] {
    if (options_.temporal_noise <= 0) return torch::Tensor();
    auto shape = batch.sizes().vec();
    shape[0] = all;
    return torch::randn(shape, rng_).narrow(0, first, n);
  };
  const auto noise = draw_noise();
  const auto net = [&](const torch::Tensor& in) {
    return net_->forward(in, mix);
  };
  auto loss = temporal_consistency_loss(net, batch, output, theta, noise,
                                        options_.temporal_noise);
  if (motion_.size() == 0) return loss;
  // Real footage: the same number of frame pairs, drawn for the global
  // batch (every rank the same draws), this rank's share kept.
  auto crops = random_motion_crops(motion_, options_.size, all, rng_);
  for (auto* t : {&crops.prev, &crops.next, &crops.grid, &crops.mask})
    *t = t->narrow(0, first, n).to(device_);
  crops.prev = channels_last(crops.prev);
  crops.next = channels_last(crops.next);
  return loss + flow_consistency_loss(net, crops, draw_noise(),
                                      options_.temporal_noise);
}

void StyleTrainer::set_motion_pairs(MotionPairs pairs) {
  if (options_.temporal_weight <= 0)
    throw InvalidArgument(
        "motion pairs need the temporal term (temporal weight > 0)");
  check_motion_pairs(pairs, options_.size);
  motion_ = std::move(pairs);
}

StyleTrainStats StyleTrainer::step() {
  if (parallel_ && !replicas_synced_) {
    // Same seed, so the same weights everywhere; rank 0's (perhaps
    // resumed) are broadcast anyway, so that no rank can start from
    // anything else. Collective, hence here and not in the constructor.
    parallel_->broadcast_module(*net_);
    replicas_synced_ = true;
  }
  const auto t0 = std::chrono::steady_clock::now();
  StyleTrainStats stats;
  const int64_t frozen = options_.frozen_styles;
  stats.style_index =
      frozen + torch::randint(options_.model.num_styles - frozen, {1}, rng_)
                   .item<int64_t>();
  const auto mix = net_->one_hot(stats.style_index).to(device_);
  auto x = random_batch();
  // Forward and losses under autocast (bf16 convolutions when asked for);
  // the losses themselves compute in fp32 (loss_net.cpp).
  std::optional<AutocastGuard> autocast;
  autocast.emplace(precision_, device_);
  auto y = net_->forward(x, mix);

  const auto& cfg = options_.loss;
  // The loss network sees output and input cropped alike (loss_jitter).
  auto loss_x = x, loss_y = y;
  if (options_.loss_jitter > 1) {
    const auto j = options_.loss_jitter;
    const auto dy = torch::randint(j, {1}, rng_).item<int64_t>();
    const auto dx = torch::randint(j, {1}, rng_).item<int64_t>();
    const auto h = x.size(2) - (j - 1), w = x.size(3) - (j - 1);
    loss_x = x.narrow(2, dy, h).narrow(3, dx, w);
    loss_y = y.narrow(2, dy, h).narrow(3, dx, w);
  }
  std::vector<torch::Tensor> content_targets;
  {
    torch::NoGradGuard no_grad;
    content_targets = loss_net_->features(loss_x, cfg.content_layers);
  }
  auto terms = style_loss_terms(*loss_net_, loss_y, content_targets,
                                {&targets_[stats.style_index]}, cfg);
  auto c_loss = terms.content;
  auto s_loss = terms.style[0];
  auto tv = total_variation_loss(y / 255.0);
  auto total = options_.content_weight * c_loss +
               options_.style_weight * s_loss + options_.tv_weight * tv;
  torch::Tensor temporal;
  if (options_.temporal_weight > 0) {
    temporal = temporal_loss(x, y, mix);
    total = total + options_.temporal_weight * temporal;
  }
  if (options_.shift_weight > 0) {
    // A whole-pixel shift of 1-7 along each axis (mostly not a multiple
    // of the stride grid), the same on every rank; drawn only when on, so
    // that runs without it keep their random stream.
    auto d = torch::randint(1, 8, {2}, rng_);
    const auto net = [&](const torch::Tensor& in) {
      return net_->forward(in, mix);
    };
    total = total + options_.shift_weight *
                        shift_consistency_loss(net, x, y, d[0].item<int64_t>(),
                                               d[1].item<int64_t>());
  }
  autocast.reset();  // backward and the update in the weights' fp32
  opt_->zero_grad();
  total.backward();
  if (frozen > 0) {
    // The base's styles stay bit-identical (their rows' gradients are zero
    // already for a one-hot mix; Adam would still move nothing).
    torch::NoGradGuard no_grad;
    for (auto& group : opt_->param_groups())
      for (auto& p : group.params())
        if (p.grad().defined()) p.grad().narrow(0, 0, frozen).zero_();
  }
  if (parallel_) parallel_->average_gradients(*net_);
  set_adam_lr(*opt_, options_.lr * lr_schedule_factor(options_.lr_schedule,
                                                      step_, options_.steps));
  opt_->step();
  ++step_;

  stats.step = step_;
  std::vector<double> values{
      c_loss.item<double>(), s_loss.item<double>(), tv.item<double>(),
      temporal.defined() ? temporal.item<double>() : 0.0, total.item<double>()};
  // Global means, so every rank logs (and checks) the same numbers.
  if (parallel_) values = parallel_->average(values);
  stats.content = values[0];
  stats.style = values[1];
  stats.tv = values[2];
  stats.temporal = values[3];
  stats.total = values[4];
  const double dt =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  seconds_ += dt;
  stats.images_per_second = options_.batch / std::max(dt, 1e-9);  // global
  if (!std::isfinite(stats.total))
    throw Error("style training diverged: loss " + std::to_string(stats.total) +
                " at step " + std::to_string(step_) +
                "; lower --lr or the loss weights");
  return stats;
}

void StyleTrainer::append_csv(const StyleTrainStats& s) const {
  std::ostringstream row;
  row << s.step << "," << s.style_index << "," << s.content << "," << s.style
      << "," << s.tv << "," << s.temporal << "," << s.total << ","
      << s.images_per_second;
  append_loss_row(csv_path(), kCsvHeader, row.str());
}

torch::Tensor StyleTrainer::previews() {
  torch::NoGradGuard no_grad;
  net_->eval();
  std::vector<torch::Tensor> rows{preview_batch_};
  for (int64_t s = 0; s < options_.model.num_styles; ++s)
    rows.push_back(
        net_->forward(preview_batch_, net_->one_hot(s)).clamp(0, 255));
  net_->train();
  return torch::cat(rows).cpu();
}

int64_t StyleTrainer::train(const StyleTrainCallbacks& callbacks) {
  while (step_ < options_.steps) {
    bool stop = callbacks.stop && callbacks.stop->load();
    // Every rank stops at the same step when any of them was interrupted.
    if (parallel_) stop = parallel_->any(stop);
    if (stop) break;
    const auto stats = step();
    if (is_main() &&
        (step_ % options_.log_every == 0 || step_ == options_.steps))
      append_csv(stats);
    if (callbacks.on_step) callbacks.on_step(stats);
    if (is_main() && options_.preview_every > 0 &&
        step_ % options_.preview_every == 0 && callbacks.on_preview)
      callbacks.on_preview(step_, previews());
    if (step_ % options_.checkpoint_every == 0) save_checkpoint();
  }
  save_checkpoint();
  return step_;
}

void StyleTrainer::save_checkpoint() const {
  if (!is_main()) return;
  TensorFile f;
  for (const auto& p : net_->named_parameters())
    f.tensors["net." + p.key()] = p.value().detach();
  put_adam_state(f, "adam.", *opt_);
  f.tensors["rng"] = rng_.get_state();
  nlohmann::json meta = {
      {"options", options_.to_json()}, {"step", step_},
      {"seconds", seconds_},           {"world_size", world_size()},
      {"styles", style_names_},        {"provenance", provenance}};
  f.metadata[kCheckpointKey] = meta.dump();
  write_tensor_file(checkpoint_path(), f);
}

int StyleTrainer::checkpoint_world_size(const std::string& run_dir) {
  const auto path = (fs::path(run_dir) / kCheckpointFile).string();
  if (!fs::exists(path)) return 1;
  const auto f = read_tensor_file(path);
  const auto it = f.metadata.find(kCheckpointKey);
  if (it == f.metadata.end()) throw Error(path + ": not a style checkpoint");
  try {
    return json_int(nlohmann::json::parse(it->second)
                        .value("world_size", nlohmann::json(1)),
                    "world_size");
  } catch (const std::exception& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  }
}

void StyleTrainer::load_base(StyleNet& base) {
  if (step_ != 0)
    throw InvalidArgument("a base model can only start a run, not continue it");
  const int64_t frozen = options_.frozen_styles;
  auto want = options_.model;
  want.num_styles = frozen;
  const auto& have = base->options();
  if (have.num_styles != frozen)
    throw InvalidArgument(
        "the base model has " + std::to_string(have.num_styles) +
        " styles, this run was set up for " + std::to_string(frozen));
  if (have.to_json() != want.to_json())
    throw InvalidArgument("the base model's architecture " +
                          have.to_json().dump() + " differs from " +
                          want.to_json().dump());
  torch::NoGradGuard no_grad;
  auto mine = net_->named_parameters();
  for (const auto& p : base->named_parameters()) {
    auto* dst = mine.find(p.key());
    if (!dst) throw InvalidArgument("the base model has no '" + p.key() + "'");
    const auto src = p.value().to(dst->device(), torch::kFloat32);
    if (src.sizes() == dst->sizes()) {
      dst->copy_(src);
    } else {  // a norm's [styles, C] table: base rows, then their mean
      dst->narrow(0, 0, frozen).copy_(src);
      dst->narrow(0, frozen, dst->size(0) - frozen)
          .copy_(src.mean(0, /*keepdim=*/true)
                     .expand({dst->size(0) - frozen, src.size(1)}));
    }
  }
}

void StyleTrainer::resume() {
  const auto path = checkpoint_path();
  if (!fs::exists(path))
    throw Error(run_dir_ + ": no " + kCheckpointFile + " to resume from");
  const auto f = read_tensor_file(path);
  const auto meta = checkpoint_metadata(f, path, kCheckpointKey, "style");
  StyleTrainOptions saved;
  try {
    saved = StyleTrainOptions::from_json(meta.at("options"));
  } catch (const std::exception& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  }
  auto mismatch = [&](const std::string& what, const std::string& was,
                      const std::string& now) {
    require_same(path, what, was, now);
  };
  mismatch("world size",
           std::to_string(json_int(meta.value("world_size", nlohmann::json(1)),
                                   "world_size")),
           std::to_string(world_size()));
  mismatch("model", saved.model.to_json().dump(),
           options_.model.to_json().dump());
  mismatch("base styles", std::to_string(saved.frozen_styles),
           std::to_string(options_.frozen_styles));
  mismatch("loss network", saved.loss_net, options_.loss_net);
  mismatch("loss layers", loss_json(saved.loss).dump(),
           loss_json(options_.loss).dump());
  if (meta.value("styles", nlohmann::json::array()) !=
      nlohmann::json(style_names_))
    mismatch("styles", meta.value("styles", nlohmann::json()).dump(),
             nlohmann::json(style_names_).dump());

  for (auto& p : net_->named_parameters())
    restore_tensor(f, path, "net.", p.key(), p.value());
  get_adam_state(f, "adam.", *opt_);
  try {
    step_ = json_int(meta.at("step"), "step");
  } catch (const std::exception& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  }
  seconds_ = meta.value("seconds", 0.0);
  rng_.set_state(f.tensors.at("rng"));
  // The loss log continues from the checkpoint: drop rows written after it
  // (rank 0 owns the file).
  if (is_main()) trim_loss_log(csv_path(), step_);
}

void StyleTrainer::export_bundle(const std::string& path) const {
  auto meta = style_meta(options_.model, style_names_);
  for (auto it = provenance.begin(); it != provenance.end(); ++it)
    meta.provenance[it.key()] = it.value();
  meta.provenance["trainer"] = "neuralart-train style";
  meta.provenance["steps"] = step_;
  meta.provenance["training_seconds"] = std::round(seconds_);
  meta.provenance["processes"] = world_size();
  meta.provenance["training"] = options_.to_json();
  meta.provenance["precision"] = to_string(precision_);
  save_bundle(path, meta, *net_);
}

torch::Tensor StyleTrainer::loss_plot() const {
  std::vector<std::vector<double>> series(4);
  for (const auto& v : read_loss_rows(csv_path())) {
    if (v.size() < 8) continue;
    series[0].push_back(v[6]);  // total
    series[1].push_back(v[2] * options_.content_weight);
    series[2].push_back(v[3] * options_.style_weight);
    if (options_.temporal_weight > 0)
      series[3].push_back(v[5] * options_.temporal_weight);
  }
  return render_line_plot(
      series, {{{0, 0, 0}}, {{40, 80, 220}}, {{220, 40, 40}}, {{30, 160, 60}}});
}

torch::Tensor render_line_plot(
    const std::vector<std::vector<double>>& series,
    const std::vector<std::array<uint8_t, 3>>& colors, int64_t width,
    int64_t height) {
  auto img = torch::full({height, width, 3}, 255, torch::kUInt8);
  auto a = img.accessor<uint8_t, 3>();
  const int64_t left = 40, right = width - 10, top = 10, bottom = height - 30;
  auto put = [&](int64_t x, int64_t y, const std::array<uint8_t, 3>& c) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    for (int k = 0; k < 3; ++k) a[y][x][k] = c[k];
  };
  const std::array<uint8_t, 3> grey{{170, 170, 170}};
  for (int64_t x = left; x <= right; ++x) put(x, bottom, grey);
  for (int64_t y = top; y <= bottom; ++y) put(left, y, grey);
  double lo = 1e300, hi = -1e300;
  size_t n = 0;
  for (const auto& s : series)
    for (double v : s)
      if (v > 0 && std::isfinite(v)) {
        lo = std::min(lo, std::log10(v));
        hi = std::max(hi, std::log10(v));
        n = std::max(n, s.size());
      }
  if (n < 2 || !(hi >= lo)) return img;
  if (hi - lo < 1e-6) hi = lo + 1;
  // Decade grid lines, so the log scale can be read without labels.
  for (double d = std::ceil(lo); d <= hi; d += 1) {
    const auto y = bottom - std::llround((d - lo) / (hi - lo) * (bottom - top));
    for (int64_t x = left; x <= right; x += 4) put(x, y, grey);
  }
  for (size_t si = 0; si < series.size(); ++si) {
    const auto& s = series[si];
    const auto& c = colors[si % colors.size()];
    int64_t px = -1, py = -1;
    for (size_t i = 0; i < s.size(); ++i) {
      if (!(s[i] > 0) || !std::isfinite(s[i])) continue;
      const auto x = left + std::llround(double(i) / (n - 1) * (right - left));
      const auto y = bottom - std::llround((std::log10(s[i]) - lo) / (hi - lo) *
                                           (bottom - top));
      if (px >= 0) {  // straight segment from the previous point
        const int64_t steps = std::max(std::abs(x - px), std::abs(y - py));
        for (int64_t t = 0; t <= steps; ++t)
          put(px + (x - px) * t / std::max<int64_t>(steps, 1),
              py + (y - py) * t / std::max<int64_t>(steps, 1), c);
      }
      px = x;
      py = y;
    }
  }
  return img;
}

}  // namespace neuralart
