"""End-to-end retries, error classification, dead-letter queue contents and retry state across a
restart, against the real server and the scriptable sink.

Timing assertions are lower bounds only, measured on the sink's receive clock: the server decides
a retry's due time after it has seen the previous response, and the sink records a request before
answering it, so "next receive - previous receive >= delay" holds whatever the network jitter.
"""

import json
import unittest

import harness
from delivery_util import DeliveryFixture, header

FAST = {"backoff_base_ms": 100}


class RetryTest(DeliveryFixture):

    def test_500_500_200_is_three_attempts_then_success(self):
        self.sink.script([{"status": 500}, {"status": 500, "body": "still broken"}])
        self.pipeline("flaky", rule_tags={"backoff_base_ms": 300},
                      dest_tags={"delivery_headers": "true"})
        [event_id] = self.put([{"n": 1}])
        reqs = self.sink.wait_for(3, timeout=15)
        recs = self.wait_deliveries("flaky", lambda d: len(d) >= 3)
        self.assertEqual([r["outcome"] for r in recs], ["retry", "retry", "success"])
        self.assertEqual([r["status"] for r in recs], [500, 500, 200])
        self.assertEqual({r["event_id"] for r in recs}, {event_id})
        self.assertEqual(recs[0]["error_code"], "ERROR_FROM_TARGET")
        self.assertEqual(recs[1]["error"], "HTTP 500 from 127.0.0.1: still broken")
        self.assertEqual(len({r["delivery_id"] for r in recs}), 1)
        self.assertEqual([header(r, "X-Bridgeport-Attempt") for r in reqs], ["1", "2", "3"])
        self.assertEqual({header(r, "X-Bridgeport-Event-Id") for r in reqs}, {event_id})
        self.assertEqual(len({r["body"] for r in reqs}), 1, "every attempt sends the same body")
        # Backoff with base 300 ms: retry 1 waits 150-300 ms, retry 2 waits 300-600 ms.
        self.assertGreaterEqual(reqs[1]["monotonic"] - reqs[0]["monotonic"], 0.15)
        self.assertGreaterEqual(reqs[2]["monotonic"] - reqs[1]["monotonic"], 0.30)
        self.wait_metric("bridgeport_invocations_total", 1, outcome="success")
        self.assertEqual(self.metric("bridgeport_invocation_attempts_total", destination="flaky",
                                     result="5xx"), 2)
        self.assertEqual(self.metric("bridgeport_invocation_attempts_total", destination="flaky",
                                     result="2xx"), 1)
        self.assertEqual(len(self.sink.requests()), 3, "a recorded success is not re-sent")

    # Attempt records number attempts from 1 (a 500 then a 200 gives records 1, 2).
    def test_attempt_records_number_attempts_from_one(self):
        self.sink.script([{"status": 500}])
        self.pipeline("numbered", rule_tags=FAST)
        self.put([{"n": 1}])
        recs = self.wait_deliveries("numbered", lambda d: len(d) >= 2)
        self.assertEqual([r["attempt"] for r in recs], [1, 2])

    def test_429_retry_after_delays_the_next_attempt(self):
        self.sink.script([{"status": 429, "retry_after": "2"}])
        self.pipeline("throttling", rule_tags=FAST)
        self.put([{"n": 1}])
        reqs = self.sink.wait_for(2, timeout=15)
        self.assertGreaterEqual(reqs[1]["monotonic"] - reqs[0]["monotonic"], 2.0,
                                "Retry-After: 2 must delay the retry by at least 2 s")
        recs = self.wait_deliveries("throttling", lambda d: len(d) >= 2)
        self.assertEqual(recs[0]["status"], 429)
        self.assertEqual(recs[0]["error_code"], "ERROR_FROM_TARGET")
        self.assertEqual(recs[-1]["outcome"], "success")

    def test_timeout_is_retried_as_timeout(self):
        self.sink.script([{"delay_ms": 1500}])
        self.pipeline("slowpoke", rule_tags=FAST, dest_tags={"timeout_ms": 300})
        self.put([{"n": 1}])
        self.sink.wait_for(2, timeout=15)
        recs = self.wait_deliveries("slowpoke", lambda d: len(d) >= 2)
        self.assertEqual(recs[0]["outcome"], "retry")
        self.assertEqual(recs[0]["error_code"], "TIMEOUT")
        self.assertEqual(recs[-1]["outcome"], "success")
        self.assertGreaterEqual(self.metric("bridgeport_invocation_attempts_total",
                                            destination="slowpoke", result="timeout"), 1)

    def test_connection_reset_is_retried_as_connection_failure(self):
        self.sink.script([{"reset": True}])
        self.pipeline("resetting", rule_tags=FAST)
        self.put([{"n": 1}])
        self.sink.wait_for(2, timeout=15)
        recs = self.wait_deliveries("resetting", lambda d: len(d) >= 2)
        self.assertEqual(recs[0]["outcome"], "retry")
        self.assertEqual(recs[0]["error_code"], "CONNECTION_FAILURE")
        self.assertEqual(recs[-1]["outcome"], "success")

    def test_connection_refused_without_retries_goes_to_dlq(self):
        conn = self.api_key_connection("refused-conn")
        port = harness.free_port()  # nothing listens there
        dest = self.destination("refused", conn, endpoint="http://127.0.0.1:%d/x" % port)
        self.rule("refused-rule")
        dlq_url, dlq_arn = self.queue("refused-dlq")
        self.target("refused-rule", dest, dlq_arn=dlq_arn, max_retries=0)
        [event_id] = self.put([{"n": 1}])
        [msg] = self.receive_dlq(dlq_url)
        a = self.attrs(msg)
        self.assertEqual(a["ERROR_CODE"], ("String", "CONNECTION_FAILURE"))
        self.assertEqual(a["EXHAUSTED_RETRY_CONDITION"], ("String", "MaximumRetryAttempts"))
        self.assertEqual(a["RETRY_ATTEMPTS"], ("Number", "0"))
        self.assertEqual(json.loads(msg["Body"])["id"], event_id)
        recs = self.deliveries("refused")
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["error_code"], "CONNECTION_FAILURE")


class DeadLetterTest(DeliveryFixture):

    def test_400_is_not_retried_and_dead_letters_the_original_event(self):
        self.sink.set_default({"status": 400, "body": "bad request: field x"})
        p = self.pipeline("rejecting", dlq=True, rule_tags=FAST, InputTransformer={
            "InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": '{"transformed": <n>}'})
        out = self.events.put_events(Entries=[{
            "Source": "test.delivery", "DetailType": "dl", "Detail": '{"n":7,"keep":"order"}',
            "Resources": ["r1"]}])
        event_id = out["Entries"][0]["EventId"]
        [req] = self.sink.wait_for(1)
        self.assertEqual(json.loads(req["body"]), {"transformed": 7})
        [msg] = self.receive_dlq(p["dlq_url"])
        body = json.loads(msg["Body"])
        self.assertEqual(body["id"], event_id, "DLQ body is the original event")
        self.assertEqual(body["detail"], {"n": 7, "keep": "order"})
        self.assertEqual(body["detail-type"], "dl")
        self.assertEqual(body["resources"], ["r1"])
        self.assertNotIn("transformed", msg["Body"])
        a = self.attrs(msg)
        self.assertEqual(a["RULE_ARN"], ("String", p["rule"]))
        self.assertEqual(a["TARGET_ARN"], ("String", p["dest"]))
        self.assertEqual(a["ERROR_CODE"], ("String", "ERROR_FROM_TARGET"))
        self.assertEqual(a["ERROR_MESSAGE"][0], "String")
        self.assertTrue(a["ERROR_MESSAGE"][1].startswith("HTTP 400 from 127.0.0.1"),
                        a["ERROR_MESSAGE"])
        self.assertIn("bad request: field x", a["ERROR_MESSAGE"][1])
        self.assertNotIn("EXHAUSTED_RETRY_CONDITION", a, "a 400 is not retryable")
        self.assertEqual(a["RETRY_ATTEMPTS"], ("Number", "0"))
        self.assertEqual(len(self.sink.requests()), 1, "a 400 is not retried")
        self.assertEqual(self.metric("bridgeport_dlq_sends_total"), 1)
        self.assertEqual(self.metric("bridgeport_invocations_total", outcome="dlq"), 1)

    def test_max_retry_attempts_one_is_two_attempts_then_dlq(self):
        self.sink.set_default({"status": 503, "body": "down"})
        p = self.pipeline("exhausting", dlq=True, max_retries=1, rule_tags=FAST)
        [event_id] = self.put([{"n": 1}])
        [msg] = self.receive_dlq(p["dlq_url"])
        a = self.attrs(msg)
        self.assertEqual(a["EXHAUSTED_RETRY_CONDITION"], ("String", "MaximumRetryAttempts"))
        self.assertEqual(a["RETRY_ATTEMPTS"], ("Number", "1"))
        self.assertEqual(a["ERROR_CODE"], ("String", "ERROR_FROM_TARGET"))
        self.assertEqual(a["ERROR_MESSAGE"], ("String", "HTTP 503 from 127.0.0.1: down"))
        self.assertEqual(json.loads(msg["Body"])["id"], event_id)
        # The DLQ write removes the task: no third attempt can follow.
        reqs = self.sink.requests()
        self.assertEqual(len(reqs), 2)
        self.assertGreaterEqual(reqs[1]["monotonic"] - reqs[0]["monotonic"], 0.05)
        recs = self.deliveries("exhausting")
        self.assertEqual([r["outcome"] for r in recs], ["retry", "failed"])
        self.assertEqual(self.dlq_depth(p["dlq_url"]), 0)

    def test_without_dlq_a_failure_is_dropped_counted_and_logged(self):
        self.sink.set_default({"status": 404})
        self.pipeline("nodlq", rule_tags=FAST)
        [event_id] = self.put([{"n": 1}])
        self.sink.wait_for(1)
        self.wait_metric("bridgeport_dropped_total", 1, reason="no_dlq")
        self.assertEqual(self.metric("bridgeport_invocations_total", outcome="dropped"), 1)
        self.assertEqual(self.metric("bridgeport_dlq_sends_total"), 0)
        errors = [r for r in self.server.log_records()
                  if r.get("level") == "error" and r.get("event_id") == event_id]
        self.assertEqual(len(errors), 1, errors)
        self.assertEqual(errors[0].get("error_code"), "ERROR_FROM_TARGET")
        # The counter moves before the attempt record commits: wait for the record.
        recs = self.wait_deliveries("nodlq", lambda d: len(d) >= 1)
        self.assertEqual([r["outcome"] for r in recs], ["failed"])
        self.assertEqual(recs[0]["status"], 404)


class RetryAcrossRestartTest(DeliveryFixture):

    def test_retry_schedule_survives_a_restart(self):
        self.sink.set_default({"status": 500})
        # Base 2 s: retry 1 waits 1-2 s, retry 2 waits 2-4 s.
        p = self.pipeline("durable", dlq=True, rule_tags={"backoff_base_ms": 2000},
                          dest_tags={"delivery_headers": "true"})
        [event_id] = self.put([{"n": 1}])
        self.sink.wait_for(2, timeout=15)
        self.wait_deliveries("durable", lambda d: len(d) >= 2 and d[-1]["outcome"] == "retry")
        self.assertEqual(self.server.stop(), 0, "SIGTERM stops the server cleanly")
        self.assertEqual(len(self.sink.requests()), 2, "the second retry was still pending")
        self.sink.set_default({"status": 200})
        self.restart_server()
        reqs = self.sink.wait_for(3, timeout=15)
        self.assertEqual([header(r, "X-Bridgeport-Attempt") for r in reqs], ["1", "2", "3"],
                         "the attempt counter continues after the restart")
        self.assertEqual({header(r, "X-Bridgeport-Event-Id") for r in reqs}, {event_id})
        recs = self.wait_deliveries("durable", lambda d: d and d[-1]["outcome"] == "success")
        self.assertEqual([r["outcome"] for r in recs], ["retry", "retry", "success"])
        self.assertEqual(recs[-1]["attempt"], 3)
        self.assertEqual(len({r["delivery_id"] for r in recs}), 1)
        self.assertEqual(self.dlq_depth(p["dlq_url"]), 0)
        self.wait_metric("bridgeport_invocations_total", 1, outcome="success")
        self.assertEqual(len(self.sink.requests()), 3)


if __name__ == "__main__":
    unittest.main()
