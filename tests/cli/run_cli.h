// Runs neuralart-train (or any shell command) for the CLI tests and returns
// its exit code with stdout and stderr together.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace cli_test {

struct Result {
  int code;         // exit status; -1 when killed by a signal
  std::string out;  // stdout and stderr together
};

inline Result run_shell(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// `neuralart-train ARGS`.
inline Result run(const std::string& args) {
  return run_shell(std::string(NEURALART_TRAIN_EXE) + " " + args);
}

}  // namespace cli_test
