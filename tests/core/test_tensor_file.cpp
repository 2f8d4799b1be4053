#include <gtest/gtest.h>
#include <torch/torch.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "neuralart/error.h"
#include "neuralart/tensor_file.h"
#include "temp_dir.h"

using namespace neuralart;

namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TensorFile sample() {
  TensorFile f;
  f.metadata["hello"] = "world";
  f.tensors["a"] = torch::arange(12, torch::kFloat32).view({3, 4});
  f.tensors["b"] = torch::tensor({1, 2, 3}, torch::kInt64);
  f.tensors["c"] = torch::ones({2}, torch::kBFloat16);
  f.tensors["empty"] = torch::zeros({0, 5});
  return f;
}

}  // namespace

TEST(TensorFile, RoundTrip) {
  TempDir dir;
  const auto path = dir.file("t.safetensors");
  write_tensor_file(path, sample());
  auto back = read_tensor_file(path);
  EXPECT_EQ(back.metadata.at("hello"), "world");
  ASSERT_EQ(back.tensors.size(), 4u);
  for (const auto& [name, t] : sample().tensors) {
    EXPECT_TRUE(torch::equal(back.tensors.at(name), t)) << name;
    EXPECT_EQ(back.tensors.at(name).scalar_type(), t.scalar_type()) << name;
  }
  // No temporary file is left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path))
    (void)e, ++files;
  EXPECT_EQ(files, 1);
}

TEST(TensorFile, Crc32KnownValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(s.data()), s.size()),
            0xCBF43926u);
}

TEST(TensorFile, EveryTruncation_n) {
  TempDir dir;
  const auto path = dir.file("t.safetensors");
  write_tensor_file(path, sample());
  const auto bytes = read_bytes(path);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto cut = std::vector<uint8_t>(bytes.begin(), bytes.begin() + n);
    EXPECT_THROW(parse_tensor_file(cut.data(), cut.size(), "cut"), BundleError)
        << "truncated at " << n;
  }
}

TEST(TensorFile, EveryFlippedDataByte_n) {
  TempDir dir;
  const auto path = dir.file("t.safetensors");
  write_tensor_file(path, sample());
  const auto bytes = read_bytes(path);
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | bytes[i];
  for (size_t i = 8 + header; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= 0x5A;
    EXPECT_THROW(parse_tensor_file(bad.data(), bad.size(), "flip"), BundleError)
        << "flipped byte " << i;
  }
}

TEST(TensorFile, HostileHeaders_n) {
  auto make = [](const std::string& header) {
    std::vector<uint8_t> b(8);
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(n >> (8 * i));
    b.insert(b.end(), header.begin(), header.end());
    return b;
  };
  const std::vector<std::string> headers = {
      "not json at all",
      "[1, 2, 3]",
      R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})",
      R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})",
      R"({"a": {"dtype": "X99", "shape": [1], "data_offsets": [0, 4]}})",
      R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 400000]}})",
      R"({"a": {"dtype": "F32", "shape": [1]}})",
      R"({"__metadata__": {"k": 5}})",
      R"({"a": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}})",
      std::string(100000, '['),
  };
  for (const auto& h : headers) {
    auto b = make(h);
    EXPECT_THROW(parse_tensor_file(b.data(), b.size(), "hostile"), BundleError)
        << h;
  }
  // A declared header length larger than the file.
  std::vector<uint8_t> huge = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                               0xFF, 0xFF, 0x7F, '{',  '}'};
  EXPECT_THROW(parse_tensor_file(huge.data(), huge.size(), "huge"),
               BundleError);
}

TEST(TensorFile, MissingFile_n) {
  try {
    read_tensor_file("/nonexistent/model.bundle");
    FAIL() << "no exception";
  } catch (const BundleError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.bundle"),
              std::string::npos);
  }
}

TEST(TensorFile, UnwritableFolder_n) {
  EXPECT_THROW(write_tensor_file("/nonexistent/dir/x.bundle", sample()), Error);
}

TEST(TensorFile, FailedWriteKeepsOldFile_n) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // Writing to a full disk must fail loudly; simulate with a read-only dir.
  TempDir dir;
  const auto path = dir.file("keep.safetensors");
  write_tensor_file(path, sample());
  const auto before = read_bytes(path);
  std::filesystem::permissions(
      dir.path,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  bool threw = false;
  try {
    write_tensor_file(path, sample());
  } catch (const Error&) {
    threw = true;
  }
  std::filesystem::permissions(dir.path, std::filesystem::perms::owner_all);
  if (!threw) GTEST_SKIP() << "running as root: permissions are not enforced";
  EXPECT_EQ(read_bytes(path), before);
}

TEST(RemoveTree, RemovesNestedFoldersButNotLinkTargets) {
  TempDir outside;
  std::ofstream(outside.file("keep.txt")) << "keep";
  TempDir dir;
  const auto root = dir.path / "run";
  std::filesystem::create_directories(root / "a" / "b");
  std::ofstream((root / "a" / "b" / "x.bin").string()) << "x";
  std::ofstream((root / "top.txt").string()) << "t";
  std::filesystem::create_directory_symlink(outside.path, root / "link");
  EXPECT_TRUE(neuralart::remove_tree(root.string()));
  EXPECT_FALSE(std::filesystem::exists(root));
  EXPECT_TRUE(std::filesystem::exists(outside.file("keep.txt")));
  EXPECT_TRUE(neuralart::remove_tree(root.string()));  // already gone
}

TEST(TensorFile, KillDuringWriteKeepsTheLastFileLoadable) {
  // A child process rewrites the file in a loop and is killed with SIGKILL
  // at varied moments, as a trainer killed while checkpointing: the file
  // must always load, as the old or the new version, never half of one.
  TempDir dir;
  const auto path = dir.file("checkpoint.ckpt");
  neuralart::TensorFile old_file;
  old_file.metadata["version"] = "old";
  old_file.tensors["w"] = torch::zeros({1 << 18});
  neuralart::write_tensor_file(path, old_file);
  neuralart::TensorFile new_file;
  new_file.metadata["version"] = "new";
  new_file.tensors["w"] = torch::ones({4 << 20});  // 16 MB: a slow write
  int saw_old = 0, saw_new = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (;;) neuralart::write_tensor_file(path, new_file);
    }
    usleep(5000 +
           40000 * trial);  // 5 ms to 445 ms: before and after whole writes
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    const auto f = neuralart::read_tensor_file(path);  // throws if torn
    const auto version = f.metadata.at("version");
    ASSERT_TRUE(version == "old" || version == "new") << version;
    (version == "old" ? saw_old : saw_new)++;
  }
  // The killed writers' temporaries go with the next write.
  neuralart::write_tensor_file(path, old_file);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    EXPECT_EQ(entry.path().filename(), "checkpoint.ckpt")
        << "left behind: " << entry.path();
  std::cout << "[ kill -9 ] the file loaded after all 12 kills: " << saw_old
            << " times the old version, " << saw_new << " the new one\n";
}
