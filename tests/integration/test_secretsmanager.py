"""Secrets Manager on Bridgeport (JSON 1.1, `secretsmanager.*`) with boto3 and the aws CLI.

Checks the operations templates and SDK code use (create, get, put, describe, list, update,
delete with and without a recovery window, restore), AWS's error names, that values survive a
restart, and that no value reaches the data directory in clear text or the server's log.
"""

import json
import os
import unittest

import harness

VALUE_1 = "Vr83KmqZx2Tb7Lp"
VALUE_2 = "Hc51NwdYs9Fg4Qa"


class SecretsManagerTest(unittest.TestCase):
    def setUp(self):
        harness.require_boto3()
        self.server = harness.start_server(extra_args=("--log-level", "debug"))
        self.addCleanup(self.server.close)
        self.sm = harness.client(self.server, "secretsmanager")

    def code(self, fn, **kwargs):
        with self.assertRaises(Exception) as ctx:
            fn(**kwargs)
        return harness.error_code(ctx.exception)

    def test_lifecycle_versions_and_errors(self):
        created = self.sm.create_secret(Name="app/key", Description="d",
                                        SecretString=json.dumps({"apiKey": VALUE_1}))
        arn = created["ARN"]
        self.assertRegex(arn, r"^arn:aws:secretsmanager:us-east-1:000000000000:secret:app/key-\w{6}$")
        got = self.sm.get_secret_value(SecretId="app/key")
        self.assertEqual(json.loads(got["SecretString"]), {"apiKey": VALUE_1})
        self.assertEqual(got["VersionStages"], ["AWSCURRENT"])
        first_version = got["VersionId"]

        put = self.sm.put_secret_value(SecretId=arn, SecretString=VALUE_2)
        self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
        self.assertEqual(self.sm.get_secret_value(SecretId=arn)["SecretString"], VALUE_2)
        prev = self.sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")
        self.assertEqual(prev["VersionId"], first_version)
        # A partial ARN (without the random suffix) finds the secret too.
        self.assertEqual(self.sm.describe_secret(SecretId=arn[:-7])["Name"], "app/key")

        self.sm.update_secret(SecretId="app/key", Description="new")
        desc = self.sm.describe_secret(SecretId="app/key")
        self.assertEqual(desc["Description"], "new")
        self.assertEqual(len(desc["VersionIdsToStages"]), 2)
        self.assertNotIn(VALUE_2, json.dumps(desc, default=str))

        self.sm.create_secret(Name="other", SecretString="x")
        names = [s["Name"] for s in self.sm.list_secrets()["SecretList"]]
        self.assertEqual(sorted(names), ["app/key", "other"])
        filtered = self.sm.list_secrets(Filters=[{"Key": "name", "Values": ["app/"]}])
        self.assertEqual([s["Name"] for s in filtered["SecretList"]], ["app/key"])

        self.assertEqual(self.code(self.sm.get_secret_value, SecretId="missing"),
                         "ResourceNotFoundException")
        self.assertEqual(self.code(self.sm.create_secret, Name="other", SecretString="y"),
                         "ResourceExistsException")
        self.assertEqual(self.code(self.sm.create_secret, Name="bad name!", SecretString="y"),
                         "InvalidParameterException")

        # Deletion with a recovery window hides the value; restore brings it back.
        deleted = self.sm.delete_secret(SecretId="app/key", RecoveryWindowInDays=7)
        self.assertIn("DeletionDate", deleted)
        self.assertEqual(self.code(self.sm.get_secret_value, SecretId="app/key"),
                         "InvalidRequestException")
        self.assertEqual(self.code(self.sm.create_secret, Name="app/key", SecretString="z"),
                         "InvalidRequestException")
        self.sm.restore_secret(SecretId="app/key")
        self.sm.delete_secret(SecretId="other", ForceDeleteWithoutRecovery=True)
        self.assertEqual(self.code(self.sm.describe_secret, SecretId="other"),
                         "ResourceNotFoundException")

        # Values survive a restart; none is in the data dir in clear text or in the log.
        self.server.restart()
        sm = harness.client(self.server, "secretsmanager")
        self.assertEqual(sm.get_secret_value(SecretId="app/key")["SecretString"], VALUE_2)
        self.server.stop()
        for root, _, files in os.walk(self.server.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    blob = f.read()
                for v in (VALUE_1, VALUE_2):
                    self.assertNotIn(v.encode(), blob, os.path.join(root, name))
        log = self.server.log_text()
        self.assertNotIn(VALUE_1, log)
        self.assertNotIn(VALUE_2, log)

    def test_cli(self):
        harness.require_aws_cli()
        out = harness.aws_cli(self.server, "secretsmanager", "create-secret", "--name", "cli/key",
                              "--secret-string", VALUE_1)
        self.assertEqual(out["Name"], "cli/key")
        got = harness.aws_cli(self.server, "secretsmanager", "get-secret-value", "--secret-id",
                              "cli/key")
        self.assertEqual(got["SecretString"], VALUE_1)
        listed = harness.aws_cli(self.server, "secretsmanager", "list-secrets")
        self.assertEqual([s["Name"] for s in listed["SecretList"]], ["cli/key"])
        pw = harness.aws_cli(self.server, "secretsmanager", "get-random-password",
                             "--password-length", "20", "--exclude-punctuation")
        self.assertEqual(len(pw["RandomPassword"]), 20)
        self.assertTrue(pw["RandomPassword"].isalnum())
        harness.aws_cli(self.server, "secretsmanager", "delete-secret", "--secret-id", "cli/key",
                        "--force-delete-without-recovery")
        rc, err = harness.aws_cli(self.server, "secretsmanager", "get-secret-value",
                                  "--secret-id", "cli/key", expect_error=True)
        self.assertIn("ResourceNotFoundException", err)


if __name__ == "__main__":
    unittest.main()
