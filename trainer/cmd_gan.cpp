// neuralart-train gan: trains a DCGAN on a folder of images (or the
// built-in glyphs, or MNIST) and exports a generator bundle for gansrc.
#include <csignal>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/media/datasets.h"
#include "neuralart/media/image_io.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/distributed.h"
#include "neuralart/train/gan.h"
#include "progress.h"

namespace neuralart::cli {
namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int) { g_stop.store(true); }

std::string command_line(const std::vector<std::string>& args) {
  std::string s = "neuralart-train gan";
  for (const auto& a : args) s += " " + a;
  return s;
}

// How to continue RUN_DIR with the same number of processes.
std::string resume_command(int world_size, const std::string& run_dir) {
  if (world_size == 1) return "neuralart-train gan --resume " + run_dir;
  return "neuralart-train launch --nproc " + std::to_string(world_size) +
         " -- gan --resume " + run_dir + " (or your launcher, same size)";
}

}  // namespace

int run_gan(const std::vector<std::string>& args) {
  GanTrainOptions o;
  std::string data = "builtin", out, resume, loss = "bce", augment = "none";
  std::string device = "cpu";
  bool spectral = false, no_mbstd = false, multiscale = false;
  int64_t resolution = 32, channels = 3;
  po::options_description data_opts("data and run folder");
  data_opts.add_options()(
      "data", po::value(&data)->default_value(data),
      "training images: a folder (any tree of JPEG/PNG/WebP/BMP), "
      "mnist:PATH (idx files, gzip or not), stacked-mnist:PATH (60,000 RGB\n"
      "images of three MNIST digits, one per channel: 1,000 modes; with\n"
      "--channels 3), a packed .safetensors set, or "
      "builtin[:N] (N letters A-J in OpenCV's Hershey fonts; default 10000),\n"
      "or tiles:IMAGE[:CELL] (every CELLxCELL cell of one image, 20 unless\n"
      "given: opencv-doc's digits.png holds 5,000 handwritten digits)")(
      "out", po::value(&out),
      "run folder: samples/, losses.csv, "
      "loss_plot.png, checkpoint.ckpt, generator.bundle")(
      "resume", po::value(&resume),
      "continue the run in this folder "
      "exactly where its checkpoint left off (model options come from it)");
  po::options_description model_opts("model");
  model_opts.add_options()(
      "arch", po::value(&o.model.arch)->default_value(o.model.arch),
      "generator: dcgan (fully connected + upsampling convolutions) or "
      "stylegan (mapping network to w, constant input, modulated "
      "convolutions, noise, an RGB output (--rgb-output); plays in W in "
      "gansrc)")("w-dim",
                 po::value(&o.model.w_dim)->default_value(o.model.w_dim),
                 "stylegan: size of w, [1, 2048]")(
      "mapping-layers",
      po::value(&o.model.mapping_layers)->default_value(o.model.mapping_layers),
      "stylegan: fully connected layers of the mapping network, [1, 8]")(
      "rgb-output", po::value(&o.model.rgb_output)->default_value("last"),
      "stylegan: last (one RGB output, at the last resolution: sharper "
      "images and better mode coverage at CPU budgets, docs/training-gan.md) "
      "or skip (an RGB output per resolution, summed: StyleGAN2's)")(
      "resolution", po::value(&resolution)->default_value(resolution),
      "image size, a power of two in [32, 256]")(
      "channels", po::value(&channels)->default_value(channels),
      "1 (grey) or 3 (RGB)")(
      "latent-dim",
      po::value(&o.model.latent_dim)->default_value(o.model.latent_dim),
      "size of the latent vector z, [1, 4096]")(
      "base-width",
      po::value(&o.model.base_width)->default_value(o.model.base_width),
      "channels next to the output, [8, 1024]; doubles per halving, "
      "capped at 512")(
      "g-norm", po::value(&o.model.g_norm)->default_value(o.model.g_norm),
      "dcgan generator normalisation: pixel (no batch dependence), batch, "
      "none")(
      "d-arch", po::value(&o.model.d_arch)->default_value(o.model.d_arch),
      "discriminator: dcgan (a stride-2 4x4 convolution per resolution) or "
      "residual (R3GAN-style: a residual block of two 3x3 convolutions per "
      "resolution, no normalisation; about 10x D's compute at 32 px)")(
      "spectral-norm", po::bool_switch(&spectral),
      "spectral normalisation in D (stabilises D; pairs well with hinge)")(
      "no-minibatch-std", po::bool_switch(&no_mbstd),
      "drop D's minibatch standard-deviation feature (anti mode collapse)")(
      "multiscale", po::bool_switch(&multiscale),
      "MSG-GAN: G emits and D reads every scale (use for 128 and 256 px)");
  po::options_description train_opts("training");
  train_opts.add_options()(
      "loss", po::value(&loss)->default_value(loss),
      "bce (non-saturating), hinge, wgan-gp or rpgan (relativistic "
      "pairing with R1 and R2 penalties, as R3GAN)")(
      "steps", po::value(&o.steps)->default_value(o.steps),
      "generator steps, [1, 1e8]")(
      "batch", po::value(&o.batch)->default_value(o.batch),
      "images per batch, [2, 4096]; with several processes the global "
      "batch, split evenly between them")("lr-g", real_value(&o.lr_g, o.lr_g),
                                          "generator learning rate, [1e-7, 1]")(
      "lr-d", real_value(&o.lr_d, o.lr_d),
      "discriminator learning rate, [1e-7, 1]")(
      "beta1", real_value(&o.beta1, o.beta1), "Adam beta1, [0, 0.999]")(
      "beta2", real_value(&o.beta2, o.beta2), "Adam beta2, [0, 0.9999]")(
      "schedule", po::value(&o.schedule)->default_value(o.schedule),
      "learning-rate schedule: constant, linear (decay to 0) or cosine")(
      "d-steps", po::value(&o.d_steps)->default_value(o.d_steps),
      "discriminator steps per generator step, [1, 16]")(
      "skip-d-below", real_value(&o.skip_d_below, o.skip_d_below),
      "skip the D step while D's loss is below this, [0, 10] (0 = never); "
      "skips "
      "are counted in losses.csv")(
      "label-smoothing", real_value(&o.label_smoothing, o.label_smoothing),
      "real label = 1 - this, [0, 0.5] (bce only)")(
      "augment", po::value(&augment)->default_value(augment),
      "DiffAugment on real and fake: none or a list of translation, "
      "cutout, color")(
      "r1", real_value(&o.r1_gamma, o.r1_gamma),
      "R1 gradient penalty weight on real images, [0, 1000] (0 = off); "
      "with rpgan the weight of R1 and R2, 0 = 0.25*resolution^2/batch\n(4 at "
      "32 px and batch 64)")(
      "r1-every", po::value(&o.r1_every)->default_value(o.r1_every),
      "lazy regularisation: the R1 (and R2) penalty on every N-th D step "
      "only, weighted N times, [1, 64] (StyleGAN2 uses 16)")(
      "style-mixing", real_value(&o.style_mixing, o.style_mixing),
      "stylegan: share of batches whose later layers take the styles of a "
      "second latent, [0, 1]")(
      "gp-lambda", real_value(&o.gp_lambda, o.gp_lambda),
      "gradient penalty weight for wgan-gp, [0, 1000]")(
      "ema", real_value(&o.ema_decay, o.ema_decay),
      "decay of the exported moving-average generator, [0, 0.99999] "
      "(0 = off)")(
      "collapse-warn", real_value(&o.collapse_warn, o.collapse_warn),
      "warn when samples are less diverse than this fraction of real "
      "data, [0, 1]")("seed", po::value(&o.seed)->default_value(o.seed),
                      "random seed, any integer >= 0")(
      "threads", po::value(&o.threads)->default_value(o.threads),
      "CPU threads per process, [0, 1024] (0 = all cores)")(
      "device", po::value(&device)->default_value(device),
      "cpu, cuda or cuda:N (cuda = cuda:LOCAL_RANK under a launcher); "
      "needs a CUDA build of LibTorch")(
      "sample-every", po::value(&o.sample_every)->default_value(o.sample_every),
      "write a sample grid every N steps, [1, 1e8]")(
      "checkpoint-every",
      po::value(&o.checkpoint_every)->default_value(o.checkpoint_every),
      "write a checkpoint every N steps, [1, 1e8]")(
      "log-every", po::value(&o.log_every)->default_value(o.log_every),
      "losses.csv row (and plain log line) every N steps, [1, 1e8]");
  po::options_description all;
  add_precision_option(train_opts);
  all.add(data_opts).add(model_opts).add(train_opts);
  po::variables_map vm;
  if (!parse("gan",
             "--out RUN_DIR [--data DIR|mnist:PATH|builtin] [options]\n"
             "       neuralart-train gan --resume RUN_DIR [--steps N]\n\n"
             "Trains a DCGAN (generator: z -> fully connected -> upsampling "
             "convolutions; discriminator: strided convolutions -> fully "
             "connected -> real/fake), or with --arch stylegan a "
             "StyleGAN2-style generator against the same discriminator, "
             "with alternating D and G steps, and "
             "exports RUN_DIR/generator.bundle for gansrc. Ctrl-C saves a "
             "checkpoint and exits; --resume continues. Under a launcher "
             "(neuralart-train launch, torchrun: RANK, WORLD_SIZE, "
             "MASTER_ADDR, MASTER_PORT) trains data-parallel. See "
             "docs/training-gan.md and docs/distributed.md.",
             all, {}, args, vm))
    return kExitOk;
  if (out.empty() == resume.empty())
    throw UsageError("give exactly one of --out RUN_DIR or --resume RUN_DIR");
  check_range<int64_t>("resolution", resolution, 32, 256);
  if ((resolution & (resolution - 1)) != 0)
    throw UsageError("--resolution " + std::to_string(resolution) +
                     " must be a power of two (32, 64, 128 or 256)");
  if (channels != 1 && channels != 3)
    throw UsageError("--channels " + std::to_string(channels) +
                     " must be 1 or 3");
  if (o.model.g_norm != "pixel" && o.model.g_norm != "batch" &&
      o.model.g_norm != "none")
    throw UsageError("--g-norm '" + o.model.g_norm +
                     "' must be pixel, batch or none");
  if (o.model.arch != "dcgan" && o.model.arch != "stylegan")
    throw UsageError("--arch '" + o.model.arch + "' must be dcgan or stylegan");
  if (multiscale && o.model.arch == "stylegan")
    throw UsageError(
        "--multiscale is for dcgan; stylegan has its own RGB outputs "
        "(--rgb-output)");
  check_range<int64_t>("latent-dim", o.model.latent_dim, 1, 4096);
  check_range<int64_t>("w-dim", o.model.w_dim, 1, 2048);
  check_range<int64_t>("mapping-layers", o.model.mapping_layers, 1, 8);
  if (o.model.rgb_output != "skip" && o.model.rgb_output != "last")
    throw UsageError("--rgb-output '" + o.model.rgb_output +
                     "' must be skip or last");
  check_range<int64_t>("base-width", o.model.base_width, 8, 1024);
  check_range<int64_t>("steps", o.steps, 1, 100000000);
  check_range<int64_t>("batch", o.batch, 2, 4096);
  check_range<int64_t>("r1-every", o.r1_every, 1, 64);
  if (o.model.d_arch != "dcgan" && o.model.d_arch != "residual")
    throw UsageError("--d-arch '" + o.model.d_arch +
                     "' must be dcgan or residual");
  check_range<int>("threads", o.threads, 0, 1024);
  o.model.resolution = resolution;
  o.model.channels = channels;
  o.model.spectral_norm = spectral;
  o.model.minibatch_std = !no_mbstd;
  o.model.multiscale = multiscale;
  const DistEnv env = DistEnv::from_environment();
  // Under a launcher, plain "cuda" means this process's GPU.
  if (device == "cuda" && env.distributed())
    device = "cuda:" + std::to_string(env.local_rank);
  try {
    const auto named = [](const char* option, const auto& parse_value) {
      try {
        return parse_value();
      } catch (const InvalidArgument& e) {
        throw UsageError(std::string("--") + option + ": " + e.what());
      }
    };
    o.loss = named("loss", [&] { return gan_loss_from_string(loss); });
    o.augment = named("augment", [&] { return AugmentPolicy::parse(augment); });
    named("device", [&] { return parse_device(device); });
    o.device = device;
    o.precision = resolved_precision(vm, device);
    try {
      o.validate();  // its messages start with the option's name
    } catch (const InvalidArgument& e) {
      throw UsageError(std::string("--") + e.what());
    }
    if (o.batch % env.world_size != 0)
      throw InvalidArgument("--batch " + std::to_string(o.batch) +
                            " is the global batch and must be a multiple of "
                            "the " +
                            std::to_string(env.world_size) + " processes");
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
  // Rank 0 alone talks to the user and writes the run folder.
  std::ostream& log = env.is_main() ? std::cerr : null_stream();
  std::shared_ptr<DataParallel> parallel;
  if (env.distributed()) {
    log << "joining " << env.world_size << " processes at " << env.master_addr
        << ":" << env.master_port << "\n";
    parallel = std::make_shared<DataParallel>(env);
  }

  const std::string run_dir = resume.empty() ? out : resume;
  json provenance = {{"command", command_line(args)}};
  if (!resume.empty()) {
    json stored;
    int saved_world = 1;
    const auto saved =
        GanTrainer::checkpoint_options(run_dir, &stored, &saved_world);
    if (saved_world != env.world_size)
      throw Error(run_dir + " was trained by " + std::to_string(saved_world) +
                  " process(es) and must resume with as many (this is " +
                  std::to_string(env.world_size) +
                  "): " + resume_command(saved_world, run_dir));
    if (vm["data"].defaulted() && stored.contains("data_spec"))
      data = stored["data_spec"].get<std::string>();
    o.model = saved.model;  // data must match the checkpoint's model
    if (vm["steps"].defaulted()) o.steps = saved.steps;
  }
  log << "loading data: " << data << " (training in " << o.precision << ")\n";
  ImageSet images = load_dataset(data, o.model.resolution, o.model.channels);
  log << "data: " << images.description << "\n";
  for (const auto& skipped : images.skipped)
    log << "warning: skipped " << skipped << "\n";
  const auto skipped_count = images.skipped.size();

  std::unique_ptr<GanTrainer> trainer;
  if (resume.empty()) {
    trainer =
        std::make_unique<GanTrainer>(o, std::move(images), run_dir, parallel);
    provenance["data_spec"] = data;
    trainer->provenance = provenance;
  } else {
    // Only what the command line states explicitly overrides the run.
    auto overrides = GanTrainer::checkpoint_options(run_dir, nullptr);
    overrides.steps = o.steps;
    if (!vm["sample-every"].defaulted())
      overrides.sample_every = o.sample_every;
    if (!vm["checkpoint-every"].defaulted())
      overrides.checkpoint_every = o.checkpoint_every;
    if (!vm["log-every"].defaulted()) overrides.log_every = o.log_every;
    if (!vm["threads"].defaulted()) overrides.threads = o.threads;
    overrides.device = device;
    overrides.precision = o.precision;
    trainer =
        GanTrainer::resume(run_dir, std::move(images), &overrides, parallel);
    log << "resuming " << run_dir << " at step " << trainer->current_step()
        << "\n";
  }
  const auto samples_dir = fs::path(run_dir) / "samples";
  if (env.is_main()) fs::create_directories(samples_dir);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Progress progress(trainer->options().steps, "img/s",
                    trainer->options().log_every);
  GanCallbacks cb;
  cb.stop = &g_stop;
  if (env.is_main()) {  // the other ranks only train
    cb.on_step = [&](const GanStats& s) {
      std::ostringstream d;
      d << std::fixed << std::setprecision(3) << "D " << s.d_loss << "  G "
        << s.g_loss << "  D(x) " << s.d_real << "  D(G(z)) " << s.d_fake;
      if (s.skipped_d) d << "  skipped-D " << s.skipped_d;
      progress.update(s.step, s.images_per_second, d.str());
    };
    cb.on_warning = [&](const std::string& w) {
      progress.message("warning: " + w);
    };
    cb.on_samples = [&](int64_t step, const torch::Tensor& images) {
      const auto grid = make_grid(images, 8, -1.0, 1.0);
      char name[32];
      std::snprintf(name, sizeof name, "step_%07lld.png", (long long)step);
      save_image_rgb((samples_dir / name).string(), grid);
      save_image_rgb((samples_dir / "latest.png").string(), grid);
      const auto csv = fs::path(run_dir) / "losses.csv";
      if (fs::exists(csv))
        save_image_rgb((fs::path(run_dir) / "loss_plot.png").string(),
                       plot_loss_csv(csv.string()));
    };
  }
  const int64_t reached = trainer->train(cb);
  // Every rank stops at the same step when any of them was interrupted.
  const bool interrupted = g_stop.load() || reached < trainer->options().steps;
  if (!env.is_main()) return interrupted ? 130 : kExitOk;
  progress.finish();
  const auto bundle = (fs::path(run_dir) / "generator.bundle").string();
  trainer->export_generator(bundle, json::object());
  std::cerr << (interrupted ? "interrupted" : "finished") << " at step "
            << reached << "; checkpoint " << trainer->checkpoint_path()
            << "\ngenerator: " << bundle
            << "\nsamples: " << (samples_dir / "latest.png").string() << "\n";
  if (skipped_count)
    std::cerr << "skipped " << skipped_count << " unreadable images\n";
  if (interrupted) {
    std::cerr << "resume with: " << resume_command(env.world_size, run_dir)
              << "\n";
    return 130;
  }
  return kExitOk;
}

}  // namespace neuralart::cli
