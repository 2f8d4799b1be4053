#include "neuralart/train/gan.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
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
#include "neuralart/util/json_int.h"

namespace neuralart {
namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace {

constexpr const char* kCheckpointFile = "checkpoint.ckpt";
constexpr const char* kCheckpointKey = "neuralart.gan_checkpoint";
constexpr const char* kCsvHeader =
    "step,d_loss,g_loss,d_real,d_fake,skipped_d,lr_g,lr_d,diversity,"
    "images_per_second";

void copy_module(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto src = from.named_parameters();
  for (auto& p : to.named_parameters()) p.value().copy_(src[p.key()]);
  auto bufs = from.named_buffers();
  for (auto& b : to.named_buffers()) b.value().copy_(bufs[b.key()]);
}

void put_module(TensorFile& f, const std::string& prefix,
                const torch::nn::Module& m) {
  for (const auto& p : m.named_parameters())
    f.tensors[prefix + p.key()] = p.value();
  for (const auto& b : m.named_buffers())
    f.tensors[prefix + b.key()] = b.value();
}

void get_module(const TensorFile& f, const std::string& prefix,
                torch::nn::Module& m, const std::string& path) {
  torch::NoGradGuard no_grad;
  auto fetch = [&](const std::string& key, torch::Tensor& target) {
    auto it = f.tensors.find(prefix + key);
    if (it == f.tensors.end() || it->second.sizes() != target.sizes())
      throw Error(path + ": checkpoint lacks or mis-shapes '" + prefix + key +
                  "' (was it written with other model options?)");
    target.copy_(it->second);
  };
  for (auto& p : m.named_parameters()) fetch(p.key(), p.value());
  for (auto& b : m.named_buffers()) fetch(b.key(), b.value());
}

template <typename T>
void check(const std::string& name, T value, T lo, T hi) {
  if (value < lo || value > hi) {
    std::ostringstream msg;
    msg << name << " " << value << " is out of range [" << lo << ", " << hi
        << "]";
    throw InvalidArgument(msg.str());
  }
}

}  // namespace

GanLoss gan_loss_from_string(const std::string& name) {
  if (name == "bce") return GanLoss::BCE;
  if (name == "hinge") return GanLoss::Hinge;
  if (name == "wgan-gp") return GanLoss::WGANGP;
  if (name == "rpgan") return GanLoss::RPGAN;
  throw InvalidArgument("unknown loss '" + name +
                        "' (expected bce, hinge, wgan-gp or rpgan)");
}

std::string to_string(GanLoss loss) {
  switch (loss) {
    case GanLoss::BCE:
      return "bce";
    case GanLoss::Hinge:
      return "hinge";
    case GanLoss::WGANGP:
      return "wgan-gp";
    case GanLoss::RPGAN:
      return "rpgan";
  }
  return "?";
}

void GanTrainOptions::validate() const {
  model.validate();
  check<int64_t>("batch", batch, 2, 4096);
  check<int64_t>("steps", steps, 0, 100000000);
  check("lr-g", lr_g, 1e-7, 1.0);
  check("lr-d", lr_d, 1e-7, 1.0);
  check("beta1", beta1, 0.0, 0.999);
  check("beta2", beta2, 0.0, 0.9999);
  check_lr_schedule(schedule);
  check<int64_t>("d-steps", d_steps, 1, 16);
  check("skip-d-below", skip_d_below, 0.0, 10.0);
  check("label-smoothing", label_smoothing, 0.0, 0.5);
  check("r1", r1_gamma, 0.0, 1000.0);
  check<int64_t>("r1-every", r1_every, 1, 64);
  check("gp-lambda", gp_lambda, 0.0, 1000.0);
  check("style-mixing", style_mixing, 0.0, 1.0);
  check("ema", ema_decay, 0.0, 0.99999);
  check("collapse-warn", collapse_warn, 0.0, 1.0);
  check<int64_t>("sample-every", sample_every, 1, 100000000);
  check<int64_t>("checkpoint-every", checkpoint_every, 1, 100000000);
  check<int64_t>("log-every", log_every, 1, 100000000);
  check("threads", threads, 0, 1024);
  resolve_training_precision(precision, torch::Device(torch::kCPU));
}

nlohmann::json GanTrainOptions::to_json() const {
  return {{"model", model.to_json()},
          {"loss", to_string(loss)},
          {"batch", batch},
          {"steps", steps},
          {"lr_g", lr_g},
          {"lr_d", lr_d},
          {"beta1", beta1},
          {"beta2", beta2},
          {"schedule", schedule},
          {"d_steps", d_steps},
          {"skip_d_below", skip_d_below},
          {"label_smoothing", label_smoothing},
          {"augment", augment.to_string()},
          {"r1_gamma", r1_gamma},
          {"r1_every", r1_every},
          {"style_mixing", style_mixing},
          {"gp_lambda", gp_lambda},
          {"ema_decay", ema_decay},
          {"collapse_warn", collapse_warn},
          {"sample_every", sample_every},
          {"checkpoint_every", checkpoint_every},
          {"log_every", log_every},
          {"seed", seed},
          {"threads", threads},
          {"device", device},
          {"precision", precision}};
}

GanTrainOptions GanTrainOptions::from_json(const nlohmann::json& j) {
  GanTrainOptions o;
  o.model = DCGANOptions::from_json(j.at("model"));
  o.loss = gan_loss_from_string(j.at("loss").get<std::string>());
  o.batch = json_int(j.at("batch"), "batch");
  o.steps = json_int(j.at("steps"), "steps");
  o.lr_g = j.at("lr_g");
  o.lr_d = j.at("lr_d");
  o.beta1 = j.at("beta1");
  o.beta2 = j.at("beta2");
  o.schedule = j.at("schedule");
  o.d_steps = json_int(j.at("d_steps"), "d_steps");
  o.skip_d_below = j.at("skip_d_below");
  o.label_smoothing = j.at("label_smoothing");
  o.augment = AugmentPolicy::parse(j.at("augment").get<std::string>());
  o.r1_gamma = j.at("r1_gamma");
  o.r1_every = json_int(j.value("r1_every", nlohmann::json(1)), "r1_every");
  o.style_mixing = j.value("style_mixing", o.style_mixing);
  o.gp_lambda = j.at("gp_lambda");
  o.ema_decay = j.at("ema_decay");
  o.collapse_warn = j.at("collapse_warn");
  o.sample_every = json_int(j.at("sample_every"), "sample_every");
  o.checkpoint_every = json_int(j.at("checkpoint_every"), "checkpoint_every");
  o.log_every = json_int(j.at("log_every"), "log_every");
  o.seed = json_uint(j.at("seed"), "seed");
  o.threads = json_int(j.at("threads"), "threads");
  o.device = j.value("device", o.device);
  o.precision = j.value("precision", std::string("fp32"));
  o.validate();
  return o;
}

torch::Tensor rpgan_loss(const torch::Tensor& a, const torch::Tensor& b) {
  return F::softplus(b - a).mean();
}

double default_rpgan_gamma(int64_t resolution, int64_t batch) {
  return kRpganGammaScale * double(resolution * resolution) / double(batch);
}

torch::Tensor mean_pairwise_distance(const torch::Tensor& images) {
  auto flat = images.flatten(1).to(torch::kFloat32);
  auto d = torch::cdist(flat, flat);
  const auto n = flat.size(0);
  return d.sum() / std::max<int64_t>(1, n * (n - 1));
}

GanTrainer::GanTrainer(GanTrainOptions options, ImageSet data,
                       std::string run_dir,
                       std::shared_ptr<DataParallel> parallel)
    : options_(std::move(options)),
      data_(std::move(data)),
      run_dir_(std::move(run_dir)),
      parallel_(std::move(parallel)) {
  options_.validate();
  if (options_.loss == GanLoss::RPGAN && options_.r1_gamma == 0)
    options_.r1_gamma =
        default_rpgan_gamma(options_.model.resolution, options_.batch);
  device_ = parse_device(options_.device);
  precision_ = resolve_training_precision(options_.precision, device_);
  if (options_.batch % world_size() != 0)
    throw InvalidArgument("batch " + std::to_string(options_.batch) +
                          " cannot be split evenly over " +
                          std::to_string(world_size()) +
                          " processes (--batch is the global batch; use a "
                          "multiple of the number of processes)");
  const auto& m = options_.model;
  if (!data_.images.defined() || data_.images.dim() != 4 ||
      data_.images.size(0) < 1)
    throw Error("training data is empty");
  if (data_.images.size(1) != m.channels ||
      data_.images.size(2) != m.resolution ||
      data_.images.size(3) != m.resolution)
    throw Error("training images are " + std::to_string(data_.images.size(1)) +
                "x" + std::to_string(data_.images.size(2)) + "x" +
                std::to_string(data_.images.size(3)) + " but the model needs " +
                std::to_string(m.channels) + "x" +
                std::to_string(m.resolution) + "x" +
                std::to_string(m.resolution));
  if (options_.loss == GanLoss::WGANGP && m.minibatch_std == false &&
      options_.batch < 2)
    throw InvalidArgument("wgan-gp needs batch >= 2");
  torch::manual_seed(options_.seed);
  g_ = DCGANGenerator(m);
  d_ = DCGANDiscriminator(m);
  ema_ = DCGANGenerator(m);
  copy_module(*g_, *ema_);
  g_->to(device_);
  d_->to(device_);
  ema_->to(device_);
  // oneDNN's fast layout, before the optimizers make state from them.
  to_channels_last(*g_);
  to_channels_last(*d_);
  to_channels_last(*ema_);
  ema_->eval();
  for (auto& p : ema_->parameters()) p.set_requires_grad(false);
  auto adam = [&](torch::nn::Module& mod, double lr) {
    return std::make_unique<torch::optim::Adam>(
        mod.parameters(),
        torch::optim::AdamOptions(lr).betas({options_.beta1, options_.beta2}));
  };
  opt_g_ = adam(*g_, options_.lr_g);
  opt_d_ = adam(*d_, options_.lr_d);
  fixed_z_ = torch::randn({64, m.latent_dim}).to(device_);
  rng_ = at::detail::getDefaultCPUGenerator();
  if (parallel_) {
    // Same state on every rank (same seed); private so that ranks running
    // as threads of one process (tests) do not share one stream.
    rng_ = at::make_generator<at::CPUGeneratorImpl>();
    rng_.set_state(at::detail::getDefaultCPUGenerator().get_state());
  }
  if (!is_main()) return;  // rank 0 owns the run folder
  std::error_code ec;
  fs::create_directories(run_dir_, ec);
  if (!fs::is_directory(run_dir_))
    throw Error("cannot create run folder " + run_dir_ + ": " + ec.message());
}

int GanTrainer::world_size() const {
  return parallel_ ? parallel_->world_size() : 1;
}

bool GanTrainer::is_main() const { return !parallel_ || parallel_->is_main(); }

torch::Tensor GanTrainer::share(const torch::Tensor& global) const {
  if (!parallel_) return global.to(device_);
  return rank_slice(global, parallel_->rank(), parallel_->world_size())
      .to(device_);
}

AugmentParams GanTrainer::augment_share(int64_t global_batch) {
  auto params = sample_augment(options_.augment, global_batch, rng_);
  const int64_t length = global_batch / world_size();
  const int64_t start = parallel_ ? parallel_->rank() * length : 0;
  return slice_augment(params, start, length, device_);
}

std::string GanTrainer::checkpoint_path() const {
  return (fs::path(run_dir_) / kCheckpointFile).string();
}

std::vector<torch::Tensor> GanTrainer::real_batch() {
  auto idx = share(torch::randint(data_.images.size(0), {options_.batch}, rng_,
                                  torch::kInt64))
                 .cpu();
  auto x = channels_last(
      to_signed_range(data_.images.index_select(0, idx).to(device_)));
  if (!options_.model.multiscale) return {x};
  std::vector<torch::Tensor> pyramid{x};
  while (pyramid.back().size(2) > 4)
    pyramid.push_back(torch::avg_pool2d(pyramid.back(), 2));
  std::reverse(pyramid.begin(), pyramid.end());  // 4x4 first
  return pyramid;
}

std::vector<torch::Tensor> GanTrainer::fake_images(const torch::Tensor& z) {
  // bf16 convolutions when asked for; the images stay bf16 for D.
  AutocastGuard autocast(precision_, device_);
  if (auto style = g_->stylegan()) {
    auto ws = style->broadcast(style->mapping(z));
    if (options_.style_mixing > 0) {
      // Style mixing: from a random layer on, the ws of other latents.
      // Drawn every time, so the random stream is the same either way.
      auto z2 = share(
          torch::randn({options_.batch, options_.model.latent_dim}, rng_));
      const double u = torch::rand({1}, rng_).item<double>();
      const int64_t cut =
          torch::randint(1, style->num_ws(), {1}, rng_).item<int64_t>();
      if (u < options_.style_mixing) {
        auto ws2 = style->broadcast(style->mapping(z2));
        ws = torch::cat(
            {ws.narrow(1, 0, cut), ws2.narrow(1, cut, style->num_ws() - cut)},
            1);
      }
    }
    return {style->synthesis(ws, &rng_)};
  }
  if (options_.model.multiscale) return g_->forward_multiscale(z);
  return {g_->forward(z)};
}

torch::Tensor GanTrainer::d_logits(const std::vector<torch::Tensor>& images,
                                   const AugmentParams& aug) {
  std::vector<torch::Tensor> x;
  for (const auto& im : images)
    x.push_back(
        options_.augment.any() ? apply_augment(im, options_.augment, aug) : im);
  AutocastGuard autocast(precision_, device_);
  // Logits in fp32: the losses and penalties compute in fp32.
  if (options_.model.multiscale)
    return d_->forward_multiscale(x).to(torch::kFloat32);
  return d_->forward(x.back()).to(torch::kFloat32);
}

void GanTrainer::set_learning_rates() {
  const double f = lr_schedule_factor(options_.schedule, step_, options_.steps);
  set_adam_lr(*opt_g_, options_.lr_g * f);
  set_adam_lr(*opt_d_, options_.lr_d * f);
}

void GanTrainer::update_ema() {
  torch::NoGradGuard no_grad;
  if (options_.ema_decay <= 0) {
    copy_module(*g_, *ema_);
    return;
  }
  // Warm-up: track G closely at first, then average over ~1/(1-decay) steps.
  const double decay =
      std::min(options_.ema_decay, (1.0 + step_) / (10.0 + step_));
  auto src = g_->named_parameters();
  for (auto& p : ema_->named_parameters())
    p.value().mul_(decay).add_(src[p.key()], 1.0 - decay);
  auto bufs = g_->named_buffers();
  for (auto& b : ema_->named_buffers()) b.value().copy_(bufs[b.key()]);
}

GanStats GanTrainer::step() {
  const auto started = std::chrono::steady_clock::now();
  if (parallel_ && !replicas_synced_) {
    // Rank 0's models everywhere, once: after construction or resume.
    parallel_->broadcast_module(*g_);
    parallel_->broadcast_module(*d_);
    parallel_->broadcast_module(*ema_);
    replicas_synced_ = true;
  }
  set_learning_rates();
  GanStats s;
  // n: the global batch every rank draws; each trains on its share.
  const auto n = options_.batch, nz = options_.model.latent_dim;
  const auto local_n = n / world_size();
  const bool bce = options_.loss == GanLoss::BCE;
  const bool rp = options_.loss == GanLoss::RPGAN;
  // R1 (real) and R2 (fake): gamma/2 * E ||grad_x D(x)||^2, times
  // r1_every on the D steps that pay it (lazy regularisation).
  auto gradient_penalty = [&](const torch::Tensor& logits,
                              const std::vector<torch::Tensor>& inputs) {
    auto grads = torch::autograd::grad({logits.sum()}, inputs, {}, true, true);
    torch::Tensor penalty = torch::zeros({}, logits.options());
    for (auto& gr : grads)
      penalty = penalty + gr.pow(2).flatten(1).sum(1).mean();
    return 0.5 * options_.r1_gamma * static_cast<double>(options_.r1_every) *
           penalty;
  };
  auto score = [&](const torch::Tensor& logits) {
    return (bce ? torch::sigmoid(logits) : logits).mean().item<double>();
  };

  // Discriminator step(s): real labelled 1, generated labelled 0.
  for (int64_t k = 0; k < options_.d_steps; ++k) {
    if (options_.skip_d_below > 0 && last_d_loss_ < options_.skip_d_below) {
      ++skipped_d_;  // D is already winning: let G catch up
      continue;
    }
    auto real = real_batch();
    std::vector<torch::Tensor> fake;
    {
      torch::NoGradGuard no_grad;
      fake = fake_images(share(torch::randn({n, nz}, rng_)));
    }
    const bool regularise =
        options_.r1_gamma > 0 &&
        (step_ * options_.d_steps + k) % options_.r1_every == 0;
    if (regularise)
      for (auto& r : real) r.requires_grad_(true);
    if (rp && regularise)
      for (auto& f : fake) f.requires_grad_(true);
    auto real_logits = d_logits(real, augment_share(n));
    auto fake_logits = d_logits(fake, augment_share(n));
    torch::Tensor loss;
    switch (options_.loss) {
      case GanLoss::BCE:
        loss =
            F::binary_cross_entropy_with_logits(
                real_logits,
                torch::full_like(real_logits, 1.0 - options_.label_smoothing)) +
            F::binary_cross_entropy_with_logits(fake_logits,
                                                torch::zeros_like(fake_logits));
        break;
      case GanLoss::Hinge:
        loss = torch::relu(1.0 - real_logits).mean() +
               torch::relu(1.0 + fake_logits).mean();
        break;
      case GanLoss::WGANGP:
        loss = fake_logits.mean() - real_logits.mean();
        break;
      case GanLoss::RPGAN:
        loss = rpgan_loss(real_logits, fake_logits);
        break;
    }
    std::vector<double> scalars{loss.item<double>(), score(real_logits),
                                score(fake_logits)};
    // Global means: the skip decision above must agree on every rank.
    if (parallel_) scalars = parallel_->average(scalars);
    last_d_loss_ = scalars[0];
    s.d_real = scalars[1];
    s.d_fake = scalars[2];
    if (options_.loss == GanLoss::WGANGP) {
      auto alpha = share(torch::rand({n, 1, 1, 1}, rng_));
      std::vector<torch::Tensor> mixed;
      for (size_t i = 0; i < real.size(); ++i)
        mixed.push_back((alpha * real[i].detach() + (1 - alpha) * fake[i])
                            .requires_grad_(true));
      auto out = d_logits(mixed, augment_share(n));
      auto grads = torch::autograd::grad({out.sum()}, mixed, {}, true, true);
      torch::Tensor norm2 = torch::zeros({local_n}, alpha.options());
      for (auto& gr : grads) norm2 = norm2 + gr.pow(2).flatten(1).sum(1);
      loss = loss + options_.gp_lambda * (norm2.sqrt() - 1).pow(2).mean();
    }
    if (regularise) loss = loss + gradient_penalty(real_logits, real);
    if (rp && regularise) loss = loss + gradient_penalty(fake_logits, fake);
    opt_d_->zero_grad();
    loss.backward();
    if (parallel_) parallel_->average_gradients(*d_);
    opt_d_->step();
  }
  s.d_loss = last_d_loss_;

  // Generator step: through D with target 1; D frozen (no gradient, no
  // update, no power-iteration step: eval mode).
  d_->eval();
  for (auto& p : d_->parameters()) p.set_requires_grad(false);
  auto fake = fake_images(share(torch::randn({n, nz}, rng_)));
  auto logits = d_logits(fake, augment_share(n));
  torch::Tensor g_loss;
  if (rp) {  // relative to a fresh real batch
    torch::Tensor real_logits;
    {
      torch::NoGradGuard no_grad;
      real_logits = d_logits(real_batch(), augment_share(n));
    }
    g_loss = rpgan_loss(logits, real_logits);
  } else if (bce) {
    g_loss =
        F::binary_cross_entropy_with_logits(logits, torch::ones_like(logits));
  } else {
    g_loss = -logits.mean();
  }
  opt_g_->zero_grad();
  g_loss.backward();
  if (parallel_) parallel_->average_gradients(*g_);
  opt_g_->step();
  for (auto& p : d_->parameters()) p.set_requires_grad(true);
  d_->train();
  if (parallel_) {
    // Like DistributedDataParallel: rank 0's buffers (batch-norm
    // statistics, spectral-norm vectors) everywhere.
    auto buffers = g_->buffers();
    for (auto& b : d_->buffers()) buffers.push_back(b);
    if (!buffers.empty()) parallel_->broadcast(buffers);
  }
  update_ema();
  ++step_;

  std::vector<double> scalars{g_loss.item<double>(), score(logits.detach())};
  if (parallel_) scalars = parallel_->average(scalars);
  seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();

  s.step = step_;
  s.g_loss = scalars[0];
  if (s.d_real == 0 && s.d_fake == 0) s.d_fake = scalars[1];
  s.skipped_d = skipped_d_;
  s.lr_g = options_.lr_g *
           lr_schedule_factor(options_.schedule, step_ - 1, options_.steps);
  s.lr_d = options_.lr_d *
           lr_schedule_factor(options_.schedule, step_ - 1, options_.steps);
  return s;
}

void GanTrainer::roll_back(const GanStats& s, const GanCallbacks& cb) {
  constexpr int kMaxRollbacks = 3;
  const auto path = checkpoint_path();
  std::ostringstream what;
  what << "GAN training diverged at step " << s.step << " (D loss " << s.d_loss
       << ", G loss " << s.g_loss << ")";
  const auto advice =
      "; try lower --lr-g/--lr-d, --loss hinge, --r1 10 or --spectral-norm";
  if (!fs::exists(path))
    throw Error(what.str() + " before the first checkpoint" + advice);
  if (rollbacks_ >= kMaxRollbacks)
    throw Error(what.str() + " again after " + std::to_string(rollbacks_) +
                " roll-backs to " + path + " with halved learning rates" +
                advice);
  load_checkpoint(path);  // weights, optimisers, step, random stream
  ++rollbacks_;
  options_.lr_g *= 0.5;
  options_.lr_d *= 0.5;
  replicas_synced_ = false;
  if (cb.on_warning && is_main()) {
    std::ostringstream msg;
    msg << what.str() << ": rolled back to step " << step_ << " of " << path
        << " and halved the learning rates (lr-g " << options_.lr_g << ", lr-d "
        << options_.lr_d << ")";
    cb.on_warning(msg.str());
  }
}

double GanTrainer::measure_diversity() {
  torch::NoGradGuard no_grad;
  if (real_diversity_ < 0) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(12345);
    auto idx = torch::randint(data_.images.size(0), {64}, gen);
    real_diversity_ =
        mean_pairwise_distance(
            to_signed_range(data_.images.index_select(0, idx).to(device_)))
            .item<double>();
  }
  auto fake = ema_->forward(fixed_z_);
  const double d = mean_pairwise_distance(fake).item<double>();
  return real_diversity_ > 0 ? d / real_diversity_ : 0.0;
}

void GanTrainer::append_csv(const GanStats& s) const {
  std::ostringstream row;
  row << s.step << "," << s.d_loss << "," << s.g_loss << "," << s.d_real << ","
      << s.d_fake << "," << s.skipped_d << "," << s.lr_g << "," << s.lr_d << ","
      << s.diversity << "," << s.images_per_second;
  append_loss_row((fs::path(run_dir_) / "losses.csv").string(), kCsvHeader,
                  row.str());
}

int64_t GanTrainer::train(const GanCallbacks& cb) {
  apply_threads(options_.threads);
  using clock = std::chrono::steady_clock;
  auto window_start = clock::now();
  int64_t window_steps = 0;
  double rate = 0;
  while (step_ < options_.steps) {
    bool stop = cb.stop && cb.stop->load();
    if (parallel_) stop = parallel_->any(stop);  // every rank stops together
    if (stop) break;
    auto s = step();
    if (!std::isfinite(s.d_loss) || !std::isfinite(s.g_loss)) {
      roll_back(s, cb);  // throws when it cannot
      continue;
    }
    ++window_steps;
    const double secs =
        std::chrono::duration<double>(clock::now() - window_start).count();
    if (secs > 0.5) {
      rate = window_steps * options_.batch / secs;  // generator images/s
      window_start = clock::now();
      window_steps = 0;
    }
    s.images_per_second = rate;
    const bool sample_now =
        step_ % options_.sample_every == 0 || step_ == options_.steps;
    if (sample_now && is_main()) {
      s.diversity = measure_diversity();
      if (s.diversity < options_.collapse_warn &&
          step_ >= 2 * options_.sample_every && cb.on_warning) {
        std::ostringstream msg;
        msg << "step " << step_ << ": possible mode collapse: samples are "
            << "only " << int(s.diversity * 100) << "% as diverse as real "
            << "images (try --augment, --minibatch-std, a lower --lr-g or "
               "--r1)";
        cb.on_warning(msg.str());
      }
    }
    if ((step_ % options_.log_every == 0 || sample_now) && is_main())
      append_csv(s);
    if (cb.on_step) cb.on_step(s);
    if (sample_now && cb.on_samples && is_main()) {
      torch::NoGradGuard no_grad;
      cb.on_samples(step_, ema_->forward(fixed_z_).cpu());
    }
    if (step_ % options_.checkpoint_every == 0) save_checkpoint();
  }
  save_checkpoint();
  if (parallel_) parallel_->barrier();  // the checkpoint is complete
  return step_;
}

void GanTrainer::save_checkpoint() const {
  if (!is_main()) return;
  TensorFile f;
  put_module(f, "g.", *g_);
  put_module(f, "d.", *d_);
  put_module(f, "ema.", *ema_);
  put_adam_state(f, "opt_g.", *opt_g_);
  put_adam_state(f, "opt_d.", *opt_d_);
  f.tensors["fixed_z"] = fixed_z_;
  f.tensors["rng"] = rng_.get_state();
  nlohmann::json meta = {{"options", options_.to_json()},
                         {"step", step_},
                         {"skipped_d", skipped_d_},
                         {"last_d_loss", last_d_loss_},
                         {"real_diversity", real_diversity_},
                         {"provenance", provenance},
                         {"seconds", seconds_},
                         {"world_size", world_size()}};
  f.metadata[kCheckpointKey] = meta.dump();
  write_tensor_file(checkpoint_path(), f);
}

void GanTrainer::load_checkpoint(const std::string& path) {
  auto f = read_tensor_file(path);
  auto meta = nlohmann::json::parse(f.metadata.at(kCheckpointKey));
  get_module(f, "g.", *g_, path);
  get_module(f, "d.", *d_, path);
  get_module(f, "ema.", *ema_, path);
  get_adam_state(f, "opt_g.", *opt_g_);
  get_adam_state(f, "opt_d.", *opt_d_);
  fixed_z_ = f.tensors.at("fixed_z").to(device_);
  try {
    step_ = json_int(meta.at("step"), "step");
    skipped_d_ = json_int(meta.at("skipped_d"), "skipped_d");
  } catch (const std::exception& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  }
  last_d_loss_ = meta.at("last_d_loss");
  real_diversity_ = meta.at("real_diversity");
  seconds_ = meta.value("seconds", 0.0);
  provenance = meta.value("provenance", nlohmann::json::object());
  rng_.set_state(f.tensors.at("rng"));
  // The loss curve continues from the checkpoint: drop later rows.
  if (is_main())
    trim_loss_log((fs::path(run_dir_) / "losses.csv").string(), step_);
}

GanTrainOptions GanTrainer::checkpoint_options(const std::string& run_dir,
                                               nlohmann::json* provenance,
                                               int* world_size) {
  const auto path = (fs::path(run_dir) / kCheckpointFile).string();
  if (!fs::exists(path))
    throw Error(run_dir + ": no checkpoint.ckpt to resume from");
  auto f = read_tensor_file(path);
  auto it = f.metadata.find(kCheckpointKey);
  if (it == f.metadata.end()) throw Error(path + ": not a GAN checkpoint");
  try {
    auto meta = nlohmann::json::parse(it->second);
    if (provenance)
      *provenance = meta.value("provenance", nlohmann::json::object());
    if (world_size)
      *world_size = int(
          json_int(meta.value("world_size", nlohmann::json(1)), "world_size"));
    return GanTrainOptions::from_json(meta.at("options"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  } catch (const InvalidArgument& e) {
    throw Error(path + ": malformed checkpoint metadata: " + e.what());
  }
}

std::unique_ptr<GanTrainer> GanTrainer::resume(
    const std::string& run_dir, ImageSet data, const GanTrainOptions* overrides,
    std::shared_ptr<DataParallel> parallel) {
  int saved_world = 1;
  auto options = checkpoint_options(run_dir, nullptr, &saved_world);
  const int world = parallel ? parallel->world_size() : 1;
  if (saved_world != world)
    throw Error(run_dir + ": the checkpoint was written by a run of " +
                std::to_string(saved_world) + " process(es); resume it with " +
                std::to_string(saved_world) + ", not " + std::to_string(world) +
                " (each process's share of the batch would change)");
  if (overrides) {
    options.steps = overrides->steps;
    options.sample_every = overrides->sample_every;
    options.checkpoint_every = overrides->checkpoint_every;
    options.log_every = overrides->log_every;
    options.threads = overrides->threads;
    options.device = overrides->device;
    options.precision = overrides->precision;
  }
  auto trainer = std::make_unique<GanTrainer>(options, std::move(data), run_dir,
                                              std::move(parallel));
  trainer->load_checkpoint((fs::path(run_dir) / kCheckpointFile).string());
  return trainer;
}

void GanTrainer::export_generator(const std::string& path,
                                  const nlohmann::json& extra) const {
  auto meta = generator_meta(options_.model);
  for (auto it = provenance.begin(); it != provenance.end(); ++it)
    meta.provenance[it.key()] = it.value();
  for (auto it = extra.begin(); it != extra.end(); ++it)
    meta.provenance[it.key()] = it.value();
  meta.provenance["steps"] = step_;
  meta.provenance["training_seconds"] = std::round(seconds_);
  meta.provenance["dataset"] = data_.description;
  meta.provenance["training"] = options_.to_json();
  meta.provenance["processes"] = world_size();
  meta.provenance["weights"] = options_.ema_decay > 0 ? "ema" : "generator";
  save_bundle(path, meta, *ema_);
}

}  // namespace neuralart
