"""Helpers shared by the end-to-end delivery tests (test_delivery, test_rate_limit, test_crash,
test_seed_scenario): resource set-up through boto3, attempt records, DLQ reads, sink analysis.

Everything here talks to a real `bridgeport` started by harness.py and to fakes/sink.py. Every
wait is bounded.
"""

import json
import os
import sys
import time
import unittest
import urllib.parse

import harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakes"))
from sink import Sink  # noqa: E402  (path set up above)

ENVELOPE_KEYS = ["version", "id", "detail-type", "source", "account", "time", "region",
                 "resources", "detail"]
USER_AGENT = "Amazon/EventBridge/ApiDestinations"


def header(request, name):
    """Value of header `name` (case-insensitive) in a sink request record, or None."""
    for k, v in request["headers"]:
        if k.lower() == name.lower():
            return v
    return None


def query_params(request):
    return dict(urllib.parse.parse_qsl(request["query"], keep_blank_values=True))


def body_json(request):
    return json.loads(request["body"])


def event_ids_seen(requests):
    """Event ids of sink requests whose body is a whole event envelope."""
    ids = []
    for r in requests:
        try:
            ids.append(json.loads(r["body"])["id"])
        except (ValueError, KeyError, TypeError):
            pass
    return ids


def max_in_window(times, window):
    """Largest number of values in any half-open interval [t, t + window) (times in seconds)."""
    ts = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(ts):
        while ts[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class DeliveryFixture(unittest.TestCase):
    """Base class: one server and one sink per test, both stopped in cleanup."""

    server_args = ()

    def setUp(self):
        harness.require_boto3()
        self.server = harness.start_server(extra_args=self.server_args)
        self.addCleanup(self._dump_log_on_failure)
        self.addCleanup(self.server.close)
        self.sink = Sink()
        self.addCleanup(self.sink.stop)
        self._refresh_clients()

    def _refresh_clients(self):
        self.events = harness.client(self.server, "events")
        self.sqs = harness.client(self.server, "sqs")

    def _dump_log_on_failure(self):
        # Keep failures diagnosable: print the server's log tail when a test failed.
        outcome = getattr(self, "_outcome", None)
        errors = getattr(outcome, "errors", None) or []
        result = getattr(outcome, "result", None)
        failed = any(exc for _, exc in errors) or bool(
            result and any(t is self for t, _ in result.failures + result.errors))
        if failed:
            sys.stderr.write("\n--- server log tail (%s) ---\n%s\n"
                             % (self.id(), self.server.log_text()[-6000:]))

    def restart_server(self):
        self.server.restart()
        self._refresh_clients()

    def crash_and_restart(self):
        self.server.kill9()
        self.server.start()
        self._refresh_clients()

    # ---- resources ----

    def api_key_connection(self, name="conn", key_name="x-api-key", key_value="s3cret-key",
                           invocation_params=None):
        params = {"ApiKeyAuthParameters": {"ApiKeyName": key_name, "ApiKeyValue": key_value}}
        if invocation_params:
            params["InvocationHttpParameters"] = invocation_params
        return self.events.create_connection(Name=name, AuthorizationType="API_KEY",
                                             AuthParameters=params)["ConnectionArn"]

    def basic_connection(self, name="basic", user="alice", password="pa:ss word"):
        params = {"BasicAuthParameters": {"Username": user, "Password": password}}
        return self.events.create_connection(Name=name, AuthorizationType="BASIC",
                                             AuthParameters=params)["ConnectionArn"]

    def destination(self, name, connection_arn, path="/hook", method="POST", rate=300,
                    sink=None, endpoint=None):
        endpoint = endpoint or (sink or self.sink).url(path)
        return self.events.create_api_destination(
            Name=name, ConnectionArn=connection_arn, InvocationEndpoint=endpoint,
            HttpMethod=method, InvocationRateLimitPerSecond=rate)["ApiDestinationArn"]

    def queue(self, name):
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        return url, arn

    def rule(self, name, pattern=None, bus="default"):
        pattern = pattern or {"source": ["test.delivery"]}
        return self.events.put_rule(Name=name, EventBusName=bus,
                                    EventPattern=json.dumps(pattern))["RuleArn"]

    def target(self, rule, arn, target_id="t1", bus="default", dlq_arn=None, max_retries=None,
               **extra):
        t = {"Id": target_id, "Arn": arn}
        if dlq_arn:
            t["DeadLetterConfig"] = {"Arn": dlq_arn}
        if max_retries is not None:
            t["RetryPolicy"] = {"MaximumRetryAttempts": max_retries}
        t.update(extra)
        out = self.events.put_targets(Rule=rule, EventBusName=bus, Targets=[t])
        self.assertEqual(out["FailedEntryCount"], 0, out)

    def tag(self, arn, **settings):
        """TagResource with `bridgeport:<key>` tags; keyword names use _ for -."""
        tags = [{"Key": "bridgeport:" + k.replace("_", "-"), "Value": str(v)}
                for k, v in settings.items()]
        self.events.tag_resource(ResourceARN=arn, Tags=tags)

    def pipeline(self, name="d1", rate=300, path="/hook", method="POST", dlq=False,
                 max_retries=None, pattern=None, conn_arn=None, rule_tags=None, dest_tags=None,
                 **target_extra):
        """Connection (API_KEY) -> destination -> rule -> target. Returns a dict of ARNs/URLs."""
        out = {}
        out["conn"] = conn_arn or self.api_key_connection(name + "-conn")
        out["dest"] = self.destination(name, out["conn"], path=path, method=method, rate=rate)
        if dest_tags:
            self.tag(out["dest"], **dest_tags)
        out["rule"] = self.rule(name + "-rule", pattern)
        if rule_tags:
            self.tag(out["rule"], **rule_tags)
        if dlq:
            out["dlq_url"], out["dlq_arn"] = self.queue(name + "-dlq")
        self.target(name + "-rule", out["dest"], dlq_arn=out.get("dlq_arn"),
                    max_retries=max_retries, **target_extra)
        return out

    # ---- data plane ----

    def put(self, details, source="test.delivery", detail_type="test", bus="default",
            resources=None):
        """PutEvents in chunks of 10; returns the acknowledged EventIds in order."""
        ids = []
        entries = []
        for d in details:
            e = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(d),
                 "EventBusName": bus}
            if resources is not None:
                e["Resources"] = resources
            entries.append(e)
        for i in range(0, len(entries), 10):
            out = self.events.put_events(Entries=entries[i:i + 10])
            self.assertEqual(out["FailedEntryCount"], 0, out)
            ids += [e["EventId"] for e in out["Entries"]]
        return ids

    def deliveries(self, destination, limit=1000, **filters):
        """Attempt records for `destination`, oldest first."""
        q = {"destination": destination, "limit": str(limit)}
        q.update(filters)
        status, _, data = harness.http_request(
            self.server, "GET", "/_bridgeport/v1/deliveries?" + urllib.parse.urlencode(q))
        self.assertEqual(status, 200, data)
        return list(reversed(json.loads(data)["deliveries"]))

    def wait_deliveries(self, destination, pred, timeout=15.0):
        return harness.wait_until(lambda: (lambda d: d if pred(d) else None)(
            self.deliveries(destination)), timeout,
            message="attempt records of %s did not reach the expected state" % destination)

    def metric(self, name, **labels):
        return harness.metric(self.server, name, **labels)

    def wait_metric(self, name, at_least, timeout=15.0, **labels):
        return harness.wait_until(lambda: self.metric(name, **labels) >= at_least, timeout,
                                  message="%s%r did not reach %s" % (name, labels, at_least))

    def receive_dlq(self, queue_url, count=1, timeout=15.0):
        """Receives (and deletes) `count` DLQ messages with all attributes."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            out = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           MessageAttributeNames=["All"], WaitTimeSeconds=1)
            for m in out.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        if len(got) < count:
            raise AssertionError("DLQ held %d of %d messages within %.0f s"
                                 % (len(got), count, timeout))
        return got

    def dlq_depth(self, queue_url):
        a = self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                                "ApproximateNumberOfMessagesNotVisible"])
        return sum(int(v) for v in a["Attributes"].values())

    @staticmethod
    def attrs(message):
        """MessageAttributes as {name: (DataType, StringValue)}."""
        return {k: (v["DataType"], v.get("StringValue"))
                for k, v in message.get("MessageAttributes", {}).items()}
