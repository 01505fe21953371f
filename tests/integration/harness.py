"""Shared harness for Bridgeport integration tests (Python 3 standard library + boto3/botocore).

Contract:
  * Every server is a child process started here and always stopped by PID (never by name).
    Servers still running at interpreter exit are killed (SIGKILL) by an atexit hook, so a
    failing or interrupted test never leaks a process. Use `addCleanup(server.close)` or the
    context-manager form in tests anyway.
  * Every wait is bounded: start-up (port line + /ready), stop (SIGTERM, then SIGKILL after 15 s),
    CLI runs (60 s), `wait_until`.
  * The binary is $BRIDGEPORT_BIN, default <repo>/BUILD/bridgeport.
  * The AWS CLI is $BRIDGEPORT_AWS_CLI, default `aws` on PATH; the Python running the tests is
    whichever runs this file (ctest uses $BRIDGEPORT_PYTHON if set). Tests must pass with the
    newest clients and with Debian 12's (boto3 1.26 / botocore 1.29, CLI v2 2.9): an API member
    or operation the client's model lacks goes through `call()` (SigV4-signed raw JSON), never
    silently dropped or skipped.

Typical use:
    server = harness.start_server()          # temp data dir, 127.0.0.1:0
    self.addCleanup(server.close)             # stop + remove the temp dir
    events = harness.client(server)          # boto3 "events" client, retries off
    out = harness.aws_cli(server, "events", "list-event-buses")
"""

import atexit
import http.client
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import pg  # BRIDGEPORT_TEST_BACKEND=postgres: servers run as cluster nodes (see pg.py)

try:
    import boto3
    import botocore.config
    import botocore.exceptions

    HAVE_BOTO3 = True
    BOTO3_IMPORT_ERROR = ""
except ImportError as _e:  # pragma: no cover - depends on the machine
    boto3 = None
    botocore = None
    HAVE_BOTO3 = False
    BOTO3_IMPORT_ERROR = str(_e)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGION = "us-east-1"
ACCOUNT = "000000000000"
DUMMY_KEY_ID = "AKIDEXAMPLE"
DUMMY_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
CLI_TIMEOUT = 60.0
LOG_NAME = "bridgeport-stderr.log"

_LISTEN_RE = re.compile(r"bridgeport listening on (\S+):(\d+)")
_live_servers = set()
_live_lock = threading.Lock()
_last_server = None


def bridgeport_bin():
    """Path of the server binary under test ($BRIDGEPORT_BIN or <repo>/BUILD/bridgeport)."""
    return os.environ.get("BRIDGEPORT_BIN") or os.path.join(REPO_ROOT, "BUILD", "bridgeport")


def require_boto3():
    """Raises unittest.SkipTest when boto3/botocore cannot be imported."""
    if not HAVE_BOTO3:
        raise unittest.SkipTest("boto3/botocore not importable (%s); install python3-boto3 "
                                "(scripts/setup does)" % BOTO3_IMPORT_ERROR)


def aws_cli_path():
    """The AWS CLI under test: $BRIDGEPORT_AWS_CLI, else `aws` on PATH (None if neither)."""
    chosen = os.environ.get("BRIDGEPORT_AWS_CLI")
    if chosen:
        return shutil.which(chosen)
    return shutil.which("aws")


def have_aws_cli():
    return aws_cli_path() is not None


def require_aws_cli():
    """Raises unittest.SkipTest when the AWS CLI (see aws_cli_path) is not installed."""
    if aws_cli_path() is None:
        raise unittest.SkipTest("the aws CLI is not installed (pip install awscli / apt awscli)")


def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago (racy by nature; prefer :0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, interval=0.05, message=None):
    """Polls predicate() until it returns a truthy value, which is returned.

    Raises AssertionError after `timeout` seconds (the last exception raised by the predicate, if
    any, is chained)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last_exc = None
        except Exception as e:  # noqa: BLE001 - the predicate may fail while a server starts
            last_exc = e
        if time.monotonic() >= deadline:
            msg = message or "condition not met within %.1f s" % timeout
            if last_exc is not None:
                raise AssertionError("%s (last error: %r)" % (msg, last_exc)) from last_exc
            raise AssertionError(msg)
        time.sleep(interval)


def http_request(server_or_endpoint, method, path, body=None, headers=None, timeout=10.0):
    """One plain HTTP request; returns (status, {lower-case header: value}, body bytes)."""
    endpoint = getattr(server_or_endpoint, "endpoint", server_or_endpoint)
    parsed = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def events_call(server, operation, payload=None, headers=None):
    """Unsigned AWS JSON 1.1 call `AWSEvents.<operation>`; returns (status, headers, parsed body).

    Only works where unsigned requests are accepted (loopback without --require-signatures)."""
    h = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents." + operation}
    h.update(headers or {})
    body = json.dumps(payload if payload is not None else {})
    status, hdrs, data = http_request(server, "POST", "/", body, h)
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = data
    return status, hdrs, parsed


def _parse_labels(text):
    labels = {}
    for m in re.finditer(r'(\w+)="((?:[^"\\]|\\.)*)"', text or ""):
        labels[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\\\", "\\")
    return labels


def get_metrics(server):
    """GET /metrics parsed into a list of (name, {label: value}, float)."""
    status, _, data = http_request(server, "GET", "/metrics")
    if status != 200:
        raise AssertionError("/metrics answered %d" % status)
    out = []
    for line in data.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)", line)
        if m:
            out.append((m.group(1), _parse_labels(m.group(2)), float(m.group(3))))
    return out


def metric(server, name, **labels):
    """Sum of the samples of metric `name` whose labels include `labels` (0.0 if none)."""
    return sum(v for n, l, v in get_metrics(server)
               if n == name and all(l.get(k) == str(val) for k, val in labels.items()))


def _die_with_parent():
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux or no libc: the atexit hook still applies
        pass


class Server:
    """One bridgeport process (and its successors after restart()) on a fixed data dir."""

    def __init__(self, data_dir=None, extra_args=(), env=None, listen="127.0.0.1:0", binary=None,
                 preexec=None):
        """`preexec` (optional) runs in the child before exec, e.g. to set resource limits."""
        self.binary = binary or bridgeport_bin()
        self.preexec = preexec
        if not os.path.isfile(self.binary):
            raise RuntimeError("bridgeport binary not found at %s; build it or set BRIDGEPORT_BIN"
                               % self.binary)
        self._owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="bp-itest-")
        os.makedirs(self.data_dir, exist_ok=True)
        self.extra_args = list(extra_args)
        self.env = env
        self.listen = listen
        self.log_path = os.path.join(self.data_dir, LOG_NAME)
        self.proc = None
        self.port = None
        self.endpoint = None
        self.listen_host = None
        self.returncode = None

    # ---- lifecycle ----

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=START_TIMEOUT):
        """Spawns the binary, parses the port from its first stdout line, waits for /ready = 200."""
        global _last_server
        if self.running():
            raise RuntimeError("server already running (pid %d)" % self.pid)
        args = [self.binary, "serve", "--listen", self.listen, "--data-dir", self.data_dir]
        args += self.extra_args
        if "--postgres" not in self.extra_args:
            args += pg.server_args(self.data_dir)
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        log = open(self.log_path, "ab")
        try:
            log.write(("--- start %s ---\n" % " ".join(args)).encode())
            log.flush()
            # From the main thread the child also gets SIGTERM if this interpreter dies without
            # running atexit (e.g. SIGKILL from a test-runner timeout). PR_SET_PDEATHSIG fires
            # when the forking *thread* exits, so it is not used for starts from other threads.
            die = threading.current_thread() is threading.main_thread()
            user_preexec = self.preexec

            def preexec():
                if die:
                    _die_with_parent()
                if user_preexec is not None:
                    user_preexec()

            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, env=env,
                                         preexec_fn=preexec if (die or user_preexec) else None)
        finally:
            log.close()
        with _live_lock:
            _live_servers.add(self)
        try:
            line = self._read_first_line(timeout)
            m = _LISTEN_RE.search(line)
            if not m:
                raise RuntimeError("unexpected first stdout line %r" % line)
            self.listen_host = m.group(1)
            self.port = int(m.group(2))
            self.endpoint = "http://127.0.0.1:%d" % self.port
            threading.Thread(target=self._drain_stdout, args=(self.proc,), daemon=True).start()
            deadline = time.monotonic() + timeout
            while True:
                if not self.running():
                    raise RuntimeError("server exited with %s before /ready" % self.proc.returncode)
                try:
                    if http_request(self, "GET", "/ready", timeout=2.0)[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() >= deadline:
                    raise RuntimeError("/ready did not answer 200 within %.0f s" % timeout)
                time.sleep(0.05)
        except Exception as e:
            self._kill_hard()
            raise RuntimeError("bridgeport failed to start: %s\n--- stderr tail ---\n%s"
                               % (e, self.log_text()[-4000:])) from e
        _last_server = self
        return self

    def _read_first_line(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        try:
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("no 'listening' line on stdout within %.0f s" % timeout)
                if sel.select(min(left, 0.2)):
                    chunk = os.read(self.proc.stdout.fileno(), 4096)
                    if not chunk:
                        raise RuntimeError("stdout closed (exit code %s) before the port line"
                                           % self.proc.poll())
                    buf += chunk
        finally:
            sel.close()
        return buf.split(b"\n", 1)[0].decode(errors="replace")

    @staticmethod
    def _drain_stdout(proc):
        # Keeps the pipe from filling up if the server ever prints more than the port line.
        try:
            while proc.stdout.read(65536):
                pass
        except (OSError, ValueError):
            pass

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait up to `timeout` s, then SIGKILL. Returns the exit code (None if not run)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_hard()
        self._reap()
        return self.returncode

    def kill9(self):
        """SIGKILL now (simulates a crash); the data dir is kept for restart()."""
        self._kill_hard()
        return self.returncode

    def _kill_hard(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover - the kernel did not reap in time
            pass
        self._reap()

    def _reap(self):
        self.returncode = self.proc.poll()
        if self.proc.stdout:
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        self.proc = None
        with _live_lock:
            _live_servers.discard(self)

    def restart(self, timeout=START_TIMEOUT):
        """Stops (if running) and starts again on the same data dir; the port may change."""
        self.stop()
        return self.start(timeout=timeout)

    def close(self):
        """stop(), then remove the data dir if the harness created it."""
        self.stop()
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- logs ----

    def log_text(self):
        """Everything the server(s) on this data dir wrote to stderr so far."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_records(self):
        """stderr JSON-line records (non-JSON lines skipped)."""
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_log(self, predicate, timeout=10.0):
        """Waits until a stderr JSON record satisfies predicate(record) (or, for a str, a record's
        "msg" equals it); returns that record."""
        match = predicate if callable(predicate) else (lambda r: r.get("msg") == predicate)

        def find():
            for r in self.log_records():
                if match(r):
                    return r
            return None

        return wait_until(find, timeout, interval=0.1,
                          message="no matching log record within %.1f s" % timeout)

    def __repr__(self):
        return "Server(pid=%s, endpoint=%s, data_dir=%s)" % (self.pid, self.endpoint, self.data_dir)


def start_server(data_dir=None, extra_args=(), env=None, listen="127.0.0.1:0", timeout=START_TIMEOUT):
    """Starts bridgeport and returns a running Server (see Server.start)."""
    return Server(data_dir, extra_args, env, listen).start(timeout=timeout)


@atexit.register
def _kill_leftovers():
    with _live_lock:
        leftovers = list(_live_servers)
    for s in leftovers:
        s._kill_hard()
    if _cli_dir is not None:
        shutil.rmtree(_cli_dir, ignore_errors=True)


# ---- boto3 ----

def client(server, service="events", access_key=DUMMY_KEY_ID, secret_key=DUMMY_SECRET,
           region=REGION, **config_kwargs):
    """boto3 client for `server` with retries off and short timeouts."""
    require_boto3()
    cfg = dict(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5,
               read_timeout=30)
    cfg.update(config_kwargs)
    return boto3.client(service, endpoint_url=server.endpoint, region_name=region,
                        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        config=botocore.config.Config(**cfg))


def boto3_client(service="events", server=None, **kwargs):
    """client() with the argument order (service, server); server defaults to the last started."""
    return client(server or _last_server, service, **kwargs)


def error_code(exc):
    """AWS error code of a botocore ClientError."""
    return exc.response.get("Error", {}).get("Code")


def _model_supports(client_, operation, params, outputs):
    model = client_.meta.service_model
    if operation not in model.operation_names:
        return False
    op = model.operation_model(operation)
    inputs = op.input_shape.members if op.input_shape is not None else {}
    produced = op.output_shape.members if op.output_shape is not None else {}
    return all(k in inputs for k in params) and all(k in produced for k in outputs)


def _snake(operation):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def call(client_, operation, outputs=(), **params):
    """Calls `operation` (e.g. "CreateEventBus") with `params` through the boto3 client when its
    model has the operation, every top-level member in `params` and every top-level response
    member named in `outputs`; otherwise sends the same call as SigV4-signed AWS JSON with the
    client's endpoint, region and credentials (botocore's own signer), so that members newer than
    an old client's model still reach the server. Either way returns the response dict or raises
    botocore's ClientError (Error.Code/Message, ResponseMetadata.HTTPStatusCode)."""
    if _model_supports(client_, operation, params, outputs):
        return getattr(client_, _snake(operation))(**params)
    return raw_json_call(client_, operation, params)


def raw_json_call(client_, operation, params):
    """One SigV4-signed AWS JSON 1.1 (or 1.0) request for the client's service; see call()."""
    import botocore.auth
    import botocore.awsrequest

    model = client_.meta.service_model
    prefix = model.metadata.get("targetPrefix") or {"events": "AWSEvents", "sqs": "AmazonSQS"}[
        model.service_name]
    json_version = "1.0" if model.service_name == "sqs" else model.metadata.get("jsonVersion", "1.1")
    body = json.dumps(params).encode()
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=client_.meta.endpoint_url + "/", data=body,
        headers={"Content-Type": "application/x-amz-json-%s" % json_version,
                 "X-Amz-Target": "%s.%s" % (prefix, operation)})
    credentials = client_._request_signer._credentials
    botocore.auth.SigV4Auth(credentials, model.signing_name or model.endpoint_prefix,
                            client_.meta.region_name).add_auth(request)
    status, headers, data = http_request(client_.meta.endpoint_url, "POST", "/", body,
                                         dict(request.headers.items()), timeout=30.0)
    parsed = json.loads(data) if data else {}
    meta = {"HTTPStatusCode": status, "HTTPHeaders": headers,
            "RequestId": headers.get("x-amzn-requestid", "")}
    if status >= 300:
        code = (parsed.get("__type") or headers.get("x-amzn-errortype", "")).split("#")[-1]
        code = code.split(":")[0]
        message = parsed.get("message", parsed.get("Message", ""))
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": code, "Message": message}, "ResponseMetadata": meta}, operation)
    parsed["ResponseMetadata"] = meta
    return parsed


# ---- aws CLI ----

_cli_dir = None
_cli_lock = threading.Lock()
_cli_major = {}
_cli_skeletons = {}


def aws_cli_major():
    """Major version of the CLI under test (1 or 2), from `aws --version`."""
    path = aws_cli_path()
    with _cli_lock:
        if path not in _cli_major:
            out = subprocess.run([path, "--version"], capture_output=True, text=True,
                                 timeout=CLI_TIMEOUT, stdin=subprocess.DEVNULL,
                                 env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
            m = re.search(r"aws-cli/(\d+)\.", out.stdout + out.stderr)
            _cli_major[path] = int(m.group(1)) if m else 1
        return _cli_major[path]


def _cli_files():
    global _cli_dir
    major = aws_cli_major()
    with _cli_lock:
        if _cli_dir is None:
            _cli_dir = tempfile.mkdtemp(prefix="bp-itest-cli-")
            with open(os.path.join(_cli_dir, "config"), "w") as f:
                f.write("[default]\nregion = %s\noutput = json\n" % REGION)
                if major == 1:
                    # Without cli_follow_urlparam=false the v1 CLI fetches any parameter value
                    # that starts with http:// or https:// (e.g. an InvocationEndpoint). v2 never
                    # does and has no such setting.
                    f.write("cli_follow_urlparam = false\n")
                else:
                    # v2 reads blob arguments as base64 by default; v1 passes them raw.
                    f.write("cli_binary_format = raw-in-base64-out\n")
            open(os.path.join(_cli_dir, "credentials"), "w").close()
        return os.path.join(_cli_dir, "config"), os.path.join(_cli_dir, "credentials")


def cli_env(access_key=DUMMY_KEY_ID, secret_key=DUMMY_SECRET):
    """Environment for running `aws` against a local server, isolated from the user's AWS setup.

    AWS_PAGER="" keeps v2 from piping output through `less`."""
    config, creds = _cli_files()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=creds,
               AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key,
               AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="",
               AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")
    return env


def cli_has_member(service, command, member):
    """Whether the CLI under test knows input member `member` (e.g. "Description") of
    `aws <service> <command>`, read from its own model via --generate-cli-skeleton."""
    require_aws_cli()
    key = (aws_cli_path(), service, command)
    with _cli_lock:
        cached = _cli_skeletons.get(key)
    if cached is None:
        out = subprocess.run([aws_cli_path(), service, command, "--generate-cli-skeleton"],
                             env=cli_env(), capture_output=True, text=True, timeout=CLI_TIMEOUT,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise AssertionError("aws %s %s --generate-cli-skeleton exited %d:\n%s"
                                 % (service, command, out.returncode, out.stderr))
        cached = set(json.loads(out.stdout))
        with _cli_lock:
            _cli_skeletons[key] = cached
    return member in cached


def aws_cli(server, *args, expect_error=False, timeout=CLI_TIMEOUT, env=None):
    """Runs `<cli> --endpoint-url <server> --region us-east-1 --output json <args...>`.

    Returns the parsed JSON output ({} for empty output, the raw text if not JSON). Raises
    AssertionError (with stderr) on a non-zero exit. With expect_error=True, a non-zero exit is
    required and (returncode, stderr) is returned.

    For compatibility, aws_cli([args...]) (a single list, no server) uses the server started last.
    """
    require_aws_cli()
    if isinstance(server, (list, tuple)):
        args = tuple(server) + args
        server = _last_server
        if server is None:
            raise RuntimeError("aws_cli([...]) without a server needs a started server")
    cmd = [aws_cli_path(), "--endpoint-url", server.endpoint, "--region", REGION, "--output", "json"]
    cmd += [str(a) for a in args]
    run_env = cli_env()
    if env:
        run_env.update(env)
    out = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout,
                         stdin=subprocess.DEVNULL)
    if expect_error:
        if out.returncode == 0:
            raise AssertionError("expected %s to fail, but it printed:\n%s" % (cmd, out.stdout))
        return out.returncode, out.stderr
    if out.returncode != 0:
        raise AssertionError("%s exited %d\nstderr:\n%s" % (" ".join(cmd), out.returncode, out.stderr))
    text = out.stdout.strip()
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text
