#!/usr/bin/env bash
# Soak run: a fixed open-loop PutEvents load against one server that delivers every event to a
# bench-sink, for a chosen time, sampling the server every INTERVAL seconds into a CSV and ending
# with a summary (docs/benchmarks.md, "Soak"). The point is drift: RSS that keeps growing, errors
# that appear after a while, latency that creeps up, a backlog that never drains.
#
#   RATE=5000 DURATION=1800 bench/soak.sh         # the recorded 30-minute run (half load)
#   RATE=500 DURATION=60 INTERVAL=5 bench/soak.sh # a short smoke run
#
# Env: BIN (bridgeport binary), WORK (work dir, default a new /tmp dir), RATE (events/s, 5000),
#      DURATION (s, 1800), INTERVAL (s, 10), CONNECTIONS (bench-ingest connections, 16),
#      EVENT_BYTES (1024), SERVER_ARGS (extra `serve` flags).
# Output: $WORK/soak.csv (one row per sample), $WORK/summary.txt (also printed). Exit status 1
# when an error was counted or (runs of 10 min or more) RSS grew by more than 10 % over the second
# half of the run.
# Every process it starts is stopped by PID on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$here/../BUILD/bridgeport}
WORK=${WORK:-$(mktemp -d /tmp/bp-soak.XXXXXX)}
RATE=${RATE:-5000}
DURATION=${DURATION:-1800}
INTERVAL=${INTERVAL:-10}
CONNECTIONS=${CONNECTIONS:-16}
EVENT_BYTES=${EVENT_BYTES:-1024}
SERVER_ARGS=${SERVER_ARGS:-}
mkdir -p "$WORK"

. "$here/lib.sh"

"$BIN" bench-sink --listen 127.0.0.1:0 --threads 1 >"$WORK/sink.out" 2>&1 &
pids+=($!)
# shellcheck disable=SC2086  # SERVER_ARGS is a list of flags
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --log-level warn $SERVER_ARGS \
  >"$WORK/serve.out" 2>"$WORK/serve.err" &
pids+=($!)
server_pid=$!
sink_port=$(wait_for_line "$WORK/sink.out" '^PORT=' | cut -d= -f2)
server_port=$(wait_for_line "$WORK/serve.out" 'listening on' | sed 's/.*://')
endpoint=http://127.0.0.1:$server_port
echo "# soak: rate=$RATE/s duration=${DURATION}s interval=${INTERVAL}s work=$WORK"
echo "# $(nproc) cores, commit $(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$BIN" bench-ingest --endpoint "$endpoint" --setup --sink-url "http://127.0.0.1:$sink_port/events" \
  --dest-rate 100000 --duration 0 2>&1 | sed 's/^/# /'

"$BIN" bench-ingest --endpoint "$endpoint" --rate "$RATE" --duration "$DURATION" \
  --connections "$CONNECTIONS" --event-bytes "$EVENT_BYTES" >"$WORK/ingest.out" \
  2>"$WORK/ingest.err" &
ingest_pid=$!
pids+=($ingest_pid)

# One sample: a row of the CSV from /proc, /metrics (deltas against the previous scrape), the
# sink's counter, bench-ingest's per-second lines and one timed PutEvents probe.
sample() {
  local now=$1 prev_metrics=$2 cur_metrics=$3 ingest_line_from=$4
  local probe_ms
  probe_ms=$(curl -s -o /dev/null -w '%{time_total}' -X POST "$endpoint/" \
    -H 'X-Amz-Target: AWSEvents.PutEvents' -H 'Content-Type: application/x-amz-json-1.1' \
    -d '{"Entries":[{"Source":"soak.probe","DetailType":"probe","Detail":"{}"}]}' |
    awk '{printf "%.2f", $1 * 1000}')
  python3 - "$now" "$server_pid" "$prev_metrics" "$cur_metrics" "$WORK/ingest.out" \
    "$ingest_line_from" "$probe_ms" "$sink_port" "$WORK/data" <<'EOF'
import json, os, re, sys, urllib.request
now, pid, prev_path, cur_path, ingest_path, line_from, probe_ms, sink_port, data = sys.argv[1:]
def proc(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0
def load(path):
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        m = re.match(r'^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)', line)
        if m and not line.startswith("#"):
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out
prev, cur = load(prev_path), load(cur_path)
def total(prefix, series=cur):
    return sum(v for k, v in series.items() if k.split("{")[0] == prefix)
def delta(prefix):
    return total(prefix, cur) - total(prefix, prev)
def quantile(name, q):
    buckets = {}
    for k, v in cur.items():
        m = re.match(name + r'_bucket\{.*le="([^"]+)"', k)
        if m:
            le = float("inf") if m.group(1) == "+Inf" else float(m.group(1))
            buckets[le] = buckets.get(le, 0) + v - prev.get(k, 0)
    les = sorted(buckets)
    if not les or buckets[les[-1]] <= 0:
        return ""
    want, lo, before = q * buckets[les[-1]], 0.0, 0.0
    for le in les:
        if buckets[le] >= want:
            hi = le if le != float("inf") else lo
            frac = (want - before) / (buckets[le] - before) if buckets[le] > before else 1
            return "%.2f" % (1000 * (lo + (hi - lo) * frac))
        lo, before = le, buckets[le]
    return ""
lines = open(ingest_path).read().splitlines()[int(line_from):]
per_sec = [int(m.group(1)) for l in lines for m in [re.search(r"events_per_sec=(\d+)", l)] if m
           and l.startswith("t=")]
acked = round(sum(per_sec) / len(per_sec)) if per_sec else 0
failed = sum(int(m.group(1)) for l in lines for m in [re.search(r"failed=(\d+)", l)] if m
             and l.startswith("t="))
try:
    sink = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sink_port}/_stats", timeout=5))
    sink_total = sink.get("total", 0)
except Exception:
    sink_total = ""
store_mb = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(data) for f in fs) >> 20
fds = len(os.listdir(f"/proc/{pid}/fd"))
row = [now, round(proc("VmRSS") / 1024, 1), round(proc("VmHWM") / 1024, 1), fds, proc("Threads"),
       acked, failed, int(delta("bridgeport_putevents_entries_failed_total")),
       int(delta("bridgeport_invocation_failures_total")), int(delta("bridgeport_dlq_sends_total")),
       int(total("bridgeport_destination_backlog")), sink_total,
       quantile("bridgeport_store_commit_seconds", 0.5),
       quantile("bridgeport_store_commit_seconds", 0.99),
       quantile("bridgeport_ingestion_to_invocation_seconds", 0.99), probe_ms, store_mb]
print(",".join(str(x) for x in row))
EOF
}

csv=$WORK/soak.csv
echo "t_s,rss_mb,hwm_mb,fds,threads,acked_per_s,client_failed,entries_failed,delivery_failures,dlq_sends,backlog,sink_total,commit_p50_ms,commit_p99_ms,ingest_to_invocation_p99_ms,probe_ack_ms,store_mb" >"$csv"
start=$(date +%s)
curl -s "$endpoint/metrics" >"$WORK/metrics.prev"
line_from=0
while kill -0 "$ingest_pid" 2>/dev/null; do
  sleep "$INTERVAL"
  kill -0 "$server_pid" 2>/dev/null || { echo "server died" >&2; exit 1; }
  curl -s "$endpoint/metrics" >"$WORK/metrics.cur"
  lines=$(wc -l <"$WORK/ingest.out")
  row=$(sample $(( $(date +%s) - start )) "$WORK/metrics.prev" "$WORK/metrics.cur" "$line_from")
  line_from=$lines
  echo "$row" >>"$csv"
  echo "$row"
  mv "$WORK/metrics.cur" "$WORK/metrics.prev"
done
wait "$ingest_pid" || true

python3 - "$csv" "$WORK/ingest.out" "$RATE" "$DURATION" >"$WORK/summary.txt" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
summary = [l for l in open(sys.argv[2]).read().splitlines() if l.startswith("events_per_sec=")]
rss = [float(r["rss_mb"]) for r in rows]
errors = sum(int(r["client_failed"]) + int(r["entries_failed"]) + int(r["delivery_failures"])
             for r in rows)
half = rss[len(rss) // 2:] or rss
growth = (half[-1] - half[0]) / half[0] * 100 if half and half[0] else 0.0
probe = sorted(float(r["probe_ack_ms"]) for r in rows if r["probe_ack_ms"])
print("rate=%s/s duration=%ss samples=%d" % (sys.argv[3], sys.argv[4], len(rows)))
print("rss_mb first=%.1f last=%.1f max=%.1f; second-half growth %.1f %%"
      % (rss[0], rss[-1], max(rss), growth) if rss else "no samples")
print("errors (client failed + entries failed + delivery failures) = %d" % errors)
if probe:
    print("probe ack ms median=%.2f max=%.2f" % (probe[len(probe) // 2], probe[-1]))
print("final backlog=%s sink_total=%s store_mb=%s" % (rows[-1]["backlog"], rows[-1]["sink_total"],
                                                      rows[-1]["store_mb"]) if rows else "")
print("bench-ingest: " + (summary[-1] if summary else "no summary line"))
# RocksDB's memtables fill for the first minutes (RSS grows until they flush), so the RSS trend
# is judged only on runs of 10 minutes or more.
judge_rss = float(sys.argv[4]) >= 600
print("RESULT " + ("ok" if errors == 0 and (growth <= 10 or not judge_rss) else "FAIL")
      + ("" if judge_rss else " (run shorter than 10 min: RSS trend reported, not judged)"))
EOF
cat "$WORK/summary.txt"
grep -q '^RESULT ok' "$WORK/summary.txt"
