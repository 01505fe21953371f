#!/usr/bin/env bash
# Durable ingest benchmark (docs/benchmarks-delivery.md, "Durable ingest").
#
# Starts a bench-sink and a fresh `bridgeport serve` (fsync on), prepares one bus with one rule
# whose target is an unthrottled API destination pointing at the sink, then:
#   1. closed loop for $DURATION s: PutEvents of $ENTRIES x $EVENT_BYTES B -> acknowledged events/s
#      (per-thread CPU of the server and, if perf works, a profile are recorded meanwhile);
#   2. open loop at half of that rate for $HALF_DURATION s -> ack latency p50/p99.
# Every process it starts is stopped by PID on exit. Results go to stdout and $WORK.
#
# Env: BIN (bridgeport binary), DURATION (60), HALF_DURATION (30), WARMUP (5), CONNECTIONS (32),
#      ENTRIES (10), EVENT_BYTES (1024), IO_THREADS (0 = server default), NO_FSYNC (unset),
#      PERF (1: record a cpu-clock profile for 10 s), WORK (scratch dir).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$here/../BUILD-bench/bridgeport}
DURATION=${DURATION:-60}
HALF_DURATION=${HALF_DURATION:-30}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-32}
ENTRIES=${ENTRIES:-10}
EVENT_BYTES=${EVENT_BYTES:-1024}
IO_THREADS=${IO_THREADS:-0}
PERF=${PERF:-1}
WORK=${WORK:-$(mktemp -d /tmp/bp-ingest-bench.XXXXXX)}
mkdir -p "$WORK"

. "$(dirname "$0")/lib.sh"



fsync_flag=()
[[ -n "${NO_FSYNC:-}" ]] && fsync_flag=(--no-fsync-for-benchmarks-only)

# start_stack NAME: a fresh sink + server (data in $WORK/NAME) prepared with --setup.
start_stack() {
  "$BIN" bench-sink --listen 127.0.0.1:0 --threads 1 >"$WORK/$1-sink.out" 2>&1 &
  pids+=($!)
  sink_pid=$!
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/$1-data" --log-level warn \
    --io-threads "$IO_THREADS" "${fsync_flag[@]}" >"$WORK/$1-serve.out" 2>"$WORK/$1-serve.err" &
  pids+=($!)
  server_pid=$!
  sink_port=$(wait_for_line "$WORK/$1-sink.out" '^PORT=' | cut -d= -f2)
  server_port=$(wait_for_line "$WORK/$1-serve.out" 'listening on' | sed 's/.*://')
  endpoint=http://127.0.0.1:$server_port
  echo "# $1: server pid $server_pid port $server_port; sink pid $sink_pid port $sink_port"
  "$BIN" bench-ingest --endpoint "$endpoint" --setup --sink-url "http://127.0.0.1:$sink_port/events" \
    --dest-rate 100000 --duration 0
}

stop_stack() {
  kill "$server_pid" "$sink_pid"
  wait "$server_pid" "$sink_pid" || true
}

echo "# work dir $WORK"
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown), fsync ${NO_FSYNC:+off}${NO_FSYNC:-on}"
start_stack max

echo "## 1. closed loop, $CONNECTIONS connections, $DURATION s ($WARMUP s warm-up excluded)"
"$BIN" bench-ingest --endpoint "$endpoint" --connections "$CONNECTIONS" --duration "$DURATION" \
  --warmup "$WARMUP" --entries "$ENTRIES" --event-bytes "$EVENT_BYTES" >"$WORK/max.out" &
load_pid=$!
pids+=($load_pid)
sleep "$((WARMUP + 2))"
thread_cpu "$server_pid" 10 | tee "$WORK/threads.txt"
if [[ "$PERF" == 1 ]] && command -v perf >/dev/null; then
  if perf record -q -F 499 -e cpu-clock -g -p "$server_pid" -o "$WORK/perf.data" -- sleep 10 \
       >/dev/null 2>&1; then
    report=(perf report -i "$WORK/perf.data" --stdio --no-children -g none)
    echo "server profile (perf, cpu-clock, 10 s), share of samples by thread:"
    { "${report[@]}" --sort pid 2>/dev/null | grep -E '^ +[0-9]' | head -8 || true; } |
      tee "$WORK/perf-threads.txt"
    for tid in $(awk '{print $2}' "$WORK/perf-threads.txt" | cut -d: -f1 | head -6); do
      echo "  top symbols of tid $tid (outside libc/kernel):"
      { "${report[@]}" --tid "$tid" --sort dso,sym 2>/dev/null | grep -E '^ +[0-9]' |
          grep -vE 'libc.so|kernel' | head -5 || true; } | cut -c1-110 | sed 's/ *$//; s/^/    /'
    done
  fi
fi
wait "$load_pid" || true
grep -E '^t=' "$WORK/max.out" | tr '\n' ' ' | fold -w 200; echo
max_line=$(grep '^events_per_sec=' "$WORK/max.out")
echo "RESULT max: $max_line"
max_eps=$(sed 's/^events_per_sec=\([0-9]*\).*/\1/' <<<"$max_line")
echo "server VmRSS after max run: $(grep VmRSS /proc/$server_pid/status | awk '{print $2/1024 " MB"}')"
curl -s "$endpoint/metrics" | grep -E '^bridgeport_store_commit_seconds_(sum|count)' | tr '\n' ' '; echo

echo "sink: $(curl -s "http://127.0.0.1:$sink_port/_stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("received", d["total"], "deliveries; per second:", d["per_second"])')"
stop_stack

# The half-load run uses a fresh server: the first run leaves a delivery backlog behind that would
# compete for the CPU.
start_stack half
half=$((max_eps / 2))
echo "## 2. open loop at $half events/s (half of max), $HALF_DURATION s"
"$BIN" bench-ingest --endpoint "$endpoint" --connections "$CONNECTIONS" --duration "$HALF_DURATION" \
  --warmup "$WARMUP" --rate "$half" --entries "$ENTRIES" --event-bytes "$EVENT_BYTES" --quiet \
  >"$WORK/half.out"
echo "RESULT half: $(grep '^events_per_sec=' "$WORK/half.out")"
echo "sink: $(curl -s "http://127.0.0.1:$sink_port/_stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("received", d["total"], "deliveries; per second:", d["per_second"])')"
curl -s "$endpoint/metrics" | grep -E '^bridgeport_(store_commit_seconds_(sum|count)|destination_backlog)' | tr '\n' ' '; echo
