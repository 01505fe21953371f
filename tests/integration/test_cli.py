"""The control plane driven by the real AWS CLI (v1 or v2, `aws events ...`) against --endpoint-url."""

import json
import unittest

import harness

ACCOUNT = harness.ACCOUNT
REGION = harness.REGION


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_aws_cli()
        cls.server = harness.start_server()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def aws(self, *args, **kw):
        return harness.aws_cli(self.server, "events", *args, **kw)

    def assertCliError(self, code, *args):
        rc, stderr = self.aws(*args, expect_error=True)
        self.assertNotEqual(rc, 0)
        self.assertIn(code, stderr)
        return stderr

    def test_full_flow(self):
        # CLI 2.9 (Debian 12) predates CreateEventBus's Description: the member is then sent with
        # UpdateEventBus through a signed raw call, and read back the same way.
        with_description = harness.cli_has_member("events", "create-event-bus", "Description")
        extra = ("--description", "from the CLI") if with_description else ()
        bus = self.aws("create-event-bus", "--name", "cli-bus", *extra)
        self.assertEqual(bus["EventBusArn"], "arn:aws:events:%s:%s:event-bus/cli-bus" % (REGION, ACCOUNT))
        if harness.HAVE_BOTO3:
            events = harness.client(self.server)
            if not with_description:
                harness.raw_json_call(events, "UpdateEventBus",
                                      {"Name": "cli-bus", "Description": "from the CLI"})
            described = harness.raw_json_call(events, "DescribeEventBus", {"Name": "cli-bus"})
            self.assertEqual(described["Description"], "from the CLI")
        rule = self.aws("put-rule", "--name", "cli-rule", "--event-bus-name", "cli-bus",
                        "--event-pattern", '{"source":["cli.test"],"detail-type":["Ping"]}',
                        "--description", "rule from the CLI")
        self.assertEqual(rule["RuleArn"],
                         "arn:aws:events:%s:%s:rule/cli-bus/cli-rule" % (REGION, ACCOUNT))
        conn = self.aws("create-connection", "--name", "cli-conn", "--authorization-type", "API_KEY",
                        "--auth-parameters",
                        '{"ApiKeyAuthParameters":{"ApiKeyName":"x-key","ApiKeyValue":"cli-secret-42"}}')
        self.assertEqual(conn["ConnectionState"], "AUTHORIZED")
        # An http:// value must reach the server verbatim (cli_follow_urlparam = false).
        dest = self.aws("create-api-destination", "--name", "cli-dest",
                        "--connection-arn", conn["ConnectionArn"],
                        "--invocation-endpoint", "http://127.0.0.1:9/cli/*",
                        "--http-method", "POST", "--invocation-rate-limit-per-second", "20")
        self.assertEqual(dest["ApiDestinationState"], "ACTIVE")
        out = self.aws("put-targets", "--rule", "cli-rule", "--event-bus-name", "cli-bus", "--targets",
                       json.dumps([{"Id": "t1", "Arn": dest["ApiDestinationArn"],
                                    "HttpParameters": {"PathParameterValues": ["p"]}},
                                   {"Id": "t2", "Arn": dest["ApiDestinationArn"], "Input": '{"k":1}'}]))
        self.assertEqual(out["FailedEntryCount"], 0)

        d = self.aws("describe-api-destination", "--name", "cli-dest")
        self.assertEqual(d["InvocationEndpoint"], "http://127.0.0.1:9/cli/*")
        self.assertEqual(d["InvocationRateLimitPerSecond"], 20)
        r = self.aws("describe-rule", "--name", "cli-rule", "--event-bus-name", "cli-bus")
        self.assertEqual(json.loads(r["EventPattern"]), {"source": ["cli.test"], "detail-type": ["Ping"]})
        self.assertEqual(r["Description"], "rule from the CLI")
        targets = self.aws("list-targets-by-rule", "--rule", "cli-rule", "--event-bus-name", "cli-bus")
        self.assertEqual(sorted(t["Id"] for t in targets["Targets"]), ["t1", "t2"])
        c = self.aws("describe-connection", "--name", "cli-conn")
        self.assertNotIn("cli-secret-42", json.dumps(c))
        self.assertEqual(c["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"], "x-key")
        listed = self.aws("list-api-destinations", "--connection-arn", conn["ConnectionArn"])
        self.assertEqual([x["Name"] for x in listed["ApiDestinations"]], ["cli-dest"])
        names = self.aws("list-rule-names-by-target", "--target-arn", dest["ApiDestinationArn"],
                         "--event-bus-name", "cli-bus")
        self.assertEqual(names["RuleNames"], ["cli-rule"])

        # Tear down through the CLI as well.
        removed = self.aws("remove-targets", "--rule", "cli-rule", "--event-bus-name", "cli-bus",
                           "--ids", "t1", "t2", "ghost")
        self.assertEqual(removed["FailedEntryCount"], 1)
        self.assertEqual(removed["FailedEntries"][0]["TargetId"], "ghost")
        self.aws("delete-rule", "--name", "cli-rule", "--event-bus-name", "cli-bus")
        self.aws("delete-event-bus", "--name", "cli-bus")
        buses = self.aws("list-event-buses")
        self.assertNotIn("cli-bus", [b["Name"] for b in buses["EventBuses"]])

    def test_auto_pagination(self):
        # The CLI follows NextToken itself for paginated operations; --page-size sets Limit.
        events = harness.client(self.server) if harness.HAVE_BOTO3 else None
        if events is None:
            self.skipTest("boto3 not installed")
        events.create_event_bus(Name="cli-pages")
        names = ["p-%02d" % i for i in range(7)]
        for n in names:
            events.put_rule(Name=n, EventBusName="cli-pages", EventPattern='{"source":["x"]}')
        out = self.aws("list-rules", "--event-bus-name", "cli-pages", "--page-size", "2")
        self.assertEqual([r["Name"] for r in out["Rules"]], names)
        out = self.aws("list-rules", "--event-bus-name", "cli-pages", "--max-items", "3")
        self.assertEqual([r["Name"] for r in out["Rules"]], names[:3])
        self.assertTrue(out.get("NextToken"))
        rest = self.aws("list-rules", "--event-bus-name", "cli-pages", "--starting-token",
                        out["NextToken"])
        self.assertEqual([r["Name"] for r in rest["Rules"]], names[3:])

    def test_connections_and_tags(self):
        basic = self.aws("create-connection", "--name", "cli-basic", "--authorization-type", "BASIC",
                         "--auth-parameters",
                         '{"BasicAuthParameters":{"Username":"u","Password":"cli-pw-77"}}')
        oauth = self.aws("create-connection", "--name", "cli-oauth", "--authorization-type",
                         "OAUTH_CLIENT_CREDENTIALS", "--auth-parameters", json.dumps({"OAuthParameters": {
                             "ClientParameters": {"ClientID": "id", "ClientSecret": "cli-cs-88"},
                             "AuthorizationEndpoint": "http://127.0.0.1:9/token", "HttpMethod": "POST"}}))
        self.assertEqual(oauth["ConnectionState"], "AUTHORIZING")
        listed = self.aws("list-connections", "--name-prefix", "cli-")
        self.assertNotIn("cli-pw-77", json.dumps(listed))
        self.assertEqual({c["Name"] for c in listed["Connections"]} >= {"cli-basic", "cli-oauth"}, True)
        self.aws("tag-resource", "--resource-arn", basic["ConnectionArn"], "--tags",
                 "Key=team,Value=cli", "Key=bridgeport:oauth-client-auth,Value=body")
        tags = self.aws("list-tags-for-resource", "--resource-arn", basic["ConnectionArn"])
        self.assertEqual({t["Key"]: t["Value"] for t in tags["Tags"]},
                         {"team": "cli", "bridgeport:oauth-client-auth": "body"})
        self.assertCliError("ValidationException", "tag-resource", "--resource-arn", basic["ConnectionArn"],
                            "--tags", "Key=bridgeport:timeout-ms,Value=1")
        self.aws("deauthorize-connection", "--name", "cli-basic")
        deauth = self.aws("list-connections", "--connection-state", "DEAUTHORIZED")
        self.assertIn("cli-basic", [c["Name"] for c in deauth["Connections"]])
        self.aws("delete-connection", "--name", "cli-oauth")
        self.assertCliError("ResourceNotFoundException", "describe-connection", "--name", "cli-oauth")

    def test_test_event_pattern(self):
        event = json.dumps({"id": "1", "detail-type": "Ping", "source": "cli.test", "account": ACCOUNT,
                            "time": "2024-01-01T00:00:00Z", "region": REGION, "resources": [],
                            "detail": {"n": 5}})
        out = self.aws("test-event-pattern", "--event-pattern", '{"detail":{"n":[{"numeric":["<",10]}]}}',
                       "--event", event)
        self.assertIs(out["Result"], True)
        out = self.aws("test-event-pattern", "--event-pattern", '{"source":["other"]}', "--event", event)
        self.assertIs(out["Result"], False)

    def test_errors(self):
        self.assertCliError("ResourceNotFoundException", "describe-rule", "--name", "ghost")
        stderr = self.assertCliError("ResourceNotFoundException", "describe-event-bus", "--name", "nobus")
        self.assertIn("Event bus nobus does not exist.", stderr)
        self.assertCliError("ValidationException", "create-event-bus", "--name", "bad name")
        self.assertCliError("InvalidEventPatternException", "put-rule", "--name", "bad-pattern",
                            "--event-pattern", '{"source":"not-a-list"}')
        self.assertCliError("ResourceAlreadyExistsException", "create-event-bus", "--name", "default")
        self.assertCliError("ValidationException", "create-api-destination", "--name", "trace",
                            "--connection-arn",
                            "arn:aws:events:us-east-1:000000000000:connection/x/y",
                            "--invocation-endpoint", "https://example.com", "--http-method", "TRACE")


if __name__ == "__main__":
    unittest.main()
