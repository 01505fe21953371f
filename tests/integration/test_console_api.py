"""The console's admin endpoints, driven as a script would: overview, dead-letter browsing
(peek, filters), redrive (selection, validation, progress, durability across a restart), the
pattern tester, connection actions, the rate-limit endpoint, and the browser protections (CSRF
header and Origin check, loopback host names in dev mode, the token outside loopback)."""

import json
import time
import unittest

import harness
from delivery_util import DeliveryFixture, event_ids_seen, max_in_window
from sink import Sink

V1 = "/_bridgeport/v1"


def admin(server, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body)
    status, _, raw = harness.http_request(server, method, V1 + path, data, headers or {})
    return status, (json.loads(raw) if raw else None)


class ConsoleApiTest(DeliveryFixture):

    def fill_dlq(self, n_flaky=6, n_other=2):
        """Two destinations dead-letter into one DLQ: `flaky` (HTTP 500) and `nowhere`
        (CONNECTION_FAILURE). Returns (dlq_url, flaky event ids)."""
        self.sink.set_default({"status": 500, "body": "down"})
        p = self.pipeline("flaky", dlq=True, max_retries=0, pattern={"source": ["flaky.test"]})
        self.nowhere = self.destination("nowhere", p["conn"], endpoint="http://127.0.0.1:9/x")
        self.rule("nowhere-rule", {"source": ["other.test"]})
        self.target("nowhere-rule", self.nowhere, dlq_arn=p["dlq_arn"], max_retries=0)
        ids = self.put([{"n": i} for i in range(n_flaky)], source="flaky.test")
        self.put([{"n": i} for i in range(n_other)], source="other.test")
        harness.wait_until(lambda: int(self.sqs.get_queue_attributes(
            QueueUrl=p["dlq_url"], AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"]["ApproximateNumberOfMessages"]) == n_flaky + n_other, 30)
        return p["dlq_url"], ids

    def test_dead_letters_are_listed_and_filtered_without_being_received(self):
        dlq_url, ids = self.fill_dlq()
        status, queues = admin(self.server, "GET", "/dead-letter-queues")
        self.assertEqual(status, 200)
        self.assertEqual([q["name"] for q in queues["queues"]], ["flaky-dlq"])
        self.assertEqual(queues["queues"][0]["visible"], 8)
        self.assertEqual(len(queues["queues"][0]["used_by"]), 2)
        status, page = admin(self.server, "GET", "/dead-letter-queues/flaky-dlq/messages"
                             "?destination=flaky&error_code=ERROR_FROM_TARGET")
        self.assertEqual(status, 200)
        self.assertEqual(page["matched"], 6)
        m = page["messages"][0]
        self.assertEqual(m["attributes"]["ERROR_CODE"], "ERROR_FROM_TARGET")
        self.assertEqual(m["attributes"]["RETRY_ATTEMPTS"], "0")
        self.assertIn("HTTP 500", m["attributes"]["ERROR_MESSAGE"])
        self.assertEqual(m["rule"], "flaky-rule")
        self.assertEqual(sorted(json.loads(x["body"])["id"] for x in page["messages"]), sorted(ids))
        status, page = admin(self.server, "GET",
                             "/dead-letter-queues/flaky-dlq/messages?error_code=CONNECTION_FAILURE")
        self.assertEqual(page["matched"], 2)
        future = int(time.time()) + 3600
        status, page = admin(self.server, "GET",
                             "/dead-letter-queues/flaky-dlq/messages?since=%d" % future)
        self.assertEqual(page["matched"], 0)
        status, page = admin(self.server, "GET", "/dead-letter-queues/flaky-dlq/messages?limit=3")
        self.assertEqual((page["matched"], len(page["messages"])), (8, 3))
        self.assertEqual(admin(self.server, "GET", "/dead-letter-queues/flaky-dlq/messages?since=x")[0],
                         400)
        self.assertEqual(admin(self.server, "GET", "/dead-letter-queues/none/messages")[0], 404)
        # Peeking changed nothing: the first receive is the first receive.
        got = self.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=1,
                                       AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        self.assertEqual(got["Attributes"]["ApproximateReceiveCount"], "1")

    def test_redrive_validation(self):
        self.fill_dlq(1, 0)
        for body, code in [({"rate": 5}, 400), ({"queue": "flaky-dlq"}, 400),
                           ({"queue": "flaky-dlq", "rate": 0}, 400),
                           ({"queue": "flaky-dlq", "rate": 10001}, 400),
                           ({"queue": "flaky-dlq", "rate": 5, "colour": 1}, 400),
                           ({"queue": "flaky-dlq", "rate": 5, "filter": {"since": "soon"}}, 400),
                           ({"queue": "missing", "rate": 5}, 404)]:
            status, out = admin(self.server, "POST", "/redrives", body)
            self.assertEqual(status, code, (body, out))
            self.assertIn("message", out)
        self.assertEqual(admin(self.server, "GET", "/redrives/nope")[0], 404)
        self.assertEqual(admin(self.server, "POST", "/redrives/nope/cancel")[0], 404)

    def test_redrive_of_a_selection_only_moves_those_messages(self):
        dlq_url, ids = self.fill_dlq(4, 1)
        _, page = admin(self.server, "GET", "/dead-letter-queues/flaky-dlq/messages?destination=flaky")
        chosen = [m for m in page["messages"]][:2]
        self.sink.reset()
        status, job = admin(self.server, "POST", "/redrives", {
            "queue": dlq_url, "rate": 50, "message_ids": [m["message_id"] for m in chosen]})
        self.assertEqual(status, 202, job)
        self.assertEqual(job["total"], 2)
        harness.wait_until(lambda: admin(self.server, "GET", "/redrives/" + job["id"])[1]["state"]
                           == "COMPLETED", 15)
        got = self.sink.wait_for(2)
        self.assertEqual(sorted(event_ids_seen(got)),
                         sorted(json.loads(m["body"])["id"] for m in chosen))
        _, left = admin(self.server, "GET", "/dead-letter-queues/flaky-dlq/messages")
        self.assertEqual(left["matched"], 3)
        _, done = admin(self.server, "GET", "/redrives/" + job["id"])
        self.assertEqual((done["redriven"], done["skipped"], done["remaining"]), (2, 0, 0))
        # Tasks go through the destination's lane: the attempt records show the new deliveries.
        _, recs = admin(self.server, "GET", "/deliveries?destination=flaky&outcome=success")
        self.assertEqual(len(recs["deliveries"]), 2)

    def test_redrive_survives_a_restart_and_moves_each_message_once(self):
        _, ids = self.fill_dlq(6, 0)
        self.sink.reset()
        status, job = admin(self.server, "POST", "/redrives",
                            {"queue": "flaky-dlq", "rate": 2, "filter": {"destination": "flaky"}})
        self.assertEqual(status, 202, job)
        harness.wait_until(lambda: admin(self.server, "GET", "/redrives/" + job["id"])[1][
            "redriven"] >= 2, 15)
        self.restart_server()
        _, after = admin(self.server, "GET", "/redrives/" + job["id"])
        self.assertIn(after["state"], ("RUNNING", "COMPLETED"))
        self.assertGreaterEqual(after["redriven"], 2)
        harness.wait_until(lambda: admin(self.server, "GET", "/redrives/" + job["id"])[1]["state"]
                           == "COMPLETED", 20)
        got = self.sink.wait_for(6, timeout=20)
        seen = event_ids_seen(got)
        self.assertEqual(sorted(seen), sorted(ids))  # every one, none twice
        _, left = admin(self.server, "GET", "/dead-letter-queues/flaky-dlq/messages")
        self.assertEqual(left["matched"], 0)

    def test_a_fast_redrive_stays_under_the_destinations_limit(self):
        _, ids = self.fill_dlq(8, 0)
        self.assertEqual(admin(self.server, "POST", "/api-destinations/flaky/rate-limit",
                               {"limit": 3})[0], 200)
        self.sink.reset()
        status, job = admin(self.server, "POST", "/redrives", {"queue": "flaky-dlq", "rate": 100})
        self.assertEqual(status, 202, job)
        got = self.sink.wait_for(8, timeout=20)
        self.assertEqual(sorted(event_ids_seen(got)), sorted(ids))
        # The limiter's bound seen from the sink (0.15 s of delivery jitter allowed, as in
        # test_rate_limit): never more than 3 starts in a second.
        self.assertLessEqual(max_in_window([r["monotonic"] for r in got], 0.85), 3)

    def test_cancel_stops_a_redrive(self):
        self.fill_dlq(5, 0)
        self.sink.reset()  # the sink recovered: a redriven message does not come back
        _, job = admin(self.server, "POST", "/redrives", {"queue": "flaky-dlq", "rate": 1})
        status, cancelled = admin(self.server, "DELETE", "/redrives/" + job["id"])
        self.assertEqual((status, cancelled["state"]), (200, "CANCELLED"))
        moved = cancelled["redriven"]
        time.sleep(1.5)  # a running redrive at 1/s would have moved another message by now
        _, later = admin(self.server, "GET", "/redrives/" + job["id"])
        self.assertEqual((later["state"], later["redriven"]), ("CANCELLED", moved))
        _, left = admin(self.server, "GET", "/dead-letter-queues/flaky-dlq/messages")
        self.assertEqual(left["matched"], 5 - moved)
        self.restart_server()
        self.assertEqual(admin(self.server, "GET", "/redrives/" + job["id"])[1]["state"],
                         "CANCELLED")

    def test_overview_pattern_tester_and_connection_actions(self):
        p = self.pipeline("steady", rate=7)
        self.put([{"n": i} for i in range(5)])
        self.sink.wait_for(5)
        def overview_has_starts():
            _, o = admin(self.server, "GET", "/overview")
            d = [x for x in o["destinations"] if x["Name"] == "steady"][0]
            return (o, d) if sum(d["starts_per_second"]) == 5 else None
        o, d = harness.wait_until(overview_has_starts, 10)
        self.assertEqual(d["limit_per_second"][-1], 7)
        self.assertEqual(d["attempts"], {"2xx": 5})
        self.assertEqual(o["invocations"]["success"], 5)
        self.assertEqual(o["latency"]["attempt"]["count"], 5)
        self.assertEqual(o["rules"][0]["Targets"][0]["Resource"], "steady")
        self.assertEqual(o["connections"][0]["ConnectionState"], "AUTHORIZED")
        self.assertNotIn("s3cret-key", json.dumps(o))
        # Rate limit and settings from the destination view.
        self.assertEqual(admin(self.server, "POST", "/api-destinations/steady/rate-limit",
                               {"limit": 9})[0], 200)
        self.assertEqual(self.events.describe_api_destination(Name="steady")[
            "InvocationRateLimitPerSecond"], 9)
        self.assertEqual(admin(self.server, "POST", "/api-destinations/steady/rate-limit",
                               {"limit": 0})[0], 400)
        status, detail = admin(self.server, "GET", "/api-destinations/steady")
        self.assertEqual(detail["connection"]["ConnectionState"], "AUTHORIZED")
        self.assertNotIn("s3cret-key", json.dumps(detail))
        # Pattern tester.
        event = {"id": "1", "account": "000000000000", "source": "test.delivery", "time":
                 "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
                 "detail-type": "t", "detail": {}}
        status, r = admin(self.server, "POST", "/test-pattern", {
            "event": event, "pattern": {"source": ["test.delivery"]}, "bus": "default"})
        self.assertEqual(status, 200, r)
        self.assertTrue(r["result"])
        self.assertEqual([x["name"] for x in r["matching_rules"]], ["steady-rule"])
        _, r = admin(self.server, "POST", "/test-pattern",
                     {"event": event, "pattern": "{\"source\":\"x\"}"})
        self.assertIn("Event pattern is not valid", r["pattern_error"])
        _, r = admin(self.server, "POST", "/test-pattern", {"event": {"source": "x"}})
        self.assertIn("Parameter Event is not valid", r["event_error"])
        self.assertEqual(admin(self.server, "POST", "/test-pattern",
                               {"event": event, "bus": "nope"})[0], 404)
        # Deauthorize, then re-authorize with new credentials.
        status, r = admin(self.server, "POST", "/connections/steady-conn/deauthorize")
        self.assertEqual((status, r["ConnectionState"]), (200, "DEAUTHORIZING"))
        harness.wait_until(lambda: self.events.describe_connection(Name="steady-conn")[
            "ConnectionState"] == "DEAUTHORIZED", 10)
        status, r = admin(self.server, "POST", "/connections/steady-conn/authorize", {
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key",
                                                        "ApiKeyValue": "new-key"}}})
        self.assertEqual(status, 200, r)
        harness.wait_until(lambda: self.events.describe_connection(Name="steady-conn")[
            "ConnectionState"] == "AUTHORIZED", 10)
        self.assertEqual(admin(self.server, "POST", "/connections/nope/deauthorize")[0], 404)

    def test_overview_latency_percentiles_per_destination(self):
        """Two destinations, one answering at once and one after 250 ms: each reports its own
        attempt and ingestion-to-first-attempt percentiles; the server-wide figure sums both."""
        slow_sink = Sink()
        self.addCleanup(slow_sink.stop)
        slow_sink.set_default({"status": 200, "body": "", "delay_ms": 250})
        p = self.pipeline("quick", pattern={"source": ["quick.test"]})
        slow = self.destination("slow", p["conn"], sink=slow_sink)
        self.rule("slow-rule", {"source": ["slow.test"]})
        self.target("slow-rule", slow)
        self.put([{"n": i} for i in range(6)], source="quick.test")
        self.put([{"n": i} for i in range(4)], source="slow.test")
        self.sink.wait_for(6)
        slow_sink.wait_for(4)

        def latencies():
            _, o = admin(self.server, "GET", "/overview")
            by = {d["Name"]: d["latency"] for d in o["destinations"]}
            done = by["quick"]["attempt"]["count"] == 6 and by["slow"]["attempt"]["count"] == 4
            return (o, by) if done else None
        o, by = harness.wait_until(latencies, 15)
        for name, n in (("quick", 6), ("slow", 4)):
            lat = by[name]
            self.assertEqual(lat["ingestion_to_invocation"]["count"], n, lat)
            for key in ("p50_ms", "p90_ms", "p99_ms"):
                self.assertIsInstance(lat["attempt"][key], (int, float), lat)
            self.assertLessEqual(lat["attempt"]["p50_ms"], lat["attempt"]["p90_ms"])
            self.assertLessEqual(lat["attempt"]["p90_ms"], lat["attempt"]["p99_ms"])
            first = lat["ingestion_to_invocation"]
            self.assertLessEqual(first["p50_ms"], first["p99_ms"])
            self.assertGreaterEqual(first["p50_ms"], 0)
        # The sink waits 250 ms before answering: every slow attempt lasts at least that (bucket
        # interpolation may place a percentile anywhere inside the bucket holding 250 ms, whose
        # lower bound is above 100 ms), and the quick destination's median stays well below it.
        self.assertGreaterEqual(by["slow"]["attempt"]["p50_ms"], 100, by["slow"])
        self.assertGreaterEqual(by["slow"]["attempt"]["mean_ms"], 250, by["slow"])
        self.assertLess(by["quick"]["attempt"]["p50_ms"], 100, by["quick"])
        self.assertLess(by["quick"]["attempt"]["p50_ms"], by["slow"]["attempt"]["p50_ms"])
        # Server-wide: the sum of the per-destination series.
        self.assertEqual(o["latency"]["attempt"]["count"], 10)
        self.assertEqual(o["latency"]["ingestion_to_invocation"]["count"], 10)
        # The metrics endpoint carries the destination label on both histograms.
        _, _, text = harness.http_request(self.server, "GET", "/metrics", None, {})
        text = text.decode() if isinstance(text, bytes) else text
        self.assertIn('bridgeport_attempt_duration_seconds_count{destination="slow"} 4', text)
        self.assertIn('bridgeport_ingestion_to_invocation_seconds_count{destination="quick"} 6',
                      text)

    def test_browser_requests_are_protected(self):
        host = "127.0.0.1:%d" % self.server.port
        body = {"queue": "nope", "rate": 5}
        # Scripts (no Origin, no Sec-Fetch-*) are unaffected.
        self.assertEqual(admin(self.server, "POST", "/redrives", body)[0], 404)
        # A cross-site page: refused, whatever it sends.
        for h in [{"Origin": "http://evil.example"},
                  {"Origin": "http://evil.example", "X-Bridgeport-Console": "1"},
                  {"Sec-Fetch-Site": "cross-site"}]:
            self.assertEqual(admin(self.server, "POST", "/redrives", body, h)[0], 403, h)
        # Same origin without the console's header (e.g. a same-origin form): refused.
        self.assertEqual(admin(self.server, "POST", "/redrives", body,
                               {"Origin": "http://" + host})[0], 403)
        self.assertEqual(admin(self.server, "POST", "/redrives", body,
                               {"Origin": "http://" + host, "X-Bridgeport-Console": "1"})[0], 404)
        # DNS rebinding: a browser request naming another host in dev mode gets nothing.
        self.assertEqual(admin(self.server, "GET", "/overview", None,
                               {"Host": "evil.example:80", "Sec-Fetch-Site": "same-origin"})[0],
                         403)
        self.assertEqual(admin(self.server, "GET", "/overview", None,
                               {"Host": "localhost:1", "Sec-Fetch-Site": "same-origin"})[0], 200)
        status, headers, page = harness.http_request(self.server, "GET", "/console/")
        self.assertEqual(status, 200)
        self.assertIn(b"<html", page)
        self.assertIn("frame-ancestors 'none'", headers["content-security-policy"])
        self.assertEqual(harness.http_request(self.server, "GET", "/console")[0], 302)
        self.assertEqual(harness.http_request(self.server, "GET", "/console/../x")[0], 404)


class NonLoopbackConsoleTest(unittest.TestCase):
    """On 0.0.0.0 (not loopback dev mode) the assets load but every datum needs the token."""

    def test_token_is_required(self):
        server = harness.start_server(listen="0.0.0.0:0",
                                      extra_args=["--admin-token", "tok-123"])
        self.addCleanup(server.close)
        self.assertEqual(harness.http_request(server, "GET", "/console/")[0], 200)
        self.assertEqual(admin(server, "GET", "/overview")[0], 401)
        self.assertEqual(admin(server, "POST", "/redrives", {"queue": "q", "rate": 1})[0], 401)
        self.assertEqual(admin(server, "GET", "/overview", None,
                               {"Authorization": "Bearer wrong"})[0], 401)
        self.assertEqual(admin(server, "GET", "/overview", None,
                               {"Authorization": "Bearer tok-123"})[0], 200)


if __name__ == "__main__":
    unittest.main()
