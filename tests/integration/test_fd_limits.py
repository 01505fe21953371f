"""Client connections against file-descriptor limits (docs/operations.md, "Client connections
and file descriptors"): the soft RLIMIT_NOFILE is raised to the hard limit at start; when
descriptors run out or --max-client-connections is reached the longest-idle connection is closed
to admit the new one; accept() failures back off instead of spinning a core."""

import json
import os
import resource
import socket
import time
import unittest

import harness

CPU_WINDOW = 4.0      # seconds of wall time over which the server's CPU use is measured
CPU_FRACTION = 0.30   # generous: an idle server uses ~0; a spinning accept loop uses ~1 per thread


def set_nofile(soft, hard):
    def preexec():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return preexec


def cpu_seconds(pid):
    """utime + stime of process `pid` (all threads) from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the ")" of comm, field 3 (state) is index 0, so utime (14) and stime (15) are 11, 12.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nofile_limits(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                parts = line.split()
                return int(parts[3]), int(parts[4])
    raise AssertionError("no 'Max open files' line in /proc/%d/limits" % pid)


def open_idle(port, n):
    """n connected sockets that never send a byte (the kernel completes the handshake even
    while the server cannot accept)."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    return socks


def closed_by_peer(sock):
    """True once the server has closed this connection (EOF or reset); never blocks long."""
    sock.settimeout(0.01)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


class FdLimitCase(unittest.TestCase):
    def start(self, soft, hard, extra_args=()):
        server = harness.Server(extra_args=extra_args, preexec=set_nofile(soft, hard))
        server.start()
        self.addCleanup(server.close)
        return server

    def hold(self, socks):
        self.addCleanup(lambda: [s.close() for s in socks])
        return socks

    def assert_idle_cpu(self, server):
        before, t0 = cpu_seconds(server.pid), time.monotonic()
        time.sleep(CPU_WINDOW)
        used, wall = cpu_seconds(server.pid) - before, time.monotonic() - t0
        self.assertLess(used, CPU_FRACTION * wall,
                        "server used %.2f s of CPU in %.2f s with idle connections" % (used, wall))

    def assert_serves(self, server):
        status, _, body = harness.http_request(server, "GET", "/health", timeout=10)
        self.assertEqual(status, 200, body)
        status, _, body = harness.events_call(server, "ListEventBuses")
        self.assertEqual(status, 200, body)
        self.assertIn("default", [b["Name"] for b in body["EventBuses"]])


class FdLimitTest(FdLimitCase):
    def test_soft_limit_raised_to_hard(self):
        server = self.start(256, 4096)
        self.assertEqual(nofile_limits(server.pid), (4096, 4096))

    def test_out_of_descriptors_keeps_serving_and_stays_idle(self):
        # 300 idle connections against 256 descriptors (RocksDB, the log and the listener use
        # some of them): accept() hits EMFILE while more connections wait.
        server = self.start(256, 256)
        self.assertEqual(nofile_limits(server.pid), (256, 256))
        idle = self.hold(open_idle(server.port, 300))
        # Give the server time to take in (and evict) what it can.
        time.sleep(1.0)
        self.assert_idle_cpu(server)
        self.assert_serves(server)
        # The oldest idle connections were closed to make room.
        harness.wait_until(lambda: closed_by_peer(idle[0]), 10,
                           message="the oldest idle connection was not evicted")
        # Still serving after the burst, and still idle.
        self.assert_serves(server)
        self.assert_idle_cpu(server)
        self.assertTrue(server.running())
        self.assertTrue(any(r.get("msg") == "accept failed; backing off"
                            for r in server.log_records()), server.log_text()[-2000:])

    def test_max_client_connections_evicts_the_longest_idle(self):
        server = self.start(4096, 4096, ("--max-client-connections", "20"))
        idle = self.hold(open_idle(server.port, 40))

        def evicted():
            return sum(closed_by_peer(s) for s in idle) >= 20

        harness.wait_until(evicted, 15, interval=0.1,
                           message="connections beyond the bound of 20 were not evicted")
        # Oldest first: the newest connection is still open.
        self.assertFalse(closed_by_peer(idle[-1]))
        self.assert_serves(server)
        self.assert_idle_cpu(server)

    def test_busy_connection_is_not_evicted(self):
        # A connection in the middle of a request (an SQS long poll) is not idle: with the bound
        # reached and nothing idle, a newcomer is closed instead.
        server = self.start(4096, 4096, ("--max-client-connections", "2"))
        sqs_headers = {"Content-Type": "application/x-amz-json-1.0"}
        status, _, body = harness.http_request(
            server, "POST", "/", json.dumps({"QueueName": "fd-busy"}),
            dict(sqs_headers, **{"X-Amz-Target": "AmazonSQS.CreateQueue"}))
        self.assertEqual(status, 200, body)
        url = json.loads(body)["QueueUrl"]
        poll = json.dumps({"QueueUrl": url, "WaitTimeSeconds": 8}).encode()
        request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
                   b"X-Amz-Target: AmazonSQS.ReceiveMessage\r\nContent-Length: %d\r\n\r\n%s"
                   % (len(poll), poll))
        pollers = []
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=15)
            s.sendall(request)
            pollers.append(s)
            time.sleep(0.5)  # let the server read the request: the connection is then busy
        self.hold(pollers)
        probe = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        self.hold([probe])
        probe.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = probe.recv(64)
        except ConnectionResetError:
            answer = b""
        self.assertEqual(answer, b"", "a third connection was served while two long polls held "
                                      "the bound of 2")
        for s in pollers:
            self.assertTrue(s.recv(64).startswith(b"HTTP/1.1 200"), "a long poll was cut off")
        self.assert_serves(server)


if __name__ == "__main__":
    unittest.main()
