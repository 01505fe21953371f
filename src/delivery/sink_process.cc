#include "delivery/sink_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace bp::delivery::testing {

StatusOr<std::unique_ptr<SinkProcess>> SinkProcess::Start(
    const std::string& script, const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"python3", script, "--port", "0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) return Status::IoError("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return Status::IoError("fork failed");
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execvp("python3", argv.data());
    _exit(127);
  }
  close(fds[1]);
  auto proc = std::make_unique<SinkProcess>(pid, 0);
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fds[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[64];
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  // The sink writes nothing else to stdout; closing our end is safe.
  close(fds[0]);
  if (line.rfind("PORT=", 0) != 0) return Status::Internal("sink did not report a port: " + line);
  proc->port_ = std::stoi(line.substr(5));
  return proc;
}

SinkProcess::~SinkProcess() {
  kill(pid_, SIGTERM);
  for (int i = 0; i < 500; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

}  // namespace bp::delivery::testing
