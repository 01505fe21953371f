#include "pattern/bench_match.h"

int main(int argc, char** argv) { return bp::pattern::RunBenchMatch(argc, argv); }
