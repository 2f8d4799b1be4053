// Reads PyTorch state dicts saved with torch.save (`.pth`, `.pt`, `.model`):
// the zip serialisation (PyTorch >= 1.6, read with LibTorch's own archive
// reader) and the legacy one before it (a sequence of pickles then the raw
// storages). LibTorch 1.13's torch::pickle_load cannot do this: it reads
// zip files only and turns the OrderedDict of every state dict into None.
//
// The pickle is interpreted, never executed: only plain containers,
// numbers, strings, tensors (torch._utils._rebuild_tensor*,
// _rebuild_parameter, torch.*Storage) and collections.OrderedDict are
// accepted; any other object is refused by name (as torch.load's
// weights_only=True). Every size is checked against the file before a
// tensor is allocated, and every view against its storage.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace neuralart {

struct TorchStateDict {
  // Entries in the file's order (a state dict keeps its module order).
  std::vector<std::pair<std::string, torch::Tensor>> entries;
  std::string format;  // "zip" or "legacy"
};

// Throws BundleError naming the path and the problem when the file is
// missing, truncated, corrupt, not a torch.save file, or holds anything but
// a dict of names to tensors (the message names the first entry that is
// not a tensor).
TorchStateDict read_torch_state_dict(const std::string& path);
// Same from memory; `origin` names it in errors.
TorchStateDict parse_torch_state_dict(const uint8_t* data, size_t size,
                                      const std::string& origin);

}  // namespace neuralart
