// neuralart-train sample: a grid of samples, a latent walk, or (stylegan)
// a style-mixing grid, from a generator bundle (or TorchScript generator).
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "neuralart/media/image_io.h"
#include "neuralart/runtime/generator.h"

namespace neuralart::cli {
namespace fs = std::filesystem;

namespace {

std::pair<int, int> parse_grid(const std::string& spec) {
  int cols = 0, rows = 0;
  char x = 0;
  if (std::sscanf(spec.c_str(), "%d%c%d", &cols, &x, &rows) != 3 || x != 'x' ||
      cols < 1 || rows < 1 || cols > 64 || rows > 64)
    throw UsageError("--grid '" + spec +
                     "' must be COLSxROWS with 1..64 each, e.g. 8x8");
  return {cols, rows};
}

// The StyleGAN paper's mixing figure: the top row's images give the
// layers from `layer` on to each row's image (its first column).
torch::Tensor mixing_grid(Generator& gen, int n, int64_t layer,
                          double truncation) {
  auto rows =
      gen.truncate(gen.map(torch::randn({n, gen.latent_dim()})), truncation);
  auto cols =
      gen.truncate(gen.map(torch::randn({n, gen.latent_dim()})), truncation);
  auto col_images = gen.synthesize(cols);
  auto row_images = gen.synthesize(rows);
  std::vector<torch::Tensor> cells{torch::ones_like(col_images[0]), col_images};
  for (int r = 0; r < n; ++r) {
    cells.push_back(row_images[r]);
    auto mixed = gen.mix(rows[r].unsqueeze(0).expand({n, -1}), cols, layer);
    cells.push_back(gen.synthesize(mixed));
  }
  for (auto& c : cells)
    if (c.dim() == 3) c = c.unsqueeze(0);
  return torch::cat(cells);
}

}  // namespace

int run_sample(const std::vector<std::string>& args) {
  std::string model, out = "samples.png", grid = "8x8", frames_dir;
  uint64_t seed = 0;
  double truncation = 1.0;
  int interpolate = 0, threads = 0, mix_grid = 0;
  int64_t mix_layer = 0;
  po::options_description options("sample options");
  options.add_options()("model", po::value(&model)->required(),
                        "generator bundle")(
      "out", po::value(&out)->default_value(out), "output PNG")(
      "grid", po::value(&grid)->default_value(grid),
      "COLSxROWS: independent samples; with --interpolate, ROWS walks of "
      "COLS frames")(
      "interpolate", po::value(&interpolate)->default_value(0),
      "latent walk: slerp between random keyframes (stylegan: a straight "
      "line in W); each row of the grid is a walk, [0, 1] (0 = plain "
      "samples)")(
      "frames-dir", po::value(&frames_dir),
      "with --interpolate, also write every frame of the first walk as "
      "frame_NNNN.png here")(
      "truncation", real_value(&truncation, truncation),
      "psi in (0, 1]: pull latents toward the mean (less variety, "
      "cleaner images); stylegan models: w toward the mean w")(
      "mix-grid", po::value(&mix_grid)->default_value(mix_grid),
      "stylegan: instead of --grid, an (N+1)x(N+1) style-mixing grid as in "
      "the StyleGAN paper: N row and N column samples, each cell the row's "
      "image with the column's styles from --mix-layer on, [0, 16] (0 = "
      "off)")("mix-layer", po::value(&mix_layer)->default_value(mix_layer),
              "stylegan: first layer that takes the column's styles in "
              "--mix-grid, [0, 64] (0 = half the model's layers; 1-2: "
              "coarse, pose; later: fine, texture)")(
      "seed", po::value(&seed)->default_value(seed),
      "random seed, any integer >= 0")(
      "threads", po::value(&threads)->default_value(threads),
      "CPU threads, [0, 1024] (0 = all)");
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map vm;
  if (!parse("sample", "MODEL [--grid 8x8] [--out grid.png] [--interpolate]",
             options, positional, args, vm))
    return kExitOk;
  const auto [cols, rows] = parse_grid(grid);
  if (truncation <= 0 || truncation > 1)
    throw UsageError("--truncation " + format_number(truncation) +
                     " is out of range (0, 1]");
  check_range("interpolate", interpolate, 0, 1);
  check_range("mix-grid", mix_grid, 0, 16);
  check_range<int64_t>("mix-layer", mix_layer, 0, 64);
  check_range("threads", threads, 0, 1024);
  RuntimeOptions ro;
  ro.threads = threads;
  Generator gen(model, ro);
  torch::manual_seed(seed);
  if (mix_grid > 0) {
    if (!gen.has_w_space())
      throw UsageError("--mix-grid needs a stylegan model; " + model +
                       " has no W space");
    const int64_t layer = mix_layer ? mix_layer : gen.num_ws() / 2;
    if (layer >= gen.num_ws())
      throw UsageError("--mix-layer " + std::to_string(layer) +
                       " must be below the model's " +
                       std::to_string(gen.num_ws()) + " layers");
    save_image_rgb(out, make_grid(mixing_grid(gen, mix_grid, layer, truncation),
                                  mix_grid + 1, -1.0, 1.0));
    std::cout << "wrote " << out << " (mixing grid " << mix_grid << "x"
              << mix_grid << ", styles from layer " << layer << " of "
              << gen.num_ws() << ")\n";
    return kExitOk;
  }
  const bool w_space = gen.has_w_space();
  torch::Tensor z;
  std::vector<torch::Tensor> rows_w;  // W-space walks
  if (interpolate) {
    // Each row: from one random latent to another over COLS frames.
    std::vector<torch::Tensor> rows_z;
    for (int r = 0; r < rows; ++r) {
      auto a = torch::randn({gen.latent_dim()});
      auto b = torch::randn({gen.latent_dim()});
      auto wa = w_space ? gen.map(a.unsqueeze(0))[0] : a;
      auto wb = w_space ? gen.map(b.unsqueeze(0))[0] : b;
      for (int c = 0; c < cols; ++c) {
        const double t = cols > 1 ? double(c) / (cols - 1) : 0.0;
        if (w_space)
          rows_w.push_back(torch::lerp(wa, wb, t));
        else
          rows_z.push_back(slerp(a, b, t));
      }
    }
    if (!w_space) z = torch::stack(rows_z);
  } else {
    z = torch::randn({int64_t(cols) * rows, gen.latent_dim()});
  }
  auto images =
      w_space && interpolate
          ? gen.synthesize(gen.truncate(torch::stack(rows_w), truncation))
          : gen.generate(z, truncation);
  save_image_rgb(out, make_grid(images, cols, -1.0, 1.0));
  std::cout << "wrote " << out << " (" << cols << "x" << rows << ", "
            << gen.resolution() << " px)\n";
  if (interpolate && !frames_dir.empty()) {
    fs::create_directories(frames_dir);
    for (int c = 0; c < cols; ++c) {
      char name[32];
      std::snprintf(name, sizeof name, "frame_%04d.png", c);
      auto frame = ((images[c] + 1.0) * 127.5)
                       .round()
                       .clamp(0, 255)
                       .permute({1, 2, 0})
                       .to(torch::kUInt8)
                       .contiguous();
      save_image_rgb((fs::path(frames_dir) / name).string(), frame);
    }
    std::cout << "wrote " << cols << " frames to " << frames_dir << "\n";
  }
  return kExitOk;
}

}  // namespace neuralart::cli
