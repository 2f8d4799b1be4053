// Option helpers shared by `stylize` and `style`.
#pragma once

#include <atomic>
#include <csignal>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "neuralart/bundle.h"
#include "neuralart/error.h"
#include "neuralart/media/image_io.h"
#include "neuralart/models/load.h"
#include "neuralart/train/loss_net.h"
#include "neuralart/train/style_train.h"
#include "progress_line.h"

namespace neuralart::cli {

// Every image of DIR, shorter side resized to `size`, as uint8 [3, H, W].
inline std::vector<torch::Tensor> load_content(const std::string& dir,
                                               int64_t size,
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

// "a,b,c" -> items; throws UsageError naming the option for empty items.
inline std::vector<std::string> split_list(const std::string& option,
                                           const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream s(csv);
  std::string item;
  while (std::getline(s, item, ',')) {
    if (item.empty())
      throw UsageError("--" + option + " '" + csv + "' has an empty item");
    out.push_back(item);
  }
  if (out.empty()) throw UsageError("--" + option + " is empty");
  return out;
}

inline std::vector<double> parse_weights(const std::string& option,
                                         const std::string& csv, size_t count,
                                         double lo, double hi) {
  std::vector<double> out;
  for (const auto& item : split_list(option, csv)) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size())
      throw UsageError("--" + option + " '" + item + "' is not a number");
    check_range(option, v, lo, hi);
    out.push_back(v);
  }
  if (out.size() != count)
    throw UsageError("--" + option + " has " + std::to_string(out.size()) +
                     " values for " + std::to_string(count) + " styles");
  return out;
}

// Layer names for --content-layers / --style-layers.
inline std::vector<std::string> parse_layers(const std::string& option,
                                             const std::string& csv) {
  return split_list(option, csv);
}

// --style-weights: one weight in [0, 1000] per style file (all 1 when
// absent), not all 0.
inline std::vector<double> style_weights_option(const po::variables_map& vm,
                                                size_t styles) {
  const auto weights =
      vm.count("style-weights")
          ? parse_weights("style-weights",
                          vm["style-weights"].as<std::string>(), styles, 0.0,
                          1000.0)
          : std::vector<double>(styles, 1.0);
  double sum = 0;
  for (double w : weights) sum += w;
  if (!(sum > 0)) throw UsageError("--style-weights must not all be 0");
  return weights;
}

// --lr-schedule: constant, linear or cosine.
inline std::string parse_lr_schedule(const po::variables_map& vm) {
  const auto s = vm["lr-schedule"].as<std::string>();
  if (s != "constant" && s != "linear" && s != "cosine")
    throw UsageError("--lr-schedule '" + s +
                     "' must be constant, linear or cosine");
  return s;
}

// --width, --res-blocks, --conv and --stem into `model`.
inline void parse_network_options(const po::variables_map& vm,
                                  StyleNetOptions& model) {
  model.width = vm["width"].as<int64_t>();
  check_range<int64_t>("width", model.width, 4, 256);
  model.res_blocks = vm["res-blocks"].as<int64_t>();
  check_range<int64_t>("res-blocks", model.res_blocks, 0, 32);
  model.conv = vm["conv"].as<std::string>();
  if (model.conv != "standard" && model.conv != "separable")
    throw UsageError("--conv '" + model.conv +
                     "' must be standard or separable");
  model.stem = vm["stem"].as<std::string>();
  if (model.stem != "full" && model.stem != "shuffle")
    throw UsageError("--stem '" + model.stem + "' must be full or shuffle");
}

// --base: a style bundle whose architecture replaces `model` (a network
// option given on the command line that differs is refused, naming both).
// Its style names go to `names` when given.
inline StyleNet load_base_option(const po::variables_map& vm,
                                 StyleNetOptions& model,
                                 std::vector<std::string>* names) {
  const auto path = vm["base"].as<std::string>();
  Bundle bundle;
  StyleNet base{nullptr};
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
  const auto& a = base->options();
  auto clash = [&](const char* opt, const std::string& given,
                   const std::string& has) {
    if (!vm[opt].defaulted() && given != has)
      throw UsageError("--" + std::string(opt) + " " + given +
                       " does not match the --base model " + path + " (" + opt +
                       " " + has +
                       "): leave it out, the base's architecture is used");
  };
  clash("width", std::to_string(model.width), std::to_string(a.width));
  clash("res-blocks", std::to_string(model.res_blocks),
        std::to_string(a.res_blocks));
  clash("conv", model.conv, a.conv);
  clash("stem", model.stem, a.stem);
  model = a;
  if (names)
    for (const auto& n : bundle.meta.styles) names->push_back(n);
  return base;
}

// --content-weight, --style-weight and --tv-weight (parse_image_loss_
// weights), --temporal-weight and --temporal-noise.
template <typename Options>  // GatysOptions or StyleTrainOptions
void parse_image_loss_weights(const po::variables_map& vm, Options& o) {
  o.content_weight = vm["content-weight"].as<double>();
  check_range("content-weight", o.content_weight, 0.0, 1e9);
  o.style_weight = vm["style-weight"].as<double>();
  check_range("style-weight", o.style_weight, 0.0, 1e9);
  o.tv_weight = vm["tv-weight"].as<double>();
  check_range("tv-weight", o.tv_weight, 0.0, 1e9);
}

inline void parse_loss_weights(const po::variables_map& vm,
                               StyleTrainOptions& o) {
  parse_image_loss_weights(vm, o);
  o.temporal_weight = vm["temporal-weight"].as<double>();
  check_range("temporal-weight", o.temporal_weight, 0.0, 1e9);
  o.temporal_noise = vm["temporal-noise"].as<double>();
  check_range("temporal-noise", o.temporal_noise, 0.0, 64.0);
}

// --width, --res-blocks, --conv and --stem with these defaults (the
// network of `style` and `universal`).
inline void add_network_options(po::options_description& options, int64_t width,
                                int64_t res_blocks, const char* conv) {
  // clang-format off
  options.add_options()
    ("width", po::value<int64_t>()->default_value(width),
     "channels of the first layer (x2, x4 deeper), [4, 256]")
    ("res-blocks", po::value<int64_t>()->default_value(res_blocks),
     "residual blocks, [0, 32]")
    ("conv", po::value<std::string>()->default_value(conv),
     "3x3 convolutions inside the network: standard or separable "
     "(depthwise 3x3 + 1x1; faster)")
    ("stem", po::value<std::string>()->default_value("full"),
     "full (9x9 convolutions at full resolution) or shuffle (pixel-shuffle "
     "in and out, every convolution at half resolution or less; the "
     "real-time variant, docs/benchmarks.md)");
  // clang-format on
}

// --content-weight, --style-weight (these defaults), --tv-weight,
// --temporal-weight and --temporal-noise.
inline void add_loss_weight_options(po::options_description& options,
                                    double content_weight, double style_weight,
                                    const std::string& style_weight_note = "") {
  // clang-format off
  options.add_options()
    ("content-weight", real_value<double>(content_weight),
     "content loss weight, [0, 1e9]")
    ("style-weight", real_value<double>(style_weight),
     ("style loss weight, [0, 1e9]" + style_weight_note).c_str())
    ("tv-weight", real_value<double>(1.0),
     "total-variation loss weight, [0, 1e9]")
    ("temporal-weight", real_value<double>(0.0),
     "temporal-consistency loss weight for video, [0, 1e9] (0: off; 30-100\n"
     "for a painting, docs/training-style.md)")
    ("temporal-noise", real_value<double>(0.0),
     "pixel noise (standard deviation, 0-255 units) the temporal term adds\n"
     "to its moved input, [0, 64]: the network learns to ignore sensor and\n"
     "codec noise too (0: motion only; try 4)");
  // clang-format on
}

// The options of a training run's files and machine, as `style` and
// `universal` share them: --work-dir, --resume, --preview-every,
// --preview-count, --checkpoint-every (default `checkpoint_every`),
// --log-every, --max-images, --seed, --threads, --device (`launcher`:
// the command trains data-parallel under a launcher).
inline void add_run_options(po::options_description& options,
                            int64_t checkpoint_every, bool launcher) {
  // clang-format off
  options.add_options()
    ("work-dir", po::value<std::string>(),
     "checkpoint, losses.csv, losses.png, previews/ (default: OUT.run)")
    ("resume", po::bool_switch(), "continue from WORK-DIR/checkpoint.ckpt")
    ("preview-every", po::value<int64_t>()->default_value(200),
     "write previews every N steps, [0, 1e8] (0: only at the end)")
    ("preview-count", po::value<int64_t>()->default_value(4),
     "content images in the previews, [1, 16]")
    ("checkpoint-every",
     po::value<int64_t>()->default_value(checkpoint_every),
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
     launcher ? "cpu, cuda or cuda:N (cuda = cuda:LOCAL_RANK under a "
                "launcher); needs a CUDA build of LibTorch"
              : "cpu, cuda or cuda:N; needs a CUDA build of LibTorch");
  // clang-format on
}

// --preview-every, --preview-count, --checkpoint-every and --log-every.
inline void parse_run_files_options(const po::variables_map& vm,
                                    StyleTrainOptions& o) {
  o.preview_every = vm["preview-every"].as<int64_t>();
  check_range<int64_t>("preview-every", o.preview_every, 0, 100000000);
  o.preview_count = vm["preview-count"].as<int64_t>();
  check_range<int64_t>("preview-count", o.preview_count, 1, 16);
  o.checkpoint_every = vm["checkpoint-every"].as<int64_t>();
  check_range<int64_t>("checkpoint-every", o.checkpoint_every, 1, 100000000);
  o.log_every = vm["log-every"].as<int64_t>();
  check_range<int64_t>("log-every", o.log_every, 1, 100000000);
}

// Builds the loss network, turning a bad layer name into a usage error.
inline std::unique_ptr<LossNet> build_loss_net(
    const std::string& spec, const std::vector<std::string>& content_layers,
    const std::vector<std::string>& style_layers) {
  std::vector<std::string> all = content_layers;
  all.insert(all.end(), style_layers.begin(), style_layers.end());
  try {
    return make_loss_net(spec, all);
  } catch (const InvalidArgument& e) {
    // Name the option that holds the bad value.
    const std::string what = e.what();
    const auto holds = [&](const std::vector<std::string>& layers) {
      for (const auto& l : layers)
        if (what.find("'" + l + "' is not a layer") != std::string::npos)
          return true;
      return false;
    };
    const std::string option = holds(content_layers) ? "--content-layers"
                               : holds(style_layers) ? "--style-layers"
                                                     : "--loss-net";
    throw UsageError(option + ": " + what);
  }
}

// The command line as typed, for provenance.
inline std::string command_line(const std::string& command,
                                const std::vector<std::string>& args) {
  std::string line = "neuralart-train " + command;
  for (const auto& a : args) {
    const bool quote = a.find_first_of(" \t'\"$") != std::string::npos;
    line += quote ? " '" + a + "'" : " " + a;
  }
  return line;
}

inline std::string stem(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

// Ctrl-C: the first sets the flag (save, then exit); a second one kills.
inline std::atomic<bool>& interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}

inline void install_sigint_handler() {
  interrupted() = false;
  std::signal(SIGINT, [](int) {
    interrupted() = true;
    std::signal(SIGINT, SIG_DFL);
  });
}

constexpr int kExitInterrupted = 130;

// The end of `style` and `universal`: trains with a progress line (when
// `talk`: rank 0), previews every preview_every steps in WORK/previews and
// losses.png, then the last previews and the bundle at `out` (on Ctrl-C
// too). Returns the exit code.
template <typename Trainer>
int train_and_export(Trainer& trainer, const StyleTrainOptions& o,
                     const std::string& command, const std::string& work_dir,
                     const std::string& out, bool talk) {
  namespace fs = std::filesystem;
  const auto preview_dir = fs::path(work_dir) / "previews";
  if (talk) fs::create_directories(preview_dir);
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
  if (talk)
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
  if (!talk) return interrupted() ? kExitInterrupted : kExitOk;
  progress.finish();
  write_preview(done, trainer.previews());
  save_image_rgb((fs::path(work_dir) / "losses.png").string(),
                 trainer.loss_plot());
  trainer.export_bundle(out);
  if (interrupted()) {
    std::cerr << command << ": interrupted at step " << done << "; saved "
              << trainer.checkpoint_path() << " and the model so far to " << out
              << " (add --resume to continue)\n";
    return kExitInterrupted;
  }
  std::cerr << command << ": wrote " << out << " after " << done
            << " steps; losses and previews in " << work_dir << "\n";
  return kExitOk;
}

}  // namespace neuralart::cli
