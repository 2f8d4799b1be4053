// Recursive removal of a folder without std::filesystem::remove_all.
//
// The CUDA LibTorch in PyTorch's pip wheels (seen with 2.11.0+cu130)
// exports its own copy of std::filesystem::remove_all from libtorch.so;
// a program linked against it calls that copy, which jumps to address 0
// (a segfault in every temp-folder destructor, seen on an H100 machine).
// POSIX nftw() does the same walk with no libstdc++ symbol in between.
#pragma once

#include <ftw.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace neuralart {

// Removes `path` and everything below it; symbolic links are removed, not
// followed. Returns false if something could not be removed. A missing
// path is not an error.
inline bool remove_tree(const std::string& path) {
  auto remove_one = [](const char* p, const struct stat*, int,
                       struct FTW*) -> int {
    return std::remove(p) == 0 ? 0 : 1;
  };
  const int rc = nftw(path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
  return rc == 0 || (rc == -1 && errno == ENOENT);
}

}  // namespace neuralart
