"""A pipe whose target API destination uses an OAuth client-credentials connection: the calls
carry the connection's cached token, fetched from fakes/oauth_server.py."""

import json
import unittest

import harness
from pipes_util import PipesFixture
from test_oauth import CLIENT_ID, CLIENT_SECRET, OAuthFake, oauth_params


class PipesOAuthTest(PipesFixture):

    def test_pipe_target_with_oauth_connection(self):
        fake = OAuthFake("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET)
        self.addCleanup(fake.stop)
        conn = self.events.create_connection(Name="oc", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
                                             AuthParameters=oauth_params(fake))["ConnectionArn"]
        dest = self.destination("od", conn, endpoint=fake.url("/protected/pipe"))
        src_url, src = self.queue_with("oq")
        # Created at once: the first calls may meet the connection still AUTHORIZING.
        self.create_pipe("op", src, dest, SourceParameters={"SqsQueueParameters": {"BatchSize": 1}})
        self.wait_state("op", "RUNNING")
        self.send(src_url, [{"n": 1}, {"n": 2}])
        ok = harness.wait_until(lambda: (lambda r: r if len(r) >= 2 else None)(
            [r for r in fake.protected_requests() if r["status"] == 200]), 20)
        self.assertEqual(sorted(json.loads(json.loads(r["body"])["body"])["n"] for r in ok), [1, 2])
        self.assertEqual(len(fake.token_requests()), 1)
        self.wait_queue_empty(src_url)


if __name__ == "__main__":
    unittest.main()
