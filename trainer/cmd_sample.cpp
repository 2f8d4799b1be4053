// neuralart-train sample: a grid of samples, or a latent walk, from a
// generator bundle (or TorchScript generator).
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

}  // namespace

int run_sample(const std::vector<std::string>& args) {
  std::string model, out = "samples.png", grid = "8x8", frames_dir;
  uint64_t seed = 0;
  double truncation = 1.0;
  int interpolate = 0, threads = 0;
  po::options_description options("sample options");
  options.add_options()("model", po::value(&model)->required(),
                        "generator bundle")(
      "out", po::value(&out)->default_value(out), "output PNG")(
      "grid", po::value(&grid)->default_value(grid),
      "COLSxROWS: independent samples; with --interpolate, ROWS walks of "
      "COLS frames")(
      "interpolate", po::value(&interpolate)->default_value(0),
      "latent walk: slerp between random keyframes; each row of the grid "
      "is a walk, [0, 1] (0 = plain samples)")(
      "frames-dir", po::value(&frames_dir),
      "with --interpolate, also write every frame of the first walk as "
      "frame_NNNN.png here")(
      "truncation", real_value(&truncation, truncation),
      "psi in (0, 1]: pull latents toward the mean (less variety, "
      "cleaner images)")("seed", po::value(&seed)->default_value(seed),
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
  check_range("threads", threads, 0, 1024);
  RuntimeOptions ro;
  ro.threads = threads;
  Generator gen(model, ro);
  torch::manual_seed(seed);
  torch::Tensor z;
  if (interpolate) {
    // Each row: slerp from one random latent to another over COLS frames.
    std::vector<torch::Tensor> rows_z;
    for (int r = 0; r < rows; ++r) {
      auto a = torch::randn({gen.latent_dim()});
      auto b = torch::randn({gen.latent_dim()});
      for (int c = 0; c < cols; ++c)
        rows_z.push_back(slerp(a, b, cols > 1 ? double(c) / (cols - 1) : 0.0));
    }
    z = torch::stack(rows_z);
  } else {
    z = torch::randn({int64_t(cols) * rows, gen.latent_dim()});
  }
  auto images = gen.generate(truncate_latent(z, truncation));
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
