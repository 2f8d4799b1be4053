// Progress reporting: a one-line bar with rate and ETA on a terminal,
// plain periodic lines otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace neuralart::cli {

class Progress {
 public:
  // `unit` names what the rate counts ("img/s", "steps/s").
  Progress(int64_t total, std::string unit, int64_t plain_every);
  // step: steps done; rate: units per second; detail: losses etc.
  void update(int64_t step, double rate, const std::string& detail);
  // Prints a message on its own line without breaking the bar.
  void message(const std::string& text);
  void finish();

 private:
  int64_t total_;
  std::string unit_;
  int64_t plain_every_;
  bool tty_;
  int64_t first_step_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

std::string format_duration(double seconds);

}  // namespace neuralart::cli
