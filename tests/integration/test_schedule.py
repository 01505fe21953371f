"""Scheduled rules (PutRule ScheduleExpression) through boto3 and the aws CLI.

Validation is checked as AWS words it. One test waits (bounded, about 70 s) for a real
`rate(1 minute)` tick to reach a sink, then restarts the server and checks the committed tick is
not repeated. Missed ticks and restart-across-a-tick with a manual clock are covered by the
scheduler's unit tests (src/schedule/schedule_test.cc).
"""

import calendar
import json
import time
import unittest

import harness
from delivery_util import DeliveryFixture

ACCOUNT, REGION = harness.ACCOUNT, harness.REGION


class ScheduleTest(DeliveryFixture):

    def assertAwsError(self, fn, code, message=None, **kwargs):
        try:
            fn(**kwargs)
        except Exception as e:  # botocore ClientError
            self.assertEqual(harness.error_code(e), code, e)
            if message is not None:
                self.assertEqual(e.response["Error"]["Message"], message)
            return
        self.fail("%s did not fail with %s" % (fn.__name__, code))

    def test_expressions_are_validated_as_aws_does(self):
        invalid = "Parameter ScheduleExpression is not valid."
        for expr in ("rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "rate(1 week)",
                     "cron(0 12 * * * *)", "cron(0 12 ? * ? *)", "cron(0 12 * * ?)",
                     "cron(60 * * * ? *)", "every minute"):
            self.assertAwsError(self.events.put_rule, "ValidationException", invalid,
                                Name="bad", ScheduleExpression=expr)
        self.events.create_event_bus(Name="custom")
        self.assertAwsError(self.events.put_rule, "ValidationException",
                            "ScheduleExpression is supported only on the default event bus.",
                            Name="custom-sched", EventBusName="custom",
                            ScheduleExpression="rate(5 minutes)")
        self.assertAwsError(self.events.put_rule, "ValidationException",
                            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
                            Name="neither")
        for name, expr in (("r1", "rate(1 minute)"), ("r5", "rate(5 minutes)"),
                           ("h", "rate(1 hour)"), ("d", "rate(2 days)"),
                           ("c1", "cron(0/15 10-16 ? * MON-FRI *)"), ("c2", "cron(0 8 L * ? *)"),
                           ("c3", "cron(0 10 ? * 6#3 2030-2040)"), ("c4", "cron(0 0 15W * ? *)")):
            arn = self.events.put_rule(Name=name, ScheduleExpression=expr)["RuleArn"]
            self.assertEqual(arn, "arn:aws:events:%s:%s:rule/%s" % (REGION, ACCOUNT, name))
            self.assertEqual(self.events.describe_rule(Name=name)["ScheduleExpression"], expr)
        both = self.events.put_rule(Name="both", ScheduleExpression="rate(1 day)",
                                    EventPattern=json.dumps({"source": ["x"]}))
        self.assertTrue(both["RuleArn"])
        rules = {r["Name"]: r for r in self.events.list_rules()["Rules"]}
        self.assertEqual(rules["c2"]["ScheduleExpression"], "cron(0 8 L * ? *)")
        self.assertEqual(rules["both"]["EventPattern"], json.dumps({"source": ["x"]}))
        self.assertNotIn("bad", rules)

    def test_cli_put_rule_with_schedule(self):
        harness.require_aws_cli()
        out = harness.aws_cli(self.server, "events", "put-rule", "--name", "cli-sched",
                              "--schedule-expression", "cron(30 2 * * ? *)")
        self.assertTrue(out["RuleArn"].endswith(":rule/cli-sched"))
        d = harness.aws_cli(self.server, "events", "describe-rule", "--name", "cli-sched")
        self.assertEqual(d["ScheduleExpression"], "cron(30 2 * * ? *)")
        code, err = harness.aws_cli(self.server, "events", "put-rule", "--name", "x",
                                    "--schedule-expression", "rate(1 hours)", expect_error=True)
        self.assertIn("ValidationException", err)

    def test_rate_one_minute_ticks_and_a_restart_does_not_repeat_it(self):
        conn = self.api_key_connection("c")
        sched_dest = self.destination("sched", conn, path="/sched")
        off_dest = self.destination("off", conn, path="/off")
        # Created disabled and enabled once its target exists, so no tick can find it empty.
        rule_arn = self.events.put_rule(Name="every-minute", ScheduleExpression="rate(1 minute)",
                                        State="DISABLED")["RuleArn"]
        self.target("every-minute", sched_dest)
        self.events.enable_rule(Name="every-minute")
        self.events.put_rule(Name="disabled", ScheduleExpression="rate(1 minute)",
                             State="DISABLED")
        self.target("disabled", off_dest)
        # Ordinary events on the default bus do not reach a rule that only has a schedule.
        self.put([{"n": 1}])

        def ticks():
            return [json.loads(r["body"]) for r in self.sink.requests() if r["path"] == "/sched"]

        first = harness.wait_until(ticks, 75, interval=0.5,
                                   message="rate(1 minute) did not tick within 75 s")[0]
        self.assertEqual(first["source"], "aws.events")
        self.assertEqual(first["detail-type"], "Scheduled Event")
        self.assertEqual(first["version"], "0")
        self.assertEqual(first["resources"], [rule_arn])
        self.assertEqual(first["detail"], {})
        self.assertEqual((first["account"], first["region"]), (ACCOUNT, REGION))
        self.assertTrue(first["time"].endswith(":00Z"), first["time"])
        tick_time = calendar.timegm(time.strptime(first["time"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertLess(abs(time.time() - tick_time), 30)

        self.assertGreaterEqual(harness.metric(self.server, "bridgeport_scheduled_ticks_total",
                                               rule=rule_arn), 1)
        self.restart_server()
        time.sleep(3)
        # Unless the next minute has begun meanwhile, nothing more arrived; the committed tick
        # was never repeated either way.
        times = [t["time"] for t in ticks()]
        self.assertEqual(times.count(first["time"]), 1, times)
        self.assertEqual([r for r in self.sink.requests() if r["path"] == "/off"], [])


if __name__ == "__main__":
    unittest.main()
