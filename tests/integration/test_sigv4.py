"""SigV4 verification end to end (SPEC §2): required signatures, key lookup, skew, non-loopback."""

import datetime
import hashlib
import hmac
import json
import unittest

import harness

if harness.HAVE_BOTO3:
    from botocore.exceptions import ClientError
else:  # pragma: no cover
    ClientError = Exception

KEY_ID = "AKIDTEST"
SECRET = "secret"


def sign(endpoint_host, body, target, key_id, secret, when, service="events", region="us-east-1"):
    """Headers for a SigV4-signed AWS JSON 1.1 POST / (independent of botocore's signer)."""
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    day = when.strftime("%Y%m%d")
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"content-type": "application/x-amz-json-1.1", "host": endpoint_host,
               "x-amz-date": amz_date, "x-amz-target": target}
    names = sorted(headers)
    canonical = "\n".join(["POST", "/", "", "".join("%s:%s\n" % (n, headers[n]) for n in names),
                           ";".join(names), payload_hash])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                                % (key_id, scope, ";".join(names), signature))
    return headers


def sign_headers(headers, body, key_id, secret, when, signed, service="events",
                 region="us-east-1", date_header=None):
    """Signs POST / over exactly the header names in `signed` (lower case), as a client that
    leaves some headers out of SignedHeaders would; returns the headers with Authorization.
    `headers` holds what is sent; with date_header the request is dated by Date, not X-Amz-Date."""
    day = when.strftime("%Y%m%d")
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    headers = dict(headers)
    if date_header:
        headers["date"] = when.strftime("%a, %d %b %Y %H:%M:%S GMT")
    else:
        headers["x-amz-date"] = amz_date
    names = sorted(signed)
    canonical = "\n".join(["POST", "/", "", "".join("%s:%s\n" % (n, headers.get(n, "")) for n in names),
                           ";".join(names), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (day, region, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                                % (key_id, scope, ";".join(names), signature))
    return headers


class SignedServerCase(unittest.TestCase):
    listen = "127.0.0.1:0"
    server_args = ("--require-signatures", "--access-key", "%s:%s" % (KEY_ID, SECRET))

    @classmethod
    def setUpClass(cls):
        harness.require_boto3()
        cls.server = harness.start_server(extra_args=cls.server_args, listen=cls.listen)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def assertRejected(self, events, code):
        with self.assertRaises(ClientError) as cm:
            events.list_event_buses()
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)

    def raw_signed(self, key_id, secret, when, payload=b"{}", target="AWSEvents.ListEventBuses"):
        headers = sign("127.0.0.1:%d" % self.server.port, payload, target, key_id, secret, when)
        status, hdrs, body = harness.http_request(self.server, "POST", "/", payload, headers)
        return status, hdrs, json.loads(body)

    def test_right_key_works(self):
        events = harness.client(self.server, access_key=KEY_ID, secret_key=SECRET)
        events.create_event_bus(Name="signed-bus")
        self.assertIn("signed-bus", [b["Name"] for b in events.list_event_buses()["EventBuses"]])
        # Any scope region is accepted.
        other_region = harness.client(self.server, access_key=KEY_ID, secret_key=SECRET,
                                      region="eu-west-1")
        self.assertTrue(other_region.list_event_buses()["EventBuses"])
        sqs = harness.client(self.server, "sqs", access_key=KEY_ID, secret_key=SECRET)
        sqs.list_queues()

    def test_wrong_secret(self):
        self.assertRejected(harness.client(self.server, access_key=KEY_ID, secret_key="wrong"),
                            "InvalidSignatureException")

    def test_unknown_key(self):
        self.assertRejected(harness.client(self.server, access_key="AKIDUNKNOWN", secret_key=SECRET),
                            "UnrecognizedClientException")

    def test_unsigned_request(self):
        status, hdrs, body = harness.events_call(self.server, "ListEventBuses")
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "MissingAuthenticationTokenException")
        self.assertEqual(hdrs.get("x-amzn-errortype"), "MissingAuthenticationTokenException")
        self.assertTrue(hdrs.get("x-amzn-requestid"))

    def test_unsigned_request_creates_nothing(self):
        status, _, _ = harness.events_call(self.server, "CreateEventBus", {"Name": "sneaky"})
        self.assertEqual(status, 400)
        events = harness.client(self.server, access_key=KEY_ID, secret_key=SECRET)
        self.assertNotIn("sneaky", [b["Name"] for b in events.list_event_buses()["EventBuses"]])

    def test_independent_signer_and_skew(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        status, _, body = self.raw_signed(KEY_ID, SECRET, now)
        self.assertEqual(status, 200, body)
        self.assertIn("EventBuses", body)
        status, _, body = self.raw_signed(KEY_ID, SECRET, now - datetime.timedelta(minutes=10))
        self.assertEqual(status, 200, body)
        for skew in (datetime.timedelta(minutes=-20), datetime.timedelta(minutes=20)):
            status, _, body = self.raw_signed(KEY_ID, SECRET, now + skew)
            self.assertEqual(status, 400)
            self.assertEqual(body["__type"], "InvalidSignatureException")

    def test_tampered_body(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        headers = sign("127.0.0.1:%d" % self.server.port, b'{"Name":"a"}', "AWSEvents.CreateEventBus",
                       KEY_ID, SECRET, now)
        status, _, body = harness.http_request(self.server, "POST", "/", b'{"Name":"b"}', headers)
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["__type"], "InvalidSignatureException")

    def test_aws_cli_with_key(self):
        harness.require_aws_cli()
        env = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET}
        out = harness.aws_cli(self.server, "events", "list-event-buses", env=env)
        self.assertIn("default", [b["Name"] for b in out["EventBuses"]])
        code, err = harness.aws_cli(self.server, "events", "list-event-buses", expect_error=True,
                                    env={"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": "bad"})
        self.assertIn("InvalidSignatureException", err)


class NonLoopbackListenerTest(SignedServerCase):
    """On 0.0.0.0 verification is mandatory even without --require-signatures, including for
    clients that connect over loopback."""

    listen = "0.0.0.0:0"
    server_args = ("--access-key", "%s:%s" % (KEY_ID, SECRET))

    def test_listener_is_not_loopback(self):
        self.assertEqual(self.server.listen_host, "0.0.0.0")

    def test_http_endpoints_refused_by_default(self):
        # Outside loopback dev mode destinations must be https:// (SPEC §8).
        events = harness.client(self.server, access_key=KEY_ID, secret_key=SECRET)
        conn = events.create_connection(
            Name="nl-conn", AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
        with self.assertRaises(ClientError) as cm:
            events.create_api_destination(Name="nl-http", ConnectionArn=conn["ConnectionArn"],
                                          InvocationEndpoint="http://127.0.0.1:9/x", HttpMethod="POST")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationException")
        # A public address (TEST-NET-1): loopback would be refused by the egress policy here.
        events.create_api_destination(Name="nl-https", ConnectionArn=conn["ConnectionArn"],
                                      InvocationEndpoint="https://192.0.2.1:9/x", HttpMethod="POST")


class SignedHeadersTest(SignedServerCase):
    """What AWS requires of SignedHeaders and the credential scope (issue 14): host and the date
    signed, every x-amz-* header signed, the scope naming the API's service."""

    listen = "0.0.0.0:0"
    server_args = ("--access-key", "%s:%s" % (KEY_ID, SECRET))

    def send(self, target, payload, signed, service="events", date_header=False, extra=None,
             content_type="application/x-amz-json-1.1"):
        body = json.dumps(payload).encode()
        headers = {"host": "127.0.0.1:%d" % self.server.port, "content-type": content_type,
                   "x-amz-target": target}
        headers.update(extra or {})
        when = datetime.datetime.now(datetime.timezone.utc)
        signed_headers = sign_headers(headers, body, KEY_ID, SECRET, when, signed, service=service,
                                      date_header=date_header)
        status, hdrs, data = harness.http_request(self.server, "POST", "/", body, signed_headers)
        return status, json.loads(data) if data else {}

    def assertRefused(self, result, code, message):
        status, body = result
        self.assertEqual(status, 400, body)
        self.assertEqual(body["__type"], code, body)
        self.assertEqual(body.get("message"), message, body)

    def bus_names(self):
        events = harness.client(self.server, access_key=KEY_ID, secret_key=SECRET)
        return [b["Name"] for b in events.list_event_buses()["EventBuses"]]

    def test_everything_signed_is_accepted(self):
        status, body = self.send("AWSEvents.ListEventBuses", {},
                                 ["content-type", "host", "x-amz-date", "x-amz-target"])
        self.assertEqual(status, 200, body)

    def test_host_must_be_signed(self):
        self.assertRefused(self.send("AWSEvents.ListEventBuses", {},
                                     ["content-type", "x-amz-date", "x-amz-target"]),
                           "IncompleteSignatureException",
                           "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")

    def test_date_must_be_signed(self):
        self.assertRefused(self.send("AWSEvents.ListEventBuses", {},
                                     ["content-type", "host", "x-amz-target"]),
                           "IncompleteSignatureException",
                           "'X-Amz-Date' or 'Date' must be a 'SignedHeader' in the AWS Authorization.")

    def test_date_header_instead_of_x_amz_date(self):
        status, body = self.send("AWSEvents.ListEventBuses", {},
                                 ["content-type", "date", "host", "x-amz-target"], date_header=True)
        self.assertEqual(status, 200, body)

    def test_unsigned_target_cannot_switch_the_operation(self):
        # A signature over a harmless call must not carry another operation in an unsigned
        # X-Amz-Target.
        self.assertRefused(self.send("AWSEvents.CreateEventBus", {"Name": "switched"},
                                     ["content-type", "host", "x-amz-date"]),
                           "IncompleteSignatureException",
                           "There were headers present in the request which were not signed: "
                           "x-amz-target.")
        self.assertNotIn("switched", self.bus_names())

    def test_every_x_amz_header_must_be_signed(self):
        self.assertRefused(self.send("AWSEvents.ListEventBuses", {},
                                     ["content-type", "host", "x-amz-date", "x-amz-target"],
                                     extra={"x-amz-security-token": "t"}),
                           "IncompleteSignatureException",
                           "There were headers present in the request which were not signed: "
                           "x-amz-security-token.")

    def test_scope_must_name_the_service_called(self):
        everything = ["content-type", "host", "x-amz-date", "x-amz-target"]
        self.assertRefused(self.send("AWSEvents.ListEventBuses", {}, everything, service="sqs"),
                           "InvalidSignatureException",
                           "Credential should be scoped to correct service: 'events'. ")
        self.assertRefused(self.send("AmazonSQS.ListQueues", {}, everything, service="events",
                                     content_type="application/x-amz-json-1.0"),
                           "InvalidSignatureException",
                           "Credential should be scoped to correct service: 'sqs'. ")
        status, body = self.send("AmazonSQS.ListQueues", {}, everything, service="sqs",
                                 content_type="application/x-amz-json-1.0")
        self.assertEqual(status, 200, body)

    def test_sdk_clients_still_work(self):
        events = harness.client(self.server, access_key=KEY_ID, secret_key=SECRET)
        self.assertIn("default", [b["Name"] for b in events.list_event_buses()["EventBuses"]])
        sqs = harness.client(self.server, "sqs", access_key=KEY_ID, secret_key=SECRET)
        url = sqs.create_queue(QueueName="signed-q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m")
        self.assertEqual(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"], "m")


class LoopbackDevModeTest(unittest.TestCase):
    """Without --require-signatures a loopback listener accepts unsigned and unknown-key requests."""

    @classmethod
    def setUpClass(cls):
        harness.require_boto3()
        cls.server = harness.start_server(extra_args=("--access-key", "%s:%s" % (KEY_ID, SECRET)))

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_unsigned_and_unknown_accepted(self):
        status, _, body = harness.events_call(self.server, "ListEventBuses")
        self.assertEqual(status, 200, body)
        events = harness.client(self.server, access_key="AKIDANY", secret_key="whatever")
        self.assertTrue(events.list_event_buses()["EventBuses"])


if __name__ == "__main__":
    unittest.main()
