// A data-only file of named tensors: the safetensors layout
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header, then the raw bytes. Reading it cannot run
// code, and every size is checked before anything is allocated.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace neuralart {

struct TensorFile {
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::map<std::string, torch::Tensor> tensors;
};

// Writes atomically: to PATH.tmp-PID-N, then rename (util/atomic_file.h).
// Throws Error on I/O failure (full disk, unwritable folder) and leaves an
// older PATH intact.
void write_tensor_file(const std::string& path, const TensorFile& file);

// Throws BundleError naming the path and the problem when the file is
// missing, truncated, malformed, or fails its checksum.
TensorFile read_tensor_file(const std::string& path);
// Same from memory (used by the fuzzers); `origin` names it in errors.
TensorFile parse_tensor_file(const uint8_t* data, size_t size,
                             const std::string& origin);

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace neuralart
