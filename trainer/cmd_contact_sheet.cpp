// neuralart-train contact-sheet: tiles images into one PNG (demo output,
// sample comparisons).
#include <iostream>

#include "cli.h"
#include "neuralart/media/image_io.h"

namespace neuralart::cli {

int run_contact_sheet(const std::vector<std::string>& args) {
  std::vector<std::string> images;
  std::string out;
  int cols = 4, height = 0;
  po::options_description options("contact-sheet options");
  options.add_options()("images", po::value(&images)->multitoken(),
                        "images to tile")("out", po::value(&out)->required(),
                                          "output PNG")(
      "cols", po::value(&cols)->default_value(cols), "images per row, [1, 64]")(
      "height", po::value(&height)->default_value(0),
      "scale every image to this height, [0, 4096] (0: the first "
      "image's height)");
  po::positional_options_description positional;
  positional.add("images", -1);
  po::variables_map vm;
  if (!parse("contact-sheet",
             "IMAGE... --out sheet.png [--cols 4]\n\nTiles "
             "images (scaled to one height, centred in equal cells) into one "
             "PNG.",
             options, positional, args, vm))
    return kExitOk;
  if (images.empty()) throw UsageError("no images given");
  check_range("cols", cols, 1, 64);
  check_range("height", height, 0, 4096);
  std::vector<torch::Tensor> loaded;
  for (const auto& path : images)
    loaded.push_back(load_image_tensor(path));  // [1, 3, H, W] 0..255
  const int64_t h = height > 0 ? height : loaded.front().size(2);
  int64_t w = 0;
  for (auto& img : loaded) {
    const int64_t iw = std::max<int64_t>(
        1, img.size(3) * h / std::max<int64_t>(1, img.size(2)));
    img = torch::upsample_bilinear2d(img, {h, iw}, false).clamp(0, 255);
    w = std::max(w, iw);
  }
  auto cells = torch::zeros({int64_t(loaded.size()), 3, h, w});
  for (size_t i = 0; i < loaded.size(); ++i) {
    const auto iw = loaded[i].size(3);
    cells[i].narrow(2, (w - iw) / 2, iw).copy_(loaded[i][0]);
  }
  save_image_rgb(out, make_grid(cells, cols, 0.0, 255.0));
  std::cout << "wrote " << out << " (" << loaded.size() << " images)\n";
  return kExitOk;
}

}  // namespace neuralart::cli
