"""[ext] Destination guards (SPEC §12): bridgeport:circuit-breaker and bridgeport:adaptive-rate."""

import time
import unittest

import harness
from delivery_util import DeliveryFixture

FAST = {"backoff_base_ms": "50", "backoff_cap_ms": "100"}


class CircuitBreakerTest(DeliveryFixture):

    def test_breaker_opens_pauses_probes_and_closes(self):
        self.sink.set_default({"status": 500})
        self.pipeline("cb", rate=100, rule_tags=FAST, dest_tags={
            "circuit_breaker": "failure-rate=50,min-requests=4,window-s=30,open-s=2"})
        self.put([{"n": i} for i in range(6)])
        self.wait_metric("bridgeport_circuit_breaker_opened_total", 1, timeout=10, destination="cb")
        opened = time.monotonic()
        seen_at_open = len(self.sink.requests())
        time.sleep(1.5)
        # Open: nothing starts (only attempts already in flight when it opened may still land).
        self.assertLessEqual(len(self.sink.requests()) - seen_at_open, 0,
                             "attempts started while the breaker was open")
        # After open-s one probe goes out; it fails, so the breaker opens again.
        harness.wait_until(lambda: len(self.sink.requests()) > seen_at_open, 10)
        probe_time = time.monotonic()
        self.assertGreaterEqual(probe_time - opened, 1.5)
        time.sleep(0.5)
        self.assertEqual(len(self.sink.requests()), seen_at_open + 1, "exactly one probe")
        # The endpoint recovers: the next probe succeeds, the breaker closes, the backlog drains.
        self.sink.set_default({"status": 200})
        self.wait_metric("bridgeport_invocations_total", 6, timeout=20, outcome="success")

    def test_invalid_breaker_setting_is_rejected(self):
        out = self.pipeline("cbbad", rate=5)
        for bad in ("on", "failure-rate=0", "min-requests=x", "bogus=1"):
            with self.assertRaises(harness.botocore.exceptions.ClientError) as cm:
                self.events.tag_resource(ResourceARN=out["dest"], Tags=[
                    {"Key": "bridgeport:circuit-breaker", "Value": bad}])
            self.assertEqual(harness.error_code(cm.exception), "ValidationException", bad)


class AdaptiveRateTest(DeliveryFixture):

    def test_429_halves_the_rate_and_pauses_until_retry_after(self):
        # Rate 20/s; the first answer is 429 with Retry-After: 2, then 200s.
        self.sink.script([{"status": 429, "retry_after": "2"}], default={"status": 200})
        self.pipeline("ar", rate=20, rule_tags=FAST, dest_tags={"adaptive_rate": "on"})
        self.put([{"n": i} for i in range(1)])
        self.sink.wait_for(1, timeout=10)
        first = self.sink.requests()[0]["monotonic"]
        self.put([{"n": i} for i in range(1, 31)])
        reqs = self.sink.wait_for(32, timeout=30)
        later = sorted(r["monotonic"] for r in reqs[1:])
        # Paused until Retry-After: nothing reaches the sink within 2 s of the 429.
        self.assertGreaterEqual(later[0] - first, 2.0 - 0.05, "paused until Retry-After")
        # At half rate (10/s, recovering by 1/s per clean second) no 1 s window after the pause
        # holds 20 starts, which the configured rate alone would allow.
        busiest = max(sum(1 for t in later if s <= t < s + 0.9) for s in later)
        self.assertLess(busiest, 20, "adaptive rate did not lower the rate: %d in 0.9 s" % busiest)

    def test_adaptive_rate_values(self):
        out = self.pipeline("arbad", rate=5)
        with self.assertRaises(harness.botocore.exceptions.ClientError):
            self.events.tag_resource(ResourceARN=out["dest"], Tags=[
                {"Key": "bridgeport:adaptive-rate", "Value": "maybe"}])
        self.events.tag_resource(ResourceARN=out["dest"], Tags=[
            {"Key": "bridgeport:adaptive-rate", "Value": "off"}])


if __name__ == "__main__":
    unittest.main()
