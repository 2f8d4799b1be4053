// A temporary folder removed when the test ends.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "neuralart/util/remove_tree.h"

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "neuralart-test-XXXXXX")
            .string();
    path = mkdtemp(tmpl.data());
  }
  // Not std::filesystem::remove_all: see neuralart/util/remove_tree.h.
  ~TempDir() { neuralart::remove_tree(path.string()); }
  std::string file(const std::string& name) const {
    return (path / name).string();
  }
};
