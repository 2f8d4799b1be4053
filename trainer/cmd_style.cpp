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
#include "neuralart/media/motion_pairs.h"
#include "neuralart/models/load.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/distributed.h"
#include "neuralart/train/style_train.h"
#include "progress_line.h"
#include "style_common.h"

namespace neuralart::cli {
namespace {

namespace fs = std::filesystem;

// The recipe of docs/training-style.md ("Your own painting in 30 minutes",
// measured with the fixed protocol of docs/style.md, issue #17).
constexpr int64_t kContentSize = 320;     // --content-size 0
constexpr int64_t kSteps = 1800;          // neither --steps nor --epochs
constexpr double kBaseLr = 0.01;          // --lr left out with --base
constexpr double kVideoStyleWeight = 16;  // --style-weight left out with
                                          // --temporal-weight > 0
constexpr int64_t kMotionPairs = 240;     // frame pairs --temporal-frames
                                          // keeps (~2.7 MB each at 320 px)

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
    ("size", po::value<int64_t>()->default_value(192),
     "random crop side in pixels, [32, 2048]")
    ("style-size", po::value<int64_t>()->default_value(0),
     "shorter side of the style images, [32, 4096] (0: the content size,\n"
     "so painting and photos share one scale)")
    ("content-size", po::value<int64_t>()->default_value(0),
     "shorter side the content images are resized to before cropping,\n"
     "[32, 4096] (0: 320, or --size when larger): train at the scale\n"
     "the model will restyle (320-360 line frames by default; 720 for\n"
     "720p); a network paints strokes of a fixed size in pixels")
    ("batch", po::value<int64_t>()->default_value(2), "batch size, [1, 256]")
    ("steps", po::value<int64_t>(),
     ("training steps, [1, 1e8] (default " + std::to_string(kSteps) +
      " unless --epochs)").c_str())
    ("epochs", po::value<double>(),
     "passes over the content images instead of --steps, (0, 10000]")
    ("lr", real_value<double>(3e-3),
     "Adam learning rate, [1e-7, 1]; 0.01 when left out with --base\n"
     "(only a style's vectors train)")
    ("lr-schedule", po::value<std::string>()->default_value("constant"),
     "learning-rate schedule: constant, linear (decay to 0) or cosine")
    ("loss-jitter", po::value<int64_t>()->default_value(0),
     "crop output and input by the same random offset below N pixels "
     "before the loss network each step, [0, 16] (0: off)")
    ("shift-weight", real_value<double>(0.0),
     "video: weight of the shift-consistency term, [0, 1e9] (0: off):\n"
     "the output of the input moved by 1-7 whole pixels must be the\n"
     "output moved by the same, so the texture follows small camera\n"
     "motion instead of being repainted (100 for video: 30 % less flicker\n"
     "at about the same style for one painting, more style lost with\n"
     "several; docs/training-style.md)")
    ("content-layers", po::value<std::string>()->default_value("relu2_2"),
     "content layers, comma-separated (relu1_1 ... relu5_4)")
    ("style-layers",
     po::value<std::string>()->default_value("relu1_1,relu2_1,relu3_1"),
     "style layers, comma-separated")
    ("pyramid-levels", po::value<int>()->default_value(2),
     "scales for the style loss (each halves the image), [1, 6]")
    ("loss-net", po::value<std::string>()->default_value("random"),
     "loss network: random, random:SEED (built in) or vgg19:PATH/model.json")
    ("temporal-frames", po::value<std::string>(),
     ("video frames for the temporal term (with --temporal-weight): a\n"
      "folder of consecutive frames of a clip, or of clip folders; the\n"
      "optical flow between neighbours is computed once at the content\n"
      "size (up to " + std::to_string(kMotionPairs) +
      " pairs), and each step also asks the output of a\n"
      "frame to match the previous frame's output moved along it").c_str());
  // clang-format on
  // The recipe's network and weights (the compact real-time network; the
  // universal command shares them).
  add_network_options(options, 16, 3, "separable");
  add_loss_weight_options(options, 2.0, 13.0,
                          "; 16 when left out with --temporal-weight");
  add_run_options(options, 500, true);
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
  o.steps = kSteps;
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
  o.lr_schedule = parse_lr_schedule(vm);
  parse_network_options(vm, o.model);
  std::optional<StyleNet> base;
  std::vector<std::string> base_names;
  if (vm.count("base")) {
    base = load_base_option(vm, o.model, &base_names);
    o.frozen_styles = o.model.num_styles;
  }
  parse_loss_weights(vm, o);
  // The temporal term costs some style: the video recipe makes up for it
  // (docs/training-style.md, measured on La Muse).
  if (o.temporal_weight > 0 && vm["style-weight"].defaulted())
    o.style_weight = kVideoStyleWeight;
  if (vm.count("temporal-frames") && o.temporal_weight <= 0)
    throw UsageError(
        "--temporal-frames adds real footage to the temporal term: give "
        "--temporal-weight too (100 in the video recipe)");
  o.shift_weight = vm["shift-weight"].as<double>();
  check_range("shift-weight", o.shift_weight, 0.0, 1e9);
  o.loss_jitter = vm["loss-jitter"].as<int64_t>();
  check_range<int64_t>("loss-jitter", o.loss_jitter, 0, 16);
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
  parse_run_files_options(vm, o);
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
  if (vm.count("temporal-frames")) {
    const auto frames_dir = vm["temporal-frames"].as<std::string>();
    std::optional<ProgressLine> bar;  // optical flow of the frame pairs
    auto pairs = load_motion_pairs(
        frames_dir, content_size, kMotionPairs,
        [&](int64_t done, int64_t total) {
          if (!env.is_main()) return;
          if (!bar) bar.emplace("pair", total, 0, 40);
          bar->update(done, "(optical flow of the video frames)");
        });
    if (bar) bar->finish();
    log << "style: " << pairs.size() << " pairs of video frames from "
        << frames_dir << " for the temporal term\n";
    trainer.provenance["temporal_frames"] = {{"folder", frames_dir},
                                             {"pairs", pairs.size()}};
    trainer.set_motion_pairs(std::move(pairs));
  }
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

  return train_and_export(trainer, o, "style", work_dir, out, env.is_main());
}

}  // namespace neuralart::cli
