"""Backpressure (SPEC §4 "store full"): beyond the configured bound on pending deliveries (or on
the store's size) PutEvents entries that would add work fail with the retryable
ThrottlingException; entries that match nothing and the control plane are unaffected; once the
backlog drains, events are accepted again.
"""

import json
import unittest

import harness
from delivery_util import DeliveryFixture


def put(events, source="test.delivery", n=5):
    return events.put_events(Entries=[
        {"Source": source, "DetailType": "t", "Detail": json.dumps({"i": i})} for i in range(n)])


class PendingBoundTest(DeliveryFixture):

    server_args = ("--max-pending-deliveries", "5")

    def test_throttles_beyond_the_bound_and_recovers(self):
        self.sink.set_default({"status": 503})  # everything stays pending (retrying)
        self.pipeline("slow", rule_tags={"backoff_base_ms": 100, "backoff_cap_ms": 200})
        first = put(self.events, n=5)
        self.assertEqual(first["FailedEntryCount"], 0, first)

        def throttled():
            out = put(self.events, n=3)
            codes = {e.get("ErrorCode") for e in out["Entries"]}
            return out if codes == {"ThrottlingException"} else None
        out = harness.wait_until(throttled, 10.0, interval=0.2,
                                 message="PutEvents was not throttled beyond the bound")
        self.assertEqual(out["FailedEntryCount"], 3)
        self.assertIn("pending", out["Entries"][0]["ErrorMessage"])
        self.assertNotIn("EventId", out["Entries"][0])
        self.assertGreaterEqual(
            self.metric("bridgeport_ingest_throttled_total", reason="pending_deliveries"), 3)
        self.server.wait_log(lambda r: r.get("msg", "").startswith("backpressure"))

        # Entries that add no work, and the control plane, are not affected.
        other = put(self.events, source="nobody.listens", n=2)
        self.assertEqual(other["FailedEntryCount"], 0, other)
        self.events.create_event_bus(Name="still-works")

        # Once the backlog drains (the receiver recovers), ingest reopens.
        self.sink.set_default({"status": 200})
        harness.wait_until(lambda: put(self.events, n=1)["FailedEntryCount"] == 0, 20.0,
                           interval=0.2, message="PutEvents stayed throttled after the drain")


class StoreBytesBoundTest(DeliveryFixture):

    server_args = ("--max-store-bytes", "1")

    def test_store_size_bound_throttles(self):
        self.pipeline("d")
        out = harness.wait_until(
            lambda: (lambda o: o if o["FailedEntryCount"] else None)(put(self.events, n=2)),
            10.0, interval=0.2, message="the store size bound did not throttle")
        self.assertEqual({e["ErrorCode"] for e in out["Entries"]}, {"ThrottlingException"})
        self.assertIn("store is full", out["Entries"][0]["ErrorMessage"])
        self.assertGreaterEqual(
            self.metric("bridgeport_ingest_throttled_total", reason="store_bytes"), 2)


if __name__ == "__main__":
    unittest.main()
