"""proofs.py - what the proof tests share on top of tests/e2e/fwe2e.py: a
`framewright serve` that can be stopped and started again on the same data
folder and database, the stores to run on, a tiny template of our own, the
other services' stubs, a real S3 server (tests/storage/s3/start.sh) with
SigV4-signed requests made here, and reading everything the service keeps
(data folder, SQLite file, PostgreSQL tables) as bytes to search."""

import base64
import datetime
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

for _base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
    if _base:
        sys.path.insert(0, os.path.join(_base, "framewright", "tests", "e2e"))

import fwe2e  # noqa: E402

fwe2e.stubs_on_path()
from proto import batch_pb2, batch_pb2_grpc, secret_pb2, secret_pb2_grpc  # noqa: E402,F401


# ---- stores -------------------------------------------------------------------------------------

def stores():
    """(label, database URL or None, closer) for each store: SQLite always,
    PostgreSQL in a fresh database when FW_TEST_PG_URL is set."""
    yield "sqlite", None
    admin = os.environ.get("FW_TEST_PG_URL")
    if not admin:
        print("skip postgres: FW_TEST_PG_URL is not set", flush=True)
        return
    db = fwe2e.FreshDatabase(admin, prefix="fwproof_")
    try:
        yield "postgres", db.url
    finally:
        try:
            db.close()
        except RuntimeError as e:
            print(e, flush=True)


def psql_text(url, sql):
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql], capture_output=True,
                       timeout=120)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql, r.stderr.decode("utf-8", "replace")))
    return r.stdout


# ---- a server that can be restarted -------------------------------------------------------------

class Serve:
    """`framewright serve` on OS-chosen ports over a data folder (and
    database) that outlive it: stop() then start() again is a restart."""

    def __init__(self, workers=1, database=None, env=None, name="serve"):
        self.data = fwe2e.tmpdir("fw-proof-data-")
        self.database = database
        self.workers = workers
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.name = name
        self.runs = []  # every Proc, for the logs
        self.key = None
        self.proc = None
        self.start()

    def start(self):
        argv = [fwe2e.framewright_bin(), "serve", "--data", self.data, "--grpc", "127.0.0.1:0", "--http",
                "127.0.0.1:0", "--api", "off", "--workers", str(self.workers)]
        if self.database:
            argv += ["--database", self.database]
        self.proc = fwe2e.Proc(argv, "%s#%d" % (self.name, len(self.runs) + 1), env=self.env)
        self.runs.append(self.proc)
        i, m = self.proc.wait_line(r"serving gRPC on ([0-9.]+):(\d+).*HTTP on (\S+?),", 60)
        if m is None:
            self.proc.stop(5)
            raise RuntimeError("framewright serve did not start; its output:\n" + "\n".join(self.proc.lines))
        self.grpc = "%s:%s" % (m.group(1), m.group(2))
        self.http = m.group(3)
        if self.key is None:
            j, _ = self.proc.wait_line(r"a first API key", 10, i)
            if j is not None:
                _, km = self.proc.wait_line(r"^(fw_\w+)\s*$", 10, j)
                self.key = km.group(1) if km else None
            if self.key is None:
                self.key = self.new_key("default")
        return self

    def stop(self, timeout=30):
        return self.proc.stop(timeout)

    @property
    def pid(self):
        return self.proc.pid

    def data_args(self):
        return ["--data", self.data] + (["--database", self.database] if self.database else [])

    def cli(self, *args):
        r = subprocess.run([fwe2e.framewright_bin()] + list(args) + self.data_args(), capture_output=True, text=True,
                           timeout=60, env=self.env)
        if r.returncode != 0:
            raise RuntimeError("framewright %s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout,
                                                                     r.stderr))
        return r.stdout

    def new_key(self, team):
        return self.cli("keys", "create", "--team", team).strip().splitlines()[-1].strip()

    def webhook_secret(self, team="default"):
        return self.cli("keys", "webhook-secret", "--team", team).strip().splitlines()[-1].strip()

    def log_lines(self):
        """Every line every run of the server (and its workers, whose output
        is the server's) printed."""
        out = []
        for p in self.runs:
            out.extend(p.lines)
        return out


class Recorder:
    """A client whose every answer is kept (as text and as the bytes on
    the wire), so a test can search all it was told."""

    def __init__(self, client):
        self.c = client
        self.answers = []
        self.batches = batch_pb2_grpc.BatchServiceStub(client.channel)
        self.secrets = secret_pb2_grpc.SecretServiceStub(client.channel)

    def keep(self, msg):
        self.answers.append(str(msg).encode() + b"\n" + msg.SerializeToString())
        return msg

    def keep_error(self, e):
        self.answers.append(("%s %s" % (e.code(), e.details())).encode())

    def call(self, fn, req, **kw):
        import grpc

        try:
            return self.keep(fn(req, metadata=self.c.md(), timeout=kw.get("timeout", 60)))
        except grpc.RpcError as e:
            self.keep_error(e)
            raise

    def stream(self, fn, req, timeout):
        return [self.keep(m) for m in fn(req, metadata=self.c.md(), timeout=timeout)]


# ---- a tiny template ----------------------------------------------------------------------------

def _ks(x, y, ax=0, ay=0):
    return {"o": {"a": 0, "k": 100}, "r": {"a": 0, "k": 0}, "p": {"a": 0, "k": [x, y, 0]},
            "a": {"a": 0, "k": [ax, ay, 0]}, "s": {"a": 0, "k": [100, 100, 100]}}


def tiny_template(size=64, frames=1):
    """size x size, `frames` frames at 25 fps: a shape layer 'logo' (a
    square of half the size in the middle, orange, 'Fill Color' replaceable)
    over a solid dark-blue layer 'bg'."""
    half = size / 2
    return json.dumps({
        "v": "5.7.4", "fr": 25, "ip": 0, "op": frames, "w": size, "h": size, "nm": "tiny", "ddd": 0, "assets": [],
        "layers": [
            {"ddd": 0, "ind": 1, "ty": 4, "nm": "logo", "sr": 1, "ks": _ks(half, half), "ao": 0,
             "shapes": [{"ty": "gr", "nm": "mark", "it": [
                 {"ty": "rc", "nm": "box", "d": 1, "s": {"a": 0, "k": [half, half]}, "p": {"a": 0, "k": [0, 0]},
                  "r": {"a": 0, "k": 0}},
                 {"ty": "fl", "nm": "fill", "c": {"a": 0, "k": [1, 0.416, 0, 1]}, "o": {"a": 0, "k": 100}, "r": 1},
                 {"ty": "tr", "p": {"a": 0, "k": [0, 0]}, "a": {"a": 0, "k": [0, 0]}, "s": {"a": 0, "k": [100, 100]},
                  "r": {"a": 0, "k": 0}, "o": {"a": 0, "k": 100}, "sk": {"a": 0, "k": 0}, "sa": {"a": 0, "k": 0}}]}],
             "ip": 0, "op": frames, "st": 0, "bm": 0},
            {"ddd": 0, "ind": 2, "ty": 1, "nm": "bg", "sr": 1, "ks": _ks(half, half, half, half), "ao": 0,
             "sw": size, "sh": size, "sc": "#1d2b53", "ip": 0, "op": frames, "st": 0, "bm": 0},
        ],
    }).encode()


def tiny_job(template_id, rgb=(0.16, 0.68, 0.98), **extra):
    """A still PNG of the tiny template with the logo's colour replaced."""
    body = {"template": {"id": template_id},
            "assets": [{"type": "data", "layerName": "logo", "property": "Fill Color", "value": list(rgb)}],
            "settings": {"type": "image", "frames": 0}}
    body.update(extra)
    return body


def pixel(data, x, y, suffix=".png"):
    """(r, g, b) at x, y of an image (a video's first frame), by ffmpeg."""
    d = fwe2e.tmpdir("fw-px-")
    path = os.path.join(d, "in" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-vf", "format=rgb24,crop=1:1:%d:%d" % (x, y),
                        "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=60)
    fwe2e.rmtree(d)
    if r.returncode != 0 or len(r.stdout) < 3:
        raise RuntimeError("ffmpeg: %s" % r.stderr.decode("utf-8", "replace"))
    return tuple(r.stdout[:3])


def near(a, b, tolerance=6):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


# ---- a real S3 server ---------------------------------------------------------------------------

class S3:
    """The S3-compatible test server of tests/storage/s3 (s3rver, which
    checks SigV4) on a free loopback port, accepting one key pair."""

    def __init__(self, key_id, secret):
        self.key_id, self.secret, self.region = key_id, secret, "us-east-1"
        self.state = fwe2e.tmpdir("fw-proof-s3-")
        self.script = fwe2e.runfile("tests/storage/s3/start.sh")
        env = dict(os.environ, FW_S3_OWNER_PID=str(os.getpid()))
        r = subprocess.run(["bash", self.script, "start", "0", key_id, secret, self.state], capture_output=True,
                           text=True, timeout=600, env=env)
        if r.returncode != 0:
            raise RuntimeError("start.sh start failed (%d): %s" % (r.returncode, r.stderr))
        self.endpoint = r.stdout.strip().splitlines()[-1]

    def stop(self):
        subprocess.run(["bash", self.script, "stop", self.state], capture_output=True, timeout=60)

    def kill(self):
        """SIGKILL the server; its objects stay in its state folder."""
        with open(os.path.join(self.state, "pid")) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGKILL)
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def restart(self):
        """Start it again after kill(), on the same port with the same objects."""
        port = urllib.parse.urlsplit(self.endpoint).port
        env = dict(os.environ, FW_S3_OWNER_PID=str(os.getpid()))
        for _ in range(50):
            r = subprocess.run(["bash", self.script, "start", str(port), self.key_id, self.secret, self.state],
                               capture_output=True, text=True, timeout=600, env=env)
            if r.returncode == 0:
                return
            time.sleep(0.2)  # the port not yet free
        raise RuntimeError("start.sh start failed again (%d): %s" % (r.returncode, r.stderr))

    def request(self, method, path, body=b"", query="", secret=None):
        """A path-style request signed with AWS Signature Version 4 (with
        the server's secret, or `secret`): (status, body)."""
        host = urllib.parse.urlsplit(self.endpoint).netloc
        now = datetime.datetime.now(datetime.timezone.utc)
        amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz}
        names = sorted(headers)
        canonical = "\n".join([method, urllib.parse.quote(path), query,
                               "".join("%s:%s\n" % (n, headers[n]) for n in names), ";".join(names), payload])
        scope = "%s/%s/s3/aws4_request" % (day, self.region)
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + (secret or self.secret)).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        send = {n: headers[n] for n in names if n != "host"}
        send["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
            self.key_id, scope, ";".join(names), signature)
        url = self.endpoint.rstrip("/") + urllib.parse.quote(path) + ("?" + query if query else "")
        req = urllib.request.Request(url, data=body if method in ("PUT", "POST") else None, method=method,
                                     headers=send)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def requests_log(self):
        try:
            with open(os.path.join(self.state, "requests.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


# ---- what the service keeps ---------------------------------------------------------------------

def needles(value):
    """The forms a secret value could be found in: as written, base64, hex."""
    v = value.encode()
    return [v, base64.b64encode(v), v.hex().encode()]


def files_under(root):
    """(path, bytes) of every file under root."""
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            try:
                with open(p, "rb") as f:
                    yield p, f.read()
            except OSError:
                pass


def store_dump(srv):
    """The whole store as bytes: each PostgreSQL table's rows as text, or
    the SQLite database files (with its -wal and -shm, which are in the data
    folder) read as they are on disk."""
    if not srv.database:
        out = []
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = os.path.join(srv.data, "framewright.db" + suffix)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out.append(("sqlite " + os.path.basename(p), f.read()))
        return out
    tables = psql_text(srv.database, "SELECT table_name FROM information_schema.tables "
                                     "WHERE table_schema = 'public' ORDER BY 1").decode().split()
    return [("table " + t, psql_text(srv.database, "SELECT t::text FROM %s t" % t)) for t in tables]
