"""EventBridge Pipes end to end: control plane and data plane through boto3's `pipes` client.

Source: Bridgeport queues; filter, enrichment and target API destinations on fakes/sink.py;
event bus and queue targets; batching with a window; a 1/s destination; failures ending in the
source queue's DLQ through its RedrivePolicy.
"""

import json
import time
import unittest

import harness
from delivery_util import Sink, body_json, header, max_in_window
from pipes_util import ROLE, PipesFixture, model_has_member, raw_pipes_call

JITTER = 0.25  # s: largest delay between a limiter start and the sink's receive we tolerate
# (the exact bound is checked on the recorded starts; the sink adds scheduling noise)


class PipesControlPlaneTest(PipesFixture):

    def setUp(self):
        super().setUp()
        _, self.src = self.queue_with("src")
        self.dest = self.api_destination("d1")

    def test_create_describe_list_update_delete(self):
        out = self.create_pipe("p1", self.src, self.dest, DesiredState="STOPPED",
                               Description="first", Tags={"team": "a"})
        self.assertEqual(out["Arn"], "arn:aws:pipes:us-east-1:000000000000:pipe/p1")
        self.assertIn(out["CurrentState"], ("CREATING", "STOPPED"))
        self.assertEqual(out["DesiredState"], "STOPPED")
        self.wait_state("p1", "STOPPED")
        d = self.pipes.describe_pipe(Name="p1")
        self.assertEqual((d["Source"], d["Target"], d["RoleArn"], d["Description"]),
                         (self.src, self.dest, ROLE, "first"))
        self.assertEqual(d["Tags"], {"team": "a"})
        self.assertLessEqual(abs(time.time() - d["CreationTime"].timestamp()), 120)

        self.create_pipe("p2", self.src, self.dest, DesiredState="STOPPED")
        self.create_pipe("other", self.src, self.dest, DesiredState="STOPPED")
        names = [p["Name"] for p in self.pipes.list_pipes(NamePrefix="p")["Pipes"]]
        self.assertEqual(names, ["p1", "p2"])
        page = self.pipes.list_pipes(Limit=2)
        self.assertEqual(len(page["Pipes"]), 2)
        rest = self.pipes.list_pipes(Limit=2, NextToken=page["NextToken"])
        self.assertEqual([p["Name"] for p in page["Pipes"] + rest["Pipes"]],
                         ["other", "p1", "p2"])
        self.assertEqual(len(self.pipes.list_pipes(SourcePrefix=self.src)["Pipes"]), 3)
        self.assertEqual(self.pipes.list_pipes(TargetPrefix="arn:aws:sqs")["Pipes"], [])
        self.wait_state("p2", "STOPPED")
        self.assertEqual(len(self.pipes.list_pipes(CurrentState="STOPPED", NamePrefix="p2")[
            "Pipes"]), 1)
        self.assertEqual(self.pipes.list_pipes(DesiredState="RUNNING")["Pipes"], [])

        up = self.pipes.update_pipe(Name="p1", RoleArn=ROLE, Description="second")
        self.assertIn(up["CurrentState"], ("UPDATING", "STOPPED"))
        self.wait_state("p1", "STOPPED")
        self.assertEqual(self.pipes.describe_pipe(Name="p1")["Description"], "second")

        arn = out["Arn"]
        self.pipes.tag_resource(resourceArn=arn, tags={"env": "dev"})
        self.assertEqual(self.pipes.list_tags_for_resource(resourceArn=arn)["tags"],
                         {"team": "a", "env": "dev"})
        self.pipes.untag_resource(resourceArn=arn, tagKeys=["team"])
        self.assertEqual(self.pipes.list_tags_for_resource(resourceArn=arn)["tags"],
                         {"env": "dev"})

        gone = self.pipes.delete_pipe(Name="p1")
        self.assertEqual(gone["DesiredState"], "DELETED")
        harness.wait_until(lambda: "p1" not in [p["Name"] for p in
                                                self.pipes.list_pipes()["Pipes"]], 10)
        with self.assertRaises(Exception) as ctx:
            self.pipes.describe_pipe(Name="p1")
        self.assertEqual(harness.error_code(ctx.exception), "NotFoundException")

    def test_errors(self):
        def code_of(fn, **kw):
            with self.assertRaises(Exception) as ctx:
                fn(**kw)
            return harness.error_code(ctx.exception), ctx.exception.response

        code, resp = code_of(self.pipes.describe_pipe, Name="nope")
        self.assertEqual(code, "NotFoundException")
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.create_pipe("dup", self.src, self.dest, DesiredState="STOPPED")
        code, resp = code_of(self.create_pipe, name="dup", source=self.src, target=self.dest)
        self.assertEqual(code, "ConflictException")
        code, resp = code_of(self.create_pipe, name="k", target=self.dest,
                             source="arn:aws:kinesis:us-east-1:000000000000:stream/s")
        self.assertEqual(code, "ValidationException")
        self.assertEqual(resp["fieldList"][0]["name"], "source")
        code, resp = code_of(self.create_pipe, name="b", source=self.src, target=self.dest,
                             SourceParameters={"SqsQueueParameters": {"BatchSize": 100}})
        self.assertEqual(code, "ValidationException")
        self.assertEqual(resp["fieldList"][0]["name"],
                         "sourceParameters.sqsQueueParameters.batchSize")
        code, _ = code_of(self.create_pipe, name="f", source=self.src, target=self.dest,
                          SourceParameters={"FilterCriteria": {"Filters": [
                              {"Pattern": '{"body": "not-a-list"}'}]}})
        self.assertEqual(code, "ValidationException")
        code, _ = code_of(self.create_pipe, name="t", source=self.src, target=self.dest,
                          TargetParameters={"InputTemplate": "<aws.pipes.unknown>"})
        self.assertEqual(code, "ValidationException")
        code, _ = code_of(self.create_pipe, name="m", source=self.src,
                          target="arn:aws:events:us-east-1:000000000000:api-destination/x/1")
        self.assertEqual(code, "ValidationException")
        code, _ = code_of(self.pipes.list_pipes, Limit=1000)
        self.assertEqual(code, "ValidationException")

    def test_log_configuration_raw_or_model(self):
        body = {"Source": self.src, "Target": self.dest, "RoleArn": ROLE,
                "DesiredState": "STOPPED", "LogConfiguration": {"Level": "TRACE"}}
        if model_has_member(self.pipes, "CreatePipe", "LogConfiguration"):
            self.pipes.create_pipe(Name="logged", **body)
        else:  # Debian's botocore 1.29 predates LogConfiguration
            status, _, out = raw_pipes_call(self.server, "POST", "/v1/pipes/logged", body)
            self.assertEqual(status, 200, out)
        status, _, d = raw_pipes_call(self.server, "GET", "/v1/pipes/logged")
        self.assertEqual(status, 200)
        self.assertEqual(d["LogConfiguration"], {"Level": "TRACE"})
        status, headers, err = raw_pipes_call(self.server, "POST", "/v1/pipes/bad", dict(
            body, LogConfiguration={"Level": "LOUD"}))
        self.assertEqual(status, 400)
        self.assertEqual(headers.get("X-Amzn-ErrorType"), "ValidationException")
        self.assertEqual(err["fieldList"][0]["name"], "logConfiguration.level")


class PipesDataPlaneTest(PipesFixture):

    def test_filter_enrichment_transform(self):
        enrich_sink = Sink()
        self.addCleanup(enrich_sink.stop)
        enrich_sink.set_default({"status": 200, "body": '{"tier":"gold","score":7}'})
        src_url, src = self.queue_with("orders")
        enrich = self.api_destination("enrich", sink=enrich_sink, path="/lookup")
        target = self.api_destination("hook")
        self.create_pipe(
            "shaped", src, target,
            SourceParameters={
                "SqsQueueParameters": {"BatchSize": 1},
                "FilterCriteria": {"Filters": [{"Pattern": json.dumps(
                    {"body": {"kind": ["order"], "amount": [{"numeric": [">", 10]}]}})}]}},
            Enrichment=enrich,
            EnrichmentParameters={"InputTemplate": '{"id": "<$.body.id>", "src": '
                                                   '"<aws.pipes.source-arn>"}',
                                  "HttpParameters": {"HeaderParameters": {"X-Stage": "enrich"}}},
            TargetParameters={"InputTemplate": '{"tier": "<$.tier>", "score": <$.score>, '
                                               '"pipe": "<aws.pipes.pipe-name>"}',
                              "HttpParameters": {"QueryStringParameters": {"via": "pipe"}}})
        self.wait_state("shaped", "RUNNING")
        self.send(src_url, [{"kind": "order", "id": "o1", "amount": 50},
                            {"kind": "noise", "id": "n1", "amount": 50},
                            {"kind": "order", "id": "o2", "amount": 5},
                            {"kind": "order", "id": "o3", "amount": 11},
                            "not json at all"])
        reqs = self.sink.wait_for(2, timeout=20)
        self.assertEqual([body_json(r) for r in reqs],
                         [{"tier": "gold", "score": 7, "pipe": "shaped"}] * 2)
        self.assertEqual(reqs[0]["query"], "via=pipe")
        self.assertEqual(header(reqs[0], "x-api-key"), "s3cret-key")
        enriched = enrich_sink.requests()
        self.assertEqual(sorted(body_json(r)["id"] for r in enriched), ["o1", "o3"])
        self.assertEqual(body_json(enriched[0])["src"], src)
        self.assertEqual(header(enriched[0], "X-Stage"), "enrich")
        self.wait_queue_empty(src_url)
        harness.wait_until(lambda: harness.metric(
            self.server, "bridgeport_pipe_records_filtered_total", pipe="shaped") == 3, 10)
        self.assertEqual(harness.metric(self.server, "bridgeport_pipe_records_delivered_total",
                                        pipe="shaped"), 2)
        self.assertEqual(harness.metric(self.server, "bridgeport_pipe_records_enriched_total",
                                        pipe="shaped"), 2)
        recs = self.pipe_deliveries("shaped", "hook", count=2)
        self.assertEqual(len(recs), 2)
        self.assertTrue(all(r["pipe"] == "shaped" and r["pipe_role"] == "target" for r in recs))
        self.assertEqual(recs[0]["headers"]["x-api-key"], "***")

    def test_batching_window_sends_one_array(self):
        src_url, src = self.queue_with("batched")
        target = self.api_destination("hook")
        self.create_pipe("batcher", src, target, SourceParameters={"SqsQueueParameters": {
            "BatchSize": 25, "MaximumBatchingWindowInSeconds": 2}})
        self.wait_state("batcher", "RUNNING")
        ids = self.send(src_url, [{"n": i} for i in range(25)])
        reqs = self.sink.wait_for(1, timeout=15)
        batch = body_json(reqs[0])
        self.assertIsInstance(batch, list)
        self.assertEqual([r["messageId"] for r in batch], ids)
        first = batch[0]
        self.assertEqual(json.loads(first["body"]), {"n": 0})
        self.assertEqual(first["eventSource"], "aws:sqs")
        self.assertEqual(first["eventSourceARN"], src)
        self.assertEqual(first["awsRegion"], "us-east-1")
        self.assertEqual(first["attributes"]["ApproximateReceiveCount"], "1")
        for k in ("receiptHandle", "md5OfBody", "messageAttributes"):
            self.assertIn(k, first)
        # Fewer records than the batch size wait for the window, then go as one array.
        t0 = time.monotonic()
        self.send(src_url, [{"n": i} for i in range(3)])
        reqs = self.sink.wait_for(2, timeout=15)
        self.assertGreaterEqual(time.monotonic() - t0, 1.5)
        self.assertEqual(len(body_json(reqs[1])), 3)
        self.wait_queue_empty(src_url)

    def test_one_per_second_destination_fed_by_a_pipe(self):
        src_url, src = self.queue_with("paced")
        target = self.api_destination("slow", rate=1)
        self.create_pipe("pacer", src, target,
                         SourceParameters={"SqsQueueParameters": {"BatchSize": 1}})
        self.wait_state("pacer", "RUNNING")
        self.send(src_url, [{"n": i} for i in range(6)])
        reqs = self.sink.wait_for(6, timeout=30)
        times = [r["monotonic"] for r in reqs]
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(g >= 1.0 - JITTER for g in gaps), "gaps %r" % gaps)
        recs = self.pipe_deliveries("pacer", "slow", count=6)
        starts = [r["start_us"] / 1e6 for r in recs]
        self.assertEqual(len(starts), 6)
        self.assertLessEqual(max_in_window(starts, 0.98), 1, "starts %r" % starts)
        self.assertEqual(sorted(body_json(r)["body"] for r in reqs),
                         sorted(json.dumps({"n": i}) for i in range(6)))

    def test_target_failures_end_in_the_source_dlq(self):
        dlq_url, dlq = self.queue_with("src-dlq")
        src_url, src = self.queue_with("fragile", VisibilityTimeout=1, RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": dlq, "maxReceiveCount": "2"}))
        self.sink.set_default({"status": 503, "body": "down"})
        target = self.api_destination("flaky")
        self.create_pipe("failing", src, target,
                         SourceParameters={"SqsQueueParameters": {"BatchSize": 1}})
        self.wait_state("failing", "RUNNING")
        ids = self.send(src_url, ["m1", "m2"])
        dead = self.receive_all(dlq_url, 2, timeout=30)
        self.assertEqual(sorted(m["MessageId"] for m in dead), sorted(ids))
        self.assertEqual(sorted(m["Body"] for m in dead), ["m1", "m2"])
        reqs = self.sink.requests()
        self.assertEqual(len(reqs), 4)  # maxReceiveCount attempts per message
        self.wait_queue_empty(src_url)
        recs = self.pipe_deliveries("failing", "flaky", count=4)
        self.assertEqual({r["error_code"] for r in recs}, {"ERROR_FROM_TARGET"})
        self.assertEqual(harness.metric(self.server, "bridgeport_pipe_records_failed_total",
                                        pipe="failing", error_code="ERROR_FROM_TARGET"), 4)

    def test_event_bus_and_queue_targets(self):
        src_url, src = self.queue_with("to-bus")
        self.pipeline("busdest", pattern={"source": ["my.pipe"]})
        self.create_pipe("tobus", src, "arn:aws:events:us-east-1:000000000000:event-bus/default",
                         SourceParameters={"SqsQueueParameters": {"BatchSize": 1}},
                         TargetParameters={"EventBridgeEventBusParameters": {
                             "Source": "my.pipe", "DetailType": "order placed",
                             "Resources": ["arn:aws:s3:::bucket", "$.body.res"]}})
        q2_url, q2 = self.queue_with("to-queue-src")
        out_url, out = self.queue_with("out")
        self.create_pipe("toqueue", q2, out, TargetParameters={
            "InputTemplate": "order <$.body.id> via <aws.pipes.pipe-name>"})
        self.wait_state("tobus", "RUNNING")
        self.wait_state("toqueue", "RUNNING")
        self.send(src_url, [{"id": "a1", "res": "arn:aws:s3:::other"}])
        self.send(q2_url, [{"id": "b2"}])
        env = body_json(self.sink.wait_for(1, timeout=15)[0])
        self.assertEqual((env["source"], env["detail-type"]), ("my.pipe", "order placed"))
        self.assertEqual(env["resources"], ["arn:aws:s3:::bucket", "arn:aws:s3:::other"])
        self.assertEqual(json.loads(env["detail"]["body"]), {"id": "a1", "res":
                                                             "arn:aws:s3:::other"})
        got = self.receive_all(out_url, 1)
        self.assertEqual(got[0]["Body"], "order b2 via toqueue")


class PipesCliTest(PipesFixture):

    def test_cli_lifecycle(self):
        harness.require_aws_cli()
        src_url, src = self.queue_with("cli-src")
        target = self.api_destination("cli-dest")
        out = harness.aws_cli(self.server, "pipes", "create-pipe", "--name", "clipipe",
                              "--source", src, "--target", target, "--role-arn", ROLE,
                              "--source-parameters",
                              json.dumps({"SqsQueueParameters": {"BatchSize": 1}}),
                              "--target-parameters",
                              json.dumps({"InputTemplate": '{"m": "<$.body>"}'}))
        self.assertEqual(out["Name"], "clipipe")
        harness.wait_until(lambda: harness.aws_cli(self.server, "pipes", "describe-pipe",
                                                   "--name", "clipipe")["CurrentState"]
                           == "RUNNING", 15)
        harness.aws_cli(self.server, "sqs", "send-message", "--queue-url", src_url,
                        "--message-body", "hello")
        self.assertEqual(body_json(self.sink.wait_for(1, timeout=15)[0]), {"m": "hello"})
        listed = harness.aws_cli(self.server, "pipes", "list-pipes", "--name-prefix", "cli")
        self.assertEqual([p["Name"] for p in listed["Pipes"]], ["clipipe"])
        harness.aws_cli(self.server, "pipes", "stop-pipe", "--name", "clipipe")
        harness.wait_until(lambda: harness.aws_cli(self.server, "pipes", "describe-pipe",
                                                   "--name", "clipipe")["CurrentState"]
                           == "STOPPED", 15)
        harness.aws_cli(self.server, "pipes", "start-pipe", "--name", "clipipe")
        harness.wait_until(lambda: harness.aws_cli(self.server, "pipes", "describe-pipe",
                                                   "--name", "clipipe")["CurrentState"]
                           == "RUNNING", 15)
        arn = out["Arn"]
        harness.aws_cli(self.server, "pipes", "tag-resource", "--resource-arn", arn, "--tags",
                        "k=v")
        self.assertEqual(harness.aws_cli(self.server, "pipes", "list-tags-for-resource",
                                         "--resource-arn", arn)["tags"], {"k": "v"})
        code, err = harness.aws_cli(self.server, "pipes", "describe-pipe", "--name", "missing",
                                    expect_error=True)
        self.assertIn("NotFoundException", err)
        harness.aws_cli(self.server, "pipes", "delete-pipe", "--name", "clipipe")
        harness.wait_until(lambda: harness.aws_cli(self.server, "pipes", "list-pipes")[
            "Pipes"] == [], 15)


if __name__ == "__main__":
    unittest.main()
