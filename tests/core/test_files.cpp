// Atomic writes, cleanup after killed writers, and the loss log's handling
// of rows torn by a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "neuralart/error.h"
#include "neuralart/train/loss_log.h"
#include "neuralart/util/atomic_file.h"
#include "temp_dir.h"

namespace fs = std::filesystem;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void touch(const std::string& path) { std::ofstream(path) << "partial"; }

}  // namespace

TEST(AtomicFile, WritesAndReplaces) {
  TempDir dir;
  const auto path = dir.file("a.txt");
  neuralart::write_file_atomically(path, "one");
  neuralart::write_file_atomically(path, "two");
  EXPECT_EQ(read_all(path), "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), {}), 1);
}

TEST(AtomicFile, TemporariesOfGoneWritersAreRemoved) {
  TempDir dir;
  const auto path = dir.file("checkpoint.ckpt");
  // PIDs stop at 2^22 on Linux: 999999999 never runs.
  const auto stale = path + ".tmp-999999999-0";
  const auto live = path + ".tmp-" + std::to_string(getpid()) + "-77";
  const auto other = dir.file("other.ckpt.tmp-999999999-0");
  const auto odd = path + ".tmp-notapid";
  for (const auto& f : {stale, live, other, odd}) touch(f);
  neuralart::write_file_atomically(path, "new");
  EXPECT_FALSE(fs::exists(stale)) << "a dead writer's temporary stayed";
  EXPECT_TRUE(fs::exists(live)) << "a running writer's temporary was removed";
  EXPECT_TRUE(fs::exists(other)) << "another file's temporary was removed";
  EXPECT_TRUE(fs::exists(odd));
  EXPECT_EQ(neuralart::remove_stale_temporaries(dir.file("other.ckpt")), 1);
  EXPECT_EQ(neuralart::temporary_path(path, ".png").substr(path.size(), 5),
            ".tmp-");
  EXPECT_NE(neuralart::temporary_path(path), neuralart::temporary_path(path));
}

TEST(AtomicFile, UnwritableFolderIsAClearError_n) {
  try {
    neuralart::write_file_atomically("/nonexistent/folder/x.txt", "x");
    FAIL() << "no error";
  } catch (const neuralart::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/folder/x.txt"),
              std::string::npos)
        << e.what();
  }
}

TEST(LossLog, TornRowsAreSkippedAndTrimmed) {
  TempDir dir;
  const auto csv = dir.file("losses.csv");
  for (int step = 1; step <= 4; ++step)
    neuralart::append_loss_row(csv, "step,a,b",
                               std::to_string(step * 10) + ",0.5,1e-3");
  // A kill -9 in the middle of an append: half a row, no newline.
  std::ofstream(csv, std::ios::app) << "50,0.5,1";
  const auto rows = neuralart::read_loss_rows(csv);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3][0], 40);
  EXPECT_DOUBLE_EQ(rows[3][2], 1e-3);
  // Resuming from step 20 keeps the header and rows 10 and 20.
  neuralart::trim_loss_log(csv, 20);
  EXPECT_EQ(read_all(csv), "step,a,b\n10,0.5,1e-3\n20,0.5,1e-3\n");
  neuralart::append_loss_row(csv, "step,a,b", "30,1,2");
  std::ofstream(csv, std::ios::app) << "31,1\n";  // too few columns
  EXPECT_EQ(neuralart::read_loss_rows(csv).size(), 3u);
  EXPECT_EQ(neuralart::read_loss_rows(csv).size(), 3u);
  neuralart::trim_loss_log(dir.file("missing.csv"), 5);  // nothing to do
  EXPECT_FALSE(fs::exists(dir.file("missing.csv")));
}

TEST(LossLog, FailedAppendIsAClearError_n) {
  EXPECT_THROW(
      neuralart::append_loss_row("/nonexistent/losses.csv", "step", "1"),
      neuralart::Error);
}
