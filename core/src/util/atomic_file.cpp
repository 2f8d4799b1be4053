#include "neuralart/util/atomic_file.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "neuralart/error.h"

namespace neuralart {

namespace {

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool process_is_gone(long pid) {
  return pid > 0 && kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

std::string temporary_path(const std::string& path, const std::string& suffix) {
  static std::atomic<unsigned long> counter{0};
  return path + ".tmp-" + std::to_string(long(getpid())) + "-" +
         std::to_string(counter++) + suffix;
}

int remove_stale_temporaries(const std::string& path) {
  const std::string dir = parent_of(path);
  const std::string prefix = name_of(path) + ".tmp-";
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (const dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (end == name.c_str() + prefix.size() || *end != '-') continue;
    if (process_is_gone(pid) && std::remove((dir + "/" + name).c_str()) == 0)
      ++removed;
  }
  closedir(d);
  return removed;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  remove_stale_temporaries(path);
  const std::string tmp = temporary_path(path);
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (!out)
    throw Error("cannot write " + path + ": " + std::strerror(errno) +
                " (check that the folder exists and is writable)");
  const bool written =
      (bytes.empty() ||
       std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size()) &&
      std::fflush(out) == 0 && fsync(fileno(out)) == 0;
  const int err = errno;
  if (std::fclose(out) != 0 || !written) {
    std::remove(tmp.c_str());
    throw Error("cannot write " + path + ": " +
                std::strerror(written ? errno : err) +
                " (is the disk full?); the previous file is unchanged");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_err = errno;
    std::remove(tmp.c_str());
    throw Error("cannot rename " + tmp + " to " + path + ": " +
                std::strerror(rename_err));
  }
}

}  // namespace neuralart
