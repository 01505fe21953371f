// Standalone SQS endpoint for end-to-end tests of the frontend (not the product binary).
#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>

#include "api/sqs/sqs_frontend.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "http/server.h"
#include "store/store.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: bp_sqs_test_server <store dir>\n";
    return 2;
  }
  auto store = bp::store::OpenRocksStore({.path = argv[1]});
  if (!store.ok()) {
    std::cerr << store.status().ToString() << "\n";
    return 1;
  }
  auto queues = bp::queue::QueueService::Open(**store, bp::RealClock::Get(), {});
  if (!queues.ok()) {
    std::cerr << queues.status().ToString() << "\n";
    return 1;
  }
  bp::api::sqs::SqsFrontend frontend(**queues, {});
  auto server = bp::http::NewServer({.host = "127.0.0.1", .port = 0, .io_threads = 2});
  bp::Status started = server->Start([&](bp::http::Request&& req, bp::http::Responder respond) {
    if (!bp::api::sqs::SqsFrontend::Accepts(req)) {
      respond(bp::http::Response::Text(404, "not an SQS request"));
      return;
    }
    frontend.Handle(std::move(req), bp::NewUuid(), std::move(respond));
  });
  if (!started.ok()) {
    std::cerr << started.ToString() << "\n";
    return 1;
  }
  std::cout << "PORT " << server->port() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  server->Stop();
  return 0;
}
