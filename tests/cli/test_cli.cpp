// End-to-end tests of the neuralart-train command line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "../core/temp_dir.h"
#include "neuralart/bundle.h"
#include "neuralart/models/load.h"
#include "run_cli.h"

using namespace neuralart;

using cli_test::run;

namespace {

std::string write_generator(const TempDir& dir) {
  DCGANOptions o;
  o.latent_dim = 16;
  o.base_width = 8;
  o.resolution = 32;
  DCGANGenerator g(o);
  auto meta = generator_meta(o);
  meta.provenance["command"] = "neuralart-train gan --test";
  const auto path = dir.file("g.bundle");
  save_bundle(path, meta, *g);
  return path;
}

}  // namespace

TEST(Cli, HelpAndVersion) {
  auto r = run("--help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("inspect"), std::string::npos);
  r = run("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("LibTorch"), std::string::npos);
  r = run("inspect --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--json"), std::string::npos);
}

TEST(Cli, NoCommand_n) { EXPECT_EQ(run("").code, 2); }

TEST(Cli, UnknownCommand_n) {
  auto r = run("paint");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("unknown command 'paint'"), std::string::npos);
}

TEST(Cli, UnknownOption_n) {
  auto r = run("inspect --colour x");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("colour"), std::string::npos);
}

TEST(Cli, InspectPrintsMetadata) {
  TempDir dir;
  const auto path = write_generator(dir);
  auto r = run("inspect " + path);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("kind: generator"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("latent_dim: 16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("neuralart-train gan --test"), std::string::npos);
  r = run("inspect --json " + path);
  EXPECT_EQ(r.code, 0);
  auto j = json::parse(r.out);
  EXPECT_EQ(j["kind"], "generator");
  EXPECT_EQ(j["arch"]["resolution"], 32);
}

TEST(Cli, InspectRefusesCorruptCopy_n) {
  TempDir dir;
  const auto path = write_generator(dir);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() - 100] ^= 0x40;
  const auto bad = dir.file("corrupt.bundle");
  std::ofstream(bad, std::ios::binary) << bytes;
  auto r = run("inspect " + bad);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(bad), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("corrupt"), std::string::npos) << r.out;
  const auto cut = dir.file("truncated.bundle");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  r = run("inspect " + cut);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("truncated"), std::string::npos) << r.out;
}

TEST(Cli, InspectMissingFile_n) {
  auto r = run("inspect /nonexistent.bundle");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("/nonexistent.bundle"), std::string::npos);
}
