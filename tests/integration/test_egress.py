"""Egress policy (SPEC §17): metadata and link-local addresses, the server's own listener, and
(outside loopback dev mode) loopback and private ranges are refused — literal addresses when a
destination or an OAuth connection is saved, host names on the address DNS returned, when the
connection is opened. A refused delivery goes to the DLQ with ERROR_CODE EGRESS_DENIED.
"""

import json
import unittest

from botocore.exceptions import ClientError

import harness
from delivery_util import DeliveryFixture

METADATA_ENDPOINTS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",            # 169.254.169.254 as one decimal number
    "http://0xa9fea9fe/latest/",                      # hex
    "http://0251.0376.0251.0376/latest/",             # octal
    "http://[::ffff:169.254.169.254]/latest/",        # IPv4-mapped IPv6
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/latest/",
    "http://metadata.google.internal/computeMetadata/v1/",
]


class EgressFixture(DeliveryFixture):

    def assert_refused(self, call, *args, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            call(*args, **kwargs)
        self.assertEqual(harness.error_code(ctx.exception), "ValidationException")
        self.assertIn("egress policy", ctx.exception.response["Error"]["Message"])
        return ctx.exception.response["Error"]["Message"]

    def oauth_params(self, endpoint):
        return {"OAuthParameters": {
            "ClientParameters": {"ClientID": "id", "ClientSecret": "secret"},
            "AuthorizationEndpoint": endpoint, "HttpMethod": "POST"}}

    def expect_dlq_egress_denied(self, name, endpoint):
        """Destination at `endpoint` with a DLQ: one event ends in the DLQ as EGRESS_DENIED."""
        conn = self.api_key_connection(name + "-conn")
        dest = self.destination(name, conn, endpoint=endpoint)
        self.rule(name + "-rule")
        dlq_url, dlq_arn = self.queue(name + "-dlq")
        self.target(name + "-rule", dest, dlq_arn=dlq_arn)
        [event_id] = self.put([{"n": 1}])
        [msg] = self.receive_dlq(dlq_url)
        attrs = self.attrs(msg)
        self.assertEqual(attrs["ERROR_CODE"], ("String", "EGRESS_DENIED"), attrs)
        self.assertIn("egress policy", attrs["ERROR_MESSAGE"][1])
        self.assertNotIn("EXHAUSTED_RETRY_CONDITION", attrs)  # not retried
        self.assertEqual(json.loads(msg["Body"])["id"], event_id)
        self.wait_metric("bridgeport_egress_denied_total", 1, client="delivery", destination=name)
        records = self.deliveries(name)
        self.assertEqual([r["error_code"] for r in records], ["EGRESS_DENIED"], records)
        return attrs


class EgressDevModeTest(EgressFixture):
    """Loopback dev mode: loopback allowed, metadata and the server itself are not."""

    def test_metadata_literals_refused_at_create_and_update(self):
        conn = self.api_key_connection()
        for endpoint in METADATA_ENDPOINTS:
            with self.subTest(endpoint=endpoint):
                self.assert_refused(self.events.create_api_destination, Name="meta",
                                    ConnectionArn=conn, InvocationEndpoint=endpoint,
                                    HttpMethod="POST")
        self.destination("ok", conn)  # the sink on 127.0.0.1 is fine in dev mode
        msg = self.assert_refused(self.events.update_api_destination, Name="ok",
                                  InvocationEndpoint="http://2852039166/")
        self.assertIn("169.254.169.254:80", msg)
        self.assertEqual(
            self.events.describe_api_destination(Name="ok")["InvocationEndpoint"],
            self.sink.url("/hook"))

    def test_oauth_metadata_endpoint_refused_at_create(self):
        self.assert_refused(self.events.create_connection, Name="oauth-meta",
                            AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
                            AuthParameters=self.oauth_params(
                                "http://169.254.169.254/latest/api/token"))
        self.assertEqual(self.events.list_connections()["Connections"], [])

    def test_own_listener_refused(self):
        conn = self.api_key_connection()
        port = self.server.port
        self.assert_refused(self.events.create_api_destination, Name="self",
                            ConnectionArn=conn, HttpMethod="POST",
                            InvocationEndpoint="http://127.0.0.1:%d/" % port)
        # By name the address is known only after DNS: refused when the delivery connects, so a
        # destination posting PutEvents to the server itself cannot feed itself.
        self.expect_dlq_egress_denied("loop", "http://localhost:%d/" % port)
        self.assertEqual(self.metric("bridgeport_events_ingested_total"), 1)


class EgressStrictTest(EgressFixture):
    """Loopback and private ranges closed (as on a non-loopback listener)."""

    server_args = ("--egress-allow-private", "false")

    def test_literal_loopback_refused_at_create(self):
        conn = self.api_key_connection()
        self.assert_refused(self.events.create_api_destination, Name="lo", ConnectionArn=conn,
                            InvocationEndpoint=self.sink.url("/hook"), HttpMethod="POST")
        self.assert_refused(self.events.create_api_destination, Name="ten", ConnectionArn=conn,
                            InvocationEndpoint="http://10.1.2.3/hook", HttpMethod="POST")

    def test_name_resolving_to_loopback_refused_at_delivery(self):
        endpoint = self.sink.url("/hook").replace("127.0.0.1", "localhost")
        self.expect_dlq_egress_denied("byname", endpoint)
        self.assertEqual(self.sink.requests(), [])

    def test_oauth_endpoint_resolving_to_loopback_deauthorizes(self):
        endpoint = "http://localhost:%d/token" % harness.free_port()
        self.events.create_connection(Name="oauth-lo",
                                      AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
                                      AuthParameters=self.oauth_params(endpoint))
        described = harness.wait_until(
            lambda: (lambda d: d if d["ConnectionState"] == "DEAUTHORIZED" else None)(
                self.events.describe_connection(Name="oauth-lo")), 15.0,
            message="the OAuth connection was not deauthorized")
        self.assertIn("egress", described.get("StateReason", ""))
        self.wait_metric("bridgeport_egress_denied_total", 1, client="oauth",
                         connection="oauth-lo")


class EgressAllowListTest(EgressFixture):
    """The allow-list reopens what the strict policy closes: a CIDR and a host name."""

    server_args = ("--egress-allow-private", "false", "--egress-allow", "127.0.0.1/32",
                   "--egress-allow", "localhost")

    def test_allow_listed_cidr_and_name_are_delivered(self):
        conn = self.api_key_connection()
        self.destination("cidr", conn, endpoint=self.sink.url("/cidr"))
        self.destination("name", conn,
                         endpoint=self.sink.url("/name").replace("127.0.0.1", "localhost"))
        self.rule("r")
        self.events.put_targets(Rule="r", Targets=[
            {"Id": "a", "Arn": self.events.describe_api_destination(Name="cidr")[
                "ApiDestinationArn"]},
            {"Id": "b", "Arn": self.events.describe_api_destination(Name="name")[
                "ApiDestinationArn"]}])
        self.put([{"n": 1}])
        self.sink.wait_for(2)
        self.assertEqual(sorted(r["path"] for r in self.sink.requests()), ["/cidr", "/name"])
        # Link-local stays closed: the allow-list names other ranges.
        self.assert_refused(self.events.create_api_destination, Name="meta", ConnectionArn=conn,
                            InvocationEndpoint="http://169.254.169.254/", HttpMethod="POST")


if __name__ == "__main__":
    unittest.main()
