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
