#include "neuralart/model_paths.h"

#include <cstdlib>
#include <filesystem>

#include "neuralart/error.h"

namespace neuralart {

std::vector<std::string> model_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("NEURALART_MODEL_DIR"); env && *env)
    dirs.emplace_back(env);
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
