#!/usr/bin/env python3
"""Fake OAuth 2.0 token server (client-credentials grant) plus a token-protected sink.

Python 3 standard library only. Listens on 127.0.0.1 only.

    oauth_server.py --port 0 [--lifetime 3600] [--token-type Bearer]
                    [--client-id ID --client-secret SECRET] [--tls-cert PEM --tls-key PEM]

The first stdout line is ``PORT=<n>`` (flushed), so a test can start it with ``--port 0``.

Endpoints
  GET|POST|PUT /token          issue a token. The form comes from the body (POST/PUT,
                               application/x-www-form-urlencoded) or the query string (GET).
                               Client credentials: HTTP Basic (id and secret form-url-decoded,
                               RFC 6749 2.3.1) or client_id/client_secret form fields.
                               Checked only when an expected client id/secret is configured.
                               Answer: {"access_token", "token_type", "expires_in"}.
  ANY /protected/...           200 with a currently valid "Authorization: <token_type> <token>",
                               else 401 (WWW-Authenticate: Bearer). Every request is recorded.
  POST /_control/config        JSON object, any subset of:
                                 lifetime (s), token_type, client_id, client_secret,
                                 fail ("none"|"500"|"429"|"400"|"401"|"no_token"|"timeout"),
                                 fail_count (how many token requests fail; -1 = all, default),
                                 timeout_seconds (how long "timeout" stalls, default 10),
                                 grant_type (required value; null accepts any),
                                 omit_expires_in, omit_token_type (bools).
                               Returns the resulting config.
  GET  /_control/log           {"token_requests": [...], "protected_requests": [...]}; each entry
                               has time (epoch seconds), method, path, query, headers, body, status.
  POST /_control/reset         clears the logs and forgets every issued token (config kept).
  POST /_control/revoke        forgets every issued token (protected requests then get 401).
"""

import argparse
import base64
import binascii
import json
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.config = {
            "lifetime": args.lifetime,
            "token_type": args.token_type,
            "client_id": args.client_id,
            "client_secret": args.client_secret,
            "fail": "none",
            "fail_count": -1,
            "timeout_seconds": 10.0,
            "grant_type": "client_credentials",
            "omit_expires_in": False,
            "omit_token_type": False,
        }
        self.tokens = {}  # access_token -> monotonic expiry
        self.token_requests = []
        self.protected_requests = []

    def take_failure(self):
        """Returns the fail mode for this token request and consumes one failure."""
        with self.lock:
            mode = self.config["fail"]
            if mode == "none":
                return mode
            count = self.config["fail_count"]
            if count == 0:
                return "none"
            if count > 0:
                self.config["fail_count"] = count - 1
            return mode


STATE = None


def parse_basic(header):
    """(client_id, client_secret) from an HTTP Basic header, or None."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if ":" not in decoded:
        return None
    user, password = decoded.split(":", 1)
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOAuth/1.0"
    # Headers and body leave in one write; with Nagle on, each response would wait ~40 ms for
    # the client's delayed ACK.
    disable_nagle_algorithm = True
    wbufsize = -1

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    # ---- helpers -------------------------------------------------------------------------
    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_json(self, status, obj, extra_headers=None):
        data = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def record(self, kind, body, status, extra=None):
        parsed = urllib.parse.urlsplit(self.path)
        entry = {
            "time": time.time(),
            "method": self.command,
            "path": parsed.path,
            "query": urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", errors="replace"),
            "status": status,
        }
        if extra:
            entry.update(extra)
        with STATE.lock:
            getattr(STATE, kind).append(entry)

    # ---- dispatch ------------------------------------------------------------------------
    def dispatch(self):
        path = urllib.parse.urlsplit(self.path).path
        body = self.read_body()
        if path == "/token":
            return self.handle_token(body)
        if path == "/protected" or path.startswith("/protected/"):
            return self.handle_protected(body)
        if path == "/_control/config" and self.command == "POST":
            return self.handle_config(body)
        if path == "/_control/log" and self.command == "GET":
            with STATE.lock:
                log = {"token_requests": list(STATE.token_requests),
                       "protected_requests": list(STATE.protected_requests)}
            return self.send_json(200, log)
        if path == "/_control/reset" and self.command == "POST":
            with STATE.lock:
                STATE.token_requests.clear()
                STATE.protected_requests.clear()
                STATE.tokens.clear()
            return self.send_json(200, {"ok": True})
        if path == "/_control/revoke" and self.command == "POST":
            with STATE.lock:
                STATE.tokens.clear()
            return self.send_json(200, {"ok": True})
        return self.send_json(404, {"error": "not_found"})

    do_GET = dispatch
    do_POST = dispatch
    do_PUT = dispatch
    do_DELETE = dispatch
    do_PATCH = dispatch
    do_HEAD = dispatch
    do_OPTIONS = dispatch

    def handle_config(self, body):
        try:
            update = json.loads(body or b"{}")
            if not isinstance(update, dict):
                raise ValueError("config must be a JSON object")
        except ValueError as e:
            return self.send_json(400, {"error": str(e)})
        with STATE.lock:
            for key, value in update.items():
                if key not in STATE.config:
                    return self.send_json(400, {"error": "unknown key " + key})
                STATE.config[key] = value
            if "fail" in update and "fail_count" not in update:
                STATE.config["fail_count"] = -1
            config = dict(STATE.config)
        return self.send_json(200, config)

    def handle_token(self, body):
        if self.command not in ("GET", "POST", "PUT"):
            return self.send_json(405, {"error": "method_not_allowed"})
        query = urllib.parse.urlsplit(self.path).query
        raw_form = query if self.command == "GET" else body.decode("utf-8", errors="replace")
        form = {k: v[-1] for k, v in
                urllib.parse.parse_qs(raw_form, keep_blank_values=True).items()}
        with STATE.lock:
            config = dict(STATE.config)

        basic = parse_basic(self.headers.get("Authorization"))
        if basic is not None:
            auth_method, client_id, client_secret = "basic", basic[0], basic[1]
        elif "client_id" in form:
            auth_method, client_id, client_secret = "body", form["client_id"], form.get(
                "client_secret", "")
        else:
            auth_method, client_id, client_secret = None, None, None
        extra = {"form": form, "auth_method": auth_method, "client_id": client_id}

        def reply(status, obj):
            self.record("token_requests", body, status, extra)
            self.send_json(status, obj)

        mode = STATE.take_failure()
        if mode == "timeout":
            self.record("token_requests", body, 0, extra)
            time.sleep(float(config["timeout_seconds"]))
            self.close_connection = True
            return
        if mode == "500":
            return reply(500, {"error": "server_error"})
        if mode == "429":
            return reply(429, {"error": "slow_down"})
        if mode == "400":
            return reply(400, {"error": "invalid_request"})
        if mode == "401":
            return reply(401, {"error": "invalid_client"})

        if config["grant_type"] is not None and form.get("grant_type") != config["grant_type"]:
            return reply(400, {"error": "unsupported_grant_type"})
        if config["client_id"] or config["client_secret"]:
            if client_id != config["client_id"] or client_secret != config["client_secret"]:
                return reply(401, {"error": "invalid_client"})

        if mode == "no_token":
            return reply(200, {"token_type": config["token_type"],
                               "expires_in": config["lifetime"]})
        token = secrets.token_hex(16)
        with STATE.lock:
            STATE.tokens[token] = time.monotonic() + float(config["lifetime"])
        answer = {"access_token": token}
        if not config["omit_token_type"]:
            answer["token_type"] = config["token_type"]
        if not config["omit_expires_in"]:
            answer["expires_in"] = config["lifetime"]
        extra["issued"] = token
        return reply(200, answer)

    def handle_protected(self, body):
        header = self.headers.get("Authorization") or ""
        with STATE.lock:
            token_type = STATE.config["token_type"]
        scheme, _, token = header.partition(" ")
        valid = False
        if scheme.lower() == str(token_type).lower() and token:
            with STATE.lock:
                expiry = STATE.tokens.get(token)
                valid = expiry is not None and time.monotonic() < expiry
        status = 200 if valid else 401
        self.record("protected_requests", body, status, {"token": token or None})
        if valid:
            return self.send_json(200, {"ok": True})
        return self.send_json(401, {"message": "Unauthorized"},
                              {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def main():
    global STATE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=3600)
    parser.add_argument("--token-type", default="Bearer")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--client-secret", default="")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate chain")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    args = parser.parse_args()
    if args.lifetime == int(args.lifetime):
        args.lifetime = int(args.lifetime)
    STATE = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
