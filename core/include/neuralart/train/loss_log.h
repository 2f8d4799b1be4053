// losses.csv, shared by the GAN and style trainers: one header line, then
// one row of numbers per logged step (the step first). Rows are appended as
// training runs; a resume cuts the file back to the checkpoint's step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace neuralart {

// Appends `row` (and `header` first when the file is new). Throws Error
// naming the file when the write fails (a full disk).
void append_loss_row(const std::string& csv, const std::string& header,
                     const std::string& row);

// The rows as numbers. A row that does not parse whole (a crash in the
// middle of an append leaves a torn last line) is skipped, as is the header.
std::vector<std::vector<double>> read_loss_rows(const std::string& csv);

// Keeps the header and the rows up to `step` (they continue after a
// resume), dropping torn rows; written atomically. No file: nothing to do.
void trim_loss_log(const std::string& csv, int64_t step);

}  // namespace neuralart
