// Whole-system benchmark subcommands of the `bridgeport` binary. They are tools, not tests: they
// print measurements and never assert on timings.
//
//   bridgeport bench-sink   a fast keep-alive HTTP sink that counts what it receives
//   bridgeport bench-ingest a PutEvents load generator (raw HTTP/1.1 keep-alive, one thread per
//                           connection), optionally preparing
//                           bus/connection/destination/rule/target
//
// Both take the arguments after the subcommand name and return a process exit code (0 ok, 1 run
// failure, 2 usage error).
#pragma once

namespace bp::server {

int RunBenchSink(int argc, char** argv);
int RunBenchIngest(int argc, char** argv);

}  // namespace bp::server
