// neuralart-train style: trains a feed-forward style network (one or
// several styles in one model) for the styletransfer element.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli.h"
#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/media/image_io.h"
#include "neuralart/models/load.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/distributed.h"
#include "neuralart/train/style_train.h"
#include "progress_line.h"
#include "style_common.h"

namespace neuralart::cli {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kContentSize = 512;  // --content-size 0
constexpr double kBaseLr = 0.01;       // --lr left out with --base

// Every image of DIR, shorter side resized to `size`, as uint8 [3, H, W].
std::vector<torch::Tensor> load_content(const std::string& dir, int64_t size,
                                        int64_t max_images) {
  auto files = list_images(dir);
  if (files.empty())
    throw Error(dir +
                ": no images found (.png, .jpg, .bmp, .webp, .tif, "
                ".ppm)");
  if (max_images > 0 && static_cast<int64_t>(files.size()) > max_images)
    files.resize(max_images);
  std::vector<torch::Tensor> images;
  for (const auto& f : files) {
    auto t = load_image_tensor(f, static_cast<int>(size));
    images.push_back(t[0].round().clamp(0, 255).to(torch::kUInt8).contiguous());
  }
  return images;
}

}  // namespace

int run_style(const std::vector<std::string>& args) {
  po::options_description options("style options");
  // clang-format off
  options.add_options()
    ("style", po::value<std::string>()->required(),
     "style image(s), comma-separated: one model holds them all")
    ("style-names", po::value<std::string>(),
     "names stored in the model, comma-separated (default: file names)")
    ("content", po::value<std::string>()->required(),
     "folder of content images (searched recursively)")
    ("out", po::value<std::string>()->required(), "model bundle to write")
    ("base", po::value<std::string>(),
     "a trained style bundle to add the new style(s) to: its network\n"
     "stays frozen and only each new style's instance-norm vectors\n"
     "train (fast); the output holds the base's styles and the new\n"
     "ones. Its architecture replaces --width/--res-blocks/--conv/--stem")
    ("size", po::value<int64_t>()->default_value(256),
     "random crop side in pixels, [32, 2048]")
    ("style-size", po::value<int64_t>()->default_value(0),
     "shorter side of the style images, [32, 4096] (0: the content size,\n"
     "so painting and photos share one scale)")
    ("content-size", po::value<int64_t>()->default_value(0),
     "shorter side the content images are resized to before cropping,\n"
     "[32, 4096] (0: 512, or --size when larger): train at the scale\n"
     "the model will restyle; a network paints strokes of a fixed size\n"
     "in pixels")
    ("batch", po::value<int64_t>()->default_value(4), "batch size, [1, 256]")
    ("steps", po::value<int64_t>(),
     "training steps, [1, 1e8] (default 2000 unless --epochs)")
    ("epochs", po::value<double>(),
     "passes over the content images instead of --steps, (0, 10000]")
    ("lr", real_value<double>(1e-3),
     "Adam learning rate, [1e-7, 1]; 0.01 when left out with --base\n"
     "(only a style's vectors train)")
    ("lr-schedule", po::value<std::string>()->default_value("constant"),
     "learning-rate schedule: constant, linear (decay to 0) or cosine")
    ("width", po::value<int64_t>()->default_value(32),
     "channels of the first layer (x2, x4 deeper), [4, 256]")
    ("res-blocks", po::value<int64_t>()->default_value(5),
     "residual blocks, [0, 32]")
    ("conv", po::value<std::string>()->default_value("standard"),
     "3x3 convolutions inside the network: standard or separable "
     "(depthwise 3x3 + 1x1; faster)")
    ("stem", po::value<std::string>()->default_value("full"),
     "full (9x9 convolutions at full resolution) or shuffle (pixel-shuffle "
     "in and out, every convolution at half resolution or less; the "
     "real-time variant, docs/benchmarks.md)")
    ("loss-jitter", po::value<int64_t>()->default_value(0),
     "crop output and input by the same random offset below N pixels "
     "before the loss network each step, [0, 16] (0: off)")
    ("content-weight", real_value<double>(1.0),
     "content loss weight, [0, 1e9]")
    ("style-weight", real_value<double>(10.0),
     "style loss weight, [0, 1e9]")
    ("tv-weight", real_value<double>(1.0),
     "total-variation loss weight, [0, 1e9]")
    ("temporal-weight", real_value<double>(0.0),
     "temporal-consistency loss weight for video, [0, 1e9] (0: off; 30-100\n"
     "for a painting, docs/training-style.md)")
    ("temporal-noise", real_value<double>(0.0),
     "pixel noise (standard deviation, 0-255 units) the temporal term adds\n"
     "to its moved input, [0, 64]: the network learns to ignore sensor and\n"
     "codec noise too (0: motion only; try 4)")
    ("content-layers", po::value<std::string>()->default_value("relu2_2"),
     "content layers, comma-separated (relu1_1 ... relu5_4)")
    ("style-layers",
     po::value<std::string>()->default_value("relu1_1,relu2_1,relu3_1"),
     "style layers, comma-separated")
    ("pyramid-levels", po::value<int>()->default_value(2),
     "scales for the style loss (each halves the image), [1, 6]")
    ("loss-net", po::value<std::string>()->default_value("random"),
     "loss network: random, random:SEED (built in) or vgg19:PATH/model.json")
    ("work-dir", po::value<std::string>(),
     "checkpoint, losses.csv, losses.png, previews/ (default: OUT.run)")
    ("resume", po::bool_switch(), "continue from WORK-DIR/checkpoint.ckpt")
    ("preview-every", po::value<int64_t>()->default_value(200),
     "write previews every N steps, [0, 1e8] (0: only at the end)")
    ("preview-count", po::value<int64_t>()->default_value(4),
     "content images in the previews, [1, 16]")
    ("checkpoint-every", po::value<int64_t>()->default_value(500),
     "checkpoint every N steps, [1, 1e8]")
    ("log-every", po::value<int64_t>()->default_value(10),
     "loss log row every N steps, [1, 1e8]")
    ("max-images", po::value<int64_t>()->default_value(0),
     "use at most N content images, [0, 1e8] (0: all)")
    ("seed", po::value<uint64_t>()->default_value(1),
     "random seed, any integer >= 0")
    ("threads", po::value<int>()->default_value(0),
     "CPU threads per process, [0, 1024] (0: all cores)")
    ("device", po::value<std::string>()->default_value("cpu"),
     "cpu, cuda or cuda:N (cuda = cuda:LOCAL_RANK under a launcher); "
     "needs a CUDA build of LibTorch");
  // clang-format on
  add_precision_option(options);
  po::variables_map vm;
  if (!parse("style",
             "--style IMG[,IMG...] --content DIR --out MODEL [options]\n\n"
             "Trains a feed-forward style network (width and residual blocks "
             "as options) on\nrandom crops of the content images, one "
             "conditional-instance-norm style per\nstyle image. Ctrl-C saves "
             "a checkpoint and the model so far; --resume goes on. Under a "
             "launcher\n(neuralart-train launch, torchrun) trains "
             "data-parallel: --batch is the global\nbatch. See "
             "docs/training-style.md and docs/distributed.md.",
             options, {}, args, vm))
    return kExitOk;

  StyleTrainOptions o;
  o.size = vm["size"].as<int64_t>();
  check_range<int64_t>("size", o.size, 32, 2048);
  int64_t style_size = vm["style-size"].as<int64_t>();
  if (style_size != 0) check_range<int64_t>("style-size", style_size, 32, 4096);
  int64_t content_size = vm["content-size"].as<int64_t>();
  if (content_size != 0)
    check_range<int64_t>("content-size", content_size, 32, 4096);
  // The scale the models are used at (docs/style.md, issue #17): photos at
  // 512 px with the painting at the same scale, cropped to --size.
  if (content_size == 0) content_size = std::max<int64_t>(kContentSize, o.size);
  if (style_size == 0) style_size = content_size;
  if (content_size < o.size)
    throw UsageError("--content-size " + std::to_string(content_size) +
                     " is smaller than the crop --size " +
                     std::to_string(o.size) + ": give at least --size");
  o.batch = vm["batch"].as<int64_t>();
  check_range<int64_t>("batch", o.batch, 1, 256);
  if (vm.count("steps") && vm.count("epochs"))
    throw UsageError("give --steps or --epochs, not both");
  if (vm.count("steps")) {
    o.steps = vm["steps"].as<int64_t>();
    check_range<int64_t>("steps", o.steps, 1, 100000000);
  }
  double epochs = 0;
  if (vm.count("epochs")) {
    epochs = vm["epochs"].as<double>();
    if (!(epochs > 0 && epochs <= 10000))
      throw UsageError("--epochs " + format_number(epochs) +
                       " is out of range (0, 10000]");
  }
  o.lr = vm["lr"].as<double>();
  check_range("lr", o.lr, 1e-7, 1.0);
  // A base's style vectors are a few numbers each: a larger step suits them
  // (measured in docs/style.md).
  if (vm.count("base") && vm["lr"].defaulted()) o.lr = kBaseLr;
  o.lr_schedule = vm["lr-schedule"].as<std::string>();
  if (o.lr_schedule != "constant" && o.lr_schedule != "linear" &&
      o.lr_schedule != "cosine")
    throw UsageError("--lr-schedule '" + o.lr_schedule +
                     "' must be constant, linear or cosine");
  o.model.width = vm["width"].as<int64_t>();
  check_range<int64_t>("width", o.model.width, 4, 256);
  o.model.res_blocks = vm["res-blocks"].as<int64_t>();
  check_range<int64_t>("res-blocks", o.model.res_blocks, 0, 32);
  o.model.conv = vm["conv"].as<std::string>();
  if (o.model.conv != "standard" && o.model.conv != "separable")
    throw UsageError("--conv '" + o.model.conv +
                     "' must be standard or separable");
  o.model.stem = vm["stem"].as<std::string>();
  if (o.model.stem != "full" && o.model.stem != "shuffle")
    throw UsageError("--stem '" + o.model.stem + "' must be full or shuffle");
  std::optional<StyleNet> base;
  std::vector<std::string> base_names;
  if (vm.count("base")) {
    const auto path = vm["base"].as<std::string>();
    Bundle bundle;
    try {
      bundle = read_bundle(path);
      if (bundle.meta.kind != ModelKind::Style)
        throw BundleError(path + " is a " + to_string(bundle.meta.kind) +
                          " model, not a style model");
      base = load_style_net(bundle);
    } catch (const std::exception& e) {
      throw UsageError(std::string("--base: ") + e.what() +
                       " (give a bundle written by neuralart-train style)");
    }
    const auto& a = (*base)->options();
    auto clash = [&](const char* opt, const std::string& given,
                     const std::string& has) {
      if (!vm[opt].defaulted() && given != has)
        throw UsageError("--" + std::string(opt) + " " + given +
                         " does not match the --base model " + path + " (" +
                         opt + " " + has +
                         "): leave it out, the base's architecture is used");
    };
    clash("width", std::to_string(o.model.width), std::to_string(a.width));
    clash("res-blocks", std::to_string(o.model.res_blocks),
          std::to_string(a.res_blocks));
    clash("conv", o.model.conv, a.conv);
    clash("stem", o.model.stem, a.stem);
    o.model = a;
    for (const auto& n : bundle.meta.styles) base_names.push_back(n);
    o.frozen_styles = a.num_styles;
  }
  o.content_weight = vm["content-weight"].as<double>();
  check_range("content-weight", o.content_weight, 0.0, 1e9);
  o.style_weight = vm["style-weight"].as<double>();
  check_range("style-weight", o.style_weight, 0.0, 1e9);
  o.tv_weight = vm["tv-weight"].as<double>();
  check_range("tv-weight", o.tv_weight, 0.0, 1e9);
  o.loss_jitter = vm["loss-jitter"].as<int64_t>();
  check_range<int64_t>("loss-jitter", o.loss_jitter, 0, 16);
  o.temporal_weight = vm["temporal-weight"].as<double>();
  check_range("temporal-weight", o.temporal_weight, 0.0, 1e9);
  o.temporal_noise = vm["temporal-noise"].as<double>();
  check_range("temporal-noise", o.temporal_noise, 0.0, 64.0);
  o.loss.content_layers =
      parse_layers("content-layers", vm["content-layers"].as<std::string>());
  o.loss.style_layers =
      parse_layers("style-layers", vm["style-layers"].as<std::string>());
  o.loss.pyramid_levels = vm["pyramid-levels"].as<int>();
  check_range("pyramid-levels", o.loss.pyramid_levels, 1, 6);
  if ((std::min(o.size, style_size) >> (o.loss.pyramid_levels - 1)) < 8)
    throw UsageError("--pyramid-levels " +
                     std::to_string(o.loss.pyramid_levels) +
                     " is too many for --size " + std::to_string(o.size) +
                     " (the smallest level must be at least 8 pixels)");
  o.loss_net = vm["loss-net"].as<std::string>();
  o.preview_every = vm["preview-every"].as<int64_t>();
  check_range<int64_t>("preview-every", o.preview_every, 0, 100000000);
  o.preview_count = vm["preview-count"].as<int64_t>();
  check_range<int64_t>("preview-count", o.preview_count, 1, 16);
  o.checkpoint_every = vm["checkpoint-every"].as<int64_t>();
  check_range<int64_t>("checkpoint-every", o.checkpoint_every, 1, 100000000);
  o.log_every = vm["log-every"].as<int64_t>();
  check_range<int64_t>("log-every", o.log_every, 1, 100000000);
  const int64_t max_images = vm["max-images"].as<int64_t>();
  check_range<int64_t>("max-images", max_images, 0, 100000000);
  o.seed = vm["seed"].as<uint64_t>();
  const int threads = vm["threads"].as<int>();
  check_range("threads", threads, 0, 1024);
  const DistEnv env = DistEnv::from_environment();
  std::string device = vm["device"].as<std::string>();
  // Under a launcher, plain "cuda" means this process's GPU.
  if (device == "cuda" && env.distributed())
    device = "cuda:" + std::to_string(env.local_rank);
  try {
    parse_device(device);
  } catch (const InvalidArgument& e) {
    throw UsageError(std::string("--device: ") + e.what());
  }
  o.device = device;
  o.precision = resolved_precision(vm, device);
  if (o.batch % env.world_size != 0)
    throw UsageError("--batch " + std::to_string(o.batch) +
                     " is the global batch and must be a multiple of the " +
                     std::to_string(env.world_size) + " processes");

  const auto out = vm["out"].as<std::string>();
  const auto style_files = split_list("style", vm["style"].as<std::string>());
  std::vector<std::string> names;
  if (vm.count("style-names")) {
    names = split_list("style-names", vm["style-names"].as<std::string>());
    if (names.size() != style_files.size())
      throw UsageError("--style-names has " + std::to_string(names.size()) +
                       " names for " + std::to_string(style_files.size()) +
                       " styles");
  } else {
    for (const auto& f : style_files) names.push_back(stem(f));
  }
  if (base) {
    for (const auto& n : names)
      if (std::find(base_names.begin(), base_names.end(), n) !=
          base_names.end())
        throw UsageError("style name '" + n +
                         "' is already in the --base "
                         "model; choose another with --style-names");
    names.insert(names.begin(), base_names.begin(), base_names.end());
  }
  const auto work_dir =
      vm.count("work-dir") ? vm["work-dir"].as<std::string>() : out + ".run";
  const bool resume = vm["resume"].as<bool>();

  apply_threads(threads);
  // Fail on a bad loss network or layer before the slow image loading.
  build_loss_net(o.loss_net, o.loss.content_layers, o.loss.style_layers);
  std::vector<torch::Tensor> styles;
  for (const auto& f : style_files)
    styles.push_back(load_image_tensor(f, static_cast<int>(style_size)));
  const auto content_dir = vm["content"].as<std::string>();
  auto content = load_content(content_dir, content_size, max_images);
  const int64_t n_content = static_cast<int64_t>(content.size());
  if (epochs > 0)
    o.steps = std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil(epochs * n_content / o.batch)));

  // Rank 0 alone talks to the user and writes files.
  std::ostream& log = env.is_main() ? std::cerr : null_stream();
  std::shared_ptr<DataParallel> parallel;
  if (env.distributed()) {
    log << "style: joining " << env.world_size << " processes at "
        << env.master_addr << ":" << env.master_port << "\n";
    parallel = std::make_shared<DataParallel>(env);
  }
  if (resume) {
    const int saved_world = StyleTrainer::checkpoint_world_size(work_dir);
    if (saved_world != env.world_size)
      throw Error(work_dir + " was trained by " + std::to_string(saved_world) +
                  " process(es) and must resume with as many (this is " +
                  std::to_string(env.world_size) + ")");
  }
  // A base model's own styles need no images (they never train): their
  // slots hold the first new one.
  if (base)
    styles.insert(styles.begin(), static_cast<size_t>(o.frozen_styles),
                  styles.front());
  StyleTrainer trainer(o, std::move(content), std::move(styles), names,
                       work_dir, parallel);
  trainer.provenance = {{"command", command_line("style", args)},
                        {"content",
                         {{"folder", content_dir},
                          {"images", n_content},
                          {"shorter_side", content_size}}},
                        {"style_files", style_files},
                        {"style_shorter_side", style_size},
                        {"loss_net", o.loss_net}};
  if (base)
    trainer.provenance["base"] = {{"path", vm["base"].as<std::string>()},
                                  {"styles", base_names}};
  if (resume) {
    trainer.resume();
    log << "style: resumed at step " << trainer.current_step() << " from "
        << trainer.checkpoint_path() << "\n";
  } else if (trainer.has_checkpoint()) {
    throw UsageError(work_dir +
                     " already holds a checkpoint: add --resume to continue "
                     "it, or choose another --work-dir");
  } else {
    if (env.is_main()) {
      std::error_code ec;
      fs::remove(trainer.csv_path(), ec);
    }
    if (base) trainer.load_base(*base);
  }
  log << "style: " << n_content << " content images from " << content_dir
      << ", " << names.size() << " style(s), loss network " << o.loss_net
      << ", " << o.steps << " steps of batch " << o.batch << " at " << o.size
      << " px, " << resolve_threads(threads) << " threads"
      << (env.distributed()
              ? " x " + std::to_string(env.world_size) + " processes"
              : std::string())
      << " on " << device << " in " << o.precision << "; work dir " << work_dir
      << "\n";

  const auto preview_dir = fs::path(work_dir) / "previews";
  if (env.is_main()) fs::create_directories(preview_dir);
  auto write_preview = [&](int64_t step, const torch::Tensor& images) {
    char name[48];
    std::snprintf(name, sizeof name, "step-%07lld.png",
                  static_cast<long long>(step));
    const auto cols = std::min<int64_t>(o.preview_count, images.size(0));
    save_image_rgb((preview_dir / name).string(),
                   make_grid(images, static_cast<int>(cols), 0, 255));
  };

  ProgressLine progress("step", o.steps, trainer.current_step(), o.log_every);
  StyleTrainCallbacks cb;
  cb.stop = &interrupted();
  if (env.is_main())
    cb.on_step = [&](const StyleTrainStats& s) {
      char detail[160];
      std::snprintf(
          detail, sizeof detail,
          "%.1f img/s loss %.4g (content %.3g, style %.3g, tv %.3g%s)",
          s.images_per_second, s.total, s.content, s.style, s.tv,
          o.temporal_weight > 0
              ? (", temporal " + std::to_string(s.temporal)).c_str()
              : "");
      progress.update(s.step, detail);
    };
  cb.on_preview = [&](int64_t step, const torch::Tensor& images) {
    write_preview(step, images);
    save_image_rgb((fs::path(work_dir) / "losses.png").string(),
                   trainer.loss_plot());
  };
  install_sigint_handler();
  const int64_t done = trainer.train(cb);
  if (!env.is_main()) return interrupted() ? kExitInterrupted : kExitOk;
  progress.finish();
  write_preview(done, trainer.previews());
  save_image_rgb((fs::path(work_dir) / "losses.png").string(),
                 trainer.loss_plot());
  trainer.export_bundle(out);
  if (interrupted()) {
    std::cerr << "style: interrupted at step " << done << "; saved "
              << trainer.checkpoint_path() << " and the model so far to " << out
              << " (add --resume to continue)\n";
    return kExitInterrupted;
  }
  std::cerr << "style: wrote " << out << " after " << done
            << " steps; losses and previews in " << work_dir << "\n";
  return kExitOk;
}

}  // namespace neuralart::cli
