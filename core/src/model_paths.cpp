#include "neuralart/model_paths.h"

#include <dlfcn.h>
#include <link.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "neuralart/error.h"

namespace neuralart {
namespace {

namespace fs = std::filesystem;

// The program or plugin this code is linked into (core is a static library,
// so it lives inside neuralart-train or libgstneuralart.so).
fs::path this_module() {
  Dl_info info{};
  link_map* map = nullptr;
  if (dladdr1(reinterpret_cast<void*>(&model_search_dirs), &info,
              reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) == 0)
    return {};
  std::error_code ec;
  // The main program's link map has an empty name.
  if (map == nullptr || map->l_name == nullptr || map->l_name[0] == '\0')
    return fs::read_symlink("/proc/self/exe", ec);
  return fs::weakly_canonical(map->l_name, ec);
}

// <prefix>/share/neuralart/models for the prefix the module is installed in:
// the nearest ancestor of its folder (bin, lib/<arch>/gstreamer-1.0) that
// holds one. Makes a package (/usr) work whatever prefix the build had.
std::string models_next_to_module() {
  const fs::path module = this_module();
  if (module.empty()) return {};
  fs::path dir = module.parent_path();
  for (int level = 0; level < 4 && !dir.empty(); ++level) {
    const fs::path models = dir / NEURALART_RELATIVE_MODEL_DIR;
    std::error_code ec;
    if (fs::is_directory(models, ec)) return models.string();
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return {};
}

}  // namespace

std::vector<std::string> model_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("NEURALART_MODEL_DIR"); env && *env)
    dirs.emplace_back(env);
  const std::string relocated = models_next_to_module();
  if (!relocated.empty() && relocated != NEURALART_INSTALL_MODEL_DIR)
    dirs.push_back(relocated);
  dirs.emplace_back(NEURALART_INSTALL_MODEL_DIR);
  dirs.emplace_back(NEURALART_SOURCE_MODEL_DIR);
  return dirs;
}

std::string default_model_path(ModelKind kind) {
  const std::string file =
      kind == ModelKind::Generator ? kDefaultGeneratorFile : kDefaultStyleFile;
  std::string searched;
  for (const auto& dir : model_search_dirs()) {
    const auto path = std::filesystem::path(dir) / file;
    if (std::filesystem::is_regular_file(path)) return path.string();
    searched += "\n  " + path.string();
  }
  throw Error("no default " + to_string(kind) +
              " model found; searched:" + searched +
              "\nset the model property / --model, or "
              "NEURALART_MODEL_DIR");
}

}  // namespace neuralart
