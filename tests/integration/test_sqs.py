"""End-to-end tests of the SQS-compatible queue API with boto3, the AWS CLI and raw Query requests.

Uses the project's harness (tests/integration/harness.py) when present. Until then it falls back to
the standalone `bp_sqs_test_server` binary named by $BP_SQS_TEST_SERVER.
"""

import hashlib
import json
import os
import struct
import subprocess
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

try:
    import harness  # provided by the lead
except ImportError:  # pragma: no cover - fallback until the harness exists
    harness = None

import boto3
import botocore.config
import botocore.exceptions

SQS_NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


class _FallbackServer:
    """Runs bp_sqs_test_server on a free loopback port; restart keeps the store."""

    def __init__(self, binary, tmpdir):
        self._binary = binary
        self._dir = os.path.join(tmpdir, "store")
        self._proc = None
        self.endpoint = None
        self._start()

    def _start(self):
        self._proc = subprocess.Popen(
            [self._binary, self._dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        line = self._proc.stdout.readline()
        if not line.startswith("PORT "):
            self._proc.kill()
            raise RuntimeError("test server did not start: %r" % line)
        self.endpoint = "http://127.0.0.1:%d" % int(line.split()[1])

    def stop(self):
        if self._proc:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            self._proc.stdout.close()
            self._proc = None

    def restart(self):
        self.stop()
        self._start()


def _start_server(tmpdir):
    if harness is not None:
        return harness.start_server(tmpdir)
    binary = os.environ.get("BP_SQS_TEST_SERVER")
    if not binary:
        raise unittest.SkipTest("no harness.py and no $BP_SQS_TEST_SERVER")
    return _FallbackServer(binary, tmpdir)


def _md5_of_attributes(attrs):
    """MD5OfMessageAttributes computed independently of the server, as the Java/Go SDKs do."""
    buf = b""
    for name in sorted(attrs):
        a = attrs[name]
        enc = lambda b: struct.pack(">I", len(b)) + b
        buf += enc(name.encode()) + enc(a["DataType"].encode())
        if a["DataType"].startswith("Binary"):
            buf += b"\x02" + enc(a["BinaryValue"])
        else:
            buf += b"\x01" + enc(a["StringValue"].encode())
    return hashlib.md5(buf).hexdigest()


class SqsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.server = _start_server(cls._tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls._tmp.cleanup()

    def client(self):
        if harness is not None and hasattr(harness, "boto3_client"):
            try:
                return harness.boto3_client("sqs", self.server)
            except TypeError:
                return harness.boto3_client("sqs")
        return boto3.client(
            "sqs", endpoint_url=self.server.endpoint, region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
            config=botocore.config.Config(retries={"max_attempts": 1}))

    def aws_cli(self, *args):
        if harness is not None and hasattr(harness, "aws_cli"):
            return harness.aws_cli(list(args))
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                   AWS_DEFAULT_REGION="us-east-1")
        out = subprocess.run(["aws", "--endpoint-url", self.server.endpoint, "--output", "json",
                              *args], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def query(self, params, path="/"):
        body = urllib.parse.urlencode(dict(params, Version="2012-11-05")).encode()
        req = urllib.request.Request(self.server.endpoint + path, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, ET.fromstring(r.read())
        except urllib.error.HTTPError as e:
            return e.code, ET.fromstring(e.read())

    def test_lifecycle_and_attributes(self):
        sqs = self.client()
        url = sqs.create_queue(QueueName="life", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
        self.assertTrue(url.endswith("/000000000000/life"), url)
        self.assertEqual(sqs.get_queue_url(QueueName="life")["QueueUrl"], url)
        # Idempotent with equal attributes, refused with different ones.
        self.assertEqual(sqs.create_queue(QueueName="life",
                                          Attributes={"VisibilityTimeout": "45"})["QueueUrl"], url)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sqs.create_queue(QueueName="life", Attributes={"VisibilityTimeout": "46"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "QueueAlreadyExists")
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["VisibilityTimeout"], "45")
        self.assertEqual(attrs["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:life")
        self.assertEqual(attrs["ApproximateNumberOfMessages"], "0")
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "5"})
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])
        self.assertEqual(attrs["Attributes"], {"DelaySeconds": "5"})
        self.assertIn(url, sqs.list_queues(QueueNamePrefix="lif")["QueueUrls"])
        sqs.delete_queue(QueueUrl=url)
        with self.assertRaises(sqs.exceptions.QueueDoesNotExist):
            sqs.get_queue_url(QueueName="life")

    def test_send_receive_delete_with_digests(self):
        sqs = self.client()
        url = sqs.create_queue(QueueName="digests")["QueueUrl"]
        attrs = {"trace": {"DataType": "String", "StringValue": "abc"},
                 "n": {"DataType": "Number", "StringValue": "42"},
                 "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}}
        body = "hello \u00e9\U0001F600"
        sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
        self.assertEqual(sent["MD5OfMessageBody"], hashlib.md5(body.encode()).hexdigest())
        self.assertEqual(sent["MD5OfMessageAttributes"], _md5_of_attributes(attrs))
        got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                                  AttributeNames=["All"], WaitTimeSeconds=5)["Messages"]
        self.assertEqual(len(got), 1)
        m = got[0]
        self.assertEqual(m["Body"], body)
        self.assertEqual(m["MessageId"], sent["MessageId"])
        self.assertEqual(m["MessageAttributes"]["blob"]["BinaryValue"], b"\x00\x01\xff")
        self.assertEqual(m["MD5OfMessageAttributes"], _md5_of_attributes(attrs))
        self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "1")
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "ReceiptHandleIsInvalid")

    def test_long_poll_wakes_on_send(self):
        sqs = self.client()
        url = sqs.create_queue(QueueName="longpoll")["QueueUrl"]
        result = {}

        def poll():
            result["r"] = self.client().receive_message(QueueUrl=url, WaitTimeSeconds=20)

        t = threading.Thread(target=poll)
        t.start()
        sqs.send_message(QueueUrl=url, MessageBody="wake up")
        t.join(timeout=25)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["r"]["Messages"][0]["Body"], "wake up")
        # An empty queue ends the poll with no messages.
        empty = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, VisibilityTimeout=0)
        self.assertNotIn("Messages", empty)

    def test_batches_and_errors(self):
        sqs = self.client()
        url = sqs.create_queue(QueueName="batches")["QueueUrl"]
        r = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two"},
            {"Id": "c", "MessageBody": "bad \x01"}])
        self.assertEqual(sorted(e["Id"] for e in r["Successful"]), ["a", "b"])
        self.assertEqual(r["Failed"][0]["Id"], "c")
        self.assertEqual(r["Failed"][0]["Code"], "InvalidMessageContents")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}])
        self.assertEqual(cm.exception.response["Error"]["Code"],
                         "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual(len(msgs), 2)
        r = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "v", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 0}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["v"])
        r = sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "d1", "ReceiptHandle": msgs[1]["ReceiptHandle"]},
            {"Id": "d2", "ReceiptHandle": "not-a-handle"}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["d1"])
        self.assertEqual(r["Failed"][0]["Code"], "ReceiptHandleIsInvalid")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidParameterValue")

    def test_redrive_to_dead_letter_queue(self):
        sqs = self.client()
        dlq = sqs.create_queue(QueueName="redrive-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        src = sqs.create_queue(QueueName="redrive-src", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
        sqs.send_message(QueueUrl=src, MessageBody="poison")
        self.assertEqual(len(sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"]),
                         1)
        self.assertNotIn("Messages", sqs.receive_message(QueueUrl=src))
        dead = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"]
        self.assertEqual(dead[0]["Body"], "poison")
        self.assertEqual(sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [src])

    def test_aws_cli(self):
        url = self.aws_cli("sqs", "create-queue", "--queue-name", "cli")["QueueUrl"]
        sent = self.aws_cli("sqs", "send-message", "--queue-url", url, "--message-body", "from cli")
        got = self.aws_cli("sqs", "receive-message", "--queue-url", url)
        self.assertEqual(got["Messages"][0]["MessageId"], sent["MessageId"])
        self.assertEqual(got["Messages"][0]["Body"], "from cli")

    def test_query_protocol(self):
        status, root = self.query({"Action": "CreateQueue", "QueueName": "query-q",
                                   "Attribute.1.Name": "VisibilityTimeout",
                                   "Attribute.1.Value": "60"})
        self.assertEqual(status, 200)
        url = root.find(f"{SQS_NS}CreateQueueResult/{SQS_NS}QueueUrl").text
        path = urllib.parse.urlparse(url).path
        status, root = self.query({"Action": "SendMessage", "MessageBody": "x & <y>\r\n",
                                   "MessageAttribute.1.Name": "k",
                                   "MessageAttribute.1.Value.DataType": "String",
                                   "MessageAttribute.1.Value.StringValue": "v"}, path)
        self.assertEqual(status, 200)
        md5 = root.find(f"{SQS_NS}SendMessageResult/{SQS_NS}MD5OfMessageAttributes").text
        self.assertEqual(md5, _md5_of_attributes({"k": {"DataType": "String", "StringValue": "v"}}))
        status, root = self.query({"Action": "ReceiveMessage", "QueueUrl": url,
                                   "MessageAttributeName.1": "All"})
        msg = root.find(f"{SQS_NS}ReceiveMessageResult/{SQS_NS}Message")
        self.assertEqual(msg.find(f"{SQS_NS}Body").text, "x & <y>\r\n")
        self.assertEqual(msg.find(f"{SQS_NS}MessageAttribute/{SQS_NS}Name").text, "k")
        status, root = self.query({"Action": "GetQueueUrl", "QueueName": "absent"})
        self.assertEqual(status, 400)
        self.assertEqual(root.find(f"{SQS_NS}Error/{SQS_NS}Code").text,
                         "AWS.SimpleQueueService.NonExistentQueue")

    def test_messages_survive_restart(self):
        sqs = self.client()
        url = sqs.create_queue(QueueName="durable")["QueueUrl"]
        sent = sqs.send_message(QueueUrl=url, MessageBody="keep me")
        inflight = sqs.send_message(QueueUrl=url, MessageBody="in flight", DelaySeconds=0)
        self.server.restart()
        sqs = self.client()
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        ids = sorted(m["MessageId"] for m in got["Messages"])
        self.assertEqual(ids, sorted([sent["MessageId"], inflight["MessageId"]]))
        # Received messages stay invisible across a restart.
        self.server.restart()
        sqs = self.client()
        self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url))


if __name__ == "__main__":
    unittest.main()
