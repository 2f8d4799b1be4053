// neuralart-train universal: trains a universal style model (a style
// network plus a style-prediction network) on many paintings, so that the
// styletransfer element's style-image property and `stylize --fast` can
// use any painting with no training of its own.
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli.h"
#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/media/image_io.h"
#include "neuralart/models/load.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/universal_train.h"
#include "progress_line.h"
#include "style_common.h"

namespace neuralart::cli {
namespace {

namespace fs = std::filesystem;

// --style: image files and folders (every image inside), comma-separated.
std::vector<std::string> painting_files(const std::string& option,
                                        const std::string& csv) {
  std::vector<std::string> files;
  for (const auto& item : split_list(option, csv)) {
    if (fs::is_directory(item)) {
      const auto found = list_images(item);
      if (found.empty())
        throw UsageError("--" + option + " " + item +
                         ": no images in the folder");
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(item)) {
      files.push_back(item);
    } else {
      throw UsageError("--" + option + " " + item + ": no such file or folder");
    }
  }
  return files;
}

}  // namespace

int run_universal(const std::vector<std::string>& args) {
  po::options_description options("universal options");
  // clang-format off
  options.add_options()
    ("style", po::value<std::string>()->required(),
     "paintings to learn from: image files and folders, comma-separated\n"
     "(at least 2; the more and the more varied, the better it generalises)")
    ("content", po::value<std::string>()->required(),
     "folder of content photos (searched recursively)")
    ("out", po::value<std::string>()->required(), "model bundle to write")
    ("base", po::value<std::string>(),
     "a trained style bundle to start from (its convolutions; its\n"
     "architecture replaces --width/--res-blocks/--conv/--stem)")
    ("preview-style", po::value<std::string>(),
     "paintings shown in the previews but never trained on (files,\n"
     "comma-separated): watch it generalise")
    ("size", po::value<int64_t>()->default_value(192),
     "random crop side of the photos, [32, 2048]")
    ("content-size", po::value<int64_t>()->default_value(320),
     "shorter side the photos are resized to before cropping, [32, 4096]:\n"
     "the frame height the model will restyle best")
    ("style-size", po::value<int64_t>()->default_value(256),
     "shorter side a painting is described and matched at, [32, 2048];\n"
     "paintings are read at twice this and cropped (see --min-crop)")
    ("min-crop", real_value<double>(0.5),
     "smallest painting crop, as a fraction of its shorter side, [0.1, 1]")
    ("color-shuffle", real_value<double>(0.25),
     "probability of permuting a step's painting's colour channels, [0, 1]")
    ("predictor-lr-scale", real_value<double>(0.05),
     "the style predictor's learning rate as a fraction of --lr, (0, 10]")
    ("bottleneck", po::value<int64_t>()->default_value(64),
     "size of the predictor's bottleneck, [1, 4096]")
    ("batch", po::value<int64_t>()->default_value(2), "batch size, [1, 256]")
    ("steps", po::value<int64_t>()->default_value(4000),
     "training steps, [1, 1e8]")
    ("lr", real_value<double>(1e-3), "Adam learning rate, [1e-7, 1]")
    ("lr-schedule", po::value<std::string>()->default_value("constant"),
     "constant, linear (decay to 0) or cosine")
    ("loss-net", po::value<std::string>()->default_value("random"),
     "loss network and the predictor's encoder: random, random:SEED or\n"
     "vgg19:PATH/model.json");
  // clang-format on
  add_network_options(options, 16, 3, "separable");
  add_loss_weight_options(options, 2.0, 13.0);
  add_run_options(options, 250, false);
  add_precision_option(options);
  po::variables_map vm;
  if (!parse("universal",
             "--style PAINTINGS --content DIR --out MODEL [options]\n\n"
             "Trains a universal style model: a feed-forward style network "
             "and a style-prediction\nnetwork that reads any painting (one "
             "it never saw) and sets the network's\ninstance-norm vectors "
             "to restyle in its manner (Ghiasi et al. 2017). Use it with\n"
             "styletransfer style-image=FILE or neuralart-train stylize "
             "--fast MODEL. Ctrl-C saves\na checkpoint; --resume goes on. "
             "See docs/training-style.md.",
             options, {}, args, vm))
    return kExitOk;

  UniversalTrainOptions uo;
  StyleTrainOptions& o = uo.style;
  o.size = vm["size"].as<int64_t>();
  check_range<int64_t>("size", o.size, 32, 2048);
  const int64_t content_size = vm["content-size"].as<int64_t>();
  check_range<int64_t>("content-size", content_size, 32, 4096);
  if (content_size < o.size)
    throw UsageError("--content-size " + std::to_string(content_size) +
                     " is smaller than the crop --size " +
                     std::to_string(o.size));
  uo.predictor.style_size = vm["style-size"].as<int64_t>();
  check_range<int64_t>("style-size", uo.predictor.style_size, 32, 2048);
  uo.min_crop = vm["min-crop"].as<double>();
  check_range("min-crop", uo.min_crop, 0.1, 1.0);
  uo.color_shuffle = vm["color-shuffle"].as<double>();
  check_range("color-shuffle", uo.color_shuffle, 0.0, 1.0);
  uo.predictor_lr_scale = vm["predictor-lr-scale"].as<double>();
  if (!(uo.predictor_lr_scale > 0.0 && uo.predictor_lr_scale <= 10.0))
    throw UsageError("--predictor-lr-scale " +
                     format_number(uo.predictor_lr_scale) +
                     " is out of range (0, 10]");
  uo.predictor.bottleneck = vm["bottleneck"].as<int64_t>();
  check_range<int64_t>("bottleneck", uo.predictor.bottleneck, 1, 4096);
  o.batch = vm["batch"].as<int64_t>();
  check_range<int64_t>("batch", o.batch, 1, 256);
  o.steps = vm["steps"].as<int64_t>();
  check_range<int64_t>("steps", o.steps, 1, 100000000);
  o.lr = vm["lr"].as<double>();
  check_range("lr", o.lr, 1e-7, 1.0);
  o.lr_schedule = parse_lr_schedule(vm);
  parse_network_options(vm, o.model);
  std::optional<StyleNet> base;
  if (vm.count("base")) {
    base = load_base_option(vm, o.model, nullptr);
    o.model.num_styles = 1;
  }
  parse_loss_weights(vm, o);
  o.loss_net = vm["loss-net"].as<std::string>();
  uo.predictor.encoder =
      o.loss_net.rfind("vgg19:", 0) == 0 ? "vgg19" : "random";
  parse_run_files_options(vm, o);
  const int64_t max_images = vm["max-images"].as<int64_t>();
  check_range<int64_t>("max-images", max_images, 0, 100000000);
  o.seed = vm["seed"].as<uint64_t>();
  const int threads = vm["threads"].as<int>();
  check_range("threads", threads, 0, 1024);
  o.device = vm["device"].as<std::string>();
  try {
    parse_device(o.device);
  } catch (const InvalidArgument& e) {
    throw UsageError(std::string("--device: ") + e.what());
  }
  o.precision = resolved_precision(vm, o.device);

  const auto out = vm["out"].as<std::string>();
  const auto work_dir =
      vm.count("work-dir") ? vm["work-dir"].as<std::string>() : out + ".run";
  const bool resume = vm["resume"].as<bool>();

  apply_threads(threads);
  uo.predictor.code_size = StyleNet(o.model)->code_size();
  try {
    uo.validate();
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());
  }
  build_loss_net(o.loss_net, o.loss.content_layers, o.loss.style_layers);
  // The paintings are checked after every option, so that a bad option is
  // named before a missing file.
  const auto files = painting_files("style", vm["style"].as<std::string>());
  if (files.size() < 2)
    throw UsageError("--style names " + std::to_string(files.size()) +
                     " painting; a universal model needs at least 2 (for one "
                     "painting, train neuralart-train style)");
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(stem(f));
  std::vector<std::string> preview_files;
  if (vm.count("preview-style"))
    preview_files =
        painting_files("preview-style", vm["preview-style"].as<std::string>());
  const int paint_side = static_cast<int>(2 * uo.predictor.style_size);
  std::vector<torch::Tensor> paintings, previews;
  for (const auto& f : files)
    paintings.push_back(load_image_tensor(f, paint_side));
  for (const auto& f : preview_files)
    previews.push_back(load_image_tensor(f, paint_side));
  const auto content_dir = vm["content"].as<std::string>();
  auto content = load_content(content_dir, content_size, max_images);
  const int64_t n_content = static_cast<int64_t>(content.size());

  UniversalTrainer trainer(uo, std::move(content), std::move(paintings), names,
                           work_dir, std::move(previews));
  trainer.provenance = {{"command", command_line("universal", args)},
                        {"content",
                         {{"folder", content_dir},
                          {"images", n_content},
                          {"shorter_side", content_size}}},
                        {"style_files", files},
                        {"preview_files", preview_files},
                        {"loss_net", o.loss_net}};
  if (base) trainer.provenance["base"] = vm["base"].as<std::string>();
  if (resume) {
    trainer.resume();
    std::cerr << "universal: resumed at step " << trainer.current_step()
              << " from " << trainer.checkpoint_path() << "\n";
  } else if (trainer.has_checkpoint()) {
    throw UsageError(work_dir +
                     " already holds a checkpoint: add --resume to continue "
                     "it, or choose another --work-dir");
  } else {
    std::error_code ec;
    fs::remove(trainer.csv_path(), ec);
    if (base) trainer.load_base(*base);
  }
  std::cerr << "universal: " << n_content << " content images, " << files.size()
            << " paintings, loss network " << o.loss_net << ", " << o.steps
            << " steps of batch " << o.batch << " at " << o.size << " px, "
            << resolve_threads(threads) << " threads on " << o.device << " in "
            << o.precision << "; work dir " << work_dir << "\n";

  return train_and_export(trainer, o, "universal", work_dir, out, true);
}

}  // namespace neuralart::cli
