#!/usr/bin/env python3
"""Recording HTTP/1.1 keep-alive sink for delivery tests (Python 3 standard library only).

Run as a program:
    python3 sink.py --port 0          # first stdout line: PORT=<n>
    python3 sink.py --port 0 --tls-cert cert.pem --tls-key key.pem    # HTTPS (HTTP/1.1)

Every request outside /_control/ is recorded (see Recorder.record) and answered with the next
scripted response, or with the default response once the script is used up. Every answer carries
`X-Sink-Connection-Id` and `X-Sink-Request-Seq` headers.

Control API (never recorded):
    POST /_control/script   body: [resp, ...] or {"responses": [...], "default": resp}
                            resp keys: status, body, headers {name: value}, retry_after,
                            delay_ms (wait before answering), reset (close the socket with an RST
                            and no response)
    POST /_control/default  body: resp (the answer once the script is used up; initially 200)
    GET  /_control/requests JSON list of recorded requests, oldest first
    GET  /_control/wait?n=N&timeout=S   waits until N requests are recorded (or S seconds),
                            returns {"count": c}
    POST /_control/reset    forget requests and script, default back to 200

As a module: `with Sink() as sink: ...` starts this file as a subprocess (see class Sink).
"""

import argparse
import base64
import itertools
import json
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_RESPONSE = {"status": 200, "body": ""}


class Recorder:
    """Thread-safe store of recorded requests and the response script."""

    def __init__(self):
        self.cond = threading.Condition()
        self.requests = []
        self.script = []
        self.default = dict(DEFAULT_RESPONSE)
        self.seq = itertools.count(1)

    def record(self, entry):
        with self.cond:
            entry["seq"] = next(self.seq)
            self.requests.append(entry)
            response = self.script.pop(0) if self.script else self.default
            self.cond.notify_all()
            return entry["seq"], response

    def wait(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return len(self.requests)

    def reset(self):
        with self.cond:
            self.requests = []
            self.script = []
            self.default = dict(DEFAULT_RESPONSE)


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    connection_ids = itertools.count(1)

    def version_string(self):
        return "bridgeport-sink"

    def setup(self):
        super().setup()
        self.connection_id = next(SinkHandler.connection_ids)

    def log_message(self, format, *args):  # noqa: A002 - quiet by default
        pass

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, body=b"", headers=None, content_type="application/json"):
        self.send_response(status)
        has_type = False
        for name, value in (headers or {}).items():
            has_type = has_type or name.lower() == "content-type"
            self.send_header(name, str(value))
        if body and not has_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _control(self, path, query, body):
        rec = self.server.recorder
        if path == "/_control/requests" and self.command == "GET":
            with rec.cond:
                data = json.dumps(rec.requests)
            return self._send(200, data.encode())
        if path == "/_control/wait" and self.command == "GET":
            n = int(query.get("n", ["1"])[0])
            timeout = float(query.get("timeout", ["10"])[0])
            return self._send(200, json.dumps({"count": rec.wait(n, timeout)}).encode())
        if path == "/_control/reset" and self.command == "POST":
            rec.reset()
            return self._send(200, b"{}")
        if path == "/_control/script" and self.command == "POST":
            spec = json.loads(body or b"[]")
            if isinstance(spec, list):
                spec = {"responses": spec}
            with rec.cond:
                rec.script = list(spec.get("responses", []))
                if "default" in spec:
                    rec.default = spec["default"]
            return self._send(200, b"{}")
        if path == "/_control/default" and self.command == "POST":
            with rec.cond:
                rec.default = json.loads(body or b"{}")
            return self._send(200, b"{}")
        return self._send(404, b'{"error":"unknown control path"}')

    def _handle(self):
        received_mono = time.monotonic()
        received_wall = time.time()
        parsed = urllib.parse.urlsplit(self.path)
        body = self._read_body()
        if parsed.path.startswith("/_control/"):
            return self._control(parsed.path, urllib.parse.parse_qs(parsed.query), body)
        seq, resp = self.server.recorder.record({
            "monotonic": received_mono,
            "wall": received_wall,
            "method": self.command,
            "path": parsed.path,
            "query": parsed.query,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", errors="replace"),
            "body_b64": base64.b64encode(body).decode(),
            "connection_id": self.connection_id,
            "client_port": self.client_address[1],
        })
        if resp.get("delay_ms"):
            time.sleep(resp["delay_ms"] / 1000.0)
        if resp.get("reset"):
            # SO_LINGER with zero timeout: close() sends an RST instead of a FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return None
        headers = dict(resp.get("headers") or {})
        if "retry_after" in resp:
            headers["Retry-After"] = resp["retry_after"]
        headers["X-Sink-Connection-Id"] = self.connection_id
        headers["X-Sink-Request-Seq"] = seq
        out = resp.get("body", "")
        out = out.encode() if isinstance(out, str) else json.dumps(out).encode()
        return self._send(int(resp.get("status", 200)), out, headers, "text/plain")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class SinkServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address):
        super().__init__(address, SinkHandler)
        self.recorder = Recorder()


class Sink:
    """Starts sink.py as a subprocess on 127.0.0.1 and talks to its control API."""

    def __init__(self, python=sys.executable, tls=None):
        """tls: optional (cert_pem_path, key_pem_path) to serve HTTPS; the cert is then trusted
        by the control calls made from here."""
        args = [python, __file__, "--port", "0"]
        if tls:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        self._context = ssl.create_default_context(cafile=tls[0]) if tls else None
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("PORT="):
            self.proc.kill()
            raise RuntimeError("sink did not start: %r" % line)
        self.port = int(line[5:])
        self.base = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)

    def url(self, path="/"):
        return self.base + path

    def _call(self, method, path, payload=None, timeout=30):
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=timeout, context=self._context) as resp:
            return json.loads(resp.read() or b"null")

    def requests(self):
        return self._call("GET", "/_control/requests")

    def script(self, responses, default=None):
        spec = {"responses": list(responses)}
        if default is not None:
            spec["default"] = default
        self._call("POST", "/_control/script", spec)

    def set_default(self, response):
        self._call("POST", "/_control/default", response)

    def reset(self):
        self._call("POST", "/_control/reset", {})

    def wait_for(self, n, timeout=10.0):
        """Waits until at least n requests are recorded; returns them (raises on timeout)."""
        count = self._call("GET", "/_control/wait?n=%d&timeout=%s" % (n, timeout),
                           timeout=timeout + 10)["count"]
        if count < n:
            raise TimeoutError("sink saw %d of %d requests within %ss" % (count, n, timeout))
        return self.requests()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    args = parser.parse_args()
    server = SinkServer((args.host, args.port))
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print("PORT=%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
