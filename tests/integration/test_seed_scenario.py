"""The seed scenario, driven with the `aws` CLI only (harness.aws_cli): a partner bus, an API_KEY
connection, a 1/s API destination, a rule on `detail.partner`, a target with an InputTransformer,
one retry and a dead-letter queue. The recording sink plays the partner's endpoint.
"""

import json
import time
import unittest

import harness
from delivery_util import Sink, header

TEMPLATE = '{"datas": <d>, "type": <t>, "id": <i>}'


class SeedScenarioTest(unittest.TestCase):

    def setUp(self):
        harness.require_aws_cli()
        self.server = harness.start_server()
        self.addCleanup(self.server.close)
        self.sink = Sink()
        self.addCleanup(self.sink.stop)

    def cli(self, *args):
        return harness.aws_cli(self.server, *args)

    def put(self, detail, detail_type="partner.order"):
        out = self.cli("events", "put-events", "--entries", json.dumps([{
            "Source": "partner.app", "DetailType": detail_type, "Detail": json.dumps(detail),
            "EventBusName": "partners"}]))
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return out["Entries"][0]["EventId"]

    def receive_dlq(self, url, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.cli("sqs", "receive-message", "--queue-url", url,
                           "--message-attribute-names", "All", "--wait-time-seconds", "2")
            if out and out.get("Messages"):
                return out["Messages"]
        self.fail("no dead-letter message within %.0f s" % timeout)

    def test_seed_scenario(self):
        bus_arn = self.cli("events", "create-event-bus", "--name", "partners")["EventBusArn"]
        self.assertTrue(bus_arn.endswith(":event-bus/partners"), bus_arn)
        conn = self.cli("events", "create-connection", "--name", "partner-conn",
                        "--authorization-type", "API_KEY", "--auth-parameters", json.dumps({
                            "ApiKeyAuthParameters": {"ApiKeyName": "x-partner-key",
                                                     "ApiKeyValue": "k-123-secret"}}))
        self.assertEqual(conn["ConnectionState"], "AUTHORIZED")
        dest = self.cli("events", "create-api-destination", "--name", "partner-dest",
                        "--connection-arn", conn["ConnectionArn"],
                        "--invocation-endpoint", self.sink.url("/partner/events"),
                        "--http-method", "POST", "--invocation-rate-limit-per-second", "1")
        self.assertEqual(dest["ApiDestinationState"], "ACTIVE")
        dlq_url = self.cli("sqs", "create-queue", "--queue-name", "partner-dlq")["QueueUrl"]
        dlq_arn = self.cli("sqs", "get-queue-attributes", "--queue-url", dlq_url,
                           "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
        rule_arn = self.cli("events", "put-rule", "--name", "partner-rule",
                            "--event-bus-name", "partners", "--event-pattern",
                            json.dumps({"detail": {"partner": [{"exists": True}]}}))["RuleArn"]
        out = self.cli("events", "put-targets", "--rule", "partner-rule",
                       "--event-bus-name", "partners", "--targets", json.dumps([{
                           "Id": "partner-target", "Arn": dest["ApiDestinationArn"],
                           "InputTransformer": {
                               "InputPathsMap": {"d": "$.detail", "t": "$.detail-type",
                                                 "i": "$.id"},
                               "InputTemplate": TEMPLATE},
                           "RetryPolicy": {"MaximumRetryAttempts": 1},
                           "DeadLetterConfig": {"Arn": dlq_arn}}]))
        self.assertEqual(out["FailedEntryCount"], 0, out)

        # 1. Delivered, transformed, with the API key; an event without `partner` is not.
        self.put({"other": 1}, detail_type="not.for.partner")
        event_id = self.put({"partner": "acme", "order": {"id": 7, "total": 12.5}})
        [req] = self.sink.wait_for(1, timeout=15)
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], "/partner/events")
        self.assertEqual(json.loads(req["body"]), {
            "datas": {"partner": "acme", "order": {"id": 7, "total": 12.5}},
            "type": "partner.order", "id": event_id})
        self.assertEqual(header(req, "x-partner-key"), "k-123-secret")
        self.assertEqual(header(req, "User-Agent"), "Amazon/EventBridge/ApiDestinations")

        # 2. Failing twice: one retry, then the original event goes to the DLQ.
        self.sink.reset()
        self.sink.script([{"status": 500, "body": "partner down"},
                          {"status": 500, "body": "partner down"}])
        failing_id = self.put({"partner": "globex", "n": 2})
        [msg] = self.receive_dlq(dlq_url)
        body = json.loads(msg["Body"])
        self.assertEqual(body["id"], failing_id)
        self.assertEqual(body["detail"], {"partner": "globex", "n": 2})
        self.assertEqual(body["detail-type"], "partner.order")
        attrs = {k: v["StringValue"] for k, v in msg["MessageAttributes"].items()}
        self.assertEqual(attrs["RULE_ARN"], rule_arn)
        self.assertEqual(attrs["TARGET_ARN"], dest["ApiDestinationArn"])
        self.assertEqual(attrs["ERROR_CODE"], "ERROR_FROM_TARGET")
        self.assertEqual(attrs["ERROR_MESSAGE"], "HTTP 500 from 127.0.0.1: partner down")
        self.assertEqual(attrs["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts")
        self.assertEqual(attrs["RETRY_ATTEMPTS"], "1")
        self.assertEqual(msg["MessageAttributes"]["RETRY_ATTEMPTS"]["DataType"], "Number")
        reqs = self.sink.requests()
        self.assertEqual(len(reqs), 2, "exactly one retry")
        self.assertEqual({json.loads(r["body"])["id"] for r in reqs}, {failing_id})
        # The 1/s limit spaces the retry >= 1 s from the first attempt's start; the sink may see
        # the first request late by loopback jitter (see test_rate_limit.py), hence 0.85 s.
        self.assertGreaterEqual(reqs[1]["monotonic"] - reqs[0]["monotonic"], 0.85)


if __name__ == "__main__":
    unittest.main()
