"""Throwaway PostgreSQL clusters for integration tests (cluster mode, `serve --postgres URL`).

Contract:
  * `PgCluster` runs initdb in a fresh temporary directory and starts the `postgres` server as a
    child process on a free 127.0.0.1 port (no Unix socket outside the temp dir, trust auth for
    the loopback user `bp`). It is stopped by its PID (SIGINT = fast shutdown, SIGKILL after a
    bound) and its directory removed. PostgreSQL refuses to run as root: when this process is
    root, initdb and postgres run as the `postgres` system user (Debian's package creates it) or
    $BRIDGEPORT_TEST_PG_USER, and the temp dir is handed to that user.
  * With BRIDGEPORT_TEST_BACKEND=postgres every `harness.Server` becomes a cluster node: one
    shared cluster per test process (started on first use, stopped at exit) and one database per
    server data dir, so a restarted server finds its state and tests stay isolated.
  * The binaries come from $BRIDGEPORT_PG_BIN or the newest /usr/lib/postgresql/*/bin.
"""

import atexit
import glob
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

BACKEND = os.environ.get("BRIDGEPORT_TEST_BACKEND", "embedded")
ENABLED = BACKEND == "postgres"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
USER = "bp"


def pg_bin_dir():
    explicit = os.environ.get("BRIDGEPORT_PG_BIN")
    if explicit:
        return explicit
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    return dirs[-1] if dirs else ""


def available():
    """True if initdb/postgres/psql exist (tests needing PostgreSQL skip otherwise)."""
    d = pg_bin_dir()
    return bool(d) and all(os.path.isfile(os.path.join(d, b)) for b in ("initdb", "postgres", "psql"))


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as():
    """(uid, gid) to drop to when running as root, else None."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("BRIDGEPORT_TEST_PG_USER", "postgres")
    try:
        pw = pwd.getpwnam(name)
    except KeyError as e:
        raise RuntimeError("running as root and there is no '%s' user to run PostgreSQL as; "
                           "install Debian's postgresql package or set "
                           "BRIDGEPORT_TEST_PG_USER" % name) from e
    return pw.pw_uid, pw.pw_gid


class PgCluster:
    """One throwaway PostgreSQL server (see module docstring)."""

    def __init__(self):
        self.bin = pg_bin_dir()
        self.ids = _run_as()
        self.dir = tempfile.mkdtemp(prefix="bp-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.port = _free_port()
        self.proc = None
        self._lock = threading.Lock()
        self._databases = set()
        if self.ids:
            os.chown(self.dir, *self.ids)
        self._initdb()

    def _preexec(self):
        if self.ids:
            os.setgid(self.ids[1])
            os.setgroups([])
            os.setuid(self.ids[0])

    def _initdb(self):
        out = subprocess.run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", USER,
                              "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
                             capture_output=True, text=True, timeout=120,
                             preexec_fn=self._preexec, cwd=self.dir)
        if out.returncode != 0:
            raise RuntimeError("initdb failed:\n%s\n%s" % (out.stdout, out.stderr))

    def start(self):
        """Starts postgres (again, after stop()) on the same port and waits until it accepts."""
        if self.running():
            return self
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + self.dir,
                 "-c", "max_connections=300", "-c", "shared_buffers=32MB",
                 "-c", "fsync=on", "-c", "synchronous_commit=on"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=self._preexec,
                cwd=self.dir)
        finally:
            log.close()
        _live.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited with %s:\n%s" % (self.proc.returncode,
                                                                     self.log_tail()))
            if self.psql("SELECT 1", check=False).returncode == 0:
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("postgres not accepting connections:\n%s" % self.log_tail())
            time.sleep(0.1)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, mode=signal.SIGINT):
        """Stops the server by PID (SIGINT: fast shutdown; SIGKILL after STOP_TIMEOUT)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, mode)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def close(self):
        self.stop()
        _live.discard(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-n:]
        except FileNotFoundError:
            return ""

    def psql(self, sql, database="postgres", check=True):
        out = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-h", "127.0.0.1",
                              "-p", str(self.port), "-U", USER, "-d", database,
                              "-v", "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        if check and out.returncode != 0:
            raise RuntimeError("psql %r failed: %s" % (sql, out.stderr))
        return out

    def url(self, database):
        return "postgresql://%s@127.0.0.1:%d/%s" % (USER, self.port, database)

    def database(self, name):
        """URL of database `name`, created on first use."""
        with self._lock:
            if name not in self._databases:
                exists = self.psql("SELECT 1 FROM pg_database WHERE datname = '%s'" % name).stdout
                if not exists.strip():
                    self.psql('CREATE DATABASE "%s"' % name)
                self._databases.add(name)
        return self.url(name)


_live = set()
_shared = None
_shared_lock = threading.Lock()


def shared_cluster():
    """The process-wide cluster used by BRIDGEPORT_TEST_BACKEND=postgres (started lazily)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PgCluster().start()
        elif not _shared.running():
            _shared.start()
        return _shared


def server_args(data_dir):
    """Extra `serve` flags for a server on `data_dir`: [] for the embedded store, else
    ["--postgres", URL] of a database named after the data dir."""
    if not ENABLED:
        return []
    name = "bp_" + hashlib.sha1(os.path.abspath(data_dir).encode()).hexdigest()[:16]
    return ["--postgres", shared_cluster().database(name)]


@atexit.register
def _stop_all():
    for c in list(_live):
        c.close()
