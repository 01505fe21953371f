"""EventBridge parity (issue 10, items 3 and 6): TestEventPattern as AWS answers it (the whole
AWS-validated conformance file, as recorded), ARN validation, PutTargets parameter blocks,
partner bus names, POST-only JSON operations, pattern length limits, and bus permissions
(PutPermission / RemovePermission, the Policy DescribeEventBus returns, enforcement for callers
configured as another account)."""

import json
import os
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
OTHER_ACCOUNT = "111122223333"
OTHER_KEY, OTHER_SECRET = "AKIDOTHERACCOUNT", "other-account-secret"
OWN = "000000000000"


def shared_dir():
    env = os.environ.get("BP_SHARED_DIR")
    return env if env else os.path.join(HERE, "..", "..", "..", "shared")


def aws_error(testcase, code, fn, *args, **kwargs):
    """Calls a boto3 method that must fail with `code`; returns the error message."""
    with testcase.assertRaises(harness.botocore.exceptions.ClientError) as ctx:
        fn(*args, **kwargs)
    testcase.assertEqual(harness.error_code(ctx.exception), code, ctx.exception.response)
    return ctx.exception.response["Error"].get("Message", "")


class EventsParityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_boto3()
        cls.server = harness.start_server()
        cls.events = harness.client(cls.server, "events")

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    # ---- TestEventPattern ----

    def test_aws_validated_cases_through_test_event_pattern(self):
        path = os.path.join(shared_dir(), "bench", "conformance", "aws_validated.json")
        with open(path) as f:
            cases = json.load(f)
        self.assertGreater(len(cases), 100)
        failures = []
        for case in cases:
            # Raw JSON so that the pattern and event go out byte for byte as recorded.
            status, _, body = harness.events_call(
                self.server, "TestEventPattern",
                {"EventPattern": case["pattern"], "Event": case["event"]})
            if "pattern_error" in case:
                want_type, _, want_msg = case["pattern_error"].partition(": ")
                got = (status, body.get("__type"), body.get("message"))
                if got != (400, want_type, want_msg):
                    failures.append((case["name"], "error", got, case["pattern_error"]))
            elif status != 200 or body.get("Result") != case["match"]:
                failures.append((case["name"], "result", status, body, case["match"]))
        self.assertEqual(failures, [], "%d of %d cases differ" % (len(failures), len(cases)))

    def test_events_without_resources_and_detail(self):
        event = {"id": "1", "source": "s", "detail-type": "t", "account": OWN,
                 "region": "us-east-1", "time": "2024-01-01T00:00:00Z"}
        out = self.events.test_event_pattern(EventPattern='{"source":["s"]}',
                                             Event=json.dumps(event))
        self.assertTrue(out["Result"])
        out = self.events.test_event_pattern(EventPattern='{"detail":{"a":[{"exists":false}]}}',
                                             Event=json.dumps(event))
        self.assertTrue(out["Result"])
        del event["id"]
        aws_error(self, "ValidationException", self.events.test_event_pattern,
                  EventPattern='{"source":["s"]}', Event=json.dumps(event))

    def test_deep_events_accepted_like_put_events(self):
        detail = {"leaf": 1}
        for _ in range(60):
            detail = {"n": detail}
        out = self.events.put_events(Entries=[{"Source": "deep", "DetailType": "t",
                                               "Detail": json.dumps(detail)}])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        event = {"id": "1", "source": "deep", "detail-type": "t", "account": OWN,
                 "region": "us-east-1", "time": "2024-01-01T00:00:00Z", "resources": [],
                 "detail": detail}
        pattern = {"leaf": [1]}
        for _ in range(60):
            pattern = {"n": pattern}
        pattern = {"detail": pattern}
        out = self.events.test_event_pattern(EventPattern=json.dumps(pattern),
                                             Event=json.dumps(event))
        self.assertTrue(out["Result"])

    def test_pattern_length_limits(self):
        long_value = "x" * 4100
        pattern = json.dumps({"source": [long_value]})
        event = json.dumps({"id": "1", "source": "s", "detail-type": "t", "account": OWN,
                            "region": "us-east-1", "time": "2024-01-01T00:00:00Z"})
        msg = aws_error(self, "ValidationException", self.events.test_event_pattern,
                        EventPattern=pattern, Event=event)
        self.assertIn("at 'eventPattern' failed to satisfy constraint: Member must have length "
                      "less than or equal to 4096", msg)
        aws_error(self, "ValidationException", self.events.put_rule, Name="toolong",
                  EventPattern=pattern)
        # Within the model's 4096 but over the default quota of 2048.
        pattern = json.dumps({"source": ["x" * 2100]})
        msg = aws_error(self, "InvalidEventPatternException", self.events.put_rule,
                        Name="overquota", EventPattern=pattern)
        self.assertIn("2048", msg)

    # ---- ARNs ----

    def test_malformed_bus_arns_are_validation_errors(self):
        for bad in ("arn:aws:events:us-east-1:123:event-bus/x",
                    "arn:aws:events:useast1:000000000000:event-bus/x",
                    "arn:aws:sqs:us-east-1:000000000000:event-bus/x", "a b"):
            msg = aws_error(self, "ValidationException", self.events.describe_event_bus, Name=bad)
            self.assertIn("failed to satisfy constraint: Member must satisfy regular expression "
                          "pattern", msg)
            aws_error(self, "ValidationException", self.events.put_events,
                      Entries=[{"Source": "s", "DetailType": "t", "Detail": "{}",
                                "EventBusName": bad}])
        foreign = "arn:aws:events:us-east-1:999999999999:event-bus/default"
        other_region = "arn:aws:events:eu-west-1:000000000000:event-bus/default"
        for arn in (foreign, other_region):
            aws_error(self, "ResourceNotFoundException", self.events.describe_event_bus, Name=arn)
            out = self.events.put_events(Entries=[
                {"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": arn},
                {"Source": "s", "DetailType": "t", "Detail": "{}"}])
            self.assertEqual(out["FailedEntryCount"], 1, out)
            self.assertEqual(out["Entries"][0]["ErrorCode"], "ResourceNotFoundException")
            self.assertIn("EventId", out["Entries"][1])
        own = "arn:aws:events:us-east-1:000000000000:event-bus/default"
        self.assertEqual(self.events.describe_event_bus(Name=own)["Name"], "default")

    def test_malformed_connection_arn(self):
        msg = aws_error(self, "ValidationException", self.events.create_api_destination,
                        Name="d", ConnectionArn="arn:aws:events:us-east-1:1:connection/x",
                        InvocationEndpoint="https://example.com/", HttpMethod="POST")
        self.assertIn("at 'connectionArn'", msg)
        aws_error(self, "ResourceNotFoundException", self.events.create_api_destination,
                  Name="d", InvocationEndpoint="https://example.com/", HttpMethod="POST",
                  ConnectionArn="arn:aws:events:us-east-1:000000000000:connection/nope/abc-1")

    # ---- PutTargets parameter blocks ----

    def test_put_targets_refuses_aws_only_blocks(self):
        sqs = harness.client(self.server, "sqs")
        url = sqs.create_queue(QueueName="ecs-target")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events.put_rule(Name="ecs", EventPattern='{"source":["x"]}')
        msg = aws_error(self, "ValidationException", self.events.put_targets, Rule="ecs",
                        Targets=[{"Id": "t", "Arn": arn, "EcsParameters": {
                            "TaskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/x",
                            "LaunchType": "SPACESHIP"}}])
        self.assertIn("Value 'SPACESHIP' at 'targets.1.member.ecsParameters.launchType' failed "
                      "to satisfy constraint: Member must satisfy enum value set: [EC2, FARGATE, "
                      "EXTERNAL]", msg)
        msg = aws_error(self, "ValidationException", self.events.put_targets, Rule="ecs",
                        Targets=[{"Id": "t", "Arn": arn, "EcsParameters": {
                            "TaskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/x",
                            "LaunchType": "FARGATE"}}])
        self.assertIn("EcsParameters is not valid for target t", msg)
        aws_error(self, "ValidationException", self.events.put_targets, Rule="ecs",
                  Targets=[{"Id": "t", "Arn": arn, "SqsParameters": {"MessageGroupId": "g"}}])
        self.assertEqual(self.events.list_targets_by_rule(Rule="ecs")["Targets"], [])

    # ---- names and methods ----

    def test_partner_bus_names(self):
        msg = aws_error(self, "ResourceNotFoundException", self.events.create_event_bus,
                        Name="aws.partner/example.com/123/events")
        self.assertEqual(msg, "Event source aws.partner/example.com/123/events does not exist.")
        msg = aws_error(self, "ValidationException", self.events.create_event_bus, Name="a/b")
        self.assertNotIn("regular expression", msg)

    def test_json_operations_are_post_only(self):
        for method in ("GET", "PUT", "DELETE"):
            status, headers, body = harness.http_request(
                self.server, method, "/", b"{}",
                {"X-Amz-Target": "AWSEvents.ListEventBuses",
                 "Content-Type": "application/x-amz-json-1.1"})
            self.assertEqual(status, 400, body)
            self.assertEqual(json.loads(body)["__type"], "UnknownOperationException")
            self.assertEqual(headers.get("x-amzn-errortype"), "UnknownOperationException")
        status, _, body = harness.http_request(
            self.server, "GET", "/", None,
            {"X-Amz-Target": "AmazonSQS.ListQueues",
             "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400, body)
        self.assertEqual(json.loads(body)["__type"], "UnknownOperationException")


class PermissionsTest(unittest.TestCase):
    def setUp(self):
        harness.require_boto3()
        self.server = harness.start_server(extra_args=(
            "--access-key", "%s:%s" % (OTHER_KEY, OTHER_SECRET),
            "--key-account", "%s:%s:o-exampleorg" % (OTHER_KEY, OTHER_ACCOUNT)))
        self.addCleanup(self.server.close)
        self.events = harness.client(self.server, "events")

    def other(self):
        return harness.client(self.server, "events", access_key=OTHER_KEY,
                              secret_key=OTHER_SECRET)

    def policy(self, bus="default"):
        text = self.events.describe_event_bus(Name=bus).get("Policy")
        return json.loads(text) if text else None

    def test_statements_as_aws_builds_them(self):
        arn = "arn:aws:events:us-east-1:%s:event-bus/default" % OWN
        self.events.put_permission(Action="events:PutEvents", Principal=OTHER_ACCOUNT,
                                   StatementId="acct")
        self.events.put_permission(Action="events:PutEvents", Principal="*", StatementId="org",
                                   Condition={"Type": "StringEquals",
                                              "Key": "aws:PrincipalOrgID",
                                              "Value": "o-exampleorg"})
        self.assertEqual(self.policy(), {"Version": "2012-10-17", "Statement": [
            {"Sid": "acct", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::%s:root" % OTHER_ACCOUNT},
             "Action": "events:PutEvents", "Resource": arn},
            {"Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
             "Resource": arn,
             "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg"}}}]})
        listed = self.events.list_event_buses()["EventBuses"]
        self.assertIn("Policy", [b for b in listed if b["Name"] == "default"][0])
        # Survives a restart.
        self.server.restart()
        self.events = harness.client(self.server, "events")
        self.assertEqual(len(self.policy()["Statement"]), 2)
        self.events.remove_permission(StatementId="acct")
        self.assertEqual([s["Sid"] for s in self.policy()["Statement"]], ["org"])
        self.events.remove_permission(RemoveAllPermissions=True)
        self.assertIsNone(self.policy())

    def test_validation(self):
        aws_error(self, "ResourceNotFoundException", self.events.remove_permission,
                  StatementId="nope")
        aws_error(self, "ValidationException", self.events.put_permission,
                  Action="events:PutEvents", Principal="12345", StatementId="s")
        aws_error(self, "ValidationException", self.events.put_permission,
                  Action="events:PutEvents", Principal=OTHER_ACCOUNT, StatementId="bad id!")
        aws_error(self, "ValidationException", self.events.put_permission,
                  Action="events:PutEvents", Principal="*", StatementId="c",
                  Condition={"Type": "StringLike", "Key": "aws:PrincipalOrgID", "Value": "o-1"})
        aws_error(self, "ResourceNotFoundException", self.events.put_permission,
                  EventBusName="nobus", Action="events:PutEvents", Principal="*",
                  StatementId="s")
        self.events.put_permission(Action="events:PutEvents", Principal="*", StatementId="dup")
        aws_error(self, "ValidationException", self.events.put_permission,
                  Action="events:PutEvents", Principal="*", StatementId="dup")
        big = {"Version": "2012-10-17", "Statement": [
            {"Sid": "s%d" % i, "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
             "Resource": "arn:aws:events:us-east-1:%s:event-bus/default" % OWN}
            for i in range(200)]}
        aws_error(self, "PolicyLengthExceededException", self.events.put_permission,
                  Policy=json.dumps(big))
        self.events.put_permission(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            big["Statement"][0]]}))
        self.assertEqual([s["Sid"] for s in self.policy()["Statement"]], ["s0"])

    def test_put_events_from_another_account(self):
        sqs = harness.client(self.server, "sqs")
        url = sqs.create_queue(QueueName="xacct")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.events.put_rule(Name="x", EventPattern='{"source":["cross"]}')
        self.events.put_targets(Rule="x", Targets=[{"Id": "q", "Arn": qarn}])
        bus_arn = "arn:aws:events:us-east-1:%s:event-bus/default" % OWN
        entry = {"Source": "cross", "DetailType": "t", "Detail": "{}", "EventBusName": bus_arn}
        other = self.other()
        out = other.put_events(Entries=[entry])
        self.assertEqual(out["Entries"][0]["ErrorCode"], "AccessDeniedException", out)
        by_name = dict(entry, EventBusName="default")
        out = other.put_events(Entries=[by_name])
        self.assertEqual(out["Entries"][0]["ErrorCode"], "ResourceNotFoundException", out)
        aws_error(self, "AccessDeniedException", other.list_rules)
        # An organization condition that does not hold does not allow it either.
        self.events.put_permission(Action="events:PutEvents", Principal="*", StatementId="o",
                                   Condition={"Type": "StringEquals",
                                              "Key": "aws:PrincipalOrgID", "Value": "o-other"})
        out = other.put_events(Entries=[entry])
        self.assertEqual(out["Entries"][0]["ErrorCode"], "AccessDeniedException", out)
        self.events.put_permission(Action="events:PutEvents", Principal=OTHER_ACCOUNT,
                                   StatementId="a")
        out = other.put_events(Entries=[entry])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        msgs = harness.wait_until(
            lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"), 15)
        self.assertEqual(json.loads(msgs[0]["Body"])["account"], OTHER_ACCOUNT)
        self.events.remove_permission(StatementId="a")
        out = other.put_events(Entries=[entry])
        self.assertEqual(out["Entries"][0]["ErrorCode"], "AccessDeniedException", out)

    def test_cli(self):
        harness.aws_cli(self.server, "events", "put-permission", "--action", "events:PutEvents",
                        "--principal", OTHER_ACCOUNT, "--statement-id", "cli")
        out = harness.aws_cli(self.server, "events", "describe-event-bus")
        self.assertEqual(json.loads(out["Policy"])["Statement"][0]["Sid"], "cli")
        harness.aws_cli(self.server, "events", "remove-permission", "--statement-id", "cli")
        self.assertNotIn("Policy", harness.aws_cli(self.server, "events", "describe-event-bus"))
        code, err = harness.aws_cli(self.server, "events", "remove-permission",
                                    "--statement-id", "cli", expect_error=True)
        self.assertIn("ResourceNotFoundException", err)


if __name__ == "__main__":
    unittest.main()
