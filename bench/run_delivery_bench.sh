#!/usr/bin/env bash
# Delivery benchmarks (docs/benchmarks-delivery.md): latency, backlog, drain, throughput, wrk.
#
# One fresh `bridgeport serve` (fsync on) and one bench-sink; bench-ingest --setup prepares bus
# "bench" -> rule -> API destination (API_KEY connection) -> sink. Then:
#   1. latency: open loop at $LAT_RATE events/s for $LAT_DURATION s; ingestion-to-invocation
#      p50/p99 from the server's histogram (delta over the run, interpolated inside buckets);
#   2. backlog: the connection is deauthorized (deliveries park), $BACKLOG events are ingested;
#      server VmRSS is sampled while they accumulate and once they are all parked;
#   3. limited drain: the destination limit is set to $DRAIN_RATE/s and the connection is
#      re-authorized; sink arrivals per second over $DRAIN_SECONDS s vs the limit;
#   4. unthrottled drain: the limit is raised to 100000/s; sink arrivals per second over
#      $FAST_SECONDS s = end-to-end deliveries/s (server thread CPU and sink connections recorded);
#   5. wrk POSTing a similar body to the same sink with the same number of connections.
# Every process it starts is stopped by PID on exit.
#
# Env: BIN, WORK, LAT_RATE (5000), LAT_DURATION (30), BACKLOG (1000000), DRAIN_RATE (5000),
#      DRAIN_SECONDS (30), FAST_SECONDS (30), WRK_SECONDS (15), CONNECTIONS (16, bench-ingest).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$here/../BUILD-bench/bridgeport}
WORK=${WORK:-$(mktemp -d /tmp/bp-delivery-bench.XXXXXX)}
LAT_RATE=${LAT_RATE:-5000}
LAT_DURATION=${LAT_DURATION:-30}
BACKLOG=${BACKLOG:-1000000}
DRAIN_RATE=${DRAIN_RATE:-5000}
DRAIN_SECONDS=${DRAIN_SECONDS:-30}
FAST_SECONDS=${FAST_SECONDS:-30}
WRK_SECONDS=${WRK_SECONDS:-15}
CONNECTIONS=${CONNECTIONS:-16}
mkdir -p "$WORK"

. "$(dirname "$0")/lib.sh"


# ctl OP JSON: one events-API call; prints the reply, fails on an error status.
ctl() {
  curl -sf -X POST "$endpoint/" -H "X-Amz-Target: AWSEvents.$1" \
    -H 'Content-Type: application/x-amz-json-1.1' -d "$2"
}

metric() { curl -s "$endpoint/metrics" | grep -E "^$1" | awk '{s+=$2} END {printf "%d", s}'; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$server_pid/status"; }
hwm_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$server_pid/status"; }
sink_stats() { curl -s "http://127.0.0.1:$sink_port/_stats"; }

# quantiles BEFORE AFTER: p50/p90/p99 of the ingestion_to_invocation histogram between snapshots.
quantiles() {
  python3 - "$1" "$2" <<'EOF'
import re, sys
def load(path):
    b = {}
    for line in open(path):
        # One series per destination: sum them bucket by bucket.
        m = re.match(r'bridgeport_ingestion_to_invocation_seconds_bucket\{(?:[^}]*,)?le="([^"]+)"\} (\S+)', line)
        if m:
            le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
            b[le] = b.get(le, 0) + float(m.group(2))
    return b
a, b = load(sys.argv[1]), load(sys.argv[2])
les = sorted(b)
cum = [b[le] - a.get(le, 0) for le in les]
n = cum[-1]
out = [f"n={int(n)}"]
for q in (0.5, 0.9, 0.99):
    want, lo, prev = q * n, 0.0, 0.0
    for le, c in zip(les, cum):
        if c >= want:
            hi = le if le != float("inf") else lo
            frac = (want - prev) / (c - prev) if c > prev else 1
            out.append(f"p{int(q*100)}_ms={1000 * (lo + (hi - lo) * frac):.2f}")
            break
        lo, prev = le, c
print(" ".join(out))
EOF
}

# per_second_report JSON_FILE FIRST LAST LIMIT: sink arrivals per second in [FIRST, LAST).
per_second_report() {
  python3 - "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); first, last, limit = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = d["per_second"][first:last]
if not s:
    print("no complete seconds"); sys.exit()
mean = sum(s) / len(s)
print(f"seconds={len(s)} mean_per_sec={mean:.0f} min={min(s)} max={max(s)} limit={limit:.0f} "
      f"mean/limit={mean / limit:.3f} seconds_over_limit={sum(1 for x in s if x > limit)}")
print("per second:", s)
EOF
}


"$BIN" bench-sink --listen 127.0.0.1:0 --threads 1 >"$WORK/sink.out" 2>&1 &
pids+=($!)
sink_pid=$!
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --log-level warn >"$WORK/serve.out" \
  2>"$WORK/serve.err" &
pids+=($!)
server_pid=$!
sink_port=$(wait_for_line "$WORK/sink.out" '^PORT=' | cut -d= -f2)
server_port=$(wait_for_line "$WORK/serve.out" 'listening on' | sed 's/.*://')
endpoint=http://127.0.0.1:$server_port
sink_url=http://127.0.0.1:$sink_port/events
echo "# work dir $WORK; server pid $server_pid port $server_port; sink pid $sink_pid port $sink_port"
echo "# $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$BIN" bench-ingest --endpoint "$endpoint" --setup --sink-url "$sink_url" --dest-rate 100000 --duration 0
conn_arn=$(ctl DescribeConnection '{"Name":"bench-conn"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["ConnectionArn"])')
set_rate() {
  ctl UpdateApiDestination "{\"Name\":\"bench-dest\",\"ConnectionArn\":\"$conn_arn\",\"InvocationEndpoint\":\"$sink_url\",\"HttpMethod\":\"POST\",\"InvocationRateLimitPerSecond\":$1}" >/dev/null
}

echo "## 1. ingestion-to-invocation latency at $LAT_RATE events/s ($LAT_DURATION s, open loop)"
curl -s "$endpoint/metrics" >"$WORK/lat-before.txt"
"$BIN" bench-ingest --endpoint "$endpoint" --rate "$LAT_RATE" --duration "$LAT_DURATION" \
  --connections 8 --quiet | sed 's/^/ack: /'
for _ in $(seq 1 50); do [[ "$(metric 'bridgeport_destination_backlog\{.*ready')" == 0 ]] && break; sleep 0.1; done
curl -s "$endpoint/metrics" >"$WORK/lat-after.txt"
echo "RESULT latency (ingestion to first attempt start): $(quantiles "$WORK/lat-before.txt" "$WORK/lat-after.txt")"

echo "## 2. backlog of $BACKLOG parked deliveries"
ctl DeauthorizeConnection '{"Name":"bench-conn"}' >/dev/null
echo "connection state: $(ctl DescribeConnection '{"Name":"bench-conn"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["ConnectionState"])')"
echo "server VmRSS before: $(rss_mb) MB"
sink_before=$(sink_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
"$BIN" bench-ingest --endpoint "$endpoint" --events "$BACKLOG" --duration 3600 \
  --connections "$CONNECTIONS" --quiet >"$WORK/backlog-ingest.out" &
ingest_pid=$!
pids+=($ingest_pid)
while kill -0 "$ingest_pid" 2>/dev/null; do
  echo "  t=$(date +%s) VmRSS=$(rss_mb) MB parked=$(metric 'bridgeport_destination_backlog\{.*parked')"
  sleep 10
done
wait "$ingest_pid" || true
echo "ingest: $(cat "$WORK/backlog-ingest.out")"
sleep 1
parked=$(metric 'bridgeport_destination_backlog\{.*parked')
sink_after=$(sink_stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "RESULT backlog: parked=$parked VmRSS=$(rss_mb) MB VmHWM=$(hwm_mb) MB sink_received_while_parked=$((sink_after - sink_before)) store=$(du -sm "$WORK/data" | cut -f1) MB"

echo "## 3. drain at the configured limit $DRAIN_RATE/s for $DRAIN_SECONDS s"
set_rate "$DRAIN_RATE"
t0=$(sink_stats | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["per_second"]))')
ctl UpdateConnection '{"Name":"bench-conn","AuthorizationType":"API_KEY","AuthParameters":{"ApiKeyAuthParameters":{"ApiKeyName":"x-bench-key","ApiKeyValue":"bench"}}}' >/dev/null
sleep "$((DRAIN_SECONDS + 2))"
sink_stats >"$WORK/drain.json"
# Skip the first (partial) second after re-authorizing.
echo "RESULT limited drain: $(per_second_report "$WORK/drain.json" "$((t0 + 1))" "$((t0 + 1 + DRAIN_SECONDS))" "$DRAIN_RATE")"
echo "VmRSS while draining: $(rss_mb) MB"

echo "## 4. unthrottled drain (limit 100000/s) for $FAST_SECONDS s"
set_rate 100000
t0=$(sink_stats | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["per_second"]))')
sleep 3
thread_cpu "$server_pid" 5 | sed 's/^/server /'
thread_cpu "$sink_pid" 5 | sed 's/^/sink /'
sink_conns=$(ss -Htn state established "( dport = :$sink_port )" | wc -l)
echo "server->sink connections established: $sink_conns"
sleep "$((FAST_SECONDS > 13 ? FAST_SECONDS - 13 : 1))"
sink_stats >"$WORK/fast.json"
echo "RESULT unthrottled delivery: $(per_second_report "$WORK/fast.json" "$((t0 + 1))" "$((t0 + FAST_SECONDS))" 100000 | head -1)"
per_second_report "$WORK/fast.json" "$((t0 + 1))" "$((t0 + FAST_SECONDS))" 100000 | tail -1
echo "attempt results: $(curl -s "$endpoint/metrics" | grep -E '^bridgeport_invocation_attempts_total' | tr '\n' ' ')"

echo "## 5. wrk against the same sink, $sink_conns connections, $WRK_SECONDS s"
# The server stops first so that wrk has the machine to itself like the engine had.
kill "$server_pid"
wait "$server_pid" || true
if command -v wrk >/dev/null; then
  body=$(head -c 1300 /dev/zero | tr '\0' 'x')
  cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json; charset=utf-8"
wrk.body = '{"pad":"$body"}'
EOF
  wrk -t 1 -c "$((sink_conns > 0 ? sink_conns : 1))" -d "${WRK_SECONDS}s" -s "$WORK/post.lua" \
    "$sink_url" | tee "$WORK/wrk.out"
else
  echo "wrk not installed (apt-get install wrk)"
fi
echo "sink: $(sink_stats | python3 -c 'import json,sys; print("total", json.load(sys.stdin)["total"])')"
