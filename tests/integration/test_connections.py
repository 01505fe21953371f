"""Connections, API destinations, tags and limits through boto3 (SPEC §3, §7, §8, §12, §13)."""

import json
import unittest

import harness
from test_control_plane import ACCOUNT, REGION, ControlPlaneCase

if harness.HAVE_BOTO3:
    from botocore.exceptions import ClientError
else:  # pragma: no cover
    ClientError = Exception

SECRETS = ("pw-SECRET-1", "apikey-SECRET-2", "client-SECRET-3", "hdr-SECRET-4", "q-SECRET-5",
           "body-SECRET-6")


def basic_params():
    return {
        "BasicAuthParameters": {"Username": "alice", "Password": SECRETS[0]},
        "InvocationHttpParameters": {
            "HeaderParameters": [{"Key": "X-Secret", "Value": SECRETS[3], "IsValueSecret": True},
                                 {"Key": "X-Plain", "Value": "plain-value", "IsValueSecret": False}],
            "QueryStringParameters": [{"Key": "token", "Value": SECRETS[4], "IsValueSecret": True}],
            "BodyParameters": [{"Key": "b", "Value": SECRETS[5], "IsValueSecret": True}],
        },
    }


def oauth_params(endpoint="http://127.0.0.1:9/token"):
    return {"OAuthParameters": {
        "ClientParameters": {"ClientID": "client-1", "ClientSecret": SECRETS[2]},
        "AuthorizationEndpoint": endpoint, "HttpMethod": "POST",
        "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "Value": "read"}]}}}


class ConnectionTest(ControlPlaneCase):
    def assertNoSecrets(self, obj):
        text = json.dumps(obj, default=str)
        for s in SECRETS:
            self.assertNotIn(s, text)

    def test_basic_connection_hides_secrets(self):
        out = self.events.create_connection(Name="basic", AuthorizationType="BASIC",
                                            AuthParameters=basic_params(), Description="d")
        arn = out["ConnectionArn"]
        self.assertRegex(arn, r"^arn:aws:events:%s:%s:connection/basic/[0-9a-f-]{36}$"
                         % (REGION, ACCOUNT))
        self.assertEqual(out["ConnectionState"], "AUTHORIZED")
        self.assertNoSecrets(out)
        d = self.events.describe_connection(Name="basic")
        self.assertNoSecrets(d)
        self.assertEqual(d["ConnectionArn"], arn)
        self.assertEqual(d["AuthorizationType"], "BASIC")
        self.assertEqual(d["ConnectionState"], "AUTHORIZED")
        self.assertEqual(d["Description"], "d")
        self.assertTrue(d.get("SecretArn"))
        auth = d["AuthParameters"]
        self.assertEqual(auth["BasicAuthParameters"]["Username"], "alice")
        self.assertNotIn("Password", auth["BasicAuthParameters"])
        headers = {h["Key"]: h for h in auth["InvocationHttpParameters"]["HeaderParameters"]}
        self.assertNotIn("Value", headers["X-Secret"])
        self.assertEqual(headers["X-Plain"]["Value"], "plain-value")
        self.assertNoSecrets(self.events.list_connections())
        self.assertNotIn("pw-SECRET-1", self.server.log_text())

    def test_api_key_connection_and_update(self):
        self.make_connection("apikey", key_value=SECRETS[1])
        d = self.events.describe_connection(Name="apikey")
        self.assertNoSecrets(d)
        self.assertEqual(d["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"], "x-api-key")
        out = self.events.update_connection(
            Name="apikey", Description="updated",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-other", "ApiKeyValue": "new"}})
        self.assertEqual(out["ConnectionArn"], d["ConnectionArn"])
        d2 = self.events.describe_connection(Name="apikey")
        self.assertEqual(d2["Description"], "updated")
        self.assertEqual(d2["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"], "x-other")
        self.assertNotIn("ApiKeyValue", d2["AuthParameters"]["ApiKeyAuthParameters"])
        self.assertEqual(d2["ConnectionState"], "AUTHORIZED")

    def test_oauth_connection(self):
        out = self.events.create_connection(Name="oauth", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
                                            AuthParameters=oauth_params())
        self.assertEqual(out["ConnectionState"], "AUTHORIZING")
        d = self.events.describe_connection(Name="oauth")
        self.assertNoSecrets(d)
        o = d["AuthParameters"]["OAuthParameters"]
        self.assertEqual(o["ClientParameters"]["ClientID"], "client-1")
        self.assertNotIn("ClientSecret", o["ClientParameters"])
        self.assertEqual(o["HttpMethod"], "POST")
        self.assertEqual(o["AuthorizationEndpoint"], "http://127.0.0.1:9/token")
        # The token endpoint is unreachable: the connection never becomes AUTHORIZED.
        self.assertNotEqual(d["ConnectionState"], "AUTHORIZED")
        self.assertAwsError(self.raw.create_connection, "ValidationException", Name="oauth-bad",
                            AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
                            AuthParameters={"OAuthParameters": dict(
                                oauth_params()["OAuthParameters"], HttpMethod="PATCH")})

    def test_deauthorize_and_reauthorize(self):
        conn = self.make_connection("deauth")
        dest = self.make_destination("deauth-dest", conn["ConnectionArn"])
        self.assertEqual(dest["ApiDestinationState"], "ACTIVE")
        out = self.events.deauthorize_connection(Name="deauth")
        self.assertIn(out["ConnectionState"], ("DEAUTHORIZING", "DEAUTHORIZED"))
        d = harness.wait_until(
            lambda: (lambda c: c if c["ConnectionState"] == "DEAUTHORIZED" else None)(
                self.events.describe_connection(Name="deauth")), 5)
        self.assertTrue(d.get("StateReason"))
        self.assertEqual(self.events.describe_api_destination(Name="deauth-dest")["ApiDestinationState"],
                         "INACTIVE")
        listed = self.events.list_connections(ConnectionState="DEAUTHORIZED")["Connections"]
        self.assertIn("deauth", [c["Name"] for c in listed])
        authorized = self.events.list_connections(ConnectionState="AUTHORIZED")["Connections"]
        self.assertNotIn("deauth", [c["Name"] for c in authorized])
        # New credentials re-authorize.
        self.events.update_connection(Name="deauth", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "fresh"}})
        self.assertEqual(self.events.describe_connection(Name="deauth")["ConnectionState"], "AUTHORIZED")
        self.assertEqual(self.events.describe_api_destination(Name="deauth-dest")["ApiDestinationState"],
                         "ACTIVE")

    def test_type_change_keeps_invocation_parameters(self):
        self.events.create_connection(
            Name="retype", AuthorizationType="BASIC",
            AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"},
                            "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-Plain", "Value": "v"}]}})
        self.events.update_connection(Name="retype", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
        d = self.events.describe_connection(Name="retype")
        self.assertEqual(d["AuthorizationType"], "API_KEY")
        self.assertNotIn("BasicAuthParameters", d["AuthParameters"])
        self.assertEqual(d["AuthParameters"]["InvocationHttpParameters"]["HeaderParameters"],
                         [{"Key": "X-Plain", "Value": "v"}])

    def test_deauthorized_needs_new_credentials(self):
        self.events.create_connection(Name="deauth-desc", AuthorizationType="BASIC", AuthParameters={
            "BasicAuthParameters": {"Username": "u", "Password": "p"}})
        self.events.deauthorize_connection(Name="deauth-desc")
        self.events.update_connection(Name="deauth-desc", Description="only the description")
        # SPEC §7: secrets are erased on deauthorization; only new credentials re-authorize.
        self.assertEqual(self.events.describe_connection(Name="deauth-desc")["ConnectionState"],
                         "DEAUTHORIZED")

    def test_list_by_prefix_and_delete(self):
        for n in ("lc-a", "lc-b", "lc-c"):
            self.make_connection(n)
        names = [c["Name"] for c in self.events.list_connections(NamePrefix="lc-")["Connections"]]
        self.assertEqual(names, ["lc-a", "lc-b", "lc-c"])
        page = self.events.list_connections(NamePrefix="lc-", Limit=2)
        self.assertEqual(len(page["Connections"]), 2)
        rest = self.events.list_connections(NamePrefix="lc-", Limit=2, NextToken=page["NextToken"])
        self.assertEqual([c["Name"] for c in rest["Connections"]], ["lc-c"])
        self.assertNotIn("NextToken", rest)
        out = self.events.delete_connection(Name="lc-b")
        self.assertEqual(out["ConnectionState"], "DELETING")
        self.assertAwsError(self.events.describe_connection, "ResourceNotFoundException", Name="lc-b")
        names = [c["Name"] for c in self.events.list_connections(NamePrefix="lc-")["Connections"]]
        self.assertEqual(names, ["lc-a", "lc-c"])

    def test_connection_validation(self):
        self.make_connection("cdup")
        self.assertAwsError(self.events.create_connection, "ResourceAlreadyExistsException",
                            Name="cdup", AuthorizationType="API_KEY",
                            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "a", "ApiKeyValue": "b"}})
        self.assertAwsError(self.raw.create_connection, "ValidationException", Name="bad name",
                            AuthorizationType="API_KEY",
                            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "a", "ApiKeyValue": "b"}})
        self.assertAwsError(self.raw.create_connection, "ValidationException", Name="c" * 65,
                            AuthorizationType="API_KEY",
                            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "a", "ApiKeyValue": "b"}})
        self.assertAwsError(self.raw.create_connection, "ValidationException", Name="mismatch",
                            AuthorizationType="BASIC",
                            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "a", "ApiKeyValue": "b"}})
        self.assertAwsError(self.raw.create_connection, "ValidationException", Name="longval",
                            AuthorizationType="API_KEY",
                            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "a",
                                                                     "ApiKeyValue": "v" * 513}})
        self.assertAwsError(self.events.describe_connection, "ResourceNotFoundException", Name="none")
        self.assertAwsError(self.events.delete_connection, "ResourceNotFoundException", Name="none")
        self.assertAwsError(self.events.deauthorize_connection, "ResourceNotFoundException", Name="none")


class ApiDestinationTest(ControlPlaneCase):
    def test_lifecycle(self):
        conn = self.make_connection("dconn")
        out = self.make_destination("dest-1", conn["ConnectionArn"], "http://127.0.0.1:9/a/*")
        arn = out["ApiDestinationArn"]
        self.assertRegex(arn, r"^arn:aws:events:%s:%s:api-destination/dest-1/[0-9a-f-]{36}$"
                         % (REGION, ACCOUNT))
        self.assertEqual(out["ApiDestinationState"], "ACTIVE")
        d = self.events.describe_api_destination(Name="dest-1")
        self.assertEqual(d["ApiDestinationArn"], arn)
        self.assertEqual(d["ConnectionArn"], conn["ConnectionArn"])
        self.assertEqual(d["InvocationEndpoint"], "http://127.0.0.1:9/a/*")
        self.assertEqual(d["HttpMethod"], "POST")
        self.assertEqual(d["InvocationRateLimitPerSecond"], 300)
        self.assertEqual(d["ApiDestinationState"], "ACTIVE")
        up = self.events.update_api_destination(Name="dest-1", InvocationRateLimitPerSecond=7,
                                                HttpMethod="PUT", Description="slow")
        self.assertEqual(up["ApiDestinationArn"], arn)
        d = self.events.describe_api_destination(Name="dest-1")
        self.assertEqual(d["InvocationRateLimitPerSecond"], 7)
        self.assertEqual(d["HttpMethod"], "PUT")
        self.assertEqual(d["Description"], "slow")
        self.events.delete_api_destination(Name="dest-1")
        self.assertAwsError(self.events.describe_api_destination, "ResourceNotFoundException",
                            Name="dest-1")

    def test_list_by_prefix_and_connection(self):
        c1 = self.make_connection("lconn1")["ConnectionArn"]
        c2 = self.make_connection("lconn2")["ConnectionArn"]
        self.make_destination("ld-a", c1)
        self.make_destination("ld-b", c2)
        self.make_destination("ld-c", c1)
        names = [d["Name"] for d in self.events.list_api_destinations(NamePrefix="ld-")["ApiDestinations"]]
        self.assertEqual(names, ["ld-a", "ld-b", "ld-c"])
        by_conn = self.events.list_api_destinations(ConnectionArn=c1)["ApiDestinations"]
        self.assertEqual([d["Name"] for d in by_conn], ["ld-a", "ld-c"])
        for d in by_conn:
            self.assertEqual(d["ApiDestinationState"], "ACTIVE")
        page = self.events.list_api_destinations(NamePrefix="ld-", Limit=2)
        rest = self.events.list_api_destinations(NamePrefix="ld-", Limit=2, NextToken=page["NextToken"])
        self.assertEqual([d["Name"] for d in page["ApiDestinations"] + rest["ApiDestinations"]],
                         ["ld-a", "ld-b", "ld-c"])

    def test_inactive_for_oauth_without_token(self):
        conn = self.events.create_connection(Name="doauth", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
                                             AuthParameters=oauth_params())
        out = self.make_destination("d-oauth", conn["ConnectionArn"])
        self.assertEqual(out["ApiDestinationState"], "INACTIVE")

    def test_validation(self):
        conn = self.make_connection("vconn")["ConnectionArn"]
        self.make_destination("vdup", conn)
        self.assertAwsError(self.events.create_api_destination, "ResourceAlreadyExistsException",
                            Name="vdup", ConnectionArn=conn, InvocationEndpoint="https://example.com",
                            HttpMethod="POST")
        for method in ("TRACE", "CONNECT", "FETCH"):
            self.assertAwsError(self.raw.create_api_destination, "ValidationException", Name="vm",
                                ConnectionArn=conn, InvocationEndpoint="https://example.com",
                                HttpMethod=method)
        self.assertAwsError(self.raw.create_api_destination, "ValidationException", Name="vrate",
                            ConnectionArn=conn, InvocationEndpoint="https://example.com",
                            HttpMethod="POST", InvocationRateLimitPerSecond=0)
        self.assertAwsError(self.raw.create_api_destination, "ValidationException", Name="vep",
                            ConnectionArn=conn, InvocationEndpoint="ftp://example.com/x",
                            HttpMethod="POST")
        self.assertAwsError(self.raw.create_api_destination, "ValidationException", Name="v" * 65,
                            ConnectionArn=conn, InvocationEndpoint="https://example.com",
                            HttpMethod="POST")
        missing = conn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        self.assertAwsError(self.events.create_api_destination, "ResourceNotFoundException",
                            Name="vmissing", ConnectionArn=missing,
                            InvocationEndpoint="https://example.com", HttpMethod="POST")
        self.assertAwsError(self.raw.update_api_destination, "ValidationException", Name="vdup",
                            InvocationRateLimitPerSecond=0)
        self.assertEqual(self.events.describe_api_destination(Name="vdup")["InvocationRateLimitPerSecond"],
                         300)
        names = [d["Name"] for d in self.events.list_api_destinations(NamePrefix="v")["ApiDestinations"]]
        self.assertEqual(names, ["vdup"])


class TagTest(ControlPlaneCase):
    def resources(self):
        bus = self.events.create_event_bus(Name="tagbus")["EventBusArn"]
        rule = self.make_rule("tagrule", bus="tagbus")["RuleArn"]
        conn = self.make_connection("tagconn")["ConnectionArn"]
        dest = self.make_destination("tagdest", conn)["ApiDestinationArn"]
        return {"bus": bus, "rule": rule, "connection": conn, "destination": dest}

    def tags(self, arn):
        return {t["Key"]: t["Value"] for t in self.events.list_tags_for_resource(ResourceARN=arn)["Tags"]}

    def test_tag_untag_list_everywhere(self):
        for kind, arn in self.resources().items():
            with self.subTest(kind=kind):
                self.assertEqual(self.tags(arn), {})
                self.events.tag_resource(ResourceARN=arn, Tags=[
                    {"Key": "team", "Value": kind}, {"Key": "env", "Value": "test"},
                    {"Key": "bridgeport:timeout-ms", "Value": "1500"}])
                self.assertEqual(self.tags(arn), {"team": kind, "env": "test",
                                                  "bridgeport:timeout-ms": "1500"})
                self.events.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
                self.assertEqual(self.tags(arn)["env"], "prod")
                self.events.untag_resource(ResourceARN=arn, TagKeys=["team", "bridgeport:timeout-ms"])
                self.assertEqual(self.tags(arn), {"env": "prod"})

    def test_tags_at_create(self):
        arn = self.events.create_event_bus(Name="tagged-at-create",
                                           Tags=[{"Key": "a", "Value": "1"}])["EventBusArn"]
        self.assertEqual(self.tags(arn), {"a": "1"})
        rule = self.make_rule("tagged-rule", Tags=[{"Key": "b", "Value": "2"}])["RuleArn"]
        self.assertEqual(self.tags(rule), {"b": "2"})

    def test_bridgeport_keys_are_validated(self):
        conn = self.make_connection("bpconn")["ConnectionArn"]
        dest = self.make_destination("bpdest", conn)["ApiDestinationArn"]
        good = [("bridgeport:timeout-ms", "100"), ("bridgeport:max-inflight", "10"),
                ("bridgeport:retryable-statuses", "408,429,5xx"), ("bridgeport:delivery-headers", "true"),
                ("bridgeport:throttle-expiry", "age"), ("bridgeport:backoff-multiplier", "1.5")]
        for k, v in good:
            self.events.tag_resource(ResourceARN=dest, Tags=[{"Key": k, "Value": v}])
            self.assertEqual(self.tags(dest)[k], v)
        bad = [("bridgeport:timeout-ms", "99"), ("bridgeport:timeout-ms", "300001"),
               ("bridgeport:timeout-ms", "soon"), ("bridgeport:no-such-setting", "1"),
               ("bridgeport:retryable-statuses", "600"), ("bridgeport:delivery-headers", "yes")]
        for k, v in bad:
            with self.subTest(key=k, value=v):
                self.assertAwsError(self.events.tag_resource, "ValidationException", ResourceARN=dest,
                                    Tags=[{"Key": k, "Value": v}])
        self.assertEqual(self.tags(dest)["bridgeport:timeout-ms"], "100")
        self.assertNotIn("bridgeport:no-such-setting", self.tags(dest))
        self.assertAwsError(self.events.tag_resource, "ValidationException", ResourceARN=conn,
                            Tags=[{"Key": "bridgeport:oauth-client-auth", "Value": "header"}])
        self.events.tag_resource(ResourceARN=conn, Tags=[{"Key": "bridgeport:oauth-client-auth",
                                                          "Value": "body"}])

    def test_unknown_resource_and_limits(self):
        ghost = "arn:aws:events:%s:%s:event-bus/ghost" % (REGION, ACCOUNT)
        self.assertAwsError(self.events.list_tags_for_resource, "ResourceNotFoundException",
                            ResourceARN=ghost)
        self.assertAwsError(self.events.tag_resource, "ResourceNotFoundException", ResourceARN=ghost,
                            Tags=[{"Key": "a", "Value": "b"}])
        arn = self.events.create_event_bus(Name="many-tags")["EventBusArn"]
        with self.assertRaises(ClientError):
            self.events.tag_resource(ResourceARN=arn, Tags=[{"Key": "k%d" % i, "Value": "v"}
                                                            for i in range(51)])
        self.assertEqual(self.tags(arn), {})


class RestrictedConfigTest(ControlPlaneCase):
    """Limits and http:// endpoints as a non-loopback deployment would configure them."""

    server_args = ("--max-rules-per-bus", "3", "--allow-http-endpoints", "false", "--max-buses", "4",
                   "--max-targets-per-rule", "2", "--max-connections", "3", "--max-destinations", "2")

    def fill_until_limit(self, create, count, limit):
        """Creates resources until LimitExceededException; returns the names created."""
        made = []
        for i in range(limit + 1):
            name = "fill-%d" % i
            try:
                create(name)
            except ClientError as e:
                self.assertEqual(harness.error_code(e), "LimitExceededException")
                break
            made.append(name)
        else:
            self.fail("no LimitExceededException after %d creates" % (limit + 1))
        self.assertEqual(count(), limit)
        return made

    def test_resource_count_limits(self):
        made = self.fill_until_limit(lambda n: self.events.create_event_bus(Name=n),
                                     lambda: len(self.events.list_event_buses()["EventBuses"]), 4)
        for n in made:
            self.events.delete_event_bus(Name=n)
        self.events.create_event_bus(Name="after-limit")  # deleting frees room
        self.events.delete_event_bus(Name="after-limit")
        made = self.fill_until_limit(lambda n: self.make_connection(n),
                                     lambda: len(self.events.list_connections()["Connections"]), 3)
        conn = self.events.describe_connection(Name=made[0])["ConnectionArn"]
        dests = self.fill_until_limit(lambda n: self.make_destination(n, conn, "https://127.0.0.1:9/"),
                                      lambda: len(self.events.list_api_destinations()["ApiDestinations"]), 2)
        for n in dests:
            self.events.delete_api_destination(Name=n)
        for n in made:
            self.events.delete_connection(Name=n)

    def test_targets_per_rule_limit(self):
        conn = self.make_connection("tl-conn")["ConnectionArn"]
        dest = self.make_destination("tl-dest", conn, "https://127.0.0.1:9/")["ApiDestinationArn"]
        self.make_rule("tl-rule")
        self.events.put_targets(Rule="tl-rule", Targets=[{"Id": "a", "Arn": dest}, {"Id": "b", "Arn": dest}])
        self.assertAwsError(self.events.put_targets, "LimitExceededException", Rule="tl-rule",
                            Targets=[{"Id": "c", "Arn": dest}])
        self.events.remove_targets(Rule="tl-rule", Ids=["a", "b"])
        self.events.delete_rule(Name="tl-rule")
        self.events.delete_api_destination(Name="tl-dest")
        self.events.delete_connection(Name="tl-conn")

    def test_rules_per_bus_limit(self):
        self.events.create_event_bus(Name="small")
        for i in range(3):
            self.make_rule("r%d" % i, bus="small")
        self.assertAwsError(self.events.put_rule, "LimitExceededException", Name="r3",
                            EventBusName="small", EventPattern='{"source":["a"]}')
        self.make_rule("r0", bus="small", pattern={"source": ["replaced"]})  # replacing is fine
        self.assertEqual(len(self.events.list_rules(EventBusName="small")["Rules"]), 3)

    def test_http_endpoints_refused(self):
        conn = self.make_connection("hconn")["ConnectionArn"]
        self.assertAwsError(self.events.create_api_destination, "ValidationException", Name="plain",
                            ConnectionArn=conn, InvocationEndpoint="http://127.0.0.1:9/x",
                            HttpMethod="POST")
        self.make_destination("secure", conn, "https://127.0.0.1:9/x")
        self.assertAwsError(self.events.update_api_destination, "ValidationException", Name="secure",
                            InvocationEndpoint="http://127.0.0.1:9/x")
        self.assertAwsError(self.events.create_connection, "ValidationException", Name="oauth-http",
                            AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters=oauth_params())
        self.assertEqual(self.events.describe_api_destination(Name="secure")["InvocationEndpoint"],
                         "https://127.0.0.1:9/x")


if __name__ == "__main__":
    unittest.main()
