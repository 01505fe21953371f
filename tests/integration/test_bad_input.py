"""Malformed requests get AWS-shaped 4xx answers and never hurt the server (SPEC §2)."""

import json
import socket
import unittest

import harness

MAX_BODY = 4096
JSON11 = "application/x-amz-json-1.1"


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.start_server(extra_args=("--max-body-bytes", str(MAX_BODY)))

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def tearDown(self):
        # Whatever the test sent, the server is still alive and serving.
        self.assertTrue(self.server.running(), "server died:\n" + self.server.log_text()[-3000:])
        self.assertEqual(harness.http_request(self.server, "GET", "/health")[0], 200)
        status, _, body = harness.events_call(self.server, "ListEventBuses")
        self.assertEqual(status, 200, body)
        self.assertIn("default", [b["Name"] for b in body["EventBuses"]])

    def post(self, body, target="AWSEvents.ListEventBuses", content_type=JSON11, extra=None):
        headers = {}
        if target is not None:
            headers["X-Amz-Target"] = target
        if content_type is not None:
            headers["Content-Type"] = content_type
        headers.update(extra or {})
        status, hdrs, data = harness.http_request(self.server, "POST", "/", body, headers)
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        return status, hdrs, parsed

    def assertAwsError(self, result, code, status=400):
        st, hdrs, body = result
        self.assertEqual(st, status, body)
        self.assertIsInstance(body, dict, "error body is not JSON")
        self.assertEqual(body.get("__type"), code, body)
        self.assertIsInstance(body.get("message"), str)
        self.assertEqual(hdrs.get("x-amzn-errortype"), code)
        self.assertTrue(hdrs.get("x-amzn-requestid"), "no x-amzn-RequestId header")
        return body

    def test_malformed_json(self):
        for body in (b'{"Name": ', b"{not json}", b'{"a":1}}', b"\x00\x01"):
            with self.subTest(body=body):
                self.assertAwsError(self.post(body), "SerializationException")

    def test_non_object_json(self):
        for body in (b"[]", b"[1,2]", b'"text"', b"42", b"null", b"true"):
            with self.subTest(body=body):
                self.assertAwsError(self.post(body), "SerializationException")

    def test_invalid_utf8(self):
        r = self.post(b'{"Name":"\xff\xfe"}', target="AWSEvents.CreateEventBus")
        self.assertEqual(r[0], 400, r)
        self.assertEqual(r[1].get("x-amzn-errortype"), r[2]["__type"])

    def test_deep_nesting(self):
        body = b'{"a":' * 600 + b"1" + b"}" * 600
        self.assertLess(len(body), MAX_BODY)
        self.assertAwsError(self.post(body), "SerializationException")
        self.assertAwsError(self.post(b"[" * 2000 + b"]" * 2000), "SerializationException")

    def test_unknown_operation(self):
        body = self.assertAwsError(self.post(b"{}", target="AWSEvents.Nope"), "UnknownOperationException")
        self.assertIn("Nope", body["message"])
        self.assertAwsError(self.post(b"{}", target="AWSEvents."), "UnknownOperationException")
        self.assertAwsError(self.post(b"{}", target="SomethingElse.ListEventBuses"),
                            "UnknownOperationException")

    def test_missing_target(self):
        self.assertAwsError(self.post(b"{}", target=None), "UnknownOperationException")

    def test_wrong_content_type(self):
        self.assertAwsError(self.post(b"{}", content_type="text/plain"), "SerializationException")
        self.assertAwsError(self.post(b"{}", content_type="application/xml"), "SerializationException")

    def test_empty_body_is_empty_input(self):
        status, _, body = self.post(b"")
        self.assertEqual(status, 200, body)
        self.assertIn("EventBuses", body)
        # Missing required members are a validation error, not a crash.
        self.assertAwsError(self.post(b"", target="AWSEvents.CreateEventBus"), "ValidationException")

    def test_wrong_member_types(self):
        for payload in ({"Name": 5}, {"Name": ["a"]}, {"Name": {"x": 1}}, {"Name": None, "Tags": "x"}):
            with self.subTest(payload=payload):
                st, _, body = self.post(json.dumps(payload).encode(), target="AWSEvents.CreateEventBus")
                self.assertEqual(st, 400, body)
                self.assertIn(body["__type"], ("SerializationException", "ValidationException"))
        st, _, body = self.post(b'{"Name":"r","EventPattern":{"source":["a"]}}', target="AWSEvents.PutRule")
        self.assertEqual(st, 400, body)
        st, _, body = self.post(b'{"Limit":"ten"}')
        self.assertEqual(st, 400, body)

    def test_oversized_body(self):
        big = json.dumps({"Name": "x", "Description": "d" * (MAX_BODY * 2)}).encode()
        st, hdrs, body = self.post(big, target="AWSEvents.CreateEventBus")
        self.assertEqual(st, 413, body)
        self.assertIsInstance(body, dict)
        self.assertTrue(body.get("__type"))
        # Just under the limit is parsed normally (and rejected only for the too-long description).
        ok = json.dumps({"Name": "x", "Description": "d" * (MAX_BODY - 100)}).encode()
        self.assertLess(len(ok), MAX_BODY)
        self.assertAwsError(self.post(ok, target="AWSEvents.CreateEventBus"), "ValidationException")

    def test_oversized_body_has_request_id(self):
        big = json.dumps({"Name": "x", "Description": "d" * (MAX_BODY * 2)}).encode()
        st, hdrs, _ = self.post(big, target="AWSEvents.CreateEventBus")
        self.assertEqual(st, 413)
        self.assertTrue(hdrs.get("x-amzn-requestid"))

    def test_oversized_chunked_body(self):
        chunk = b"x" * 1024
        raw = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: AWSEvents.ListEventBuses\r\n"
               b"Content-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        raw += (b"400\r\n" + chunk + b"\r\n") * 8 + b"0\r\n\r\n"
        reply = self.raw_exchange(raw)
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:200])

    def raw_exchange(self, data, timeout=10):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=timeout) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may answer and close before reading everything
            out = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            return out

    def test_garbage_http(self):
        for raw in (b"GARBAGE\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
                    b"POST / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 100000 + b"\r\n\r\n", b"\r\n\r\n\r\n"):
            with self.subTest(raw=raw[:40]):
                reply = self.raw_exchange(raw)
                self.assertRegex(reply[:12], rb"^HTTP/1\.[01] 4\d\d")
                self.assertIn(b"__type", reply)

    def test_truncated_request(self):
        # Declares more body than it sends, then closes: nothing to answer, nothing must break.
        self.raw_exchange(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.ListEventBuses\r\n"
                          b"Content-Length: 100\r\n\r\n{\"a\":")

    def test_errors_do_not_create_resources(self):
        self.post(b'{"Name": "half', target="AWSEvents.CreateEventBus")
        self.post(b'{"Name": "wrongtype"}', target="AWSEvents.CreateEventBus", content_type="text/plain")
        _, _, body = harness.events_call(self.server, "ListEventBuses")
        names = [b["Name"] for b in body["EventBuses"]]
        self.assertNotIn("wrongtype", names)
        self.assertEqual([n for n in names if n.startswith("half")], [])

    def test_boto3_still_works(self):
        if not harness.HAVE_BOTO3:
            self.skipTest("boto3 not installed")
        events = harness.client(self.server)
        events.create_event_bus(Name="after-bad-input")
        self.assertEqual(events.describe_event_bus(Name="after-bad-input")["Name"], "after-bad-input")


if __name__ == "__main__":
    unittest.main()
