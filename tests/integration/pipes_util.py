"""Helpers for the EventBridge Pipes end-to-end tests (test_pipes*.py).

PipesFixture extends DeliveryFixture with a boto3 `pipes` client, pipe creation with defaults,
state waits, and a SigV4-signed raw REST-JSON call for members that Debian's older botocore
model lacks (LogConfiguration, KmsKeyIdentifier).
"""

import http.client
import json
import urllib.parse

import harness
from delivery_util import DeliveryFixture

ROLE = "arn:aws:iam::000000000000:role/pipe-role"


def model_has_member(client, operation, member):
    """True if this botocore's model of `operation` has input member `member`."""
    shape = client.meta.service_model.operation_model(operation).input_shape
    return member in shape.members


def raw_pipes_call(server, method, path, body=None, query=None):
    """A SigV4-signed (service `pipes`) REST-JSON request; returns (status, headers, json)."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    url = server.endpoint + path
    if query:
        url += "?" + urllib.parse.urlencode(query, doseq=True)
    data = json.dumps(body).encode() if body is not None else b""
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=data,
                                         headers={"Content-Type": "application/json"})
    creds = botocore.credentials.Credentials(harness.DUMMY_KEY_ID, harness.DUMMY_SECRET)
    botocore.auth.SigV4Auth(creds, "pipes", harness.REGION).add_auth(req)
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        target = parsed.path + ("?" + parsed.query if parsed.query else "")
        conn.request(method, target, body=data, headers=dict(req.headers.items()))
        resp = conn.getresponse()
        text = resp.read().decode()
        return resp.status, dict(resp.getheaders()), (json.loads(text) if text else {})
    finally:
        conn.close()


class PipesFixture(DeliveryFixture):

    def _refresh_clients(self):
        super()._refresh_clients()
        self.pipes = harness.client(self.server, "pipes")

    def queue_with(self, name, **attributes):
        url = self.sqs.create_queue(QueueName=name, Attributes={
            k: str(v) for k, v in attributes.items()})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        return url, arn

    def api_destination(self, name, rate=300, sink=None, path="/hook"):
        conn = self.api_key_connection(name + "-conn")
        return self.destination(name, conn, rate=rate, sink=sink, path=path)

    def create_pipe(self, name, source, target, **kw):
        kw.setdefault("RoleArn", ROLE)
        return self.pipes.create_pipe(Name=name, Source=source, Target=target, **kw)

    def state(self, name):
        return self.pipes.describe_pipe(Name=name)["CurrentState"]

    def wait_state(self, name, state, timeout=15.0):
        return harness.wait_until(lambda: self.state(name) == state, timeout,
                                  message="pipe %s did not reach %s" % (name, state))

    def send(self, queue_url, bodies):
        """SendMessageBatch in chunks of 10; returns the MessageIds in order."""
        ids = []
        for i in range(0, len(bodies), 10):
            chunk = bodies[i:i + 10]
            out = self.sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(j), "MessageBody": b if isinstance(b, str) else json.dumps(b)}
                for j, b in enumerate(chunk)])
            self.assertEqual(out.get("Failed", []), [], out)
            by_id = {e["Id"]: e["MessageId"] for e in out["Successful"]}
            ids += [by_id[str(j)] for j in range(len(chunk))]
        return ids

    def queue_counts(self, queue_url):
        attrs = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return (int(attrs["ApproximateNumberOfMessages"]),
                int(attrs["ApproximateNumberOfMessagesNotVisible"]))

    def wait_queue_empty(self, queue_url, timeout=15.0):
        harness.wait_until(lambda: self.queue_counts(queue_url) == (0, 0), timeout,
                           message="queue %s did not drain" % queue_url)

    def receive_all(self, queue_url, expected, timeout=20.0):
        got = []

        def poll():
            out = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1, MessageAttributeNames=["All"])
            for m in out.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            return len(got) >= expected

        harness.wait_until(poll, timeout, interval=0.01,
                           message="%d of %d messages arrived" % (len(got), expected))
        return got

    def pipe_deliveries(self, pipe, destination, count=None, timeout=15.0):
        """The pipe's attempt records at `destination`, oldest first; with `count`, waits (bounded)
        until there are at least that many: a record is written once the response is in, so
        the sink may have seen a request before its record exists."""
        if count is None:
            return self.deliveries(destination, pipe=pipe)
        return harness.wait_until(
            lambda: (lambda d: d if len(d) >= count else None)(
                self.deliveries(destination, pipe=pipe)), timeout,
            message="fewer than %d attempt records of pipe %s" % (count, pipe))
