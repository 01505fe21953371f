"""GET /metrics: the scrape-time gauges for queue depths and connection states."""

import unittest

import harness


class ScrapeGaugesTest(unittest.TestCase):

    def setUp(self):
        harness.require_boto3()
        self.server = harness.start_server()
        self.addCleanup(self.server.close)

    def test_queue_depth_and_connection_state(self):
        sqs = harness.client(self.server, "sqs")
        events = harness.client(self.server, "events")
        url = sqs.create_queue(QueueName="depth")["QueueUrl"]
        for i in range(3):
            sqs.send_message(QueueUrl=url, MessageBody="m%d" % i)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
        self.assertEqual(harness.metric(self.server, "bridgeport_queue_messages",
                                        queue="depth", state="visible"), 2)
        self.assertEqual(harness.metric(self.server, "bridgeport_queue_messages",
                                        queue="depth", state="inflight"), 1)

        events.create_connection(Name="c", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
        self.assertEqual(harness.metric(self.server, "bridgeport_connection_state",
                                        connection="c", state="AUTHORIZED"), 1)
        events.deauthorize_connection(Name="c")
        self.assertEqual(harness.metric(self.server, "bridgeport_connection_state",
                                        connection="c", state="AUTHORIZED"), 0)
        self.assertEqual(harness.metric(self.server, "bridgeport_connection_state",
                                        connection="c", state="DEAUTHORIZED"), 1)


if __name__ == "__main__":
    unittest.main()
