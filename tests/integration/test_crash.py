"""Crash safety (SPEC §10): nothing acknowledged by PutEvents is lost across `kill -9`.

The sink stays up across the crash; afterwards every acknowledged EventId must reach it at least
once (deduplicated on the event id in the body). Duplicates are allowed, but only from attempts that
were in flight or whose completion was not yet committed at the crash; the tests bound them by one
second's worth of starts (R), which a server that forgot completed deliveries would exceed.
"""

import concurrent.futures
import json
import unittest

import harness
from delivery_util import DeliveryFixture, event_ids_seen, header, max_in_window

JITTER = 0.15  # s: see test_rate_limit.py for why receive windows are shortened by this much


class CrashTest(DeliveryFixture):

    def _put_parallel(self, total, threads=4):
        chunks = [list(range(i, min(i + 10, total))) for i in range(0, total, 10)]

        def put(chunk):
            client = harness.client(self.server, "events")
            out = client.put_events(Entries=[{"Source": "test.delivery", "DetailType": "crash",
                                              "Detail": json.dumps({"n": n})} for n in chunk])
            # Only acknowledged entries count; a failed entry would be a test-setup problem.
            self.assertEqual(out["FailedEntryCount"], 0, out)
            return [e["EventId"] for e in out["Entries"]]

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(put, chunks), [])

    def _wait_all_seen(self, acked, timeout):
        acked = set(acked)

        def done():
            missing = acked - set(event_ids_seen(self.sink.requests()))
            return not missing

        try:
            harness.wait_until(done, timeout, interval=0.25)
        except AssertionError:
            missing = acked - set(event_ids_seen(self.sink.requests()))
            self.fail("%d of %d acknowledged events never delivered, e.g. %s"
                      % (len(missing), len(acked), sorted(missing)[:3]))

    def test_kill9_while_draining_loses_nothing(self):
        rate, total = 20, 300
        self.pipeline("crashy", rate=rate)
        acked = self._put_parallel(total)
        self.assertEqual(len(set(acked)), total)
        # Let it drain for a while (about 2-3 s at 20/s), then crash mid-backlog.
        self.sink.wait_for(2 * rate + 5, timeout=20)
        self.server.kill9()
        before = len(self.sink.requests())
        self.assertLess(before, total, "the crash must happen while work is pending")
        self.server.start()
        self._refresh_clients()
        self._wait_all_seen(acked, timeout=60)
        ids = event_ids_seen(self.sink.requests())
        duplicates = len(ids) - len(set(ids))
        self.assertLessEqual(duplicates, rate, "%d duplicates after one crash" % duplicates)
        self.assertLessEqual(duplicates, before, "only events sent before the crash repeat")
        self.assertEqual(set(ids), set(acked), "no unknown events delivered")
        # The restarted server keeps draining at the limit and finishes the rest.
        self.wait_metric("bridgeport_invocations_total", total - before, timeout=20,
                         outcome="success")

    # SPEC §8 promises at most R starts in every [t, t + 1 s), also across a restart: the engine
    # starts nothing for one second after it starts, since the previous window is unknown.
    def test_rate_limit_holds_across_a_crash(self):
        rate, total = 10, 60
        self.pipeline("steady", rate=rate)
        acked = self._put_parallel(total)
        self.sink.wait_for(2 * rate + 1, timeout=20)
        self.server.kill9()
        self.server.start()
        self._refresh_clients()
        self._wait_all_seen(acked, timeout=30)
        times = [r["monotonic"] for r in self.sink.requests()]
        worst = max_in_window(times, 1.0 - JITTER)
        self.assertLessEqual(worst, rate, "%d starts within %.2f s across the restart at %d/s"
                             % (worst, 1.0 - JITTER, rate))

    def test_kill9_right_after_putevents_returns(self):
        self.pipeline("instant", rate=300)
        acked = []
        for i in range(10):
            out = self.events.put_events(Entries=[
                {"Source": "test.delivery", "DetailType": "crash",
                 "Detail": json.dumps({"batch": i, "k": k})} for k in range(10)])
            self.assertEqual(out["FailedEntryCount"], 0, out)
            acked += [e["EventId"] for e in out["Entries"]]
        self.server.kill9()
        before = len(self.sink.requests())
        self.server.start()
        self._refresh_clients()
        self._wait_all_seen(acked, timeout=30)
        ids = event_ids_seen(self.sink.requests())
        self.assertEqual(set(ids), set(acked))
        # Only an event sent before the crash can be sent again.
        self.assertLessEqual(len(ids) - len(set(ids)), before)

    def test_kill9_before_any_delivery(self):
        # Parked (connection deauthorized) while the events are acknowledged, so none can have
        # been delivered before the crash; re-authorized after the restart.
        self.pipeline("later", rate=300)
        self.events.deauthorize_connection(Name="later-conn")
        harness.wait_until(lambda: self.events.describe_api_destination(Name="later")[
            "ApiDestinationState"] == "INACTIVE", 10)
        acked = self._put_parallel(50)
        self.server.kill9()
        self.assertEqual(self.sink.requests(), [])
        self.server.start()
        self._refresh_clients()
        self.events.update_connection(Name="later-conn", AuthorizationType="API_KEY",
                                      AuthParameters={"ApiKeyAuthParameters": {
                                          "ApiKeyName": "x-api-key", "ApiKeyValue": "v2"}})
        self._wait_all_seen(acked, timeout=30)
        ids = event_ids_seen(self.sink.requests())
        self.assertEqual(sorted(ids), sorted(acked), "each exactly once: nothing was in flight")

    def test_kill9_keeps_a_scheduled_retry_and_its_count(self):
        self.sink.set_default({"status": 502})
        # Base 3 s: the first retry is due 1.5-3 s after the failure, after the crash below.
        self.pipeline("retrycrash", rule_tags={"backoff_base_ms": 3000},
                      dest_tags={"delivery_headers": "true"})
        [event_id] = self.put([{"n": 1}])
        self.sink.wait_for(1)
        self.wait_deliveries("retrycrash", lambda d: d and d[-1]["outcome"] == "retry")
        self.server.kill9()
        self.assertEqual(len(self.sink.requests()), 1)
        self.sink.set_default({"status": 200})
        self.server.start()
        self._refresh_clients()
        reqs = self.sink.wait_for(2, timeout=15)
        self.assertEqual([header(r, "X-Bridgeport-Attempt") for r in reqs], ["1", "2"])
        self.assertEqual(event_ids_seen(reqs), [event_id, event_id])
        # The retry keeps its due time across the crash (>= 1.5 s after the first failure).
        self.assertGreaterEqual(reqs[1]["monotonic"] - reqs[0]["monotonic"], 1.5)
        self.wait_metric("bridgeport_invocations_total", 1, outcome="success")


if __name__ == "__main__":
    unittest.main()
