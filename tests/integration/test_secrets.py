"""Connection secrets never leave the sealed store (SPEC §7, §11; docs/auth.md "Secrets at rest").

One server (debug logging) goes through the whole life of connections holding distinctive secret
values — create, describe, list, update, failed validation, deliveries, attempt records, metrics,
deauthorize, delete, restart — and then every API response body, the aws CLI output, the server's
stderr log and every file under the data dir (RocksDB WAL, SSTs, MANIFEST, ...; binary-safe) are
searched for each secret. The only place a secret may appear is the request sent to the target
(checked too, so the values are known to be live).
"""

import base64
import json
import os
import shutil
import stat
import unittest
import urllib.parse

import harness
import pg
from delivery_util import DeliveryFixture, header, query_params
from test_oauth import OAuthFake

# Distinctive values: letters and digits only (URL/form encoding leaves them unchanged) and no
# English words, so that RocksDB's block compression (snappy/LZ4 copies of repeated substrings of
# 4+ bytes) stores them as literals in SSTs, where a byte search can see them.
API_KEY = "Qm7ZpXw9Kc4Tj8RbVa"
API_KEY_2 = "Nd84PzcWmQy2Fh6Ls"
PASSWORD = "Zt81HyqRfJ3bGk5Wu"
PASSWORD_2 = "Jk20LmsTeX7cVn4Dq"
CLIENT_SECRET = "Mn56BxeYuK9rPw3Hz"
HEADER_SECRET = "Jd27KpoZaW4tCv8Nf"
QUERY_SECRET = "Rt64WnmDcY2hBq9Lx"
BODY_SECRET = "Ll15VcxKeS8gZp3Mt"
OAUTH_BODY_SECRET = "Gh93TpqUw6Fb2XkRj"
PLAIN_MARKER = "Wd5Hs2GyMk3VnLq8Bc"  # a non-secret value: must be found (the search works)
USER = "alice"
CLIENT_ID = "client-1"

SECRETS = [API_KEY, API_KEY_2, PASSWORD, PASSWORD_2, CLIENT_SECRET, HEADER_SECRET, QUERY_SECRET,
           BODY_SECRET, OAUTH_BODY_SECRET]


def needles():
    """Byte strings that must appear nowhere: each secret and the base64 credentials."""
    out = [s.encode() for s in SECRETS]
    for pw in (PASSWORD, PASSWORD_2):
        out.append(base64.b64encode(("%s:%s" % (USER, pw)).encode()))
    out.append(base64.b64encode(("%s:%s" % (CLIENT_ID, CLIENT_SECRET)).encode()))
    return out


class SecretsNeverLeakTest(DeliveryFixture):
    server_args = ("--log-level", "debug")

    def setUp(self):
        super().setUp()
        self.fake = OAuthFake("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET)
        self.addCleanup(self.fake.stop)
        self.bodies = []  # (what, raw bytes) of every API/admin answer

    # ---- raw API access, keeping every answer ----

    def api(self, operation, payload, expect=200):
        h = {"Content-Type": "application/x-amz-json-1.1",
             "X-Amz-Target": "AWSEvents." + operation}
        status, _, data = harness.http_request(self.server, "POST", "/", json.dumps(payload), h)
        self.bodies.append((operation, data))
        if expect is not None:
            self.assertEqual(status, expect, (operation, data))
        return json.loads(data) if data else {}

    def admin(self, path, expect=200):
        status, _, data = harness.http_request(self.server, "GET", path)
        self.bodies.append((path, data))
        if expect is not None:
            self.assertEqual(status, expect, (path, data))
        return data

    def cli(self, *args):
        out = harness.aws_cli(self.server, *args)
        self.bodies.append(("aws " + " ".join(args), json.dumps(out).encode()))
        return out

    def read_everything(self):
        """Every read the control plane and admin API offer about the resources made here."""
        listed = self.api("ListConnections", {})
        for c in listed["Connections"]:
            self.api("DescribeConnection", {"Name": c["Name"]})
        for d in self.api("ListApiDestinations", {})["ApiDestinations"]:
            self.api("DescribeApiDestination", {"Name": d["Name"]})
        for rule in ("ak-rule", "basic-rule", "oauth-rule"):
            self.api("ListTargetsByRule", {"Rule": rule})
        if harness.have_aws_cli():
            self.cli("events", "list-connections")
            for c in listed["Connections"]:
                self.cli("events", "describe-connection", "--name", c["Name"])
        self.admin("/metrics")

    # ---- the scenario ----

    @unittest.skipIf(pg.ENABLED, "searches the embedded store's WAL and SST files")
    def test_secrets_appear_nowhere(self):
        self.create_connections()
        self.refused_values_are_not_echoed()
        self.deliver_and_check_targets_saw_secrets()
        self.update_and_deliver_again()
        self.read_attempt_records()
        self.read_everything()
        self.api("DeauthorizeConnection", {"Name": "oauth"})
        self.api("DeleteConnection", {"Name": "basic"})
        self.read_everything()

        # kill -9: everything durable is in the WAL (a clean stop would flush the memtables to
        # SSTs first). Start again (recovery writes the memtables to SSTs), read, stop: everything
        # is in SSTs. Both states are searched.
        self.server.kill9()
        self.check_no_secret_in_data_dir(".log")
        self.server.start()
        self.read_everything()
        self.assertEqual(self.server.stop(), 0)
        self.check_no_secret_in_data_dir(".sst")

        self.check_no_secret_in_answers()
        self.check_no_secret_in_log()

    def create_connections(self):
        self.api("CreateConnection", {
            "Name": "ak", "AuthorizationType": "API_KEY",
            "AuthParameters": {
                "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": API_KEY},
                "InvocationHttpParameters": {
                    "HeaderParameters": [{"Key": "X-Secret", "Value": HEADER_SECRET,
                                          "IsValueSecret": True},
                                         {"Key": "X-Plain", "Value": PLAIN_MARKER}],
                    "QueryStringParameters": [{"Key": "sq", "Value": QUERY_SECRET,
                                               "IsValueSecret": True}],
                    "BodyParameters": [{"Key": "sb", "Value": BODY_SECRET,
                                        "IsValueSecret": True}]}}})
        self.api("CreateConnection", {
            "Name": "basic", "AuthorizationType": "BASIC",
            "AuthParameters": {"BasicAuthParameters": {"Username": USER, "Password": PASSWORD}}})
        self.api("CreateConnection", {
            "Name": "oauth", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
            "AuthParameters": {"OAuthParameters": {
                "ClientParameters": {"ClientID": CLIENT_ID, "ClientSecret": CLIENT_SECRET},
                "AuthorizationEndpoint": self.fake.url("/token"), "HttpMethod": "POST",
                "OAuthHttpParameters": {"BodyParameters": [
                    {"Key": "audience", "Value": OAUTH_BODY_SECRET, "IsValueSecret": True}]}}}})
        harness.wait_until(lambda: self.api("DescribeConnection", {"Name": "oauth"})[
            "ConnectionState"] == "AUTHORIZED", 15)
        [t] = self.fake.token_requests()
        self.assertEqual(t["form"].get("audience"), OAUTH_BODY_SECRET)

    def refused_values_are_not_echoed(self):
        # AWS-style validation messages quote the offending value; never a secret one.
        too_long = API_KEY + "x" * 600
        self.api("CreateConnection", {
            "Name": "bad1", "AuthorizationType": "API_KEY",
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k",
                                                         "ApiKeyValue": too_long}}}, expect=400)
        # A header-injection attempt: refused here or at send time (docs/auth.md); either way
        # the answer must not quote it.
        self.api("CreateConnection", {
            "Name": "bad2", "AuthorizationType": "API_KEY",
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k",
                                                        "ApiKeyValue": API_KEY + "\r\nX: y"}}},
                 expect=None)
        self.api("DeleteConnection", {"Name": "bad2"}, expect=None)
        self.api("UpdateConnection", {"Name": "basic", "AuthParameters": {"BasicAuthParameters": {
            "Username": USER, "Password": PASSWORD + "y" * 600}}}, expect=400)
        self.api("UpdateConnection", {"Name": "oauth", "AuthParameters": {"OAuthParameters": {
            "ClientParameters": {"ClientID": CLIENT_ID, "ClientSecret": CLIENT_SECRET + "z" * 600}}}},
                 expect=400)

    def pipeline_to(self, name, conn, endpoint):
        arn = self.api("DescribeConnection", {"Name": conn})["ConnectionArn"]
        dest = self.api("CreateApiDestination", {
            "Name": name, "ConnectionArn": arn, "InvocationEndpoint": endpoint,
            "HttpMethod": "POST"})["ApiDestinationArn"]
        rule_arn = self.api("PutRule", {"Name": name + "-rule", "EventPattern": json.dumps(
            {"source": ["test.delivery"]})})["RuleArn"]
        out = self.api("PutTargets", {"Rule": name + "-rule", "Targets": [
            {"Id": "t1", "Arn": dest}]})
        self.assertEqual(out["FailedEntryCount"], 0)
        return rule_arn

    def deliver_and_check_targets_saw_secrets(self):
        ak_rule = self.pipeline_to("ak", "ak", self.sink.url("/ak"))
        basic_rule = self.pipeline_to("basic", "basic", self.sink.url("/basic"))
        self.pipeline_to("oauth", "oauth", self.fake.url("/protected/x"))
        # The sink answers the first request with 500 so there is a retry record too.
        self.sink.script([{"status": 500, "body": "try again"}])
        self.tag(ak_rule, backoff_base_ms=100)
        self.tag(basic_rule, backoff_base_ms=100)
        self.put([{"n": 1}])
        reqs = self.sink.wait_for(3, timeout=15)
        by_path = {}
        for r in reqs:
            by_path.setdefault(r["path"], []).append(r)
        ak = by_path["/ak"][-1]
        self.assertEqual(header(ak, "x-api-key"), API_KEY)
        self.assertEqual(header(ak, "X-Secret"), HEADER_SECRET)
        self.assertEqual(query_params(ak).get("sq"), QUERY_SECRET)
        self.assertEqual(json.loads(ak["body"]).get("sb"), BODY_SECRET)
        basic = by_path["/basic"][-1]
        self.assertEqual(header(basic, "Authorization"),
                         "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode())
        harness.wait_until(lambda: [r for r in self.fake.protected_requests()
                                    if r["status"] == 200], 15)

    def update_and_deliver_again(self):
        self.api("UpdateConnection", {"Name": "ak", "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": API_KEY_2}}})
        self.api("UpdateConnection", {"Name": "basic", "AuthParameters": {
            "BasicAuthParameters": {"Username": USER, "Password": PASSWORD_2}}})
        before = len(self.sink.requests())
        self.put([{"n": 2}])
        reqs = self.sink.wait_for(before + 2, timeout=15)[before:]
        keys = {r["path"]: r for r in reqs}
        self.assertEqual(header(keys["/ak"], "x-api-key"), API_KEY_2)
        self.assertEqual(header(keys["/ak"], "X-Secret"), HEADER_SECRET, "kept across update")
        self.assertEqual(header(keys["/basic"], "Authorization"), "Basic " + base64.b64encode(
            ("%s:%s" % (USER, PASSWORD_2)).encode()).decode())

    def read_attempt_records(self):
        def records(dest):
            return json.loads(self.admin("/_bridgeport/v1/deliveries?destination=" + dest))[
                "deliveries"]
        # 2 + 2 successes to the sink plus one 500 (to ak or basic, whichever came first), 2 OAuth.
        harness.wait_until(lambda: len(records("ak")) + len(records("basic")) >= 5
                           and len(records("oauth")) >= 2, 15, message="attempt records")
        all_recs = []
        for dest in ("ak", "basic", "oauth"):
            recs = records(dest)
            all_recs += recs
            # SPEC §11 lists …/deliveries/{id} and …/events/{id}; searched whatever they answer
            # (the server answers 404 for both at the time of writing).
            for rec in recs:
                self.admin("/_bridgeport/v1/deliveries/" + urllib.parse.quote(
                    str(rec["delivery_id"])), expect=None)
                self.admin("/_bridgeport/v1/events/" + urllib.parse.quote(rec["event_id"]),
                           expect=None)
            if dest == "ak":
                self.assertEqual(recs[0]["headers"].get("X-Secret"), "***")
                self.assertEqual(recs[0]["headers"].get("X-Plain"), PLAIN_MARKER)
        self.assertIn("retry", [r["outcome"] for r in all_recs])

    # A too-long IsValueSecret parameter value (Invocation- or OAuthHttpParameters, any of
    # Header/QueryString/BodyParameters) is refused without quoting it, like ApiKeyValue,
    # Password and ClientSecret.
    def test_refused_secret_parameter_values_are_not_echoed(self):
        long_value = HEADER_SECRET + "y" * 600
        for kind in ("HeaderParameters", "QueryStringParameters", "BodyParameters"):
            param = [{"Key": "k", "Value": long_value, "IsValueSecret": True}]
            self.api("CreateConnection", {
                "Name": "inv-" + kind[:5], "AuthorizationType": "API_KEY", "AuthParameters": {
                    "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
                    "InvocationHttpParameters": {kind: param}}}, expect=400)
            self.api("CreateConnection", {
                "Name": "oauth-" + kind[:5], "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
                "AuthParameters": {"OAuthParameters": {
                    "ClientParameters": {"ClientID": "c", "ClientSecret": "x"},
                    "AuthorizationEndpoint": self.fake.url("/token"), "HttpMethod": "POST",
                    "OAuthHttpParameters": {kind: param}}}}, expect=400)
        for what, data in self.bodies:
            self.assertNotIn(HEADER_SECRET.encode(), data, what)

    # ---- the searches ----

    def assertNoNeedle(self, data, where):
        for n in needles():
            self.assertNotIn(n, data, "secret %r found in %s" % (n, where))

    def check_no_secret_in_answers(self):
        self.assertGreater(len(self.bodies), 40)
        for what, data in self.bodies:
            self.assertNoNeedle(data, "the answer to " + what)

    def check_no_secret_in_log(self):
        log = self.server.log_text().encode()
        self.assertIn(b'"level":"debug"', log.replace(b" ", b""), "debug logging was on")
        self.assertNoNeedle(log, "the server's stderr log")

    def check_no_secret_in_data_dir(self, holder_suffix):
        """Searches every file under the data dir; the store files ending in holder_suffix (WAL
        .log or .sst) must exist and hold PLAIN_MARKER, so the search demonstrably sees data."""
        key = os.path.join(self.server.data_dir, "master.key")
        self.assertTrue(os.path.isfile(key))
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        holders = []
        for root, _, files in os.walk(self.server.data_dir):
            for f in files:
                path = os.path.join(root, f)
                if path == key:
                    continue  # random bytes; only excluded from the search as a file name
                with open(path, "rb") as fh:
                    data = fh.read()
                self.assertNoNeedle(data, path)
                if f.endswith(holder_suffix) and f != harness.LOG_NAME and data:
                    holders.append((f, PLAIN_MARKER.encode() in data))
        self.assertTrue(holders, "no non-empty *%s store file" % holder_suffix)
        self.assertTrue(any(found for _, found in holders),
                        "the stored plain marker is in no *%s file: %s" % (holder_suffix, holders))

if __name__ == "__main__":
    unittest.main()
