// A progress line with rate and ETA: redrawn in place on a terminal, plain
// lines (one every `plain_every` updates) when stderr is a file or a pipe.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

namespace neuralart::cli {

class ProgressLine {
 public:
  ProgressLine(std::string unit, int64_t total, int64_t start,
               int64_t plain_every)
      : unit_(std::move(unit)),
        total_(total),
        start_(start),
        plain_every_(plain_every < 1 ? 1 : plain_every),
        tty_(isatty(fileno(stderr)) != 0),
        t0_(std::chrono::steady_clock::now()) {}

  // `done` units finished of `total`; `detail` is appended (losses...).
  void update(int64_t done, const std::string& detail) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_)
            .count();
    const double rate = elapsed > 0 ? (done - start_) / elapsed : 0.0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
    char head[160];
    std::snprintf(head, sizeof head, "%s %lld/%lld (%3.0f%%) %.2f %s/s ETA %s",
                  unit_.c_str(), static_cast<long long>(done),
                  static_cast<long long>(total_),
                  total_ > 0 ? 100.0 * done / total_ : 100.0, rate,
                  unit_.c_str(), duration(eta).c_str());
    const std::string line = std::string(head) + "  " + detail;
    if (tty_) {
      std::cerr << "\r" << line << "\033[K" << std::flush;
      drawn_ = true;
    } else if (done % plain_every_ == 0 || done == total_) {
      std::cerr << line << "\n";
    }
  }

  // Ends the in-place line so later output starts on a fresh line.
  void finish() {
    if (tty_ && drawn_) std::cerr << "\n";
    drawn_ = false;
  }

  // Prints a message without garbling the in-place line.
  void message(const std::string& text) {
    finish();
    std::cerr << text << "\n";
  }

  static std::string duration(double seconds) {
    const long long s = static_cast<long long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
      std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
      std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
    else
      std::snprintf(buf, sizeof buf, "%llds", s);
    return buf;
  }

 private:
  std::string unit_;
  int64_t total_, start_, plain_every_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace neuralart::cli
