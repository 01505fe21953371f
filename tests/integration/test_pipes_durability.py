"""EventBridge Pipes across StopPipe/StartPipe, restarts and kill -9, and LogConfiguration.

A pipe's state and its source messages are durable: after a clean restart or a kill -9 every
message sent is delivered (duplicates only for messages that were in flight at the crash), and a
pipe comes back in the state it was in.
"""

import json
import time
import unittest

import harness
from delivery_util import body_json
from pipes_util import ROLE, PipesFixture, raw_pipes_call


class PipesDurabilityTest(PipesFixture):

    def _pipe(self, name, src, target, **kw):
        self.create_pipe(name, src, target,
                         SourceParameters={"SqsQueueParameters": {"BatchSize": 1}}, **kw)
        self.wait_state(name, "RUNNING")

    def _bodies_seen(self):
        return [json.loads(body_json(r)["body"])["n"] for r in self.sink.requests()]

    def test_stop_and_start(self):
        src_url, src = self.queue_with("stopme")
        target = self.api_destination("hook")
        self._pipe("stopper", src, target)
        self.send(src_url, [{"n": 0}])
        self.sink.wait_for(1, timeout=15)
        out = self.pipes.stop_pipe(Name="stopper")
        self.assertEqual(out["DesiredState"], "STOPPED")
        self.wait_state("stopper", "STOPPED")
        self.send(src_url, [{"n": i} for i in range(1, 4)])
        time.sleep(2.5)  # a stopped pipe must leave them alone: nothing may arrive meanwhile
        self.assertEqual(len(self.sink.requests()), 1)
        self.assertEqual(self.queue_counts(src_url), (3, 0))
        with self.assertRaises(Exception) as ctx:  # still fine to stop twice
            self.pipes.describe_pipe(Name="absent")
        self.assertEqual(harness.error_code(ctx.exception), "NotFoundException")
        self.pipes.start_pipe(Name="stopper")
        self.wait_state("stopper", "RUNNING")
        self.sink.wait_for(4, timeout=15)
        self.assertEqual(sorted(self._bodies_seen()), [0, 1, 2, 3])
        self.wait_queue_empty(src_url)
        # UpdatePipe on a running pipe: the runner restarts with the new definition.
        up = self.pipes.update_pipe(Name="stopper", RoleArn=ROLE, TargetParameters={
            "InputTemplate": '{"again": <$.body.n>}'})
        self.assertEqual(up["DesiredState"], "RUNNING")
        self.wait_state("stopper", "RUNNING")
        self.send(src_url, [{"n": 9}])
        self.assertEqual(body_json(self.sink.wait_for(5, timeout=15)[4]), {"again": 9})

    def test_states_survive_restart(self):
        _, src = self.queue_with("keep")
        target = self.api_destination("hook")
        self._pipe("runs", src, target)
        self.create_pipe("rests", src, target, DesiredState="STOPPED")
        self.wait_state("rests", "STOPPED")
        self.restart_server()
        self.assertEqual(self.state("rests"), "STOPPED")
        self.wait_state("runs", "RUNNING")
        self.pipes.stop_pipe(Name="runs")
        self.wait_state("runs", "STOPPED")
        self.crash_and_restart()
        self.assertEqual(self.state("runs"), "STOPPED")
        self.assertEqual(self.pipes.describe_pipe(Name="runs")["DesiredState"], "STOPPED")

    def test_kill9_with_messages_in_flight(self):
        src_url, src = self.queue_with("inflight", VisibilityTimeout=2)
        target = self.api_destination("hook", rate=5)
        self.sink.set_default({"status": 200, "body": "", "delay_ms": 300})
        self._pipe("crashy", src, target)
        total = 20
        self.send(src_url, [{"n": i} for i in range(total)])
        self.sink.wait_for(4, timeout=20)
        self.crash_and_restart()
        self.wait_state("crashy", "RUNNING")
        harness.wait_until(lambda: set(self._bodies_seen()) == set(range(total)), 40,
                           message="not every message arrived after kill -9")
        self.wait_queue_empty(src_url, timeout=20)
        seen = self._bodies_seen()
        dups = len(seen) - total
        # Only messages in flight at the crash may repeat: one batch of one per pipe here.
        self.assertLessEqual(dups, 2, "duplicates %r" % sorted(seen))

    def test_clean_restart_with_backlog(self):
        src_url, src = self.queue_with("backlog")
        target = self.api_destination("hook", rate=10)
        self._pipe("steady", src, target)
        total = 15
        self.send(src_url, [{"n": i} for i in range(total)])
        self.sink.wait_for(3, timeout=20)
        self.restart_server()
        harness.wait_until(lambda: set(self._bodies_seen()) == set(range(total)), 40)
        self.wait_queue_empty(src_url)
        self.assertLessEqual(len(self._bodies_seen()) - total, 1)

    def test_clean_stop_releases_a_batch_still_waiting(self):
        src_url, src = self.queue_with("slowsink")  # VisibilityTimeout 30 s (the default)
        target = self.api_destination("hook")
        self.tag(target, timeout_ms=20000)  # the call outlasts the shutdown grace period
        self.sink.script([{"status": 200, "body": "", "delay_ms": 14000}])
        self._pipe("patient", src, target)
        self.send(src_url, [{"n": 7}])
        self.sink.wait_for(1, timeout=15)
        t0 = time.monotonic()
        self.restart_server()  # the call outlasts the 10 s grace: the batch is released
        reqs = self.sink.wait_for(2, timeout=25)
        self.assertLess(time.monotonic() - t0, 28, "released before its visibility timeout")
        self.assertEqual(json.loads(body_json(reqs[1])["body"]), {"n": 7})
        self.wait_queue_empty(src_url)

    def test_log_configuration_sets_the_pipe_log_level(self):
        src_url, src = self.queue_with("logs")
        target = self.api_destination("hook")
        for name, level in (("loud", "TRACE"), ("quiet", "OFF")):
            status, _, out = raw_pipes_call(self.server, "POST", "/v1/pipes/" + name, {
                "Source": src, "Target": target, "RoleArn": ROLE,
                "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}},
                "LogConfiguration": {"Level": level}})
            self.assertEqual(status, 200, out)
            self.wait_state(name, "RUNNING")
            self.send(src_url, [{"n": 1}])
            self.sink.wait_for(1, timeout=15)
            self.wait_queue_empty(src_url)
            self.pipes.stop_pipe(Name=name)
            self.wait_state(name, "STOPPED")
            self.sink.reset()

        def lines(pipe, msg):
            return [r for r in self.server.log_records()
                    if r.get("pipe") == pipe and r.get("msg") == msg]

        self.server.wait_log(lambda r: r.get("pipe") == "loud" and
                             r.get("msg") == "record matched the filter")
        self.assertEqual(lines("loud", "record matched the filter")[0]["level"], "debug")
        self.assertTrue(lines("loud", "batch delivered"))
        self.assertEqual(lines("quiet", "batch delivered"), [])
        self.assertEqual(lines("quiet", "record matched the filter"), [])


if __name__ == "__main__":
    unittest.main()
