"""A full disk: the server stays up, refuses what it cannot store with retryable errors, reports
itself not ready, counts store errors, and resumes by itself once space returns — nothing
acknowledged is lost and delivery continues.

The store lives on a small tmpfs mounted by the test (root only; unmounted in cleanup).
"""

import errno
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
from delivery_util import DeliveryFixture

MOUNT_SIZE = "24m"
DETAIL = {"pad": "x" * 20000}  # ~20 KB per entry: the log fills quickly once space is gone


def fill(path):
    """Writes `path` until the filesystem is full (ENOSPC), shrinking chunks down to one byte."""
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 20, 64 << 10, 4096, 1):
            data = b"\xa5" * chunk
            while True:
                try:
                    f.write(data)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break


@unittest.skipUnless(hasattr(os, "geteuid") and os.geteuid() == 0,
                     "needs root to mount a small tmpfs (run the integration tests as root, as CI "
                     "does)")
class DiskFullTest(DeliveryFixture):

    def setUp(self):
        harness.require_boto3()
        self.mount = tempfile.mkdtemp(prefix="bp-diskfull-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + MOUNT_SIZE, "tmpfs", self.mount],
                       check=True)
        self.addCleanup(shutil.rmtree, self.mount, True)
        self.addCleanup(subprocess.run, ["umount", "-l", self.mount], check=False)
        # The log stays outside the small filesystem; only the store is on it.
        self.log_dir = tempfile.mkdtemp(prefix="bp-diskfull-log-")
        self.addCleanup(shutil.rmtree, self.log_dir, True)
        self.server = harness.Server(self.log_dir,
                                     extra_args=["--data-dir", os.path.join(self.mount, "data")])
        self.server.start()
        self.addCleanup(self._dump_log_on_failure)
        self.addCleanup(self.server.close)
        from sink import Sink
        self.sink = Sink()
        self.addCleanup(self.sink.stop)
        self._refresh_clients()

    def put_counting(self, n_requests):
        """PutEvents of 10 entries, n times; returns (acknowledged ids, {error code: count})."""
        acked, errors = [], {}
        for _ in range(n_requests):
            out = self.events.put_events(Entries=[
                {"Source": "test.delivery", "DetailType": "t", "Detail": json.dumps(DETAIL)}
                for _ in range(10)])
            for e in out["Entries"]:
                if "EventId" in e:
                    acked.append(e["EventId"])
                else:
                    errors[e["ErrorCode"]] = errors.get(e["ErrorCode"], 0) + 1
        return acked, errors

    def delivered_ids(self):
        return {json.loads(r["body"])["id"] for r in self.sink.requests()}

    def test_full_disk_is_survived_and_recovered(self):
        self.pipeline("d1")
        acked, errors = self.put_counting(2)
        self.assertEqual(errors, {})
        harness.wait_until(lambda: set(acked) <= self.delivered_ids(), 15.0,
                           message="events before the fill were not delivered")

        filler = os.path.join(self.mount, "filler")
        fill(filler)
        during, errors = [], {}
        for _ in range(20):
            a, e = self.put_counting(1)
            during += a
            for k, v in e.items():
                errors[k] = errors.get(k, 0) + v
            if errors:
                break
        self.assertTrue(errors, "no PutEvents entry failed on a full disk")
        self.assertEqual(set(errors), {"InternalFailure"}, errors)
        # More writes after the first failure: the process must survive them.
        a, _ = self.put_counting(3)
        during += a
        self.assertTrue(self.server.running(), "the server died on a full disk")

        status, _, body = harness.http_request(self.server, "GET", "/ready")
        self.assertEqual(status, 503, body)
        ready = json.loads(body)
        self.assertEqual(ready["status"], "degraded")
        self.assertIn("store", ready["reason"])
        status, headers, reply = harness.events_call(self.server, "CreateEventBus",
                                                     {"Name": "during-full-disk"})
        self.assertGreaterEqual(status, 500, reply)
        self.assertEqual(reply["__type"], "ServiceUnavailableException", reply)
        self.assertIn("x-amzn-requestid", headers)
        self.assertGreaterEqual(self.metric("bridgeport_store_write_errors_total"), 1)
        self.assertEqual(self.metric("bridgeport_store_writable"), 0)

        os.remove(filler)
        harness.wait_until(
            lambda: harness.http_request(self.server, "GET", "/ready")[0] == 200, 20.0,
            message="/ready did not return to 200 after space was freed")
        self.assertGreaterEqual(self.metric("bridgeport_store_recoveries_total"), 1)
        after, errors = self.put_counting(2)
        self.assertEqual(errors, {})
        self.events.create_event_bus(Name="after-full-disk")

        everything = set(acked) | set(during) | set(after)
        harness.wait_until(lambda: everything <= self.delivered_ids(), 20.0,
                           message="acknowledged events were not delivered after recovery")
        # Still there after a restart: the recovered store is the durable one.
        self.restart_server()
        self.assertEqual(self.events.describe_event_bus(Name="after-full-disk")["Name"],
                         "after-full-disk")


if __name__ == "__main__":
    unittest.main()
