// Training sets made from one sheet of tiles (tiles:IMAGE[:CELL]).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "neuralart/error.h"
#include "neuralart/media/datasets.h"
#include "neuralart/media/image_io.h"
#include "temp_dir.h"

using namespace neuralart;

TEST(TileSheet, CutsEveryCellAndSkipsBlankOnes) {
  TempDir dir;
  // 3 x 2 cells of 10 px, the last one blank; a 5-px strip left over.
  auto sheet = torch::zeros({20, 35, 3}, torch::kUInt8);
  for (int i = 0; i < 5; ++i) {
    const int y = (i / 3) * 10, x = (i % 3) * 10;
    sheet.slice(0, y + 2, y + 8).slice(1, x + 3, x + 6).fill_(40 * (i + 1));
  }
  const auto path = dir.file("sheet.png");
  save_image_rgb(path, sheet);
  auto set = load_dataset("tiles:" + path + ":10", 16, 1);
  EXPECT_EQ(set.images.sizes(), (torch::IntArrayRef{5, 1, 16, 16}));
  // Row by row: the second tile is brighter than the first.
  EXPECT_GT(set.images[1].max().item<int>(), set.images[0].max().item<int>());
  EXPECT_EQ(load_dataset("tiles:" + path + ":10", 8, 3).images.size(1), 3);
}

TEST(TileSheet, BadInputNamesTheProblem_n) {
  TempDir dir;
  try {
    load_dataset("tiles:" + dir.file("missing.png"), 32, 1);
    ADD_FAILURE() << "a missing sheet was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.png"), std::string::npos);
  }
  const auto path = dir.file("blank.png");
  save_image_rgb(path, torch::zeros({40, 40, 3}, torch::kUInt8));
  try {
    load_dataset("tiles:" + path + ":20", 32, 1);
    ADD_FAILURE() << "a blank sheet was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no 20x20 tiles"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_dataset("tiles:" + path + ":2", 32, 1), InvalidArgument);
}

TEST(TileSheet, OpenCvDigits) {
  const std::string digits =
      "/usr/share/doc/opencv-doc/examples/data/digits.png";
  if (!std::filesystem::exists(digits))
    GTEST_SKIP() << digits << " is absent (apt-get install opencv-doc)";
  auto set = load_dataset("tiles:" + digits, 32, 1);
  EXPECT_EQ(set.images.sizes(), (torch::IntArrayRef{5000, 1, 32, 32}));
}

// stacked-mnist:PATH: three MNIST digits as the colour channels.
TEST(StackedMnist, NeedsThreeChannelsAndReadsTheSharedDigits_n) {
  try {
    load_dataset("stacked-mnist:/nonexistent", 32, 1);
    FAIL() << "a grey stacked MNIST was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("--channels 3"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(load_dataset("stacked-mnist:/nonexistent", 32, 3), Error);
  const std::string mnist = NEURALART_SOURCE_DIR "/../shared/data/mnist";
  if (!std::filesystem::exists(mnist + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "needs ../shared/data/mnist (MNIST with labels)";
  const auto set = load_dataset("stacked-mnist:" + mnist, 32, 3);
  EXPECT_EQ(set.images.sizes(), (std::vector<int64_t>{60000, 3, 32, 32}));
  // Every one of the 1,000 triples is drawn (60 each on average).
  EXPECT_EQ(torch::bincount(set.labels, {}, 1000).gt(0).sum().item<int64_t>(),
            1000);
}
