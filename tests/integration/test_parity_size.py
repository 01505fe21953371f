"""1 MiB events and messages (issue 10, item 4): PutEvents accepts entries totalling 1 MiB
(Source + DetailType + Detail + Resources, as SPEC §4 counts them) and delivers them intact; one
byte more is AWS's ValidationException. SQS messages up to MaximumMessageSize (1 MiB, body plus
attributes) go through the JSON and Query protocols; a larger one is InvalidParameterValue, never
an HTTP 413 from the listener."""

import json
import os
import tempfile
import unittest
import urllib.parse

import harness
from delivery_util import DeliveryFixture

MIB = 1 << 20


def detail_of_size(n):
    """A JSON object of exactly n bytes whose characters all need escaping inside JSON."""
    head, tail = '{"q":"', '"}'
    filler = n - len(head) - len(tail)
    # '\\"' is an escaped quote inside the detail (2 bytes) and 4 bytes once the request
    # escapes it again: the request body is about twice the entry size.
    return head + '\\"' * (filler // 2) + "x" * (filler % 2) + tail


class BigEventsTest(DeliveryFixture):
    def test_one_mib_event_delivered_intact_and_one_more_byte_rejected(self):
        p = self.pipeline("big", pattern={"source": ["s"]})
        detail = detail_of_size(MIB - 2)  # Source "s" + DetailType "t" + Detail = 1 MiB
        out = self.events.put_events(Entries=[{"Source": "s", "DetailType": "t",
                                               "Detail": detail}])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        self.sink.wait_for(1, timeout=30)
        delivered = json.loads(self.sink.requests()[0]["body"])
        self.assertEqual(delivered["detail"], json.loads(detail))
        self.assertEqual(delivered["id"], out["Entries"][0]["EventId"])

        with self.assertRaises(harness.botocore.exceptions.ClientError) as ctx:
            self.events.put_events(Entries=[{"Source": "s", "DetailType": "t",
                                             "Detail": detail_of_size(MIB - 1)}])
        self.assertEqual(harness.error_code(ctx.exception), "ValidationException")
        self.assertEqual(ctx.exception.response["Error"]["Message"],
                         "Total size of the entries in the request is over the limit.")
        # Spread over several entries, the total counts.
        entries = [{"Source": "s", "DetailType": "t", "Detail": detail_of_size(MIB // 4)}
                   for _ in range(4)]
        with self.assertRaises(harness.botocore.exceptions.ClientError):
            self.events.put_events(Entries=entries)
        self.assertTrue(p["dest"])

    def test_cli_sends_one_mib(self):
        self.pipeline("cli", pattern={"source": ["s"]})
        detail = '{"a":"' + "y" * (MIB - 10) + '"}'
        self.assertEqual(len(detail), MIB - 2)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump([{"Source": "s", "DetailType": "t", "Detail": detail}], f)
        self.addCleanup(os.unlink, f.name)
        out = harness.aws_cli(self.server, "events", "put-events", "--entries",
                              "file://" + f.name)
        self.assertEqual(out["FailedEntryCount"], 0, out)
        self.sink.wait_for(1, timeout=30)
        self.assertEqual(json.loads(self.sink.requests()[0]["body"])["detail"]["a"],
                         "y" * (MIB - 10))
        with open(f.name, "w") as g:
            json.dump([{"Source": "s", "DetailType": "t", "Detail": detail + " "}], g)
        code, err = harness.aws_cli(self.server, "events", "put-events", "--entries",
                                    "file://" + f.name, expect_error=True)
        self.assertIn("Total size of the entries in the request is over the limit.", err)


class BigMessagesTest(unittest.TestCase):
    def setUp(self):
        harness.require_boto3()
        self.server = harness.start_server()
        self.addCleanup(self.server.close)
        self.sqs = harness.client(self.server, "sqs")
        self.url = self.sqs.create_queue(QueueName="big")["QueueUrl"]

    def query(self, params):
        body = urllib.parse.urlencode(dict(params, Version="2012-11-05")).encode()
        return harness.http_request(self.server, "POST", "/", body,
                                    {"Content-Type": "application/x-www-form-urlencoded"})

    def test_default_and_maximum_size(self):
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.url,
                                              AttributeNames=["MaximumMessageSize"])
        self.assertEqual(attrs["Attributes"]["MaximumMessageSize"], str(MIB))
        with self.assertRaises(harness.botocore.exceptions.ClientError) as ctx:
            self.sqs.set_queue_attributes(QueueUrl=self.url,
                                          Attributes={"MaximumMessageSize": str(MIB + 1)})
        self.assertEqual(harness.error_code(ctx.exception), "InvalidAttributeValue")

    def test_one_mib_message_round_trip_and_one_more_byte(self):
        # Body + attribute name, type and value = 1 MiB exactly.
        attr = {"k": {"DataType": "String", "StringValue": "v"}}
        body = "&<\u00e9" * ((MIB - 8) // 4) + "z" * ((MIB - 8) % 4)
        self.assertEqual(len(body.encode()) + len("k") + len("String") + len("v"), MIB)
        self.sqs.send_message(QueueUrl=self.url, MessageBody=body, MessageAttributes=attr)
        got = self.sqs.receive_message(QueueUrl=self.url, MessageAttributeNames=["All"])
        self.assertEqual(got["Messages"][0]["Body"], body)
        with self.assertRaises(harness.botocore.exceptions.ClientError) as ctx:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body + "z",
                                  MessageAttributes=attr)
        self.assertEqual(harness.error_code(ctx.exception), "InvalidParameterValue")
        self.assertIn("Message must be shorter than 1048576 bytes", str(ctx.exception))

    def test_query_protocol_one_mib(self):
        # Form encoding triples these characters; the listener's limit must allow for it.
        body = "{}" * (MIB // 2)
        status, _, data = self.query({"Action": "SendMessage", "QueueUrl": self.url,
                                      "MessageBody": body})
        self.assertEqual(status, 200, data[:300])
        status, _, data = self.query({"Action": "SendMessage", "QueueUrl": self.url,
                                      "MessageBody": body + "x"})
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>InvalidParameterValue</Code>", data)


if __name__ == "__main__":
    unittest.main()
