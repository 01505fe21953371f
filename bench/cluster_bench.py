#!/usr/bin/env python3
"""Cluster-mode benchmarks (docs/benchmarks.md, "Cluster mode"). Not a test: it prints figures.

  1. durable ingest: bench-ingest closed loop against one embedded (RocksDB) server, then against
     three `serve --postgres` nodes on one throwaway PostgreSQL (one bench-ingest per node, run
     together; the sum is the cluster's figure);
  2. achieved delivery rate vs the limit at 1, 50 and 1000/s, events put through all three nodes,
     measured at a recording sink (largest count in any 1 s window, and the mean over the drain);
  3. lease takeover: kill -9 of a destination's owner mid-drain -> first request at the sink from
     the new owner.

Every process is started here on 127.0.0.1 and stopped by PID. Env: BIN (bridgeport binary,
default BUILD/bridgeport), DURATION (ingest seconds, 15), CONNECTIONS (per embedded run, 24).
"""

import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
import pg  # noqa: E402
from delivery_util import Sink, max_in_window  # noqa: E402

BIN = os.environ.get("BIN") or os.path.join(HERE, "..", "BUILD", "bridgeport")
DURATION = int(os.environ.get("DURATION", "15"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "24"))
KEY = "6b" * 32
LEASE_MS = 3000
SKEW_MS = 500


def bench_sink():
    p = subprocess.Popen([BIN, "bench-sink", "--listen", "127.0.0.1:0", "--threads", "1"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    return p, int(line.strip().split("=")[1])


def ingest(endpoint, connections, setup_sink=None):
    args = [BIN, "bench-ingest", "--endpoint", endpoint, "--connections", str(connections),
            "--duration", str(DURATION), "--warmup", "3", "--quiet"]
    if setup_sink:
        args += ["--setup", "--sink-url", setup_sink, "--dest-rate", "100000", "--duration", "0"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=DURATION + 120)
    m = re.search(r"events_per_sec=(\d+).*p50_ms=([\d.]+).*p99_ms=([\d.]+).*failed=(\d+)", out.stdout)
    return (int(m.group(1)), float(m.group(2)), float(m.group(3)), int(m.group(4))) if m else None


def node(url, name):
    s = harness.Server(extra_args=["--postgres", url, "--node-id", name, "--lease-ms",
                                   str(LEASE_MS), "--clock-skew-allowance-ms", str(SKEW_MS),
                                   "--log-level", "warn"], env={"BRIDGEPORT_MASTER_KEY": KEY})
    return s.start()


def ingest_figures(cluster):
    sink, port = bench_sink()
    try:
        emb = harness.Server(extra_args=["--log-level", "warn"]).start()
        ingest(emb.endpoint, 1, "http://127.0.0.1:%d/events" % port)
        e = ingest(emb.endpoint, CONNECTIONS)
        emb.close()
        print("ingest embedded: events/s=%d p50=%.1fms p99=%.1fms failed=%d" % e, flush=True)
        url = cluster.database("bp_bench_ingest")
        nodes = [node(url, "n%d" % i) for i in range(1, 4)]
        ingest(nodes[0].endpoint, 1, "http://127.0.0.1:%d/events" % port)
        time.sleep(2)  # control plane reaches the other nodes
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            res = list(pool.map(lambda n: ingest(n.endpoint, CONNECTIONS // 3), nodes))
        total = sum(r[0] for r in res)
        print("ingest 3 nodes: events/s=%d (per node %s) p99=%s failed=%d ratio=%.2f" % (
            total, [r[0] for r in res], [r[2] for r in res], sum(r[3] for r in res),
            total / max(1, e[0])), flush=True)
        for n in nodes:
            n.close()
    finally:
        sink.terminate()
        sink.wait()


def pipeline(client, sink, name, rate):
    conn = client.create_connection(Name=name + "-c", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})["ConnectionArn"]
    dest = client.create_api_destination(
        Name=name, ConnectionArn=conn, InvocationEndpoint=sink.url("/" + name), HttpMethod="POST",
        InvocationRateLimitPerSecond=rate)["ApiDestinationArn"]
    client.put_rule(Name=name + "-r", EventPattern='{"source":["b.%s"]}' % name)
    client.put_targets(Rule=name + "-r", Targets=[{"Id": "t", "Arn": dest}])


def put_all(nodes, name, total):
    def put(i):
        c = harness.client(nodes[i % len(nodes)], "events")
        n = min(10, total - i * 10)
        c.put_events(Entries=[{"Source": "b." + name, "DetailType": "d", "Detail": "{}"}] * n)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(put, range((total + 9) // 10)))


def rate_figures(cluster):
    url = cluster.database("bp_bench_rate")
    nodes = [node(url, "n%d" % i) for i in range(1, 4)]
    sink = Sink()
    try:
        for rate, total in ((1, 10), (50, 500), (1000, 10000)):
            name = "r%d" % rate
            pipeline(harness.client(nodes[0], "events"), sink, name, rate)
            time.sleep(LEASE_MS / 1000 + 1)  # leased and visible everywhere
            put_all(nodes, name, total)
            deadline = time.monotonic() + total / rate + 60
            while time.monotonic() < deadline:
                got = [r["wall"] for r in sink.requests() if r["path"] == "/" + name]
                if len(got) >= total:
                    break
                time.sleep(1)
            span = max(got) - min(got) if len(got) > 1 else 0
            print("rate limit %d/s: delivered %d/%d, max received in any 1 s window %d, in any "
                  "0.85 s window %d, mean %.1f/s over %.1f s" % (
                      rate, len(got), total, max_in_window(got, 1.0), max_in_window(got, 0.85),
                      (len(got) - 1) / span if span else 0, span), flush=True)
            sink.reset()
    finally:
        sink.stop()
        for n in nodes:
            n.close()


def takeover_figure(cluster):
    url = cluster.database("bp_bench_takeover")
    nodes = [node(url, "n%d" % i) for i in range(1, 4)]
    sink = Sink()
    try:
        pipeline(harness.client(nodes[0], "events"), sink, "tk", 50)
        time.sleep(LEASE_MS / 1000 + 1)
        put_all(nodes, "tk", 1500)
        time.sleep(3)
        owner = cluster.psql("SELECT owner FROM bp_leases WHERE lane = 'api/tk'",
                             database="bp_bench_takeover").stdout.strip()
        victim = nodes[int(owner[1:]) - 1]
        victim.kill9()
        t0 = time.time()
        while time.time() - t0 < 30:
            after = [r["wall"] for r in sink.requests() if r["wall"] > t0 + 0.05]
            if after:
                print("takeover after kill -9: first attempt on the new owner %.2f s after the "
                      "kill (lease %d ms, skew allowance %d ms)" % (min(after) - t0, LEASE_MS,
                                                                   SKEW_MS), flush=True)
                break
            time.sleep(0.1)
    finally:
        sink.stop()
        for n in nodes:
            n.close()


def main():
    cluster = pg.PgCluster().start()
    try:
        print("# %d cores, load %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]),
              flush=True)
        ingest_figures(cluster)
        rate_figures(cluster)
        takeover_figure(cluster)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
