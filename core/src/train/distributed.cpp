#include "neuralart/train/distributed.h"

#include <cstdlib>
#include <limits>
#include <sstream>

#include "neuralart/error.h"

#ifdef NEURALART_WITH_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace neuralart {

namespace {

// The whole value as a decimal integer in [lo, hi], else InvalidArgument.
int parse_env_int(const char* name, const std::string& value, int lo, int hi) {
  long long v = 0;
  size_t used = 0;
  try {
    v = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || v < lo || v > hi)
    throw InvalidArgument(std::string(name) + "='" + value +
                          "' is not an integer in [" + std::to_string(lo) +
                          ", " + std::to_string(hi) + "]");
  return static_cast<int>(v);
}

}  // namespace

DistEnv DistEnv::from_lookup(
    const std::function<const char*(const char*)>& lookup) {
  auto get = [&](const char* name) -> std::string {
    const char* v = lookup(name);
    return v ? std::string(v) : std::string();
  };
  constexpr int kMaxInt = std::numeric_limits<int>::max();
  DistEnv env;
  const auto world = get("WORLD_SIZE"), rank = get("RANK");
  if (!world.empty())
    env.world_size = parse_env_int("WORLD_SIZE", world, 1, kMaxInt);
  if (!rank.empty())
    env.rank = parse_env_int("RANK", rank, 0, env.world_size - 1);
  else if (env.distributed())
    throw InvalidArgument("WORLD_SIZE=" + world +
                          " but RANK is not set (a launcher such as "
                          "neuralart-train launch or torchrun sets both)");
  const auto local = get("LOCAL_RANK");
  if (!local.empty())
    env.local_rank = parse_env_int("LOCAL_RANK", local, 0, kMaxInt);
  const auto addr = get("MASTER_ADDR"), port = get("MASTER_PORT");
  if (!addr.empty()) env.master_addr = addr;
  if (!port.empty())
    env.master_port = parse_env_int("MASTER_PORT", port, 1, 65535);
  env.agent_store = get("TORCHELASTIC_USE_AGENT_STORE") == "True";
  const auto restarts = get("TORCHELASTIC_RESTART_COUNT");
  if (!restarts.empty())
    env.restart_count =
        parse_env_int("TORCHELASTIC_RESTART_COUNT", restarts, 0, kMaxInt);
  if (env.distributed() && (addr.empty() || port.empty()))
    throw InvalidArgument(
        std::string(addr.empty() ? "MASTER_ADDR" : "MASTER_PORT") +
        " is not set but WORLD_SIZE=" + world +
        " (every rank needs rank 0's address and port)");
  return env;
}

DistEnv DistEnv::from_environment() {
  return from_lookup([](const char* name) { return std::getenv(name); });
}

std::vector<std::vector<std::size_t>> make_buckets(
    const std::vector<torch::Tensor>& tensors, std::size_t bucket_bytes) {
  std::vector<std::vector<std::size_t>> buckets;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const std::size_t size = t.numel() * t.element_size();
    const bool fits = !buckets.empty() && bytes + size <= bucket_bytes &&
                      tensors[buckets.back().front()].dtype() == t.dtype() &&
                      tensors[buckets.back().front()].device() == t.device();
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(i);
    bytes += size;
  }
  return buckets;
}

torch::Tensor rank_slice(const torch::Tensor& global, int rank, int world) {
  const auto n = global.size(0);
  TORCH_CHECK(world >= 1 && rank >= 0 && rank < world && n % world == 0,
              "rank_slice: batch ", n, " cannot be split evenly over ", world,
              " ranks");
  const auto share = n / world;
  return global.narrow(0, rank * share, share);
}

#ifdef NEURALART_WITH_GLOO

namespace {
bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}
}  // namespace

struct DataParallel::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;

  // Runs `collective` on each bucket of `tensors` flattened (all buckets in
  // flight at once), then copies the results back into `outputs`.
  void bucketed(
      const std::vector<torch::Tensor>& tensors,
      const std::vector<torch::Tensor>& outputs, std::size_t bucket_bytes,
      const std::function<c10::intrusive_ptr<c10d::Work>(torch::Tensor&)>&
          collective,
      const std::function<void(torch::Tensor&)>& finish) {
    struct InFlight {
      std::vector<std::size_t> members;
      torch::Tensor flat;
      c10::intrusive_ptr<c10d::Work> work;
    };
    std::vector<InFlight> flights;
    for (auto& members : make_buckets(tensors, bucket_bytes)) {
      std::vector<torch::Tensor> parts;
      for (auto i : members) parts.push_back(tensors[i].reshape({-1}));
      InFlight f{std::move(members), torch::cat(parts), {}};
      f.work = collective(f.flat);
      flights.push_back(std::move(f));
    }
    torch::NoGradGuard no_grad;
    for (auto& f : flights) {
      wait(f.work);
      if (finish) finish(f.flat);
      int64_t offset = 0;
      for (auto i : f.members) {
        const auto n = tensors[i].numel();
        if (outputs[i].defined())
          outputs[i].copy_(f.flat.narrow(0, offset, n).view_as(outputs[i]));
        offset += n;
      }
    }
  }

  static void wait(const c10::intrusive_ptr<c10d::Work>& work) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      throw Error(std::string("a collective operation failed (did another "
                              "rank stop or time out?): ") +
                  e.what());
    }
  }
};

void DataParallel::init(c10::intrusive_ptr<c10d::Store> store) {
  if (world_size_ < 1 || rank_ < 0 || rank_ >= world_size_)
    throw InvalidArgument("rank " + std::to_string(rank_) +
                          " is outside a world of " +
                          std::to_string(world_size_));
  auto opts = c10d::ProcessGroupGloo::Options::create(options_.timeout);
  std::string interfaces = options_.interface;
  if (interfaces.empty())
    if (const char* env = std::getenv("GLOO_SOCKET_IFNAME")) interfaces = env;
  if (!interfaces.empty()) {
    std::stringstream list(interfaces);
    std::string name;
    while (std::getline(list, name, ','))
      opts->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForInterface(name));
  } else if (master_addr_.empty() || is_loopback(master_addr_)) {
    opts->devices.push_back(
        c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  impl_ = std::make_unique<Impl>();
  impl_->store = store;
  try {
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        store, rank_, world_size_, opts);
  } catch (const std::exception& e) {
    throw Error("cannot join the process group as rank " +
                std::to_string(rank_) + " of " + std::to_string(world_size_) +
                ": " + e.what());
  }
}

DataParallel::DataParallel(const DistEnv& env, DataParallelOptions options)
    : rank_(env.rank),
      world_size_(env.world_size),
      options_(std::move(options)),
      master_addr_(env.master_addr) {
  c10d::TCPStoreOptions store_opts;
  store_opts.port = static_cast<std::uint16_t>(env.master_port);
  const bool serving = env.rank == 0 && !env.agent_store;
  store_opts.isServer = serving;
  store_opts.numWorkers = env.world_size;
  store_opts.waitWorkers = false;  // the process group waits for everyone
  store_opts.timeout = options_.timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, store_opts);
  } catch (const std::exception& e) {
    throw Error(std::string(serving ? "cannot serve" : "cannot reach") +
                " the rendezvous store at " + env.master_addr + ":" +
                std::to_string(env.master_port) + " (MASTER_ADDR:MASTER_PORT" +
                (serving ? "; is the port already in use?" : "") +
                "): " + e.what());
  }
  if (env.agent_store)
    store = c10::make_intrusive<c10d::PrefixStore>(
        "/worker/attempt_" + std::to_string(env.restart_count), store);
  init(store);
}

DataParallel::DataParallel(c10::intrusive_ptr<c10d::Store> store, int rank,
                           int world_size, DataParallelOptions options)
    : rank_(rank), world_size_(world_size), options_(std::move(options)) {
  init(std::move(store));
}

DataParallel::~DataParallel() = default;

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> sources;
  for (const auto& t : tensors) sources.push_back(t.detach());
  impl_->bucketed(
      sources, sources, options_.bucket_bytes,
      [&](torch::Tensor& flat) {
        std::vector<torch::Tensor> one{flat};
        return impl_->group->broadcast(one);  // root 0 by default
      },
      nullptr);
}

void DataParallel::average_gradients(
    const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> grads, outputs;
  for (const auto& p : parameters) {
    if (!p.requires_grad()) continue;
    const auto& g = p.grad();
    grads.push_back(g.defined() ? g : torch::zeros_like(p));
    outputs.push_back(g);
  }
  const double world = world_size_;
  impl_->bucketed(
      grads, outputs, options_.bucket_bytes,
      [&](torch::Tensor& flat) {
        std::vector<torch::Tensor> one{flat};
        return impl_->group->allreduce(one);  // sum
      },
      [&](torch::Tensor& flat) { flat.div_(world); });
}

std::vector<double> DataParallel::average(const std::vector<double>& values) {
  if (values.empty()) return {};
  std::vector<torch::Tensor> one{torch::tensor(values, torch::kFloat64)};
  Impl::wait(impl_->group->allreduce(one));
  auto sum = one[0].contiguous();
  std::vector<double> out(values.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = sum[i].item<double>() / world_size_;
  return out;
}

bool DataParallel::any(bool flag) { return average({flag ? 1.0 : 0.0})[0] > 0; }

void DataParallel::barrier() { Impl::wait(impl_->group->barrier()); }

#else  // no Gloo in this build: every constructor explains

struct DataParallel::Impl {};

namespace {
[[noreturn]] void no_gloo() {
  throw Error(
      "this build of neuralart has no distributed training: the Gloo "
      "headers were not found when it was configured (Debian: apt-get "
      "install libgloo-dev, then reconfigure and rebuild)");
}
}  // namespace

void DataParallel::init(c10::intrusive_ptr<c10d::Store>) { no_gloo(); }
DataParallel::DataParallel(const DistEnv& env, DataParallelOptions options)
    : options_(std::move(options)) {
  no_gloo();
}
DataParallel::DataParallel(c10::intrusive_ptr<c10d::Store>, int, int,
                           DataParallelOptions options)
    : options_(std::move(options)) {
  no_gloo();
}
DataParallel::~DataParallel() = default;
void DataParallel::broadcast(const std::vector<torch::Tensor>&) { no_gloo(); }
void DataParallel::average_gradients(const std::vector<torch::Tensor>&) {
  no_gloo();
}
std::vector<double> DataParallel::average(const std::vector<double>&) {
  no_gloo();
}
bool DataParallel::any(bool) { no_gloo(); }
void DataParallel::barrier() { no_gloo(); }

#endif  // NEURALART_WITH_GLOO

void DataParallel::broadcast_module(torch::nn::Module& module) {
  auto tensors = module.parameters();
  for (auto& b : module.buffers()) tensors.push_back(b);
  broadcast(tensors);
}

void DataParallel::broadcast_buffers(torch::nn::Module& module) {
  auto buffers = module.buffers();
  if (!buffers.empty()) broadcast(buffers);
}

void DataParallel::average_gradients(torch::nn::Module& module) {
  average_gradients(module.parameters());
}

}  // namespace neuralart
