// Every option of every neuralart-train command refuses bad values with a
// message that names the option and what is valid. The options come from
// each command's --help, so an option added without a range (or without an
// entry below) fails here.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../core/temp_dir.h"
#include "run_cli.h"

using cli_test::run;

namespace {

struct HelpOption {
  std::string name;
  bool takes_value = false;
  std::string description;
};

// The options listed by `neuralart-train COMMAND --help` (Boost's layout:
// "  --name arg (=default)   text", continuation lines indented).
std::vector<HelpOption> options_in_help(const std::string& command) {
  const auto r = run(command + " --help");
  EXPECT_EQ(r.code, 0) << r.out;
  static const std::regex head(R"(^  (?:-\w \[ )?--([a-z0-9-]+)( arg)?(.*)$)");
  std::vector<HelpOption> options;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, head)) {
      options.push_back({m[1], m[2].matched, m[3]});
    } else if (!options.empty() && line.rfind("    ", 0) == 0) {
      options.back().description +=
          " " + line.substr(line.find_first_not_of(' '));
    } else {
      if (!options.empty()) options.back().description += "\n";
    }
  }
  static const std::regex spaces(R"(\s+)");
  for (auto& o : options)
    o.description = std::regex_replace(o.description, spaces, " ");
  return options;
}

struct Interval {
  double lo = 0, hi = 0;
  bool open_lo = false, open_hi = false;
};

// The first "[a, b]" / "(a, b]" in `text`.
bool find_interval(const std::string& text, Interval* out) {
  static const std::regex re(
      R"(([\[(])(-?[0-9][0-9.e+-]*), (-?[0-9][0-9.e+-]*)([\])]))");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return false;
  out->open_lo = m[1] == "(";
  out->lo = std::stod(m[2]);
  out->hi = std::stod(m[3]);
  out->open_hi = m[4] == ")";
  return true;
}

bool same(double a, double b) {
  return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(a));
}

std::string number(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

// Values just outside the interval, and one that fits no numeric type.
std::vector<std::string> outside(const Interval& in) {
  std::vector<std::string> values;
  if (in.open_lo)
    values.push_back(number(in.lo));
  else if (in.lo > 0 && in.lo < 1)
    values.push_back(number(in.lo / 10));
  else
    values.push_back(number(in.lo - 1));
  values.push_back(number(in.open_hi ? in.hi : in.hi + 1));
  values.push_back("123456789012345678901234567890");
  return values;
}

// A command line that passes every check but the one under test (the files
// need not exist: options are checked before anything is read).
const std::map<std::string, std::string>& base_args() {
  static const std::map<std::string, std::string> args = {
      {"gan", "--out /nonexistent/run"},
      {"style", "--style s.png --content c --out /nonexistent/o.bundle"},
      {"stylize", "--content c.png --style s.png --out /nonexistent/o.png"},
      {"universal",
       "--style a.png,b.png --content c --out /nonexistent/o.bundle"},
      {"sample", "--model /nonexistent/g.bundle --out /nonexistent/s.png"},
      {"eval-gan", "--model /nonexistent/g.bundle --data mnist:/nonexistent"},
      {"contact-sheet", "--images /nonexistent/a.png --out /nonexistent/c.png"},
      {"launch", "--nproc 2"},
  };
  return args;
}

std::string command_line(const std::string& command, const std::string& option,
                         const std::string& value) {
  // Replaces the base's own value when the option is part of it.
  std::string base = base_args().at(command);
  const std::regex own("--" + option + " \\S+");
  base = std::regex_replace(base, own, "");
  return command + " " + base + " --" + option + " " + value +
         (command == "launch" ? " -- inspect x" : "");
}

// Options whose values are not numbers: a bad value and a word the message
// must contain besides the option's name.
struct Choice {
  std::string bad;
  std::string says;
};
const std::map<std::string, Choice>& choices() {
  static const std::map<std::string, Choice> table = {
      {"gan --channels", {"2", "1 or 3"}},
      {"gan --g-norm", {"group", "pixel, batch or none"}},
      {"gan --loss", {"lsgan", "bce, hinge, wgan-gp or rpgan"}},
      {"gan --arch", {"biggan", "dcgan or stylegan"}},
      {"gan --rgb-output", {"middle", "skip or last"}},
      {"gan --d-arch", {"resnet", "dcgan or residual"}},
      {"gan --schedule", {"step", "constant, linear or cosine"}},
      {"gan --augment", {"blur", "translation, cutout, color"}},
      {"gan --device", {"gpu", "cpu, cuda or cuda:N"}},
      {"gan --precision",
       {"fp16", "--precision 'fp16' is not one of auto, fp32, bf16"}},
      {"gan --seed", {"-1", "out of range"}},
      {"style --device", {"tpu", "cpu, cuda or cuda:N"}},
      {"style --precision",
       {"half", "--precision 'half' is not one of auto, fp32, bf16"}},
      {"style --seed", {"-3", "out of range"}},
      {"style --content-layers", {"relu9_9", "valid: relu1_1"}},
      {"style --style-layers", {"conv1", "valid: relu1_1"}},
      {"style --loss-net", {"alexnet", "random"}},
      {"style --style-names", {"a,b,c", "names for"}},
      {"style --conv", {"dense", "standard or separable"}},
      {"style --stem", {"half", "full or shuffle"}},
      {"style --base", {"/nonexistent/b.bundle", "/nonexistent/b.bundle"}},
      {"style --lr-schedule", {"step", "constant, linear or cosine"}},
      {"universal --device", {"tpu", "cpu, cuda or cuda:N"}},
      {"universal --precision",
       {"half", "--precision 'half' is not one of auto, fp32, bf16"}},
      {"universal --seed", {"-3", "out of range"}},
      {"universal --loss-net", {"alexnet", "random"}},
      {"universal --conv", {"dense", "standard or separable"}},
      {"universal --stem", {"half", "full or shuffle"}},
      {"universal --base", {"/nonexistent/b.bundle", "/nonexistent/b.bundle"}},
      {"universal --lr-schedule", {"step", "constant, linear or cosine"}},
      {"universal --style", {"/nonexistent/p.png", "no such file or folder"}},
      {"stylize --fast", {"/nonexistent/u.bundle", "/nonexistent/u.bundle"}},
      {"stylize --init", {"zeros", "content or noise"}},
      {"stylize --optimizer", {"sgd", "lbfgs or adam"}},
      {"stylize --style-weights", {"-1", "out of range [0, 1000]"}},
      {"stylize --content-layers", {"relu9_9", "valid: relu1_1"}},
      {"stylize --style-layers", {"conv1", "valid: relu1_1"}},
      {"stylize --loss-net", {"alexnet", "random"}},
      {"stylize --seed", {"-1", "out of range"}},
      {"stylize --precision",
       {"int8", "--precision 'int8' is not one of auto, fp32, bf16"}},
      {"sample --grid", {"0x3", "COLSxROWS"}},
      {"sample --seed", {"-1", "out of range"}},
      {"eval-gan --data", {"/some/folder", "mnist:"}},
      {"eval-gan --seed", {"-1", "out of range"}},
      {"contact-sheet --labels", {"a,b", "2 label(s) for 1 image(s)"}},
  };
  return table;
}

// Paths and names: any text is a valid value; what they point to is checked
// when it is read (tests in test_cli*.cpp cover missing and corrupt files).
const std::set<std::string>& free_text() {
  static const std::set<std::string> names = {
      "gan --data",           "gan --out",
      "gan --resume",         "style --style",
      "style --content",      "style --out",
      "style --work-dir",     "style --temporal-frames",
      "stylize --content",    "stylize --style",
      "stylize --out",        "stylize --log",
      "universal --content",  "universal --preview-style",
      "universal --out",      "universal --work-dir",
      "sample --model",       "sample --out",
      "sample --frames-dir",  "eval-gan --model",
      "eval-gan --cache-dir", "contact-sheet --images",
      "contact-sheet --out",  "contact-sheet --title",
      "import --src",         "import --out",
      "import --style-name",
  };
  return names;
}

const std::vector<std::string> kCommands = {
    "gan",      "style",         "stylize", "sample", "universal",
    "eval-gan", "contact-sheet", "launch",  "import"};

}  // namespace

// One instance per command, so ctest runs them side by side.
class CliOptionRanges : public ::testing::TestWithParam<std::string> {};

TEST_P(CliOptionRanges, EveryNumericOptionRefusesValuesOutsideItsRange_n) {
  const std::string command = GetParam();
  int checked = 0;
  {
    for (const auto& option : options_in_help(command)) {
      if (!option.takes_value) continue;
      const auto key = command + " --" + option.name;
      if (choices().count(key) || free_text().count(key)) continue;
      Interval range;
      ASSERT_TRUE(find_interval(option.description, &range))
          << key << " takes a value but its --help names no range, and it is "
          << "not listed as a choice or free text here: " << option.description;
      for (const auto& value : outside(range)) {
        const auto r = run(command_line(command, option.name, value));
        EXPECT_EQ(r.code, 2) << key << " " << value << "\n" << r.out;
        EXPECT_NE(r.out.find("--" + option.name), std::string::npos)
            << key << " " << value << ": the message does not name it\n"
            << r.out;
        Interval said;
        ASSERT_TRUE(find_interval(r.out, &said))
            << key << " " << value << ": the message names no range\n"
            << r.out;
        EXPECT_TRUE(same(said.lo, range.lo) && same(said.hi, range.hi))
            << key << " " << value << ": --help says " << option.description
            << " but the message says\n"
            << r.out;
        ++checked;
      }
    }
  }
  if (command != "gan" && command != "style" && command != "stylize") return;
  EXPECT_GE(checked, 3 * 8) << "fewer ranged options than expected";
}

INSTANTIATE_TEST_SUITE_P(Commands, CliOptionRanges,
                         ::testing::ValuesIn(kCommands), [](const auto& info) {
                           std::string name = info.param;
                           name.erase(
                               std::remove(name.begin(), name.end(), '-'),
                               name.end());
                           return name;
                         });

TEST(CliOptions, EveryChoiceOptionNamesTheValidValues_n) {
  std::set<std::string> seen;
  for (const auto& command : kCommands)
    for (const auto& option : options_in_help(command))
      seen.insert(command + " --" + option.name);
  for (const auto& [key, choice] : choices()) {
    EXPECT_TRUE(seen.count(key)) << key << " is no longer an option";
    const auto space = key.find(' ');
    const auto command = key.substr(0, space);
    const auto name = key.substr(space + 3);
    const auto r = run(command_line(command, name, choice.bad));
    EXPECT_EQ(r.code, 2) << key << " " << choice.bad << "\n" << r.out;
    EXPECT_NE(r.out.find("--" + name), std::string::npos)
        << key << " " << choice.bad << ": the message does not name it\n"
        << r.out;
    EXPECT_NE(r.out.find(choice.says), std::string::npos)
        << key << " " << choice.bad << "\n"
        << r.out;
  }
  for (const auto& key : free_text())
    EXPECT_TRUE(seen.count(key)) << key << " is no longer an option";
}

TEST(CliOptions, NotANumberNamesTheOptionAndItsRange_n) {
  const auto r = run("gan --out /nonexistent/run --threads many");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--threads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[0, 1024]"), std::string::npos) << r.out;
}

TEST(CliOptions, HelpPrintsDefaultsAsWritten_n) {
  // Boost would print a default of 0.0002 as 0.00020000000000000001.
  const std::regex long_default(R"(\(=-?[0-9]*\.[0-9]{7,}\))");
  std::map<std::string, std::string> help;
  for (const auto& command : kCommands) {
    const auto r = run(command + " --help");
    EXPECT_EQ(r.code, 0) << command << "\n" << r.out;
    std::smatch m;
    EXPECT_FALSE(std::regex_search(r.out, m, long_default))
        << command << " --help prints the default " << m.str();
    help[command] = r.out;
  }
  // And the defaults that used to print that way read as written.
  EXPECT_NE(help["gan"].find("(=0.0002)"), std::string::npos);
  EXPECT_NE(help["gan"].find("(=0.35)"), std::string::npos);
  EXPECT_NE(help["style"].find("(=0.003)"), std::string::npos);
}
