// Data-parallel training over PyTorch's own distributed layer (c10d, Gloo):
// every rank holds a full copy of the models, computes gradients on its
// slice of each global batch, and averages them before the optimiser step.
// Started by any launcher that sets torchrun's environment variables
// (neuralart-train launch, torchrun, Slurm, Kubernetes). See
// docs/distributed.md.
#pragma once

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace neuralart {

// Where this process sits in a run, from torchrun's variables RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT.
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // torchrun's static rendezvous: its agent already serves the store at
  // MASTER_ADDR:MASTER_PORT (TORCHELASTIC_USE_AGENT_STORE=True), so every
  // rank is a client, under a prefix per restart.
  bool agent_store = false;
  int restart_count = 0;  // TORCHELASTIC_RESTART_COUNT

  bool distributed() const { return world_size > 1; }
  bool is_main() const { return rank == 0; }

  // Reads the process environment. No WORLD_SIZE (or WORLD_SIZE=1): a
  // single process. Throws InvalidArgument naming the variable for a
  // malformed or inconsistent value, or when WORLD_SIZE > 1 and RANK,
  // MASTER_ADDR or MASTER_PORT is missing.
  static DistEnv from_environment();
  // Same, reading variables through `lookup` (nullptr = unset); for tests.
  static DistEnv from_lookup(
      const std::function<const char*(const char*)>& lookup);
};

struct DataParallelOptions {
  // Gradients and parameters travel in flat buckets of about this size:
  // one collective per bucket instead of one per tensor.
  std::size_t bucket_bytes = 25u << 20;
  // How long a collective (or the rendezvous) may wait for the other ranks
  // before it fails.
  std::chrono::milliseconds timeout = std::chrono::minutes(30);
  // Network interface Gloo binds to (e.g. eth0); empty: $GLOO_SOCKET_IFNAME,
  // else loopback when MASTER_ADDR is local, else this host's name.
  std::string interface;
};

// One process group (c10d::ProcessGroupGloo) and the collectives the
// trainers need. Every rank must call the same collectives in the same
// order with tensors of the same shapes.
class DataParallel {
 public:
  // Rendezvous over a c10d::TCPStore served by rank 0 at
  // MASTER_ADDR:MASTER_PORT. Blocks until every rank has joined.
  explicit DataParallel(const DistEnv& env, DataParallelOptions options = {});
  // Rendezvous over an existing store (a HashStore shared by threads in
  // tests, a FileStore on a shared filesystem...). Gloo binds to loopback
  // unless options.interface or GLOO_SOCKET_IFNAME names an interface.
  DataParallel(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size,
               DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }
  const DataParallelOptions& options() const { return options_; }

  // Copies rank 0's values into `tensors` on every rank (bucketed).
  void broadcast(const std::vector<torch::Tensor>& tensors);
  // Rank 0's parameters and buffers into `module` on every rank.
  void broadcast_module(torch::nn::Module& module);
  // Rank 0's buffers (batch-norm statistics, spectral-norm vectors).
  void broadcast_buffers(torch::nn::Module& module);

  // Replaces each gradient by its mean over the ranks (bucketed). Every
  // rank passes the same parameters; a gradient that is undefined here
  // counts as zero and stays undefined here.
  void average_gradients(const std::vector<torch::Tensor>& parameters);
  void average_gradients(torch::nn::Module& module);

  // Mean over the ranks of a few numbers (losses for logging).
  std::vector<double> average(const std::vector<double>& values);
  // True on every rank when `flag` is true on any rank.
  bool any(bool flag);
  void barrier();

 private:
  struct Impl;
  void init(c10::intrusive_ptr<c10d::Store> store);

  int rank_ = 0, world_size_ = 1;
  DataParallelOptions options_;
  std::string master_addr_;
  std::unique_ptr<Impl> impl_;
};

// Tensors grouped in order into buckets: same dtype and device, at most
// `bucket_bytes` each unless one tensor alone is larger. Returns index
// lists into `tensors`. Public for tests.
std::vector<std::vector<std::size_t>> make_buckets(
    const std::vector<torch::Tensor>& tensors, std::size_t bucket_bytes);

// The slice [rank * n / world, (rank + 1) * n / world) of dimension 0:
// this rank's share of a global batch of n (n divisible by world).
torch::Tensor rank_slice(const torch::Tensor& global, int rank, int world);

}  // namespace neuralart
