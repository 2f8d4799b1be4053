#include "progress.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace neuralart::cli {

std::string format_duration(double s) {
  if (s < 0 || s > 1e7) return "--:--";
  const auto t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(t / 3600),
                  (long long)(t / 60 % 60), (long long)(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(t / 60),
                  (long long)(t % 60));
  return buf;
}

Progress::Progress(int64_t total, std::string unit, int64_t plain_every)
    : total_(total),
      unit_(std::move(unit)),
      plain_every_(plain_every),
      tty_(isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(int64_t step, double rate, const std::string& detail) {
  const auto now = std::chrono::steady_clock::now();
  if (first_step_ < 0) {
    first_step_ = step - 1;
    start_ = now;
  }
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double steps_per_s = elapsed > 0 ? (step - first_step_) / elapsed : 0.0;
  const double eta = steps_per_s > 0 ? (total_ - step) / steps_per_s : -1.0;
  char head[128];
  std::snprintf(head, sizeof head, "step %lld/%lld  %.1f %s  ETA %s",
                (long long)step, (long long)total_, rate, unit_.c_str(),
                format_duration(eta).c_str());
  if (tty_) {
    if (std::chrono::duration<double>(now - last_draw_).count() < 0.2 &&
        step != total_)
      return;
    last_draw_ = now;
    const int width = 24;
    const int filled = total_ > 0 ? int(width * step / total_) : width;
    std::cerr << "\r\033[K[" << std::string(filled, '#')
              << std::string(width - filled, '.') << "] " << head << "  "
              << detail << std::flush;
    drawn_ = true;
  } else if (step % plain_every_ == 0 || step == total_) {
    std::cerr << head << "  " << detail << "\n";
  }
}

void Progress::message(const std::string& text) {
  if (tty_ && drawn_) std::cerr << "\r\033[K";
  std::cerr << text << "\n";
}

void Progress::finish() {
  if (tty_ && drawn_) std::cerr << "\n";
  drawn_ = false;
}

}  // namespace neuralart::cli
