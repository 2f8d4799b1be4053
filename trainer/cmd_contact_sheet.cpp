// neuralart-train contact-sheet: tiles images into one PNG (demo output,
// sample comparisons), optionally with a caption under each image and a
// title across the top.
#include <iostream>

#include "cli.h"
#include "neuralart/media/image_io.h"

namespace neuralart::cli {

namespace {

// Every --labels value split at commas, in order; empty labels are kept
// ("a,,c" is three labels).
std::vector<std::string> split_labels(const std::vector<std::string>& values) {
  std::vector<std::string> labels;
  for (const auto& value : values) {
    size_t start = 0;
    while (true) {
      const size_t comma = value.find(',', start);
      labels.push_back(value.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return labels;
}

// Caption strips scale with the cells: legible at --height 128 and up.
int64_t caption_height(int64_t cell_height) {
  return std::max<int64_t>(18, cell_height / 9);
}

}  // namespace

int run_contact_sheet(const std::vector<std::string>& args) {
  std::vector<std::string> images, label_values;
  std::string out, title;
  int cols = 4, height = 0;
  po::options_description options("contact-sheet options");
  options.add_options()("images", po::value(&images)->multitoken(),
                        "images to tile")("out", po::value(&out)->required(),
                                          "output PNG")(
      "cols", po::value(&cols)->default_value(cols), "images per row, [1, 64]")(
      "height", po::value(&height)->default_value(0),
      "scale every image to this height, [0, 4096] (0: the first "
      "image's height)")(
      "labels", po::value(&label_values)->composing(),
      "a caption under each image, in the images' order: comma-separated "
      "(--labels input,gold,truchet) or one --labels per image; an empty "
      "label leaves its strip blank. ASCII (other characters show as ?)")(
      "title", po::value(&title), "a caption across the top of the sheet");
  po::positional_options_description positional;
  positional.add("images", -1);
  po::variables_map vm;
  if (!parse("contact-sheet",
             "IMAGE... --out sheet.png [--cols 4] [--labels A,B,...] "
             "[--title T]\n\nTiles images (scaled to one height, centred in "
             "equal cells) into one PNG, with a caption under each image when "
             "--labels is given.",
             options, positional, args, vm))
    return kExitOk;
  if (images.empty()) throw UsageError("no images given");
  check_range("cols", cols, 1, 64);
  check_range("height", height, 0, 4096);
  const auto labels = split_labels(label_values);
  if (!label_values.empty() && labels.size() != images.size())
    throw UsageError("--labels gives " + std::to_string(labels.size()) +
                     " label(s) for " + std::to_string(images.size()) +
                     " image(s): give one label per image, in order "
                     "(comma-separated; an empty one is allowed: a,,c)");
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
  const int64_t strip = labels.empty() ? 0 : caption_height(h);
  auto cells = torch::zeros({int64_t(loaded.size()), 3, h + strip, w});
  for (size_t i = 0; i < loaded.size(); ++i) {
    const auto iw = loaded[i].size(3);
    cells[i].narrow(1, 0, h).narrow(2, (w - iw) / 2, iw).copy_(loaded[i][0]);
    if (strip > 0)
      cells[i]
          .narrow(1, h, strip)
          .copy_(caption_strip(labels[i], w, strip).permute({2, 0, 1}));
  }
  auto sheet = make_grid(cells, cols, 0.0, 255.0);  // uint8 [H, W, 3]
  if (!title.empty())
    sheet = torch::cat(
        {caption_strip(title, sheet.size(1), caption_height(h) * 3 / 2), sheet},
        0);
  save_image_rgb(out, sheet);
  std::cout << "wrote " << out << " (" << loaded.size() << " images, "
            << sheet.size(1) << "x" << sheet.size(0) << ")\n";
  return kExitOk;
}

}  // namespace neuralart::cli
