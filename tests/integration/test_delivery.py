"""End-to-end delivery content: what an API destination receives (body, headers, auth,
HttpParameters), event-bus targets, and cancellation of a removed target's pending deliveries.

Runs the real server (harness.py, $BRIDGEPORT_BIN) against the recording sink (fakes/sink.py).
"""

import base64
import json
import unittest

import harness
from delivery_util import (ENVELOPE_KEYS, USER_AGENT, DeliveryFixture, body_json, header,
                           query_params)


class DeliveryContentTest(DeliveryFixture):

    def test_whole_event_with_api_key_connection(self):
        self.pipeline("whole")
        detail = '{"b":1,"a":1.50,"nested":{"z":[1,2]}}'
        out = self.events.put_events(Entries=[{
            "Source": "test.delivery", "DetailType": "order placed", "Detail": detail,
            "Resources": ["arn:aws:s3:::bucket"]}])
        self.assertEqual(out["FailedEntryCount"], 0)
        event_id = out["Entries"][0]["EventId"]

        req = self.sink.wait_for(1)[0]
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], "/hook")
        body = body_json(req)
        self.assertEqual(list(body.keys()), ENVELOPE_KEYS, "envelope keys in the specified order")
        self.assertEqual(body["version"], "0")
        self.assertEqual(body["id"], event_id)
        self.assertEqual(body["detail-type"], "order placed")
        self.assertEqual(body["source"], "test.delivery")
        self.assertEqual(body["account"], harness.ACCOUNT)
        self.assertEqual(body["region"], harness.REGION)
        self.assertRegex(body["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(body["resources"], ["arn:aws:s3:::bucket"])
        # Detail is compact with key order and number spelling kept.
        self.assertIn('"detail":' + detail, req["body"])

        self.assertEqual(header(req, "User-Agent"), USER_AGENT)
        self.assertEqual(header(req, "Content-Type"), "application/json; charset=utf-8")
        self.assertEqual(header(req, "x-api-key"), "s3cret-key")
        self.assertEqual(header(req, "Range"), "bytes=0-1048575")
        self.assertEqual(int(header(req, "Content-Length")), len(req["body"].encode()))

        # The attempt record masks the secret.
        recs = self.wait_deliveries("whole", lambda d: d and d[-1].get("outcome") == "success")
        self.assertEqual(recs[-1]["event_id"], event_id)
        self.assertEqual(recs[-1]["status"], 200)
        self.assertEqual(recs[-1]["headers"].get("x-api-key"), "***")
        self.assertNotIn("s3cret-key", json.dumps(recs))

    def test_basic_connection_sends_basic_authorization(self):
        conn = self.basic_connection("basic", user="alice", password="pa:ss word")
        self.pipeline("basicdest", conn_arn=conn)
        self.put([{"k": 1}])
        req = self.sink.wait_for(1)[0]
        want = "Basic " + base64.b64encode(b"alice:pa:ss word").decode()
        self.assertEqual(header(req, "Authorization"), want)
        self.assertEqual(header(req, "User-Agent"), USER_AGENT)

    def test_input_inputpath_and_transformer(self):
        conn = self.api_key_connection("shared")
        dest_input = self.destination("in", conn, path="/input")
        dest_path = self.destination("path", conn, path="/path")
        dest_tr = self.destination("tr", conn, path="/tr")
        self.rule("multi")
        self.events.put_targets(Rule="multi", Targets=[
            {"Id": "input", "Arn": dest_input, "Input": '{"fixed": [1, "two"]}'},
            {"Id": "path", "Arn": dest_path, "InputPath": "$.detail.order"},
            {"Id": "tr", "Arn": dest_tr, "InputTransformer": {
                "InputPathsMap": {"oid": "$.detail.order.id", "src": "$.source",
                                  "missing": "$.detail.nope"},
                "InputTemplate": '{"order": <oid>, "from": "<src>", "m": <missing>, '
                                 '"rule": "<aws.events.rule-name>"}'}},
        ])
        [event_id] = self.put([{"order": {"id": 42, "note": "a \"quoted\" note"}}])
        reqs = {r["path"]: r for r in self.sink.wait_for(3)}
        self.assertEqual(sorted(reqs), ["/input", "/path", "/tr"])
        self.assertEqual(body_json(reqs["/input"]), {"fixed": [1, "two"]})
        self.assertEqual(body_json(reqs["/path"]), {"id": 42, "note": 'a "quoted" note'})
        self.assertEqual(body_json(reqs["/tr"]),
                         {"order": 42, "from": "test.delivery", "m": None, "rule": "multi"})
        for r in reqs.values():
            self.assertEqual(header(r, "x-api-key"), "s3cret-key")
            self.assertNotIn(event_id, r["body"], "a transformed payload is not the event")

    def test_http_parameters_and_connection_precedence(self):
        conn = self.api_key_connection("params", invocation_params={
            "HeaderParameters": [{"Key": "X-Conflict", "Value": "from-connection"},
                                 {"Key": "X-Conn-Secret", "Value": "hidden",
                                  "IsValueSecret": True}],
            "QueryStringParameters": [{"Key": "shared", "Value": "conn"}],
            "BodyParameters": [{"Key": "bp", "Value": "body-param"}]})
        dest = self.destination("params", conn, path="/items/*/sub")
        self.rule("params-rule")
        self.target("params-rule", dest, HttpParameters={
            "PathParameterValues": ["$.detail.item"],
            "HeaderParameters": {"X-Static": "static", "X-From-Event": "$.detail.x",
                                 "X-Obj": "$.detail.obj", "X-Conflict": "from-target",
                                 "X-Missing": "$.detail.absent", "x-api-key": "spoofed",
                                 "User-Agent": "spoofed-agent"},
            "QueryStringParameters": {"q": "$.detail.x", "lit": "1", "shared": "target"}})
        self.put([{"item": "abc", "x": "ex", "obj": {"k": [1, 2]}}])
        req = self.sink.wait_for(1)[0]
        self.assertEqual(req["path"], "/items/abc/sub")
        self.assertEqual(query_params(req), {"q": "ex", "lit": "1", "shared": "conn"})
        self.assertEqual(header(req, "X-Static"), "static")
        self.assertEqual(header(req, "X-From-Event"), "ex")
        self.assertEqual(json.loads(header(req, "X-Obj")), {"k": [1, 2]})
        self.assertEqual(header(req, "X-Conflict"), "from-connection", "connection wins")
        self.assertEqual(header(req, "X-Conn-Secret"), "hidden")
        self.assertIsNone(header(req, "X-Missing"), "a missing $.path omits the parameter")
        self.assertEqual(header(req, "x-api-key"), "s3cret-key", "the auth header wins")
        self.assertEqual(header(req, "User-Agent"), USER_AGENT, "User-Agent cannot be set")
        body = body_json(req)
        self.assertEqual(body["bp"], "body-param", "BodyParameters join the JSON object")
        self.assertEqual(body["detail"]["item"], "abc")
        recs = self.wait_deliveries("params", lambda d: d and d[-1].get("outcome") == "success")
        self.assertEqual(recs[-1]["headers"].get("X-Conn-Secret"), "***")

    def test_get_destination_sends_no_body(self):
        self.pipeline("getter", method="GET",
                      HttpParameters={"QueryStringParameters": {"id": "$.id"}})
        [event_id] = self.put([{"k": "v"}])
        req = self.sink.wait_for(1)[0]
        self.assertEqual(req["method"], "GET")
        self.assertEqual(req["body"], "")
        self.assertIn(header(req, "Content-Length"), (None, "0"))
        self.assertEqual(query_params(req), {"id": event_id})
        self.assertEqual(header(req, "User-Agent"), USER_AGENT)


class BusTargetTest(DeliveryFixture):

    def test_event_bus_target_reputs_the_event(self):
        bus_arn = self.events.create_event_bus(Name="second")["EventBusArn"]
        self.rule("forward", {"source": ["test.delivery"]})
        self.target("forward", bus_arn, target_id="to-second")
        conn = self.api_key_connection("c2")
        dest = self.destination("onsecond", conn, path="/second")
        self.rule("on-second", {"source": ["test.delivery"], "detail": {"hop": [1]}}, bus="second")
        self.target("on-second", dest, bus="second")
        [event_id] = self.put([{"hop": 1}])
        req = self.sink.wait_for(1, timeout=15)[0]
        self.assertEqual(req["path"], "/second")
        body = body_json(req)
        self.assertEqual(body["id"], event_id, "re-put unchanged")
        self.assertEqual(body["detail"], {"hop": 1})
        self.assertEqual(body["source"], "test.delivery")
        self.assertEqual(list(body.keys()), ENVELOPE_KEYS)
        self.wait_metric("bridgeport_invocations_total", 2, outcome="success")


class RemoveTargetTest(DeliveryFixture):

    def test_removing_a_target_cancels_backlogged_deliveries(self):
        # 1/s: the first event goes out at once, the other four wait for the limiter.
        self.pipeline("slow", rate=1)
        self.put([{"n": i} for i in range(5)])
        self.sink.wait_for(1, timeout=10)
        self.events.remove_targets(Rule="slow-rule", Ids=["t1"])
        # At most one more could have started before RemoveTargets returned (1/s); every other
        # pending delivery is cancelled (and counted) instead of sent.
        harness.wait_until(
            lambda: self.metric("bridgeport_invocations_total", outcome="cancelled")
            + len(self.sink.requests()) >= 5, 20, message="backlog not cancelled")
        self.assertLessEqual(len(self.sink.requests()), 2)
        self.assertEqual(self.metric("bridgeport_invocations_total", outcome="cancelled")
                         + len(self.sink.requests()), 5)
        harness.wait_until(
            lambda: self.metric("bridgeport_invocations_total", outcome="success")
            == len(self.sink.requests()), 10, message="every request sent was a success")

    def test_removing_a_target_cancels_a_scheduled_retry(self):
        self.sink.set_default({"status": 503})
        self.pipeline("retrying", rule_tags={"backoff_base_ms": 1500})
        self.put([{"n": 1}])
        self.sink.wait_for(1)
        self.wait_deliveries("retrying", lambda d: d and d[-1].get("outcome") == "retry")
        self.events.remove_targets(Rule="retrying-rule", Ids=["t1"])
        self.sink.set_default({"status": 200})
        self.wait_metric("bridgeport_invocations_total", 1, timeout=15, outcome="cancelled")
        self.assertEqual(len(self.sink.requests()), 1, "the scheduled retry was never sent")

    def test_removing_a_target_cancels_parked_deliveries(self):
        self.pipeline("parked")
        name = "parked-conn"
        self.events.deauthorize_connection(Name=name)
        harness.wait_until(lambda: self.events.describe_api_destination(Name="parked")[
            "ApiDestinationState"] == "INACTIVE", 10)
        self.put([{"n": i} for i in range(3)])
        self.events.remove_targets(Rule="parked-rule", Ids=["t1"])
        # New credentials re-authorize the connection; the parked work must not be sent.
        self.events.update_connection(Name=name, AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "new"}})
        harness.wait_until(lambda: self.events.describe_api_destination(Name="parked")[
            "ApiDestinationState"] == "ACTIVE", 10)
        self.wait_metric("bridgeport_invocations_total", 3, timeout=15, outcome="cancelled")
        self.assertEqual(self.sink.requests(), [])


if __name__ == "__main__":
    unittest.main()
