"""Control-plane operations of the events API through boto3 (SPEC §3, §7, §8, §12, §13).

One server per test class; every test uses its own resource names so tests are independent.
"""

import functools
import json
import threading
import unittest

import harness

if harness.HAVE_BOTO3:
    from botocore.exceptions import ClientError
else:  # pragma: no cover
    ClientError = Exception

ACCOUNT = harness.ACCOUNT
REGION = harness.REGION
BUS_ARN = "arn:aws:events:%s:%s:event-bus/%%s" % (REGION, ACCOUNT)

EVENT = {
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Order Placed",
    "source": "shop.orders",
    "account": ACCOUNT,
    "time": "2024-01-01T00:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {"amount": 42, "currency": "EUR"},
}


class ControlPlaneCase(unittest.TestCase):
    """Starts one server for the class and gives each test boto3 clients."""

    server_args = ()

    @classmethod
    def setUpClass(cls):
        harness.require_boto3()
        cls.server = harness.start_server(extra_args=cls.server_args)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def setUp(self):
        self.events = harness.client(self.server)
        # Server-side validation is what is tested: botocore must not reject values first.
        self.raw = harness.client(self.server, parameter_validation=False)

    def assertAwsError(self, fn, code, message=None, status=400, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        if message is not None:
            self.assertEqual(err["Error"]["Message"], message)
        return err["Error"]["Message"]

    # Shared fixtures.
    def make_connection(self, name, key_value="k-secret-value"):
        return self.events.create_connection(
            Name=name, AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key",
                                                     "ApiKeyValue": key_value}})

    def make_destination(self, name, conn_arn, endpoint="http://127.0.0.1:9/hook"):
        return self.events.create_api_destination(
            Name=name, ConnectionArn=conn_arn, InvocationEndpoint=endpoint, HttpMethod="POST")

    def make_rule(self, name, bus="default", pattern=None, **kw):
        pattern = pattern or {"source": ["shop.orders"]}
        return self.events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), **kw)


class EventBusTest(ControlPlaneCase):
    def test_create_describe_delete(self):
        out = harness.call(self.events, "CreateEventBus", Name="bus-a", Description="first bus")
        self.assertEqual(out["EventBusArn"], BUS_ARN % "bus-a")
        d = harness.call(self.events, "DescribeEventBus", outputs=("Description",), Name="bus-a")
        self.assertEqual(d["Name"], "bus-a")
        self.assertEqual(d["Arn"], BUS_ARN % "bus-a")
        self.assertEqual(d["Description"], "first bus")
        # By ARN too.
        self.assertEqual(self.events.describe_event_bus(Name=BUS_ARN % "bus-a")["Name"], "bus-a")
        self.events.delete_event_bus(Name="bus-a")
        self.assertAwsError(self.events.describe_event_bus, "ResourceNotFoundException",
                            "Event bus bus-a does not exist.", Name="bus-a")
        # Idempotent delete.
        self.events.delete_event_bus(Name="bus-a")

    def test_update_event_bus(self):
        harness.call(self.events, "CreateEventBus", Name="upd", Description="old")
        out = harness.call(self.events, "UpdateEventBus", Name="upd", Description="new")
        self.assertEqual(out["Arn"], BUS_ARN % "upd")
        described = harness.call(self.events, "DescribeEventBus", outputs=("Description",), Name="upd")
        self.assertEqual(described["Description"], "new")
        self.assertAwsError(functools.partial(harness.call, self.events, "UpdateEventBus"),
                            "ResourceNotFoundException", Name="nobus")

    def test_default_bus(self):
        d = self.events.describe_event_bus()
        self.assertEqual(d["Name"], "default")
        self.assertEqual(d["Arn"], BUS_ARN % "default")
        self.assertAwsError(self.events.create_event_bus, "ResourceAlreadyExistsException",
                            Name="default")
        self.assertAwsError(self.events.delete_event_bus, "ValidationException", Name="default")
        self.assertEqual(self.events.describe_event_bus(Name="default")["Name"], "default")

    def test_duplicate_create(self):
        self.events.create_event_bus(Name="bus-dup")
        self.assertAwsError(self.events.create_event_bus, "ResourceAlreadyExistsException",
                            Name="bus-dup")

    def test_delete_refused_while_rules_exist(self):
        self.events.create_event_bus(Name="bus-with-rule")
        self.make_rule("r1", bus="bus-with-rule")
        with self.assertRaises(ClientError) as cm:
            self.events.delete_event_bus(Name="bus-with-rule")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(self.events.describe_event_bus(Name="bus-with-rule")["Name"], "bus-with-rule")
        self.events.delete_rule(Name="r1", EventBusName="bus-with-rule")
        self.events.delete_event_bus(Name="bus-with-rule")
        self.assertAwsError(self.events.describe_event_bus, "ResourceNotFoundException",
                            Name="bus-with-rule")

    def test_list_prefix_and_paging(self):
        names = ["pg-%02d" % i for i in range(7)]
        for n in names:
            self.events.create_event_bus(Name=n)
        self.events.create_event_bus(Name="pgx")  # matches "pg" but not "pg-"
        seen, token, pages = [], None, 0
        while True:
            kw = {"NamePrefix": "pg-", "Limit": 3}
            if token:
                kw["NextToken"] = token
            out = self.events.list_event_buses(**kw)
            pages += 1
            self.assertLessEqual(len(out["EventBuses"]), 3)
            seen += [b["Name"] for b in out["EventBuses"]]
            token = out.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 10, "paging does not terminate")
        self.assertEqual(seen, names)
        self.assertEqual(pages, 3)
        all_pg = [b["Name"] for b in self.events.list_event_buses(NamePrefix="pg")["EventBuses"]]
        self.assertEqual(all_pg, names + ["pgx"])
        everything = self.events.list_event_buses()["EventBuses"]
        self.assertIn("default", [b["Name"] for b in everything])
        for b in everything:
            self.assertEqual(b["Arn"], BUS_ARN % b["Name"])

    def test_bad_names_and_fields(self):
        self.assertAwsError(self.raw.create_event_bus, "ValidationException", Name="has space")
        self.assertAwsError(self.raw.create_event_bus, "ValidationException", Name="b" * 257)
        self.events.create_event_bus(Name="b" * 256)
        self.assertAwsError(functools.partial(harness.call, self.raw, "CreateEventBus"),
                            "ValidationException", Name="desc-long", Description="d" * 513)
        self.assertAwsError(self.raw.create_event_bus, "ValidationException", Name="partner",
                            EventSourceName="aws.partner/example.com/123/source")
        self.assertAwsError(self.raw.list_event_buses, "ValidationException", Limit=0)
        self.assertAwsError(self.raw.list_event_buses, "ValidationException", Limit=101)
        listed = [b["Name"] for b in self.events.list_event_buses()["EventBuses"]]
        self.assertNotIn("desc-long", listed)
        self.assertNotIn("partner", listed)


class RuleTest(ControlPlaneCase):
    def test_put_describe_update(self):
        self.events.create_event_bus(Name="rbus")
        pattern = {"source": ["shop.orders"], "detail": {"amount": [{"numeric": [">", 10]}]}}
        out = self.make_rule("orders", bus="rbus", pattern=pattern, Description="big orders")
        arn = "arn:aws:events:%s:%s:rule/rbus/orders" % (REGION, ACCOUNT)
        self.assertEqual(out["RuleArn"], arn)
        d = self.events.describe_rule(Name="orders", EventBusName="rbus")
        self.assertEqual(d["Name"], "orders")
        self.assertEqual(d["Arn"], arn)
        self.assertEqual(d["EventBusName"], "rbus")
        self.assertEqual(d["State"], "ENABLED")
        self.assertEqual(d["Description"], "big orders")
        self.assertEqual(json.loads(d["EventPattern"]), pattern)
        # PutRule replaces the whole rule; the ARN stays.
        out2 = self.make_rule("orders", bus="rbus", pattern={"source": ["other"]}, State="DISABLED")
        self.assertEqual(out2["RuleArn"], arn)
        d = self.events.describe_rule(Name="orders", EventBusName=BUS_ARN % "rbus")
        self.assertEqual(d["State"], "DISABLED")
        self.assertEqual(json.loads(d["EventPattern"]), {"source": ["other"]})
        self.assertNotIn("Description", d)

    def test_default_bus_rule_arn(self):
        out = self.make_rule("on-default")
        self.assertEqual(out["RuleArn"], "arn:aws:events:%s:%s:rule/on-default" % (REGION, ACCOUNT))
        self.assertEqual(self.events.describe_rule(Name="on-default")["EventBusName"], "default")

    def test_enable_disable(self):
        self.make_rule("toggle")
        self.events.disable_rule(Name="toggle")
        self.assertEqual(self.events.describe_rule(Name="toggle")["State"], "DISABLED")
        self.events.enable_rule(Name="toggle")
        self.assertEqual(self.events.describe_rule(Name="toggle")["State"], "ENABLED")
        self.assertAwsError(self.events.enable_rule, "ResourceNotFoundException",
                            "Rule ghost does not exist on EventBus default.", Name="ghost")

    def test_unknown_rule_and_bus(self):
        self.assertAwsError(self.events.describe_rule, "ResourceNotFoundException",
                            "Rule ghost does not exist on EventBus default.", Name="ghost")
        self.assertAwsError(self.events.list_targets_by_rule, "ResourceNotFoundException",
                            "Rule ghost does not exist on EventBus default.", Rule="ghost")
        self.assertAwsError(self.events.describe_rule, "ResourceNotFoundException",
                            "Event bus nobus does not exist.", Name="r", EventBusName="nobus")
        self.assertAwsError(self.events.put_rule, "ResourceNotFoundException",
                            "Event bus nobus does not exist.", Name="r", EventBusName="nobus",
                            EventPattern='{"source":["a"]}')
        self.assertAwsError(self.events.list_rules, "ResourceNotFoundException",
                            EventBusName="nobus")

    def test_list_prefix_and_paging(self):
        self.events.create_event_bus(Name="lbus")
        names = ["lr-%d" % i for i in range(5)]
        for n in names:
            self.make_rule(n, bus="lbus")
        self.make_rule("other", bus="lbus")
        seen, token = [], None
        for _ in range(10):
            kw = {"EventBusName": "lbus", "NamePrefix": "lr-", "Limit": 2}
            if token:
                kw["NextToken"] = token
            out = self.events.list_rules(**kw)
            self.assertLessEqual(len(out["Rules"]), 2)
            for r in out["Rules"]:
                self.assertEqual(r["EventBusName"], "lbus")
                self.assertIn("EventPattern", r)
            seen += [r["Name"] for r in out["Rules"]]
            token = out.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, names)
        all_rules = [r["Name"] for r in self.events.list_rules(EventBusName="lbus")["Rules"]]
        self.assertEqual(sorted(all_rules), sorted(names + ["other"]))
        # Rules of another bus are not listed.
        self.assertNotIn("lr-0", [r["Name"] for r in self.events.list_rules()["Rules"]])

    def test_delete_rule(self):
        self.make_rule("gone")
        self.events.delete_rule(Name="gone")
        self.assertAwsError(self.events.describe_rule, "ResourceNotFoundException", Name="gone")
        self.events.delete_rule(Name="gone")  # idempotent

    def test_validation(self):
        self.assertAwsError(self.raw.put_rule, "ValidationException", Name="bad name",
                            EventPattern='{"source":["a"]}')
        self.assertAwsError(self.raw.put_rule, "ValidationException", Name="r" * 65,
                            EventPattern='{"source":["a"]}')
        self.make_rule("r" * 64)
        self.assertAwsError(self.raw.put_rule, "ValidationException", Name="desc",
                            EventPattern='{"source":["a"]}', Description="d" * 513)
        self.assertAwsError(self.raw.put_rule, "ValidationException", Name="state",
                            EventPattern='{"source":["a"]}', State="SOMETIMES")
        self.assertAwsError(self.raw.put_rule, "ValidationException", Name="sched",
                            ScheduleExpression="rate(5 minute)")
        self.assertAwsError(self.raw.put_rule, "ValidationException", Name="nopattern")
        self.assertAwsError(self.raw.put_rule, "InvalidEventPatternException", Name="badpat",
                            EventPattern='{"source": "not-an-array"}')
        self.assertAwsError(self.raw.put_rule, "InvalidEventPatternException", Name="badjson",
                            EventPattern='{"source": [')
        names = [r["Name"] for r in self.events.list_rules()["Rules"]]
        for n in ("bad name", "desc", "state", "sched", "nopattern", "badpat", "badjson"):
            self.assertNotIn(n, names)


class TargetTest(ControlPlaneCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = harness.client(cls.server)
        conn = c.create_connection(
            Name="tconn", AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
        cls.dest_arn = c.create_api_destination(
            Name="tdest", ConnectionArn=conn["ConnectionArn"],
            InvocationEndpoint="http://127.0.0.1:9/t", HttpMethod="POST")["ApiDestinationArn"]
        cls.dest2_arn = c.create_api_destination(
            Name="tdest2", ConnectionArn=conn["ConnectionArn"],
            InvocationEndpoint="http://127.0.0.1:9/t2", HttpMethod="PUT")["ApiDestinationArn"]

    def target(self, tid, arn=None, **kw):
        t = {"Id": tid, "Arn": arn or self.dest_arn}
        t.update(kw)
        return t

    def test_put_list_remove(self):
        self.make_rule("tr")
        out = self.events.put_targets(Rule="tr", Targets=[
            self.target("a", Input='{"x":1}'),
            self.target("b", RetryPolicy={"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120})])
        self.assertEqual(out["FailedEntryCount"], 0)
        self.assertEqual(out["FailedEntries"], [])
        targets = {t["Id"]: t for t in self.events.list_targets_by_rule(Rule="tr")["Targets"]}
        self.assertEqual(set(targets), {"a", "b"})
        self.assertEqual(targets["a"]["Input"], '{"x":1}')
        self.assertEqual(targets["b"]["RetryPolicy"]["MaximumRetryAttempts"], 3)
        # Same Id replaces.
        self.events.put_targets(Rule="tr", Targets=[self.target("a", Input='{"x":2}')])
        targets = {t["Id"]: t for t in self.events.list_targets_by_rule(Rule="tr")["Targets"]}
        self.assertEqual(len(targets), 2)
        self.assertEqual(targets["a"]["Input"], '{"x":2}')
        # Removing an unknown Id fails that entry only.
        out = self.events.remove_targets(Rule="tr", Ids=["a", "nope"])
        self.assertEqual(out["FailedEntryCount"], 1)
        self.assertEqual(out["FailedEntries"][0]["TargetId"], "nope")
        self.assertTrue(out["FailedEntries"][0]["ErrorCode"])
        ids = [t["Id"] for t in self.events.list_targets_by_rule(Rule="tr")["Targets"]]
        self.assertEqual(ids, ["b"])

    def test_put_rule_keeps_targets(self):
        self.make_rule("keep", pattern={"source": ["a"]})
        self.events.put_targets(Rule="keep", Targets=[self.target("k1")])
        self.make_rule("keep", pattern={"source": ["b"]}, State="DISABLED")
        self.assertEqual([t["Id"] for t in self.events.list_targets_by_rule(Rule="keep")["Targets"]],
                         ["k1"])
        self.events.enable_rule(Name="keep")
        self.assertEqual(len(self.events.list_targets_by_rule(Rule="keep")["Targets"]), 1)

    def test_event_bus_target(self):
        self.events.create_event_bus(Name="fwd-dst")
        self.make_rule("fwd")
        arn = "arn:aws:events:%s:%s:event-bus/fwd-dst" % (REGION, ACCOUNT)
        self.events.put_targets(Rule="fwd", Targets=[self.target("bus", arn=arn)])
        self.assertEqual(self.events.list_targets_by_rule(Rule="fwd")["Targets"][0]["Arn"], arn)
        self.assertAwsError(self.events.put_targets, "ValidationException", Rule="fwd",
                            Targets=[self.target("bus2", arn=arn, Input='{"a":1}')])
        self.assertAwsError(self.events.put_targets, "ValidationException", Rule="fwd", Targets=[
            self.target("self", arn="arn:aws:events:%s:%s:event-bus/default" % (REGION, ACCOUNT))])
        self.assertAwsError(self.events.put_targets, "ValidationException", Rule="fwd", Targets=[
            self.target("far", arn="arn:aws:events:eu-west-1:%s:event-bus/fwd-dst" % ACCOUNT)])

    def test_delete_rule_refused_while_targets_exist(self):
        self.make_rule("busy")
        self.events.put_targets(Rule="busy", Targets=[self.target("t1")])
        with self.assertRaises(ClientError) as cm:
            self.events.delete_rule(Name="busy")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(self.events.describe_rule(Name="busy")["Name"], "busy")
        self.events.remove_targets(Rule="busy", Ids=["t1"])
        self.events.delete_rule(Name="busy")
        self.assertAwsError(self.events.describe_rule, "ResourceNotFoundException", Name="busy")

    def test_sixth_target_is_refused(self):
        self.make_rule("five")
        self.events.put_targets(Rule="five", Targets=[self.target("t%d" % i) for i in range(5)])
        self.assertAwsError(self.events.put_targets, "LimitExceededException", Rule="five",
                            Targets=[self.target("t5")])
        self.assertEqual(len(self.events.list_targets_by_rule(Rule="five")["Targets"]), 5)
        # Replacing an existing Id is not a sixth target.
        self.events.put_targets(Rule="five", Targets=[self.target("t0", Input='"again"')])
        self.events.remove_targets(Rule="five", Ids=["t%d" % i for i in range(5)])

    def test_list_rule_names_by_target(self):
        self.events.create_event_bus(Name="tbus")
        for n in ("by-1", "by-2", "by-3"):
            self.make_rule(n, bus="tbus")
        self.events.put_targets(Rule="by-1", EventBusName="tbus", Targets=[self.target("x")])
        self.events.put_targets(Rule="by-3", EventBusName="tbus",
                                Targets=[self.target("x"), self.target("y", arn=self.dest2_arn)])
        self.events.put_targets(Rule="by-2", EventBusName="tbus",
                                Targets=[self.target("y", arn=self.dest2_arn)])
        out = self.events.list_rule_names_by_target(TargetArn=self.dest_arn, EventBusName="tbus")
        self.assertEqual(sorted(out["RuleNames"]), ["by-1", "by-3"])
        page1 = self.events.list_rule_names_by_target(TargetArn=self.dest_arn, EventBusName="tbus",
                                                      Limit=1)
        self.assertEqual(len(page1["RuleNames"]), 1)
        page2 = self.events.list_rule_names_by_target(TargetArn=self.dest_arn, EventBusName="tbus",
                                                      Limit=1, NextToken=page1["NextToken"])
        self.assertEqual(sorted(page1["RuleNames"] + page2["RuleNames"]), ["by-1", "by-3"])

    def test_target_validation(self):
        self.make_rule("tv")
        self.assertAwsError(self.events.put_targets, "ValidationException", Rule="tv",
                            Targets=[self.target("l", arn="arn:aws:lambda:us-east-1:%s:function:f"
                                                 % ACCOUNT)])
        missing = self.dest_arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        self.assertAwsError(self.events.put_targets, "ValidationException", Rule="tv",
                            Targets=[self.target("m", arn=missing)])
        self.assertAwsError(self.raw.put_targets, "ValidationException", Rule="tv",
                            Targets=[self.target("bad id")])
        self.assertAwsError(self.raw.put_targets, "ValidationException", Rule="tv",
                            Targets=[self.target("r", RetryPolicy={"MaximumRetryAttempts": 186})])
        self.assertAwsError(self.events.put_targets, "ResourceNotFoundException", Rule="ghost",
                            Targets=[self.target("g")])
        self.assertEqual(self.events.list_targets_by_rule(Rule="tv")["Targets"], [])


class ConcurrencyTest(ControlPlaneCase):
    def test_parallel_puts_on_one_bus(self):
        self.events.create_event_bus(Name="busy-bus")
        errors = []

        def worker(w):
            c = harness.client(self.server)
            try:
                for i in range(15):
                    name = "w%d-r%02d" % (w, i)
                    c.put_rule(Name=name, EventBusName="busy-bus",
                               EventPattern=json.dumps({"source": [name]}))
                    if i % 3 == 0:
                        c.delete_rule(Name="w%d-r%02d" % (w, i), EventBusName="busy-bus")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(errors, [])
        expected = sorted("w%d-r%02d" % (w, i) for w in range(6) for i in range(15) if i % 3 != 0)
        rules = self.events.list_rules(EventBusName="busy-bus")["Rules"]
        self.assertEqual(sorted(r["Name"] for r in rules), expected)
        for r in rules:
            self.assertEqual(json.loads(r["EventPattern"]), {"source": [r["Name"]]})


class TestEventPatternTest(ControlPlaneCase):
    def test_match_no_match_invalid(self):
        ev = json.dumps(EVENT)
        self.assertTrue(self.events.test_event_pattern(
            EventPattern='{"source":["shop.orders"],"detail":{"amount":[{"numeric":[">",40]}]}}',
            Event=ev)["Result"])
        self.assertFalse(self.events.test_event_pattern(
            EventPattern='{"source":["shop.orders"],"detail":{"amount":[{"numeric":[">",50]}]}}',
            Event=ev)["Result"])
        self.assertFalse(self.events.test_event_pattern(
            EventPattern='{"detail-type":["Order Shipped"]}', Event=ev)["Result"])
        self.assertAwsError(self.events.test_event_pattern, "InvalidEventPatternException",
                            EventPattern='{"source":"shop.orders"}', Event=ev)
        no_id = dict(EVENT)
        del no_id["id"]
        self.assertAwsError(self.events.test_event_pattern, "ValidationException",
                            EventPattern='{"source":["shop.orders"]}', Event=json.dumps(no_id))


if __name__ == "__main__":
    unittest.main()
