// End-to-end tests of `neuralart-train gan`, `sample` and `contact-sheet`.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../core/temp_dir.h"
#include "neuralart/bundle.h"
#include "neuralart/media/image_io.h"
#include "neuralart/models/load.h"
#include "run_cli.h"

using namespace neuralart;
namespace fs = std::filesystem;

using cli_test::run;

namespace {

const std::string kModel =
    " --resolution 32 --base-width 8 --latent-dim 16 --batch 8 --threads 1"
    " --sample-every 2 --checkpoint-every 2 --log-every 1";
const std::string kTiny = " --data builtin:200" + kModel;

int count_rows(const std::string& csv) {
  std::ifstream in(csv);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) ++n;
  return n - 1;
}

// Runs `neuralart-train ARGS` (output to LOG), sends it SIGINT once
// RUN_DIR has a checkpoint, and returns its wait status.
int interrupt_when_checkpointed(const std::string& args,
                                const std::string& run_dir,
                                const std::string& log) {
  const std::string cmd =
      std::string(NEURALART_TRAIN_EXE) + " " + args + " > " + log + " 2>&1";
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), nullptr);
    _exit(127);
  }
  // Wait until training is under way, then interrupt.
  for (int i = 0; i < 600 && !fs::exists(run_dir + "/checkpoint.ckpt"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

int count_files_named(const fs::path& root, const std::string& name) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.path().filename() == name) ++n;
  return n;
}

}  // namespace

TEST(CliGan, TrainsOnBuiltinDataAndWritesTheRunFolder) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  auto r = run("gan --out " + run_dir + " --steps 4" + kTiny);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* f :
       {"generator.bundle", "checkpoint.ckpt", "losses.csv", "loss_plot.png",
        "samples/latest.png", "samples/step_0000004.png"})
    EXPECT_TRUE(fs::exists(fs::path(run_dir) / f)) << f << "\n" << r.out;
  EXPECT_EQ(count_rows(run_dir + "/losses.csv"), 4);
  auto meta = read_bundle_meta(run_dir + "/generator.bundle");
  EXPECT_EQ(meta.provenance["steps"], 4);
  EXPECT_NE(meta.provenance["command"].get<std::string>().find("--steps 4"),
            std::string::npos);
  EXPECT_NE(meta.provenance["dataset"].get<std::string>().find("glyphs"),
            std::string::npos);
  // Resume continues the step count and the loss curve.
  r = run("gan --resume " + run_dir + " --steps 6 --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resuming"), std::string::npos);
  EXPECT_EQ(count_rows(run_dir + "/losses.csv"), 6);
  EXPECT_EQ(read_bundle_meta(run_dir + "/generator.bundle").provenance["steps"],
            6);
}

TEST(CliGan, SampleGridAndWalk) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  ASSERT_EQ(run("gan --out " + run_dir + " --steps 1" + kTiny).code, 0);
  const auto model = run_dir + "/generator.bundle";
  auto r = run("sample " + model + " --grid 3x2 --out " + dir.file("g.png"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir.file("g.png")));
  r = run("sample " + model + " --grid 5x1 --interpolate 1 --out " +
          dir.file("walk.png") + " --frames-dir " + dir.file("frames"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir.file("frames/frame_0004.png")));
  r = run("contact-sheet " + dir.file("g.png") + " " + dir.file("walk.png") +
          " --out " + dir.file("sheet.png"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir.file("sheet.png")));
}

TEST(CliGan, StyleGANTrainsResumesAndSamplesInW) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  auto r = run("gan --out " + run_dir +
               " --steps 2 --arch stylegan --loss rpgan --w-dim 16 "
               "--mapping-layers 2" +
               kTiny);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto model = run_dir + "/generator.bundle";
  auto meta = read_bundle_meta(model);
  EXPECT_EQ(meta.arch["name"], "stylegan");
  EXPECT_EQ(meta.arch["w_dim"], 16);
  EXPECT_EQ(meta.arch["rgb_output"], "last");  // the measured default
  EXPECT_EQ(meta.provenance["training"]["loss"], "rpgan");
  r = run("gan --resume " + run_dir + " --steps 3 --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_bundle_meta(model).arch["name"], "stylegan");
  EXPECT_EQ(read_bundle_meta(model).arch["rgb_output"], "last");
  r = run("sample " + model + " --mix-grid 3 --mix-layer 2 --out " +
          dir.file("mix.png"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("styles from layer 2"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir.file("mix.png")));
  r = run("sample " + model + " --grid 4x1 --interpolate 1 --truncation 0.7 " +
          "--out " + dir.file("walk.png"));
  EXPECT_EQ(r.code, 0) << r.out;
  // The mixing grid needs W, and a layer the model has.
  r = run("sample " + model + " --mix-grid 2 --mix-layer 40 --out " +
          dir.file("x.png"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--mix-layer"), std::string::npos) << r.out;
}

TEST(CliGan, StyleGANOptionErrors_n) {
  TempDir dir;
  const auto out = " --out " + dir.file("r");
  auto r = run("gan" + out + " --arch stylegan --multiscale");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--multiscale"), std::string::npos) << r.out;
  ASSERT_EQ(run("gan --out " + dir.file("d") + " --steps 1" + kTiny).code, 0);
  r = run("sample " + dir.file("d/generator.bundle") + " --mix-grid 2 --out " +
          dir.file("x.png"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--mix-grid"), std::string::npos) << r.out;
}

namespace {

// A W x H binary PPM of one colour (a format contact-sheet reads).
void write_ppm(const std::string& path, int w, int h, unsigned char grey) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << w << " " << h << "\n255\n";
  out << std::string(size_t(w) * h * 3, static_cast<char>(grey));
}

}  // namespace

TEST(CliContactSheet, LabelsAddACaptionStripUnderEachRow) {
  TempDir dir;
  const auto a = dir.file("a.ppm"), b = dir.file("b.ppm");
  write_ppm(a, 160, 120, 200);
  write_ppm(b, 160, 120, 90);
  const std::string images = a + " " + b + " --height 256";
  auto r = run("contact-sheet " + images + " --out " + dir.file("plain.png"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run("contact-sheet " + images + " --labels input,starry --out " +
          dir.file("labelled.png"));
  ASSERT_EQ(r.code, 0) << r.out;
  const auto plain = load_image_rgb(dir.file("plain.png"));
  const auto labelled = load_image_rgb(dir.file("labelled.png"));
  EXPECT_EQ(labelled.size(1), plain.size(1));
  const int64_t strip = labelled.size(0) - plain.size(0);
  EXPECT_GE(strip, 24) << "a caption strip too thin to read at --height 256";
  EXPECT_LE(strip, 64);
  // The strip under the first cell holds light text on a dark ground.
  const auto caption = labelled.narrow(0, 2 + 256, strip).narrow(1, 2, 341);
  EXPECT_GT(caption.max().item<int>(), 200);
  EXPECT_LT(caption.to(torch::kFloat).median().item<float>(), 60.0f);
  // One strip per row: two rows grow by two strips.
  r = run("contact-sheet " + images + " --cols 1 --labels input,starry --out " +
          dir.file("column.png"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(load_image_rgb(dir.file("column.png")).size(0),
            2 * (256 + strip) + 3 * 2);
  // A repeated --labels is the same as a comma-separated one.
  r = run("contact-sheet " + images + " --labels input --labels starry " +
          "--out " + dir.file("repeated.png"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(torch::equal(load_image_rgb(dir.file("repeated.png")), labelled));
  // A title adds a strip across the top.
  r = run("contact-sheet " + images + " --labels input,starry --title " +
          "'neuralart demo' --out " + dir.file("titled.png"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_GT(load_image_rgb(dir.file("titled.png")).size(0),
            labelled.size(0) + strip);
}

TEST(CliContactSheet, LabelCountMustMatchTheImages_n) {
  TempDir dir;
  const auto a = dir.file("a.ppm");
  write_ppm(a, 32, 24, 128);
  for (const std::string labels :
       {"--labels one,two", "--labels one --labels two", "--labels ,"}) {
    const auto r = run("contact-sheet " + a + " " + labels + " --out " +
                       dir.file("s.png"));
    EXPECT_EQ(r.code, 2) << labels << "\n" << r.out;
    EXPECT_NE(r.out.find("2 label(s) for 1 image(s)"), std::string::npos)
        << r.out;
    EXPECT_FALSE(fs::exists(dir.file("s.png")));
  }
  const auto r = run("contact-sheet " + a + " " + a + " --labels only-one " +
                     "--out " + dir.file("s.png"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("1 label(s) for 2 image(s)"), std::string::npos)
      << r.out;
}

TEST(CliGan, CtrlCSavesAndResumes) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  const int status = interrupt_when_checkpointed(
      "gan --out " + run_dir + " --steps 100000" + kTiny, run_dir,
      dir.file("log"));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const int rows = count_rows(run_dir + "/losses.csv");
  const auto steps = read_bundle_meta(run_dir + "/generator.bundle")
                         .provenance["steps"]
                         .get<int>();
  EXPECT_EQ(rows, steps);  // every step logged, nothing lost or repeated
  auto r = run("gan --resume " + run_dir + " --steps " +
               std::to_string(steps + 2) + " --threads 1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(count_rows(run_dir + "/losses.csv"), steps + 2);
}

TEST(CliGan, FullDiskIsAClearErrorAndKeepsTheCheckpoint_n) {
  // A real full disk: a 4 MB tmpfs in a private mount namespace (unshare -r
  // maps us to root there, so no privileges are needed).
  if (cli_test::run_shell("unshare -Urm true").code != 0)
    GTEST_SKIP() << "unshare -Urm is not allowed here";
  TempDir dir;
  const std::string exe = NEURALART_TRAIN_EXE, disk = dir.file("disk");
  fs::create_directories(disk);
  const std::string script =
      "set -u; D=" + disk + "; T=" + exe +
      "\n"
      "mount -t tmpfs -o size=4m tmpfs $D || exit 99\n"
      "$T gan --out $D/run --steps 2" +
      kTiny +
      " > $D/first.log 2>&1 || { cat $D/first.log; exit 98; }\n"
      "before=$(cksum < $D/run/checkpoint.ckpt)\n"
      // Fill the disk but for 128 KB: room for the loss log, none for a
      // checkpoint (~600 KB).
      "head -c 131072 /dev/zero > $D/spare\n"
      "cat /dev/zero > $D/filler 2>/dev/null\n"
      "rm $D/spare\n"
      // First a sample grid fails to fit, then (no samples) a checkpoint.
      "$T gan --resume $D/run --steps 6 --checkpoint-every 2 --threads 1\n"
      "echo \"exit=$?\"\n"
      "$T gan --resume $D/run --steps 6 --checkpoint-every 2 --threads 1"
      " --sample-every 100\n"
      "echo \"exit=$?\"\n"
      "[ \"$(cksum < $D/run/checkpoint.ckpt)\" = \"$before\" ] && "
      "echo checkpoint-unchanged\n"
      "ls $D/run | grep -c tmp- | sed 's/^/temporaries=/'\n"
      "rm $D/filler\n"
      "$T gan --resume $D/run --steps 4 --threads 1 && echo resumed-ok\n";
  std::ofstream(dir.file("full.sh")) << script;
  const auto r = cli_test::run_shell("unshare -Urm sh " + dir.file("full.sh"));
  ASSERT_EQ(r.code, 0) << "the script failed before the test:\n" << r.out;
  for (const auto& file : {"samples/step_0000004.png", "checkpoint.ckpt"})
    EXPECT_NE(r.out.find(std::string(file) +
                         ": No space left on device (is the disk full?); "
                         "the previous file is unchanged"),
              std::string::npos)
        << file << "\n"
        << r.out;
  EXPECT_EQ(r.out.find("exit=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exit=1\n"), r.out.rfind("exit=1\n")) << r.out;
  EXPECT_NE(r.out.find("checkpoint-unchanged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("temporaries=0"), std::string::npos) << r.out;
  // With room again, the run continues from the step-2 checkpoint.
  EXPECT_NE(r.out.find("resuming " + disk + "/run at step 2"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("resumed-ok"), std::string::npos) << r.out;
}

TEST(CliGan, BadOptions_n) {
  TempDir dir;
  const auto out = " --out " + dir.file("r");
  for (const std::string bad :
       {"--resolution 48", "--resolution 512", "--channels 2", "--batch 1",
        "--steps 0", "--lr-g 5", "--loss lsgan", "--augment blur",
        "--schedule step", "--d-steps 0", "--g-norm group", "--threads -1",
        "--ema 1.5", "--label-smoothing 0.9", "--arch biggan", "--w-dim 0",
        "--mapping-layers 9", "--style-mixing 1.5"}) {
    auto r = run("gan" + out + " " + bad);
    EXPECT_EQ(r.code, 2) << bad << "\n" << r.out;
    const auto name = bad.substr(2, bad.find(' ') - 2);
    EXPECT_NE(r.out.find(name), std::string::npos) << bad << "\n" << r.out;
  }
  EXPECT_EQ(run("gan").code, 2);  // neither --out nor --resume
  EXPECT_EQ(run("sample").code, 2);
  EXPECT_EQ(run("sample x.bundle --grid 0x3").code, 2);
}

TEST(CliGan, DataErrors_n) {
  TempDir dir;
  auto r = run("gan --out " + dir.file("r") + kModel +
               " --data /nonexistent/images");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("/nonexistent/images"), std::string::npos) << r.out;
  fs::create_directories(dir.file("empty"));
  r = run("gan --out " + dir.file("r") + " --data " + dir.file("empty") +
          kModel);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no readable images"), std::string::npos) << r.out;
  // One unreadable file among good ones: skipped, named, counted.
  fs::create_directories(dir.file("mixed"));
  std::ofstream(dir.file("mixed/broken.png")) << "not a png";
  ASSERT_EQ(run("sample --help").code, 0);
  ASSERT_EQ(run("gan --out " + dir.file("seed") + " --steps 1" + kTiny).code,
            0);
  fs::copy_file(dir.file("seed/samples/latest.png"), dir.file("mixed/a.png"));
  fs::copy_file(dir.file("seed/loss_plot.png"), dir.file("mixed/b.png"));
  r = run("gan --out " + dir.file("r2") + " --steps 1 --data " +
          dir.file("mixed") + " --resolution 32 --base-width 8 --batch 4");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("broken.png"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("skipped 1 unreadable"), std::string::npos) << r.out;
  r = run("sample /nonexistent.bundle");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("/nonexistent.bundle"), std::string::npos);
}

TEST(CliEvalGan, ErrorsNameTheProblem_n) {
  TempDir dir;
  ASSERT_EQ(run("gan --out " + dir.file("g") + " --steps 1" + kTiny).code, 0);
  const auto model = dir.file("g/generator.bundle");
  auto r = run("eval-gan " + model + " --data " + dir.file("x"));
  EXPECT_EQ(r.code, 2) << r.out;  // not mnist:PATH
  EXPECT_NE(r.out.find("mnist:PATH"), std::string::npos) << r.out;
  r = run("eval-gan " + model + " --data mnist:/nonexistent/mnist");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("/nonexistent/mnist"), std::string::npos) << r.out;
  EXPECT_EQ(run("eval-gan " + model + " --data mnist:x --samples 5").code, 2);
  // Stacked MNIST needs a colour generator: a grey one is named, with the fix.
  ASSERT_EQ(
      run("gan --out " + dir.file("grey") + " --steps 1 --channels 1" + kTiny)
          .code,
      0);
  r = run("eval-gan " + dir.file("grey/generator.bundle") +
          " --data stacked-mnist:/nonexistent/mnist");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--channels 3 --data stacked-mnist"), std::string::npos)
      << r.out;
}

TEST(CliEvalGan, ReportsCoverageOnSharedMnist) {
  const std::string mnist = NEURALART_SOURCE_DIR "/../shared/data/mnist";
  if (!fs::exists(mnist + "/t10k-labels-idx1-ubyte.gz"))
    GTEST_SKIP() << "needs ../shared/data/mnist (MNIST with labels)";
  TempDir dir;
  ASSERT_EQ(run("gan --out " + dir.file("g") + " --steps 1" + kTiny).code, 0);
  auto r = run("eval-gan " + dir.file("g/generator.bundle") + " --data mnist:" +
               mnist + " --samples 200 --classifier-epochs 1 --threads 1" +
               " --json --cache-dir " + dir.file("cache"));
  ASSERT_EQ(r.code, 0) << r.out;
  const auto json = r.out.substr(r.out.find('{'));
  EXPECT_NE(json.find("\"classes_covered\""), std::string::npos) << r.out;
  EXPECT_NE(json.find("\"kl_to_uniform\""), std::string::npos) << r.out;
  // The real digits, labelled by the classifier, cover every class.
  EXPECT_NE(r.out.find("classifier_holdout_accuracy"), std::string::npos);
  EXPECT_FALSE(fs::is_empty(dir.file("cache")));
  // Second run, as stacked MNIST (the colour channels are three digits):
  // the cached classifier is used, and the modes are the 1,000 triples.
  r = run("eval-gan " + dir.file("g/generator.bundle") +
          " --data stacked-mnist:" + mnist +
          " --samples 200 --classifier-epochs 1 --threads 1 --cache-dir " +
          dir.file("cache"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("classifier from"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/1000"), std::string::npos) << r.out;
}

TEST(CliLaunch, TwoProcessesWriteOneRunFolder) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  auto r =
      run("launch --nproc 2 -- gan --out " + run_dir + " --steps 2" + kTiny);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(count_files_named(dir.path, "losses.csv"), 1) << r.out;
  EXPECT_EQ(count_files_named(dir.path, "generator.bundle"), 1) << r.out;
  EXPECT_EQ(count_files_named(dir.path, "checkpoint.ckpt"), 1) << r.out;
  EXPECT_EQ(count_rows(run_dir + "/losses.csv"), 2);
  auto meta = read_bundle_meta(run_dir + "/generator.bundle");
  EXPECT_EQ(meta.provenance["processes"], 2);
  EXPECT_EQ(meta.provenance["training"]["batch"], 8);  // the global batch
  // Another number of processes cannot resume it; the same number can.
  r = run("gan --resume " + run_dir + " --steps 3 --threads 1");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("launch --nproc 2 -- gan --resume"), std::string::npos)
      << r.out;
  r = run("launch --nproc 2 gan --resume " + run_dir + " --steps 3" +
          " --threads 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(count_rows(run_dir + "/losses.csv"), 3);
}

TEST(CliLaunch, CtrlCStopsEveryRankAtTheSameStep) {
  TempDir dir;
  const auto run_dir = dir.file("run");
  const int status = interrupt_when_checkpointed(
      "launch --nproc 2 -- gan --out " + run_dir + " --steps 100000" + kTiny,
      run_dir, dir.file("log"));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const auto steps = read_bundle_meta(run_dir + "/generator.bundle")
                         .provenance["steps"]
                         .get<int>();
  EXPECT_EQ(count_rows(run_dir + "/losses.csv"), steps);
  EXPECT_EQ(count_files_named(dir.path, "losses.csv"), 1);
}

TEST(CliLaunch, FailingProcessStopsTheRun_n) {
  TempDir dir;
  const auto out = " --out " + dir.file("r");
  auto r = run("launch --nproc 2 -- gan" + out + " --no-such-option");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("launch: rank "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" failed (exit code 2)"), std::string::npos) << r.out;
  r = run("launch --nproc 2 -- gan" + out + kModel + " --data /nonexistent");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("failed (exit code 1)"), std::string::npos) << r.out;
  EXPECT_EQ(run("launch --nproc 2").code, 2);     // no command
  EXPECT_EQ(run("launch -- gan" + out).code, 2);  // --nproc is required
  // A malformed launcher variable is named.
  setenv("WORLD_SIZE", "two", 1);
  r = run("gan" + out + kTiny);
  unsetenv("WORLD_SIZE");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("WORLD_SIZE='two'"), std::string::npos) << r.out;
}

TEST(CliGan, DeviceWithoutCuda_n) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
  TempDir dir;
  auto r = run("gan --out " + dir.file("r") + kTiny + " --device cuda");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("this build of LibTorch has no CUDA"), std::string::npos)
      << r.out;
  EXPECT_EQ(run("gan --out " + dir.file("r") + " --device tpu").code, 2);
  EXPECT_FALSE(fs::exists(dir.file("r")));
}
