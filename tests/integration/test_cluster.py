"""Cluster mode end to end: several `bridgeport serve --postgres URL` nodes on one throwaway
PostgreSQL (pg.py), driven through every node, delivering to one recording sink.

What is checked (SPEC §8, §16):
  * control-plane changes made on one node are visible on the others (LISTEN/NOTIFY + version
    check; the promise is 1 s, the test waits with a bounded deadline);
  * the rate limit is exact cluster-wide: events put through all three nodes, the receive times
    at the sink hold at most R starts in any window of 1 s - JITTER (see test_rate_limit.py for
    why the window shrinks by the jitter and never grows), at R = 1 and R = 50;
  * kill -9 of a lane's owner mid-drain: another node takes the lane over after the lease and
    delivers every acknowledged event (duplicates only for attempts in flight);
  * PostgreSQL stopped under load: PutEvents entries fail (never acknowledged without a commit),
    /ready answers 503, and after a restart every acknowledged event is delivered;
  * a node joining takes lanes over, a node leaving hands its lanes back, nothing is lost.
"""

import concurrent.futures
import os
import time
import unittest

import harness
import pg
from delivery_util import Sink, event_ids_seen, max_in_window

JITTER = 0.15
LEASE_MS = 3000
SKEW_MS = 300
MASTER_KEY = "5a" * 32


@unittest.skipUnless(pg.available(), "PostgreSQL server binaries not installed")
class ClusterTest(unittest.TestCase):

    def setUp(self):
        harness.require_boto3()
        self.pg = pg.PgCluster().start()
        self.addCleanup(self.pg.close)
        self.url = self.pg.database("bp_cluster")
        self.nodes = []
        self.sink = Sink()
        self.addCleanup(self.sink.stop)

    def start_node(self, name):
        server = harness.Server(extra_args=[
            "--postgres", self.url, "--node-id", name, "--lease-ms", str(LEASE_MS),
            "--clock-skew-allowance-ms", str(SKEW_MS)], env={"BRIDGEPORT_MASTER_KEY": MASTER_KEY})
        self.addCleanup(server.close)
        server.start()
        self.nodes.append(server)
        return server

    def events(self, node):
        return harness.client(node, "events")

    def lease_owner(self, lane):
        out = self.pg.psql("SELECT owner FROM bp_leases WHERE lane = '%s' AND expires_at > now()"
                           % lane, database="bp_cluster").stdout.strip()
        return out or None

    def pipeline(self, node, name, rate):
        ev = self.events(node)
        conn = ev.create_connection(Name=name + "-conn", AuthorizationType="API_KEY",
                                    AuthParameters={"ApiKeyAuthParameters": {
                                        "ApiKeyName": "x-api-key", "ApiKeyValue": "k"}})
        dest = ev.create_api_destination(
            Name=name, ConnectionArn=conn["ConnectionArn"], InvocationEndpoint=self.sink.url(
                "/" + name), HttpMethod="POST", InvocationRateLimitPerSecond=rate)
        ev.put_rule(Name=name + "-rule", EventPattern='{"source":["cluster.%s"]}' % name)
        out = ev.put_targets(Rule=name + "-rule", Targets=[
            {"Id": "t", "Arn": dest["ApiDestinationArn"]}])
        self.assertEqual(out["FailedEntryCount"], 0)
        return dest["ApiDestinationArn"]

    def wait_visible_everywhere(self, name):
        for node in self.nodes:
            harness.wait_until(lambda n=node: self.events(n).describe_api_destination(
                Name=name)["ApiDestinationState"] == "ACTIVE", 10)

    def put_through_all(self, name, total):
        """Puts `total` events, round-robin over the nodes, in parallel; returns the event ids."""
        def put(i):
            node = self.nodes[i % len(self.nodes)]
            out = self.events(node).put_events(Entries=[
                {"Source": "cluster." + name, "DetailType": "d", "Detail": '{"n":%d}' % i}])
            self.assertEqual(out["FailedEntryCount"], 0, out)
            return out["Entries"][0]["EventId"]
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            return list(pool.map(put, range(total)))

    def received(self, name):
        return [r for r in self.sink.requests() if r["path"] == "/" + name]

    def wait_all_delivered(self, name, ids, timeout):
        def done():
            return set(ids) <= set(event_ids_seen(self.received(name)))
        harness.wait_until(done, timeout, interval=0.2,
                           message="not every acknowledged event reached the sink")

    # ---- tests ----

    def test_control_plane_propagates_to_every_node(self):
        a, b, c = self.start_node("n1"), self.start_node("n2"), self.start_node("n3")
        self.events(a).create_event_bus(Name="orders")
        start = time.monotonic()
        for node in (b, c):
            harness.wait_until(lambda n=node: self.events(n).describe_event_bus(Name="orders"), 5)
        elapsed = time.monotonic() - start
        self.events(c).delete_event_bus(Name="orders")
        harness.wait_until(lambda: "orders" not in [
            x["Name"] for x in self.events(a).list_event_buses()["EventBuses"]], 5)
        # The 1 s promise, with room for a loaded machine; the benchmark records the figure.
        self.assertLess(elapsed, 3.0)

    def check_rate(self, rate, total):
        self.start_node("n1"), self.start_node("n2"), self.start_node("n3")
        name = "rl%d" % rate
        self.pipeline(self.nodes[0], name, rate)
        self.wait_visible_everywhere(name)
        harness.wait_until(lambda: self.lease_owner("api/" + name), 10)
        ids = self.put_through_all(name, total)
        self.wait_all_delivered(name, ids, timeout=total / rate + 30)
        reqs = self.received(name)
        times = [r["wall"] for r in reqs]
        worst = max_in_window(times, 1.0 - JITTER)
        self.assertLessEqual(worst, rate, "%d starts within %.2f s at %d/s" % (
            worst, 1.0 - JITTER, rate))
        self.assertEqual(len(event_ids_seen(reqs)), len(set(event_ids_seen(reqs))),
                         "duplicates without any failure")

    def test_rate_limit_one_per_second_across_three_nodes(self):
        self.check_rate(1, 6)

    def test_rate_limit_fifty_per_second_across_three_nodes(self):
        self.check_rate(50, 300)

    def test_kill9_of_the_owner_mid_drain_loses_nothing(self):
        for n in ("n1", "n2", "n3"):
            self.start_node(n)
        self.pipeline(self.nodes[0], "drain", 20)
        self.wait_visible_everywhere("drain")
        owner = harness.wait_until(lambda: self.lease_owner("api/drain"), 10)
        ids = self.put_through_all("drain", 200)
        harness.wait_until(lambda: len(self.received("drain")) >= 30, 30)
        victim = self.nodes[["n1", "n2", "n3"].index(owner)]
        victim.kill9()
        killed_at = time.time()
        self.nodes.remove(victim)
        self.wait_all_delivered("drain", ids, timeout=60)
        after = [r["wall"] for r in self.received("drain") if r["wall"] > killed_at]
        self.assertTrue(after, "nothing delivered after the kill")
        takeover = min(after) - killed_at
        # Lease (3 s) + 1 s + skew allowance + one heartbeat, plus scheduling slack.
        self.assertLess(takeover, LEASE_MS / 1000 + 1 + SKEW_MS / 1000 + 4, takeover)
        seen = event_ids_seen(self.received("drain"))
        self.assertLessEqual(len(seen) - len(set(seen)), 20, "more duplicates than in flight")
        new_owner = harness.wait_until(lambda: self.lease_owner("api/drain"), 10)
        self.assertNotEqual(new_owner, owner)

    def test_postgres_restart_under_load(self):
        for n in ("n1", "n2"):
            self.start_node(n)
        self.pipeline(self.nodes[0], "pgdown", 200)
        self.wait_visible_everywhere("pgdown")
        acked, failed = [], 0
        deadline = time.monotonic() + 20
        stopped = restarted = False
        ready_503 = False
        i = 0
        while time.monotonic() < deadline and not (restarted and len(acked) > 40):
            node = self.nodes[i % 2]
            i += 1
            try:
                out = self.events(node).put_events(Entries=[
                    {"Source": "cluster.pgdown", "DetailType": "d", "Detail": '{"n":%d}' % i}])
                for e in out["Entries"]:
                    if "EventId" in e:
                        acked.append(e["EventId"])
                    else:
                        self.assertIn(e["ErrorCode"], ("InternalFailure", "ThrottlingException"))
                        failed += 1
            except Exception:  # noqa: BLE001 - a whole-request failure is also not an ack
                failed += 1
            if not stopped and len(acked) >= 20:
                self.pg.stop()
                stopped = True
                stop_time = time.monotonic()
            if stopped and not restarted:
                if harness.http_request(node, "GET", "/ready")[0] == 503:
                    ready_503 = True
                if ready_503 and time.monotonic() - stop_time > 2:
                    self.pg.start()
                    restarted = True
        self.assertTrue(stopped and restarted)
        self.assertTrue(ready_503, "/ready never answered 503 while PostgreSQL was down")
        self.assertGreater(failed, 0, "no entry failed while PostgreSQL was down")
        for node in self.nodes:
            harness.wait_until(lambda n=node: harness.http_request(n, "GET", "/ready")[0] == 200,
                               20)
        self.wait_all_delivered("pgdown", acked, timeout=60)

    def test_node_join_and_leave(self):
        self.start_node("n1"), self.start_node("n2")
        names = ["jl%d" % i for i in range(12)]
        for name in names:
            self.pipeline(self.nodes[0], name, 100)
        harness.wait_until(lambda: all(self.lease_owner("api/" + n) for n in names), 15)
        third = self.start_node("n3")
        harness.wait_until(lambda: any(self.lease_owner("api/" + n) == "n3" for n in names), 15,
                           message="the joining node took no lane")
        ids = {}
        for name in names:
            ids[name] = self.put_through_all(name, 5)
        third.stop()  # leaves: hands its lanes back at once
        self.nodes.remove(third)
        harness.wait_until(lambda: all(self.lease_owner("api/" + n) in ("n1", "n2")
                                       for n in names), 15)
        for name in names:
            self.wait_all_delivered(name, ids[name], timeout=30)
        more = self.put_through_all(names[0], 5)
        self.wait_all_delivered(names[0], more, timeout=30)


if __name__ == "__main__":
    unittest.main()
