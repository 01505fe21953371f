"""Archives and replays (SPEC §3) through boto3 and the aws CLI, against a real server and sink.

An archive copies the events PutEvents accepts on its bus (inside the same commit); a replay puts
an event-time range of them back through the bus's rules (all, or Destination.FilterArns) with a
`replay-name` field, and never archives them again. Replays survive a kill -9.
"""

import json
import time
import unittest

import harness
from delivery_util import DeliveryFixture

ACCOUNT, REGION = harness.ACCOUNT, harness.REGION
BUS_ARN = "arn:aws:events:%s:%s:event-bus/default" % (REGION, ACCOUNT)


def archive_arn(name):
    return "arn:aws:events:%s:%s:archive/%s" % (REGION, ACCOUNT, name)


class ArchiveFixture(DeliveryFixture):

    def create_archive(self, name="arch", **extra):
        out = self.events.create_archive(ArchiveName=name, EventSourceArn=BUS_ARN, **extra)
        self.assertEqual(out["ArchiveArn"], archive_arn(name))
        self.assertEqual(out["State"], "ENABLED")
        return out["ArchiveArn"]

    def start_replay(self, name, start=None, end=None, filters=None, archive="arch"):
        dest = {"Arn": BUS_ARN}
        if filters is not None:
            dest["FilterArns"] = filters
        return self.events.start_replay(
            ReplayName=name, EventSourceArn=archive_arn(archive),
            EventStartTime=start if start is not None else time.time() - 3600,
            EventEndTime=end if end is not None else time.time() + 5, Destination=dest)

    def wait_replay(self, name, state, timeout=30.0):
        return harness.wait_until(
            lambda: (lambda d: d if d["State"] == state else None)(
                self.events.describe_replay(ReplayName=name)),
            timeout, interval=0.1, message="replay %s never reached %s" % (name, state))

    def replayed(self, path=None):
        """Sink requests carrying a replay-name, as parsed bodies."""
        out = []
        for r in self.sink.requests():
            if path and not r["path"].startswith(path):
                continue
            body = json.loads(r["body"])
            if "replay-name" in body:
                out.append(body)
        return out

    def assertAwsError(self, fn, code, **kwargs):
        try:
            fn(**kwargs)
        except Exception as e:  # botocore ClientError
            self.assertEqual(harness.error_code(e), code, e)
            return e
        self.fail("%s did not fail with %s" % (fn.__name__, code))


class ArchiveReplayTest(ArchiveFixture):

    def test_archive_counts_and_replay_reaches_the_sink_with_replay_name(self):
        self.pipeline("d1")
        self.create_archive()
        ids = self.put([{"n": n} for n in range(5)])
        described = self.events.describe_archive(ArchiveName="arch")
        self.assertEqual(described["EventCount"], 5)
        self.assertGreater(described["SizeBytes"], 5 * 100)
        self.assertEqual(described["RetentionDays"], 0)
        self.assertEqual(described["EventSourceArn"], BUS_ARN)
        self.sink.wait_for(5, timeout=15)

        out = self.start_replay("r1")
        self.assertEqual(out["State"], "STARTING")
        self.assertEqual(out["ReplayArn"], "arn:aws:events:%s:%s:replay/r1" % (REGION, ACCOUNT))
        done = self.wait_replay("r1", "COMPLETED")
        for k in ("EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime", "EventStartTime",
                  "EventEndTime"):
            self.assertIn(k, done)
        self.assertEqual(done["Destination"]["Arn"], BUS_ARN)
        harness.wait_until(lambda: len(self.replayed()) >= 5, 15)
        replayed = self.replayed()
        self.assertEqual(sorted(b["id"] for b in replayed), sorted(ids))
        self.assertEqual({b["replay-name"] for b in replayed}, {"r1"})
        # Replayed events are never archived again.
        self.assertEqual(self.events.describe_archive(ArchiveName="arch")["EventCount"], 5)
        self.assertEqual(harness.metric(self.server, "bridgeport_replayed_events_total",
                                        bus="default"), 5)
        listed = self.events.list_replays(State="COMPLETED")["Replays"]
        self.assertEqual([r["ReplayName"] for r in listed], ["r1"])
        self.assertAwsError(self.start_replay, "ResourceAlreadyExistsException", name="r1")

    def test_event_time_range_is_half_open_and_patterns_filter_the_archive(self):
        self.pipeline("d1")
        self.create_archive("only-a", EventPattern=json.dumps({"detail": {"kind": ["a"]}}))
        t0 = int(time.time()) - 600
        entries = [{"Source": "test.delivery", "DetailType": "t", "Time": t0 + i,
                    "Detail": json.dumps({"kind": "a" if i % 2 == 0 else "b", "i": i})}
                   for i in range(10)]
        self.assertEqual(self.events.put_events(Entries=entries)["FailedEntryCount"], 0)
        self.assertEqual(self.events.describe_archive(ArchiveName="only-a")["EventCount"], 5)
        self.start_replay("half", start=t0 + 2, end=t0 + 6, archive="only-a")
        self.wait_replay("half", "COMPLETED")
        harness.wait_until(lambda: len(self.replayed()) >= 2, 15)
        time.sleep(0.5)
        self.assertEqual(sorted(b["detail"]["i"] for b in self.replayed()), [2, 4])

    def test_filter_arns_limit_the_rules(self):
        conn = self.api_key_connection("c")
        a = self.destination("da", conn, path="/a")
        b = self.destination("db", conn, path="/b")
        rule_a = self.rule("ra")
        self.rule("rb")
        self.target("ra", a)
        self.target("rb", b)
        self.create_archive()
        self.put([{"n": n} for n in range(3)])
        self.sink.wait_for(6, timeout=15)
        self.start_replay("only-a", filters=[rule_a])
        self.wait_replay("only-a", "COMPLETED")
        harness.wait_until(lambda: len(self.replayed("/a")) >= 3, 15)
        time.sleep(0.5)
        self.assertEqual(len(self.replayed("/a")), 3)
        self.assertEqual(self.replayed("/b"), [])
        self.assertAwsError(self.start_replay, "ResourceNotFoundException", name="nope",
                            filters=["arn:aws:events:%s:%s:rule/missing" % (REGION, ACCOUNT)])

    def test_replayed_deliveries_use_retries_and_the_dlq(self):
        p = self.pipeline("d1", dlq=True, max_retries=0)
        self.sink.set_default({"status": 400})  # not retryable: straight to the DLQ
        self.create_archive()
        ids = self.put([{"n": n} for n in range(2)])
        first = self.receive_dlq(p["dlq_url"], count=2)
        self.assertEqual(sorted(json.loads(m["Body"])["id"] for m in first), sorted(ids))
        self.start_replay("to-dlq")
        self.wait_replay("to-dlq", "COMPLETED")
        again = self.receive_dlq(p["dlq_url"], count=2)
        bodies = [json.loads(m["Body"]) for m in again]
        self.assertEqual(sorted(b["id"] for b in bodies), sorted(ids))
        self.assertEqual({b["replay-name"] for b in bodies}, {"to-dlq"})
        self.assertEqual({self.attrs(m)["ERROR_CODE"][1] for m in again}, {"ERROR_FROM_TARGET"})

    def test_events_from_an_event_bus_target_are_archived_on_that_bus(self):
        self.events.create_event_bus(Name="downstream")
        down_arn = BUS_ARN.replace("default", "downstream")
        self.rule("forward")
        self.target("forward", down_arn)
        self.events.create_archive(ArchiveName="down", EventSourceArn=down_arn)
        self.create_archive()
        self.put([{"n": 1}])
        harness.wait_until(
            lambda: self.events.describe_archive(ArchiveName="down")["EventCount"] == 1, 15)
        # Replayed events forwarded downstream carry replay-name and are not archived again.
        self.start_replay("fwd")
        self.wait_replay("fwd", "COMPLETED")
        harness.wait_until(lambda: harness.metric(self.server, "bridgeport_replayed_events_total",
                                                  bus="default") >= 1, 10)
        time.sleep(1.0)
        self.assertEqual(self.events.describe_archive(ArchiveName="down")["EventCount"], 1)

    def test_validation_errors(self):
        self.create_archive()
        self.assertAwsError(self.events.create_archive, "ResourceAlreadyExistsException",
                            ArchiveName="arch", EventSourceArn=BUS_ARN)
        self.assertAwsError(self.events.create_archive, "ResourceNotFoundException",
                            ArchiveName="x", EventSourceArn=BUS_ARN.replace("default", "nope"))
        self.assertAwsError(self.events.create_archive, "InvalidEventPatternException",
                            ArchiveName="x", EventSourceArn=BUS_ARN, EventPattern='{"a":"b"}')
        self.assertAwsError(self.events.describe_archive, "ResourceNotFoundException",
                            ArchiveName="none")
        self.assertAwsError(self.events.delete_archive, "ResourceNotFoundException",
                            ArchiveName="none")
        now = time.time()
        self.assertAwsError(self.start_replay, "ValidationException", name="r", start=now,
                            end=now - 10)
        self.events.create_event_bus(Name="other")
        try:
            self.events.start_replay(
                ReplayName="r", EventSourceArn=archive_arn("arch"), EventStartTime=now - 10,
                EventEndTime=now, Destination={"Arn": BUS_ARN.replace("default", "other")})
            self.fail("cross-bus replay accepted")
        except Exception as e:  # noqa: BLE001
            self.assertEqual(harness.error_code(e), "ValidationException")
        self.assertAwsError(self.start_replay, "ResourceNotFoundException", name="r",
                            archive="none")
        self.assertAwsError(self.events.describe_replay, "ResourceNotFoundException",
                            ReplayName="none")
        self.assertAwsError(self.events.cancel_replay, "ResourceNotFoundException",
                            ReplayName="none")
        updated = self.events.update_archive(ArchiveName="arch", RetentionDays=3,
                                             Description="three days")
        self.assertEqual(updated["ArchiveArn"], archive_arn("arch"))
        d = self.events.describe_archive(ArchiveName="arch")
        self.assertEqual((d["RetentionDays"], d["Description"]), (3, "three days"))
        listed = self.events.list_archives(EventSourceArn=BUS_ARN)["Archives"]
        self.assertEqual([a["ArchiveName"] for a in listed], ["arch"])
        self.create_archive("arch2")
        page = self.events.list_archives(Limit=1)
        self.assertEqual([a["ArchiveName"] for a in page["Archives"]], ["arch"])
        page = self.events.list_archives(Limit=1, NextToken=page["NextToken"])
        self.assertEqual([a["ArchiveName"] for a in page["Archives"]], ["arch2"])
        self.assertNotIn("NextToken", page)
        self.assertEqual(self.events.list_archives(State="DISABLED")["Archives"], [])
        self.events.delete_archive(ArchiveName="arch")
        self.events.delete_archive(ArchiveName="arch2")
        self.assertEqual(self.events.list_archives()["Archives"], [])


class SlowReplayTest(ArchiveFixture):
    """Replays paced to a few events per second, so they can be caught RUNNING."""

    server_args = ("--replay-events-per-second", "5")

    def test_at_most_ten_running_and_cancel(self):
        self.create_archive()
        self.put([{"n": n} for n in range(40)], source="nobody.listens")
        for i in range(10):
            self.start_replay("p%d" % i)
        self.assertAwsError(self.start_replay, "LimitExceededException", name="p10")
        self.wait_replay("p0", "RUNNING")
        out = self.events.cancel_replay(ReplayName="p0")
        self.assertEqual(out["State"], "CANCELLING")
        self.wait_replay("p0", "CANCELLED")
        self.assertAwsError(self.events.cancel_replay, "IllegalStatusException", ReplayName="p0")
        self.start_replay("p10")  # a slot is free again
        running = self.events.list_replays(State="RUNNING", Limit=100)["Replays"]
        self.assertLessEqual(len(running), 10)
        page = self.events.list_replays(NamePrefix="p1", Limit=1)
        self.assertEqual([r["ReplayName"] for r in page["Replays"]], ["p1"])
        page = self.events.list_replays(NamePrefix="p1", Limit=1, NextToken=page["NextToken"])
        self.assertEqual([r["ReplayName"] for r in page["Replays"]], ["p10"])


class ReplayRestartTest(ArchiveFixture):

    server_args = ("--replay-events-per-second", "20")

    def test_kill9_in_the_middle_of_a_replay_loses_nothing(self):
        self.pipeline("d1")
        self.create_archive()
        ids = self.put([{"n": n} for n in range(100)])
        self.sink.wait_for(100, timeout=30)
        self.start_replay("big")
        harness.wait_until(lambda: len(self.replayed()) >= 20, 20)
        self.crash_and_restart()
        self.assertIn(self.events.describe_replay(ReplayName="big")["State"],
                      ("RUNNING", "COMPLETED"))
        self.wait_replay("big", "COMPLETED", timeout=60)
        harness.wait_until(lambda: {b["id"] for b in self.replayed()} >= set(ids), 30)
        replayed = [b["id"] for b in self.replayed()]
        # Progress is committed with each batch's tasks: only deliveries in flight at the crash
        # can repeat (at most one second's worth at 20 events/s).
        self.assertLessEqual(len(replayed) - len(set(replayed)), 20)


class ArchiveCliTest(ArchiveFixture):

    def test_cli_archive_and_replay(self):
        harness.require_aws_cli()
        self.pipeline("d1")
        out = harness.aws_cli(self.server, "events", "create-archive", "--archive-name", "cli",
                              "--event-source-arn", BUS_ARN, "--retention-days", "7")
        self.assertEqual(out["ArchiveArn"], archive_arn("cli"))
        ids = self.put([{"cli": True}])
        d = harness.aws_cli(self.server, "events", "describe-archive", "--archive-name", "cli")
        self.assertEqual((d["EventCount"], d["RetentionDays"]), (1, 7))
        listed = harness.aws_cli(self.server, "events", "list-archives", "--name-prefix", "c")
        self.assertEqual([a["ArchiveName"] for a in listed["Archives"]], ["cli"])
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
        out = harness.aws_cli(self.server, "events", "start-replay", "--replay-name", "cli-r",
                              "--event-source-arn", archive_arn("cli"), "--event-start-time",
                              start, "--event-end-time", end, "--destination",
                              json.dumps({"Arn": BUS_ARN}))
        self.assertEqual(out["State"], "STARTING")
        harness.wait_until(lambda: harness.aws_cli(
            self.server, "events", "describe-replay", "--replay-name", "cli-r")["State"]
            == "COMPLETED", 30, interval=0.5)
        harness.wait_until(lambda: [b["id"] for b in self.replayed()] == ids, 15)
        listed = harness.aws_cli(self.server, "events", "list-replays")
        self.assertEqual([r["ReplayName"] for r in listed["Replays"]], ["cli-r"])
        code, err = harness.aws_cli(self.server, "events", "cancel-replay", "--replay-name",
                                    "cli-r", expect_error=True)
        self.assertIn("IllegalStatusException", err)
        harness.aws_cli(self.server, "events", "update-archive", "--archive-name", "cli",
                        "--retention-days", "0")
        harness.aws_cli(self.server, "events", "delete-archive", "--archive-name", "cli")


if __name__ == "__main__":
    unittest.main()
