#include "neuralart/train/loss_log.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "neuralart/error.h"
#include "neuralart/util/atomic_file.h"

namespace neuralart {

namespace {

// Every cell a number, or false.
bool parse_row(const std::string& line, std::vector<double>* out) {
  out->clear();
  if (line.empty()) return false;
  std::stringstream cells(line);
  std::string cell;
  while (std::getline(cells, cell, ',')) {
    char* end = nullptr;
    const double v = std::strtod(cell.c_str(), &end);
    if (cell.empty() || *end != '\0') return false;
    out->push_back(v);
  }
  return !out->empty();
}

}  // namespace

void append_loss_row(const std::string& csv, const std::string& header,
                     const std::string& row) {
  std::ifstream probe(csv);
  const bool fresh = !probe.good();
  probe.close();
  std::ofstream out(csv, std::ios::app);
  if (fresh) out << header << "\n";
  out << row << "\n";
  out.flush();
  if (!out)
    throw Error("cannot append to " + csv + ": " + std::strerror(errno) +
                " (is the disk full?)");
}

namespace {

// Calls `row_fn(line, numbers)` for each whole row and `header_fn(line)` for
// the header. A row is whole when it ends with a newline (an append killed
// midway leaves the last line unterminated), has the header's column count
// and is all numbers.
template <typename HeaderFn, typename RowFn>
void for_each_row(std::istream& in, HeaderFn header_fn, RowFn row_fn) {
  std::string line;
  size_t columns = 0;
  std::vector<double> row;
  while (std::getline(in, line)) {
    const bool terminated = !in.eof();
    if (line.rfind("step", 0) == 0) {
      columns = size_t(std::count(line.begin(), line.end(), ',')) + 1;
      header_fn(line);
    } else if (terminated && parse_row(line, &row) &&
               (columns == 0 || row.size() == columns)) {
      row_fn(line, row);
    }
  }
}

}  // namespace

std::vector<std::vector<double>> read_loss_rows(const std::string& csv) {
  std::vector<std::vector<double>> rows;
  std::ifstream in(csv);
  for_each_row(
      in, [](const std::string&) {},
      [&](const std::string&, const std::vector<double>& row) {
        rows.push_back(row);
      });
  return rows;
}

void trim_loss_log(const std::string& csv, int64_t step) {
  std::ifstream in(csv);
  if (!in) return;
  std::ostringstream kept;
  for_each_row(
      in, [&](const std::string& line) { kept << line << "\n"; },
      [&](const std::string& line, const std::vector<double>& row) {
        if (row[0] <= double(step)) kept << line << "\n";
      });
  in.close();
  write_file_atomically(csv, kept.str());
}

}  // namespace neuralart
