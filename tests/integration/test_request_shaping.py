"""Golden end-to-end checks of what an API destination receives (SPEC §6, §8; docs/transform.md):
Input, InputPath, InputTransformer (JSON and string templates, reserved variables),
HttpParameters, connection InvocationHttpParameters, the header deny-list, GET/HEAD, delivery-time
INVALID_PARAMETER, and PutTargets validation messages.

Bodies are compared byte for byte with what docs/transform.md promises. Runs the real server
(harness.py, $BRIDGEPORT_BIN) against the recording sink (fakes/sink.py).
"""

import json
import re
import unittest

import harness
from delivery_util import USER_AGENT, DeliveryFixture, header, query_params

if harness.HAVE_BOTO3:
    from botocore.exceptions import ClientError
else:  # pragma: no cover
    ClientError = Exception

# The docs/transform.md example detail, as JSON text (compact, so ingest keeps it byte for byte).
DETAIL = ('{"order":{"id":"o-1","total":12.50,"big":1e3,"tags":["x","y"],'
          '"note":"say \\"hi\\"\\nok","uni":"caf\\u00e9"},"x":"ex","n":7,"item":"a b/c"}')
PATHS = {"id": "$.detail.order.id", "note": "$.detail.order.note", "total": "$.detail.order.total",
         "big": "$.detail.order.big", "tags": "$.detail.order.tags", "uni": "$.detail.order.uni",
         "m": "$.nope", "src": "$.source", "dt": "$.detail-type"}
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


def transformer(template, paths=None):
    return {"InputTransformer": {"InputPathsMap": PATHS if paths is None else paths,
                                 "InputTemplate": template}}


class ShapingFixture(DeliveryFixture):

    def fanout(self, targets, conn_arn=None, method="POST", endpoints=None):
        """One destination per target id (sink path /<id> unless endpoints[id] is given), grouped
        five to a rule, all matching source "shop"."""
        conn_arn = conn_arn or self.api_key_connection("shape-conn")
        ids = list(targets)
        for i in range(0, len(ids), 5):
            rule = "r%d" % i
            self.rule(rule, {"source": ["shop"]})
            entries = []
            for tid in ids[i:i + 5]:
                endpoint = (endpoints or {}).get(tid) or self.sink.url("/" + tid)
                dest = self.destination(tid, conn_arn, method=method, endpoint=endpoint)
                entries.append(dict({"Id": tid, "Arn": dest}, **targets[tid]))
            out = self.events.put_targets(Rule=rule, Targets=entries)
            self.assertEqual(out["FailedEntryCount"], 0, out)
        return self.rule_arn("r0")

    def rule_arn(self, rule):
        return self.events.describe_rule(Name=rule)["Arn"]

    def put_shop_event(self):
        out = self.events.put_events(Entries=[{"Source": "shop", "DetailType": "Order Placed",
                                               "Detail": DETAIL, "Resources": ["arn:a"]}])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return out["Entries"][0]["EventId"]

    def by_path(self, n, timeout=15.0):
        reqs = self.sink.wait_for(n, timeout=timeout)
        self.assertEqual(len(reqs), n)
        return {r["path"]: r for r in reqs}


class PayloadTest(ShapingFixture):

    def test_whole_event_input_and_input_path(self):
        self.fanout({
            "whole": {},
            "input": {"Input": '{"fixed": [1, "two"],  "n": 1.50}'},
            "detail": {"InputPath": "$.detail"},
            "total": {"InputPath": "$.detail.order.total"},
            "dtype": {"InputPath": "$['detail-type']"},
            "missing": {"InputPath": "$.detail.nope"},
            "tag1": {"InputPath": "$.detail.order.tags[1]"},
        })
        event_id = self.put_shop_event()
        got = self.by_path(7)
        whole = got["/whole"]["body"]
        self.assertIn('"detail":' + DETAIL, whole, "the event keeps the detail text")
        self.assertEqual(json.loads(whole)["id"], event_id)
        self.assertEqual(got["/input"]["body"], '{"fixed": [1, "two"],  "n": 1.50}', "verbatim")
        self.assertEqual(got["/detail"]["body"], DETAIL)
        self.assertEqual(got["/total"]["body"], "12.50")
        self.assertEqual(got["/dtype"]["body"], '"Order Placed"')
        self.assertEqual(got["/missing"]["body"], "null")
        self.assertEqual(got["/tag1"]["body"], '"y"')
        for r in got.values():
            self.assertEqual(header(r, "Content-Type"), "application/json; charset=utf-8")

    def test_json_templates(self):
        rule_arn = self.fanout({
            "quoted": transformer('{"msg": "order <id> says: <note>"}'),
            "inquotes": transformer('{"a": "total=<total>", "b": "<tags>"}'),
            "missing": transformer('{"a": <m>, "b": "x<m>y", "c": [<m>]}'),
            "array": transformer('[<id>, <tags>]'),
            "numbers": transformer('{"t": <total>, "big": <big>, "u": <uni>, "uq": "<uni>",\n'
                                   '  "src": <src>, "dt": "<dt>", "lt": "a < b <= c"}'),
        })
        self.put_shop_event()
        got = self.by_path(5)
        self.assertEqual(got["/quoted"]["body"], '{"msg": "order o-1 says: say \\"hi\\"\\nok"}')
        self.assertEqual(got["/inquotes"]["body"], '{"a": "total=12.50", "b": "[\\"x\\",\\"y\\"]"}')
        self.assertEqual(got["/missing"]["body"], '{"a": null, "b": "xy", "c": [null]}')
        self.assertEqual(got["/array"]["body"], '["o-1", ["x","y"]]')
        self.assertEqual(got["/numbers"]["body"],
                         '{"t": 12.50, "big": 1e3, "u": "caf\\u00e9", "uq": "caf\\u00e9",\n'
                         '  "src": "shop", "dt": "Order Placed", "lt": "a < b <= c"}')
        self.assertEqual(json.loads(got["/quoted"]["body"])["msg"], 'order o-1 says: say "hi"\nok')
        self.assertEqual(json.loads(got["/numbers"]["body"])["u"], "caf\u00e9")
        self.assertTrue(rule_arn)

    def test_reserved_variables(self):
        rule_arn = self.fanout({
            "whole": {},
            "reserved": transformer('{"arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name>",'
                                    ' "t": <aws.events.event.ingestion-time>}', paths={}),
            "json": transformer('{"ev": <aws.events.event.json>}', paths={}),
            "env": transformer('{"env": <aws.events.event>}', paths={}),
            "str": transformer('rule <aws.events.rule-name> at <aws.events.event.ingestion-time>',
                               paths={}),
        })
        event_id = self.put_shop_event()
        got = self.by_path(5)
        whole = got["/whole"]["body"]
        self.assertEqual(got["/json"]["body"], '{"ev": ' + whole + '}', "the whole event, as sent")
        reserved = json.loads(got["/reserved"]["body"])
        self.assertEqual(reserved["arn"], rule_arn)
        self.assertEqual(reserved["name"], "r0")
        self.assertRegex(reserved["t"], ISO)
        event = json.loads(whole)
        self.assertEqual(event["id"], event_id)
        # No Time in PutEvents: the event time is the ingestion time (whole seconds).
        self.assertEqual(reserved["t"], event["time"])
        env = json.loads(got["/env"]["body"])["env"]
        self.assertEqual(list(env), ["version", "id", "detail-type", "source", "account", "time",
                                     "region", "resources"])
        self.assertEqual(env, {k: v for k, v in event.items() if k != "detail"})
        self.assertEqual(got["/str"]["body"], "rule r0 at " + event["time"])

    def test_string_templates(self):
        self.fanout({
            "plain": transformer("Order <id> total <total> tags <tags> [<m>]"),
            "quotes": transformer('"<id> is in state \\"<src>\\""'),
            "decoded": transformer("note=<note>; uni=<uni>"),
        })
        self.put_shop_event()
        got = self.by_path(3)
        self.assertEqual(got["/plain"]["body"], 'Order o-1 total 12.50 tags ["x","y"] []')
        self.assertEqual(got["/quotes"]["body"], '"o-1 is in state \\"shop\\""')
        self.assertEqual(got["/decoded"]["body"], 'note=say "hi"\nok; uni=caf\u00e9')
        self.assertEqual(header(got["/plain"], "Content-Type"), "application/json; charset=utf-8")


class HttpParametersTest(ShapingFixture):

    def test_path_query_and_header_parameters(self):
        self.fanout({"p": {"HttpParameters": {
            "PathParameterValues": ["lit", "$.detail.item"],
            "QueryStringParameters": {"c": "const", "d": "$.detail.x", "num": "$.detail.n",
                                      "obj": "$.detail.order.tags", "gone": "$.detail.nope",
                                      "sp": "a b&c=d", "dollar": "$"},
            "HeaderParameters": {"X-C": "const", "X-D": "$.detail.x", "X-N": "$.detail.n",
                                 "X-Obj": "$.detail.order.tags", "X-Gone": "$.detail.nope",
                                 "Content-Type": "text/plain", "Accept-Encoding": "identity"}}}},
            endpoints={"p": self.sink.url("/items/*/sub/*?pre=1&star=*")})
        self.put_shop_event()
        [req] = self.sink.wait_for(1)
        self.assertEqual(req["path"], "/items/lit/sub/a%20b%2Fc")
        self.assertEqual(req["query"].split("&")[:2], ["pre=1", "star=*"], "the endpoint's query first")
        self.assertIn("sp=a%20b%26c%3Dd", req["query"].split("&"))
        self.assertEqual(query_params(req), {"pre": "1", "star": "*", "c": "const", "d": "ex",
                                             "num": "7", "obj": '["x","y"]', "sp": "a b&c=d",
                                             "dollar": "$"})
        self.assertEqual(header(req, "X-C"), "const")
        self.assertEqual(header(req, "X-D"), "ex")
        self.assertEqual(header(req, "X-N"), "7")
        self.assertEqual(header(req, "X-Obj"), '["x","y"]')
        self.assertIsNone(header(req, "X-Gone"))
        self.assertEqual(header(req, "Content-Type"), "text/plain", "Content-Type may be set")
        self.assertEqual(header(req, "Accept-Encoding"), "identity")

    def test_connection_parameters_win_and_body_parameters_join(self):
        conn = self.api_key_connection("merge", invocation_params={
            "HeaderParameters": [{"Key": "x-shared", "Value": "conn"},
                                 {"Key": "X-Conn", "Value": "c1"}],
            "QueryStringParameters": [{"Key": "shared", "Value": "conn"},
                                      {"Key": "cq", "Value": "c q"}],
            "BodyParameters": [{"Key": "bp", "Value": "new"}, {"Key": "extra", "Value": "e 1"}]})
        params = {"HeaderParameters": {"X-Shared": "target", "X-Target": "t1"},
                  "QueryStringParameters": {"shared": "target", "tq": "1"}}
        self.fanout({
            "obj": {"Input": '{"a": 1.50, "bp": "old", "z": [1]}', "HttpParameters": params},
            "event": {"HttpParameters": params},
            "arr": {"Input": "[1, 2]"},
            "str": transformer("plain <id>"),
            "get": {"Input": '{"a": 1}'},
        }, conn_arn=conn)
        self.put_shop_event()
        got = self.by_path(5)
        obj = got["/obj"]
        self.assertEqual(header(obj, "X-Shared"), "conn", "connection wins (case-insensitive)")
        self.assertEqual(header(obj, "X-Conn"), "c1")
        self.assertEqual(header(obj, "X-Target"), "t1")
        self.assertEqual(query_params(obj), {"shared": "conn", "tq": "1", "cq": "c q"})
        self.assertEqual(obj["query"], "tq=1&shared=conn&cq=c%20q",
                         "target keys the connection also sets are skipped; connection last")
        # Compact; a member with a parameter's key is replaced by the parameter at the end; other
        # members keep their order and text (1.50).
        self.assertEqual(obj["body"], '{"a":1.50,"z":[1],"bp":"new","extra":"e 1"}')
        self.assertEqual(json.loads(got["/event"]["body"])["extra"], "e 1",
                         "BodyParameters join the event envelope too")
        self.assertEqual(got["/arr"]["body"], "[1, 2]", "non-object payloads are unchanged")
        self.assertEqual(got["/str"]["body"], "plain o-1")

    def test_deny_listed_headers_are_dropped(self):
        denied = {"Host": "evil.example", "User-Agent": "mine", "Range": "bytes=0-1",
                  "Content-Length": "1", "Connection": "close", "Via": "1.1 x", "Date": "x",
                  "Referer": "http://x", "Origin": "http://x", "Expect": "100-continue",
                  "Keep-Alive": "timeout=1", "Proxy-Authorization": "Basic eA==",
                  "If-Match": "*", "If-None-Match": "*", "Upgrade": "h2c", "TE": "trailers"}
        conn = self.api_key_connection("deny", invocation_params={"HeaderParameters": [
            {"Key": "Transfer-Encoding", "Value": "chunked"},
            {"Key": "Proxy-Connection", "Value": "keep-alive"},
            {"Key": "X-Allowed", "Value": "yes"}]})
        self.fanout({"d": {"Input": '{"k": "v"}', "HttpParameters": {
            "HeaderParameters": dict(denied, **{"X-Fine": "ok"})}}}, conn_arn=conn)
        self.put_shop_event()
        [req] = self.sink.wait_for(1)
        self.assertEqual(req["body"], '{"k": "v"}')
        self.assertEqual(header(req, "Host"), "127.0.0.1:%d" % self.sink.port)
        self.assertEqual(header(req, "User-Agent"), USER_AGENT)
        self.assertEqual(header(req, "Range"), "bytes=0-1048575")
        self.assertEqual(header(req, "Content-Length"), str(len(req["body"])))
        for name in ("Via", "Date", "Referer", "Origin", "Expect", "Keep-Alive",
                     "Proxy-Authorization", "If-Match", "If-None-Match", "Upgrade", "TE",
                     "Transfer-Encoding", "Proxy-Connection"):
            self.assertIsNone(header(req, name), name)
        self.assertNotEqual((header(req, "Connection") or "").lower(), "close")
        self.assertEqual(header(req, "X-Fine"), "ok")
        self.assertEqual(header(req, "X-Allowed"), "yes")

    def test_get_and_head_send_no_body(self):
        conn = self.api_key_connection("nobody", invocation_params={
            "BodyParameters": [{"Key": "bp", "Value": "x"}]})
        conn_arn = conn
        for method in ("GET", "HEAD"):
            dest = self.destination(method.lower(), conn_arn, path="/" + method.lower(),
                                    method=method)
            self.rule("r-" + method.lower(), {"source": ["shop"]})
            self.target("r-" + method.lower(), dest, Input='{"a": 1}',
                        HttpParameters={"QueryStringParameters": {"id": "$.detail.order.id"}})
        self.put_shop_event()
        got = {r["method"]: r for r in self.sink.wait_for(2)}
        for method in ("GET", "HEAD"):
            r = got[method]
            self.assertEqual(r["body"], "", method)
            self.assertIn(header(r, "Content-Length"), (None, "0"), method)
            self.assertEqual(query_params(r), {"id": "o-1"}, method)
            self.assertEqual(header(r, "x-api-key"), "s3cret-key", method)


class DeliveryErrorTest(ShapingFixture):

    def bad_targets(self, dlq_arn=None):
        extra = {"DeadLetterConfig": {"Arn": dlq_arn}} if dlq_arn else {}
        self.fanout({
            "count": dict({"HttpParameters": {"PathParameterValues": ["only-one"]}}, **extra),
            "newline": dict({"HttpParameters": {"HeaderParameters": {
                "X-Note": "$.detail.order.note"}}}, **extra),
            "ok": {},
        }, endpoints={"count": self.sink.url("/a/*/b/*")})

    def test_invalid_parameters_go_to_the_dlq_without_retry(self):
        dlq_url, dlq_arn = self.queue("shaping-dlq")
        self.bad_targets(dlq_arn)
        event_id = self.put_shop_event()
        msgs = self.receive_dlq(dlq_url, count=2)
        for m in msgs:
            a = self.attrs(m)
            self.assertEqual(a["ERROR_CODE"], ("String", "INVALID_PARAMETER"))
            self.assertEqual(a["RETRY_ATTEMPTS"], ("Number", "0"))
            self.assertNotIn("EXHAUSTED_RETRY_CONDITION", a, "not retryable")
            self.assertEqual(json.loads(m["Body"])["id"], event_id, "the original event")
        texts = sorted(self.attrs(m)["ERROR_MESSAGE"][1] for m in msgs)
        self.assertTrue(any("InvocationEndpoint has 2 path wildcard(s) but PathParameterValues "
                            "has 1 value(s)" in t for t in texts), texts)
        self.assertTrue(any("X-Note" in t for t in texts), texts)
        self.assertEqual([r["path"] for r in self.sink.requests()], ["/ok"])
        self.assertEqual(self.metric("bridgeport_invocations_total", outcome="dlq"), 2)

    # SPEC §9: a dropped delivery (here INVALID_PARAMETER before any HTTP request, no DLQ) is
    # kept in the attempt records.
    def test_dropped_invalid_parameter_is_kept_in_attempt_records(self):
        self.bad_targets()
        self.put_shop_event()
        self.sink.wait_for(1)
        self.wait_metric("bridgeport_invocations_total", 2, outcome="dropped")
        for dest in ("count", "newline"):
            recs = self.wait_deliveries(dest, lambda d: d and d[-1]["outcome"] != "retry",
                                        timeout=5)
            self.assertEqual(recs[-1].get("error_code"), "INVALID_PARAMETER")


class PutTargetsValidationTest(ShapingFixture):

    def setUp(self):
        super().setUp()
        conn = self.api_key_connection("v")
        self.dest = self.destination("v", conn)
        self.rule("v-rule")

    def refused(self, target_id, **extra):
        with self.assertRaises(ClientError) as cm:
            self.events.put_targets(Rule="v-rule", Targets=[
                dict({"Id": target_id, "Arn": self.dest}, **extra)])
        self.assertEqual(harness.error_code(cm.exception), "ValidationException")
        return cm.exception.response["Error"]["Message"]

    def test_messages(self):
        msg = self.refused("two", Input="{}", InputPath="$.detail")
        self.assertEqual(msg, "Only one of Input, InputPath, or InputTransformer must be provided "
                              "for target two.")
        msg = self.refused("three", Input="{}", **transformer("<id>"))
        self.assertEqual(msg, "Only one of Input, InputPath, or InputTransformer must be provided "
                              "for target three.")
        msg = self.refused("ph", **transformer('{"a": <nope>}', paths={"id": "$.id"}))
        self.assertEqual(msg, "InputTemplate for target ph contains invalid placeholder nope.")
        msg = self.refused("ph2", **transformer("x <aws.events.other> y", paths={}))
        self.assertEqual(msg, "InputTemplate for target ph2 contains invalid placeholder "
                              "aws.events.other.")
        msg = self.refused("ip", InputPath="$..x")
        self.assertTrue(msg.startswith("Invalid InputPath for target ip : $..x is not a valid JSON "
                                       "path ("), msg)
        msg = self.refused("in", Input="{not json")
        self.assertTrue(msg.startswith("Input for target in is not valid JSON text ("), msg)
        msg = self.refused("key", **transformer("{<id>: 1}"))
        self.assertTrue(msg.startswith("Invalid InputTemplate for target key : the template is not "
                                       "valid JSON"), msg)
        msg = self.refused("map", **transformer("<id>", paths={"id": "$.a[*]"}))
        self.assertTrue(msg.startswith("Invalid InputPathsMap for target map : value $.a[*] of key "
                                       "id is not a valid JSON path ("), msg)
        msg = self.refused("hp", HttpParameters={"HeaderParameters": {"X-A": "$.a["}})
        self.assertTrue(msg.startswith("Invalid HttpParameters for target hp : $.a[ is not a valid "
                                       "JSON path ("), msg)
        self.assertEqual(self.events.list_targets_by_rule(Rule="v-rule")["Targets"], [],
                         "nothing was stored")

    def test_cli_reports_the_placeholder_message(self):
        harness.require_aws_cli()
        targets = json.dumps([{"Id": "cli", "Arn": self.dest, "InputTransformer": {
            "InputPathsMap": {}, "InputTemplate": "<missing>"}}])
        code, err = harness.aws_cli(self.server, "events", "put-targets", "--rule", "v-rule",
                                    "--targets", targets, expect_error=True)
        self.assertNotEqual(code, 0)
        self.assertIn("ValidationException", err)
        self.assertIn("InputTemplate for target cli contains invalid placeholder missing.", err)


if __name__ == "__main__":
    unittest.main()
