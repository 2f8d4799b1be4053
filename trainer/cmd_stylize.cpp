// neuralart-train stylize: Gatys optimisation of one image.
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli.h"
#include "neuralart/error.h"
#include "neuralart/media/image_io.h"
#include "neuralart/models/style_predictor.h"
#include "neuralart/runtime/runtime_options.h"
#include "neuralart/train/style_train.h"
#include "progress_line.h"
#include "style_common.h"

namespace neuralart::cli {
namespace {

namespace fs = std::filesystem;

torch::Tensor to_hwc(const torch::Tensor& nchw) {
  return nchw[0].permute({1, 2, 0}).round().clamp(0, 255).to(torch::kUInt8);
}

std::string with_suffix(const std::string& out, const std::string& suffix,
                        const std::string& ext) {
  fs::path p(out);
  return (p.parent_path() / (p.stem().string() + suffix + ext)).string();
}

// --fast MODEL: one pass of a universal style model, the painting(s) read
// by its style predictor (their codes mixed by --style-weights).
int run_fast(const po::variables_map& vm) {
  const auto path = vm["fast"].as<std::string>();
  UniversalStyle model{nullptr};
  try {
    model = load_universal_style(path);
  } catch (const Error& e) {
    throw UsageError(std::string("--fast: ") + e.what());
  }
  const int size = vm["size"].as<int>();
  check_range("size", size, 32, 4096);
  const int threads = vm["threads"].as<int>();
  check_range("threads", threads, 0, 1024);
  const auto style_files = split_list("style", vm["style"].as<std::string>());
  const auto weights = style_weights_option(vm, style_files.size());
  double sum = 0;
  for (double w : weights) sum += w;
  apply_threads(threads);
  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t) {
    return std::llround(
        std::chrono::duration<double, std::milli>(clock::now() - t).count());
  };
  const int style_size =
      static_cast<int>(model->predictor->options().style_size);
  std::vector<torch::Tensor> paintings;
  for (const auto& f : style_files)
    paintings.push_back(load_image_tensor(f, style_size));
  const auto content = load_image_tensor(vm["content"].as<std::string>(), size);
  const auto t0 = clock::now();
  torch::Tensor code;
  for (size_t i = 0; i < paintings.size(); ++i) {
    auto c = model->predictor->predict(paintings[i]) * (weights[i] / sum);
    code = code.defined() ? code + c : c;
  }
  const auto encode_ms = ms_since(t0);
  const auto t1 = clock::now();
  torch::Tensor result;
  {
    c10::InferenceMode inference;
    result = model->net->forward_code(content, code).clamp(0, 255);
  }
  const auto restyle_ms = ms_since(t1);
  const auto out = vm["out"].as<std::string>();
  save_image_rgb(out, to_hwc(result));
  std::cerr << "stylize: wrote " << out << " (" << content.size(3) << "x"
            << content.size(2) << ", universal model " << path << "; "
            << paintings.size() << " painting(s) encoded in " << encode_ms
            << " ms, restyled in " << restyle_ms << " ms)\n";
  return kExitOk;
}

}  // namespace

int run_stylize(const std::vector<std::string>& args) {
  po::options_description options("stylize options");
  // clang-format off
  options.add_options()
    ("content", po::value<std::string>()->required(), "content image")
    ("fast", po::value<std::string>(),
     "a universal style model (neuralart-train universal): restyle in one\n"
     "pass with any painting instead of optimising; --content, --style,\n"
     "--style-weights, --size, --out and --threads apply")
    ("style", po::value<std::string>()->required(),
     "style image(s), comma-separated")
    ("style-weights", po::value<std::string>(),
     "one weight per style, comma-separated, each in [0, 1000] (default: "
     "equal)")
    ("out", po::value<std::string>()->required(),
     "output image (.png, .jpg...)")
    ("init", po::value<std::string>()->default_value("content"),
     "start from the content image or from noise: content | noise")
    ("optimizer", po::value<std::string>()->default_value("lbfgs"),
     "lbfgs | adam")
    ("steps", po::value<int64_t>()->default_value(300),
     "optimisation steps, [1, 100000]")
    ("lr", po::value<double>(),
     "step size, (0, 1000] (default: 1 for lbfgs, 5 for adam, in 0-255 "
     "pixel units)")
    ("content-weight", real_value<double>(1.0),
     "content loss weight, [0, 1e9]")
    ("style-weight", real_value<double>(10.0),
     "style loss weight, [0, 1e9]")
    ("tv-weight", real_value<double>(1.0),
     "total-variation loss weight, [0, 1e9]")
    ("size", po::value<int>()->default_value(256),
     "shorter side of the content image in pixels, [32, 4096]")
    ("style-size", po::value<int>()->default_value(0),
     "shorter side of the style images, [32, 4096] (0: same as --size)")
    ("content-layers", po::value<std::string>()->default_value("relu2_2"),
     "content layers, comma-separated (relu1_1 ... relu5_4)")
    ("style-layers",
     po::value<std::string>()->default_value("relu1_1,relu2_1,relu3_1"),
     "style layers, comma-separated")
    ("pyramid-levels", po::value<int>()->default_value(2),
     "scales for the style loss (each halves the image), [1, 6]")
    ("loss-net", po::value<std::string>()->default_value("random"),
     "loss network: random, random:SEED (built in) or vgg19:PATH/model.json")
    ("preserve-color", po::bool_switch(),
     "keep the content's colours: transfer luminance only")
    ("save-every", po::value<int64_t>()->default_value(0),
     "write OUT-stepN.png every N steps, [0, 100000] (0: never)")
    ("log", po::value<std::string>(),
     "loss log CSV (default: OUT with .csv)")
    ("seed", po::value<uint64_t>()->default_value(1),
     "seed for noise init, any integer >= 0")
    ("threads", po::value<int>()->default_value(0),
     "CPU threads, [0, 1024] (0: all cores)");
  // clang-format on
  add_precision_option(options);
  po::variables_map vm;
  if (!parse("stylize",
             "--content IMG --style IMG[,IMG...] --out OUT.png [options]\n\n"
             "Redraws IMG in the style of the style image(s) by optimising "
             "the image itself\n(Gatys et al.): content loss on CNN features, "
             "style loss on Gram matrices on an\nimage pyramid, total "
             "variation loss. Without --loss-net the built-in network\nis "
             "used (no download). With --fast MODEL a universal style model "
             "restyles in one\npass instead (any painting, no optimisation).",
             options, {}, args, vm))
    return kExitOk;
  if (vm.count("fast")) return run_fast(vm);

  GatysOptions o;
  o.init = vm["init"].as<std::string>();
  if (o.init != "content" && o.init != "noise")
    throw UsageError("--init '" + o.init + "' must be content or noise");
  o.optimizer = vm["optimizer"].as<std::string>();
  if (o.optimizer != "lbfgs" && o.optimizer != "adam")
    throw UsageError("--optimizer '" + o.optimizer + "' must be lbfgs or adam");
  o.steps = vm["steps"].as<int64_t>();
  check_range<int64_t>("steps", o.steps, 1, 100000);
  o.lr = vm.count("lr") ? vm["lr"].as<double>()
                        : (o.optimizer == "lbfgs" ? 1.0 : 5.0);
  if (!(o.lr > 0 && o.lr <= 1000))
    throw UsageError("--lr " + format_number(o.lr) +
                     " is out of range (0, 1000]");
  parse_image_loss_weights(vm, o);
  const int size = vm["size"].as<int>();
  check_range("size", size, 32, 4096);
  int style_size = vm["style-size"].as<int>();
  if (style_size != 0) check_range("style-size", style_size, 32, 4096);
  if (style_size == 0) style_size = size;
  o.loss.content_layers =
      parse_layers("content-layers", vm["content-layers"].as<std::string>());
  o.loss.style_layers =
      parse_layers("style-layers", vm["style-layers"].as<std::string>());
  o.loss.pyramid_levels = vm["pyramid-levels"].as<int>();
  check_range("pyramid-levels", o.loss.pyramid_levels, 1, 6);
  if ((std::min(size, style_size) >> (o.loss.pyramid_levels - 1)) < 8)
    throw UsageError("--pyramid-levels " +
                     std::to_string(o.loss.pyramid_levels) +
                     " is too many for --size " + std::to_string(size) +
                     " (the smallest level must be at least 8 pixels)");
  o.preserve_color = vm["preserve-color"].as<bool>();
  o.seed = vm["seed"].as<uint64_t>();
  o.precision = resolved_precision(vm, "cpu");
  const int64_t save_every = vm["save-every"].as<int64_t>();
  check_range<int64_t>("save-every", save_every, 0, 100000);
  const int threads = vm["threads"].as<int>();
  check_range("threads", threads, 0, 1024);
  const auto out = vm["out"].as<std::string>();
  const auto style_files = split_list("style", vm["style"].as<std::string>());
  const auto weights = style_weights_option(vm, style_files.size());
  const auto log_path = vm.count("log") ? vm["log"].as<std::string>()
                                        : with_suffix(out, "", ".csv");
  const auto loss_net_spec = vm["loss-net"].as<std::string>();

  apply_threads(threads);
  auto net =
      build_loss_net(loss_net_spec, o.loss.content_layers, o.loss.style_layers);
  const auto content = load_image_tensor(vm["content"].as<std::string>(), size);
  std::vector<torch::Tensor> styles;
  for (const auto& f : style_files)
    styles.push_back(load_image_tensor(f, style_size));

  std::ofstream log(log_path);
  if (!log) throw Error(log_path + ": cannot write the loss log");
  log << "step,content_loss,style_loss,tv_loss,total_loss\n";
  std::cerr << "stylize: " << content.size(3) << "x" << content.size(2) << ", "
            << styles.size() << " style(s), loss network " << net->spec()
            << ", " << o.optimizer << ", " << o.steps << " steps, "
            << resolve_threads(threads) << " threads\n";

  ProgressLine progress("step", o.steps, 0, std::max<int64_t>(1, o.steps / 20));
  GatysCallbacks cb;
  cb.stop = &interrupted();
  cb.on_step = [&](const GatysStats& s) {
    log << s.step << "," << s.content << "," << s.style << "," << s.tv << ","
        << s.total << "\n";
    char detail[128];
    std::snprintf(detail, sizeof detail,
                  "loss %.4g (content %.3g, style %.3g, tv %.3g)", s.total,
                  s.content, s.style, s.tv);
    progress.update(s.step, detail);
  };
  cb.image_every = save_every;
  cb.on_image = [&](int64_t step, const torch::Tensor& image) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "-step%06lld",
                  static_cast<long long>(step));
    const auto ext = fs::path(out).extension().string();
    save_image_rgb(with_suffix(out, suffix, ext.empty() ? ".png" : ext),
                   to_hwc(image));
  };
  install_sigint_handler();
  const auto result = gatys_stylize(*net, content, styles, weights, o, cb);
  progress.finish();
  save_image_rgb(out, to_hwc(result));
  log.close();
  if (interrupted()) {
    std::cerr << "stylize: interrupted; wrote the image so far to " << out
              << "\n";
    return kExitInterrupted;
  }
  std::cerr << "stylize: wrote " << out << " and " << log_path << "\n";
  return kExitOk;
}

}  // namespace neuralart::cli
