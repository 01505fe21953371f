// bridgeport: the server binary and its benchmark subcommands.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>

#include "common/log.h"
#include "pattern/bench_match.h"
#include "server/app.h"
#include "server/bench_commands.h"
#include "server/config.h"

namespace {

int Serve(int argc, char** argv) {
  auto config = bp::server::ParseServeFlags(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "bridgeport: %s\n", config.status().message().c_str());
    return 2;
  }
  bp::log::Level level;
  if (!bp::log::ParseLevel(config->log_level, &level)) {
    std::fprintf(stderr, "bridgeport: unknown log level '%s'\n", config->log_level.c_str());
    return 2;
  }
  bp::log::SetLevel(level);
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto app = bp::server::App::Start(*config);
  if (!app.ok()) {
    bp::log::Error("server", "failed to start", {{"error", app.status().ToString()}});
    return 1;
  }
  std::printf("bridgeport listening on %s:%u\n", config->listen_host.c_str(), (*app)->port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  bp::log::Info("server", "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*app)->Stop();
  bp::log::Info("server", "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(bp::server::UsageText().c_str(), stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(bp::server::UsageText().c_str(), stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::puts("bridgeport 0.1.0");
    return 0;
  }
  if (cmd == "serve") return Serve(argc - 2, argv + 2);
  if (cmd == "bench-ingest") return bp::server::RunBenchIngest(argc - 2, argv + 2);
  if (cmd == "bench-sink") return bp::server::RunBenchSink(argc - 2, argv + 2);
  if (cmd == "bench-match") return bp::pattern::RunBenchMatch(argc - 1, argv + 1);
  std::fprintf(stderr, "bridgeport: unknown command '%s' (see bridgeport --help)\n", argv[1]);
  return 2;
}
