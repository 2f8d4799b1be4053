// neuralart-train launch: runs a training command in N local processes
// with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT), forwards Ctrl-C to them, and stops them all when one fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli.h"
#include "neuralart/error.h"

extern char** environ;

namespace neuralart::cli {
namespace {

constexpr int kMaxProcesses = 256;
constexpr auto kGracePeriod = std::chrono::seconds(10);  // then SIGKILL

// Read by the signal handler: plain arrays and sig_atomic_t only.
pid_t g_children[kMaxProcesses];
volatile sig_atomic_t g_child_count = 0;
volatile sig_atomic_t g_signal = 0;

extern "C" void forward_signal(int sig) {
  g_signal = sig;
  for (int i = 0; i < g_child_count; ++i)
    if (g_children[i] > 0) kill(g_children[i], sig);
}

// A TCP port that is free on the loopback interface right now.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    throw Error("cannot find a free TCP port (" + why +
                "); give one with --master-port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// The parent's environment without the variables a launcher sets.
std::vector<std::string> inherited_environment() {
  static const char* const kOwn[] = {
      "RANK=",        "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=",
      "MASTER_ADDR=", "MASTER_PORT="};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    if (std::none_of(std::begin(kOwn), std::end(kOwn),
                     [&](const char* own) { return entry.rfind(own, 0) == 0; }))
      env.push_back(entry);
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string exit_description(int status) {
  if (WIFSIGNALED(status))
    return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  return "exit code " + std::to_string(WEXITSTATUS(status));
}

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int run_launch(const std::vector<std::string>& args) {
  int nproc = 0, master_port = 0;
  po::options_description options("launch options");
  options.add_options()("nproc", po::value(&nproc)->required(),
                        "number of processes (ranks) to start, [1, 256]")(
      "master-port", po::value(&master_port)->default_value(0),
      "TCP port of rank 0's rendezvous on 127.0.0.1, [0, 65535] (0: pick "
      "a free one)");
  // Launch's own options end at "--" or at the first word that is not one
  // of them or its value: the command.
  auto split = std::find(args.begin(), args.end(), "--");
  auto command_start = split == args.end() ? split : split + 1;
  if (split == args.end())
    for (auto it = args.begin(); it != args.end(); ++it) {
      if (*it == "--nproc" || *it == "--master-port") {
        if (++it == args.end()) break;
      } else if (it->empty() || it->front() != '-') {
        split = command_start = it;
        break;
      }
    }
  std::vector<std::string> own(args.begin(), split);
  std::vector<std::string> command(command_start, args.end());
  po::variables_map vm;
  if (!parse("launch",
             "--nproc N [--master-port P] [--] COMMAND [OPTIONS]\n\n"
             "Runs 'neuralart-train COMMAND [OPTIONS]' in N processes on this "
             "machine for data-parallel training, each with RANK, "
             "WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1 and "
             "MASTER_PORT set as torchrun sets them. Ctrl-C reaches every "
             "process (they stop at the same step and rank 0 saves a "
             "checkpoint); when one process fails the others are stopped "
             "and launch exits with its code. Example:\n"
             "  neuralart-train launch --nproc 2 -- gan --out RUN --batch 64 "
             "--threads 4\n"
             "See docs/distributed.md for Slurm, Kubernetes and torchrun.",
             options, {}, own, vm))
    return kExitOk;
  check_range("nproc", nproc, 1, kMaxProcesses);
  check_range("master-port", master_port, 0, 65535);
  if (command.empty())
    throw UsageError(
        "give the command to run, e.g. launch --nproc 2 -- gan --out RUN");
  if (command.front() == "launch")
    throw UsageError("the command after -- cannot be launch itself");
  if (master_port == 0) master_port = free_port();

  const std::string exe = std::filesystem::read_symlink("/proc/self/exe");
  std::vector<std::string> argv_strings{exe};
  argv_strings.insert(argv_strings.end(), command.begin(), command.end());
  auto argv = c_strings(argv_strings);
  // Everything the children need is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::vector<std::string>> envs(nproc, inherited_environment());
  for (int rank = 0; rank < nproc; ++rank) {
    auto& env = envs[rank];
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(master_port));
  }
  std::cerr << "launch: " << nproc << " processes of '" << command.front()
            << "', rendezvous at 127.0.0.1:" << master_port << "\n";

  sigset_t block, previous;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  // No forwarding until every child is recorded.
  sigprocmask(SIG_BLOCK, &block, &previous);
  std::signal(SIGINT, forward_signal);
  std::signal(SIGTERM, forward_signal);
  const pid_t parent = getpid();
  for (int rank = 0; rank < nproc; ++rank) {
    auto envp = c_strings(envs[rank]);
    const pid_t pid = fork();
    if (pid < 0) {
      const std::string why = std::strerror(errno);
      forward_signal(SIGTERM);
      sigprocmask(SIG_SETMASK, &previous, nullptr);
      throw Error("cannot start rank " + std::to_string(rank) + ": " + why);
    }
    if (pid == 0) {
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // do not outlive launch
      if (getppid() != parent) _exit(1);
      sigprocmask(SIG_SETMASK, &previous, nullptr);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    g_children[rank] = pid;
    g_child_count = rank + 1;
  }
  sigprocmask(SIG_SETMASK, &previous, nullptr);

  // Wait for all; on the first failure stop the others (SIGTERM, then
  // SIGKILL after a grace period). After Ctrl-C, exit code 130 is a rank
  // stopping as asked (rank 0 may still be saving): not a failure.
  int alive = nproc, failed_rank = -1, failed_status = 0, interrupted = 0;
  std::chrono::steady_clock::time_point kill_at{};
  while (alive > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (failed_rank >= 0 && std::chrono::steady_clock::now() > kill_at)
        for (int i = 0; i < nproc; ++i)
          if (g_children[i] > 0) kill(g_children[i], SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    const int rank = static_cast<int>(
        std::find(g_children, g_children + nproc, pid) - g_children);
    if (rank >= nproc) continue;
    g_children[rank] = 0;
    --alive;
    if (g_signal != 0 && exit_code(status) == 130) interrupted = 130;
    if (exit_code(status) == 0 || interrupted || failed_rank >= 0) continue;
    failed_rank = rank;
    failed_status = status;
    kill_at = std::chrono::steady_clock::now() + kGracePeriod;
    for (int i = 0; i < nproc; ++i)
      if (g_children[i] > 0) kill(g_children[i], SIGTERM);
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (failed_rank >= 0) {
    std::cerr << "launch: rank " << failed_rank << " of " << nproc
              << " failed (" << exit_description(failed_status)
              << "); stopped the other ranks\n";
    return exit_code(failed_status);
  }
  return interrupted;
}

}  // namespace neuralart::cli
