// Atomic file writes: a temporary sibling, fsync, rename. A crash or a full
// disk never leaves a half-written file in place of a good one, and the
// temporaries a killed process leaves behind are cleaned up by the next
// writer of the same path.
#pragma once

#include <string>

namespace neuralart {

// "DIR/NAME.tmp-PID-N" followed by `suffix` (an extension, for writers that
// pick the format from it): unique within this process, and the PID says
// whether its writer still runs.
std::string temporary_path(const std::string& path,
                           const std::string& suffix = "");

// Removes temporaries of `path` (see temporary_path) whose process no longer
// runs: what a kill -9 or a power cut during a write left behind. Returns
// how many were removed; errors are ignored (it is housekeeping).
int remove_stale_temporaries(const std::string& path);

// Writes `bytes` to `path` atomically. Throws Error naming the path and the
// cause (disk full, no permission); the previous file is then unchanged.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace neuralart
