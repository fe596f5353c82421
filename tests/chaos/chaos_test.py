"""chaos_test.py - Framewright as a farm of separate processes, killed at
random while it works:

 (a) a batch of JOBS jobs with webhooks goes in through the REST gateway
     while KILLS SIGKILLs, on a schedule drawn from a seed, hit the API
     server (`serve --workers 0`), two `framewright worker` processes, the
     gateway (`framewright-gateway`) and the PostgreSQL server; each victim is
     started again after a short delay, on the same ports. At the end every
     job is finished exactly once with a valid output, every webhook delivery
     reached the receiver (retries of a refused one under the same id), the
     storage folder holds the outputs of the finished jobs and nothing else,
     and the service still takes and renders a new job.
 (b) the disk fills during a job: the worker's scratch folder, then the
     storage's output folder, is a small tmpfs; the job ends in `error`
     saying so, leaves no file behind a URL or in storage, and the next job
     renders.

PostgreSQL is a private server the test starts itself (initdb and postgres
from Debian's postgresql package) so that it can kill it; the test is skipped
when those are not installed. The schedule comes from a fixed seed, printed
at the start; FW_CHAOS_SEED draws another, FW_CHAOS_JOBS and FW_CHAOS_KILLS
change the sizes."""

import atexit
import base64
import glob
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

for _base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
    if _base:
        sys.path.insert(0, os.path.join(_base, "framewright", "tests", "e2e"))
sys.path.insert(1, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "e2e"))

import fwe2e  # noqa: E402

SEED = int(os.environ.get("FW_CHAOS_SEED") or "1729")  # the schedule's seed
JOBS = int(os.environ.get("FW_CHAOS_JOBS", "200"))
KILLS = int(os.environ.get("FW_CHAOS_KILLS", "20"))
VICTIMS = ("server", "worker1", "worker2", "gateway", "postgres")
WIDTH, HEIGHT, FRAMES = 640, 360, 150  # each job: a 5 s H.264 clip, a fraction of a second to render
LEASE = 3                          # seconds: a killed worker's job is handed back this soon
GAP = (1.0, 4.0)                   # seconds between two kills, drawn from this range
DOWN = (0.2, 2.0)                  # seconds a victim stays down
REFUSED_FIRST = 0.25               # share of deliveries whose first attempt the receiver answers 500
WEBHOOK_RETRY_MS = 500             # the first retry's wait (then doubled)
START_WAIT = 60                    # seconds a (re)start may take, PostgreSQL's crash recovery included
SETTLE = 240                       # seconds the batch may take to end once the last kill is over
DELIVERY_WAIT = 150                # seconds the last webhooks may take after that (a claim lease is 70 s)

T = fwe2e.Checks()


_cleanups = []        # (fn, args, kwargs) to run when the test ends, last first
_fwe2e_on_signal = None


def on_exit(fn, *args, **kwargs):
    """fn(*args, **kwargs) when the test ends, by exit or by Bazel's SIGTERM
    at the timeout (fwe2e's handler for it ends the process without atexit),
    once every process of the test is killed."""
    global _fwe2e_on_signal
    _cleanups.append((fn, args, kwargs))
    if _fwe2e_on_signal is None:
        _fwe2e_on_signal = signal.getsignal(signal.SIGTERM)
        atexit.register(_clean_up)
        signal.signal(signal.SIGTERM, _clean_up_then_stop)
        signal.signal(signal.SIGINT, _clean_up_then_stop)


def _clean_up():
    fwe2e._kill_all()  # first: a tmpfs in use cannot be unmounted
    while _cleanups:
        fn, args, kwargs = _cleanups.pop()
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the others still run
            pass


def _clean_up_then_stop(sig, frame):
    _clean_up()
    _fwe2e_on_signal(sig, frame)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tool(name):
    """A system program, in PATH or in the sbin folders a test's PATH may lack."""
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or name


def child_env(extra=None):
    env = dict(os.environ)
    # Our own loopback receiver and file server: opened, never the whole policy.
    env.setdefault("FRAMEWRIGHT_URL_ALLOW", "127.0.0.0/8")
    env.setdefault("FRAMEWRIGHT_CACHE_MB", "0")  # every job rendered, none answered from an earlier one
    env.update(extra or {})
    return env


SANITIZER_REPORT = r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:"


# ---- processes that are killed and started again --------------------------------------------------

class Service:
    """One of the victims: a process started again after each kill with the
    same arguments (so on the same ports), every incarnation kept for the
    checks at the end."""

    def __init__(self, name, argv, ready, env=None):
        self.name = name
        self.argv = argv
        self.ready = ready
        self.env = env
        self.incarnations = []   # fwe2e.Proc, oldest first
        self.killed = set()      # pids we SIGKILLed
        self.failed_starts = 0   # starts that exited before they were ready (the store was down, say)
        self.unexpected = []     # (pid, returncode) of incarnations that ended on their own
        self.lock = threading.Lock()
        self.up = threading.Event()

    @property
    def proc(self):
        return self.incarnations[-1] if self.incarnations else None

    def start(self):
        """Start it and wait until it says it is ready, again while it exits
        before that (bounded)."""
        deadline = time.monotonic() + START_WAIT
        while True:
            p = fwe2e.Proc(self.argv, "%s#%d" % (self.name, len(self.incarnations) + 1), env=self.env)
            with self.lock:
                self.incarnations.append(p)
            _, m = p.wait_line(self.ready, max(1.0, deadline - time.monotonic()))
            if m is not None:
                self.up.set()
                return p
            if p.p.poll() is None:
                p.stop(5)
                raise RuntimeError("%s did not become ready within %d s" % (self.name, START_WAIT))
            self.failed_starts += 1
            if time.monotonic() > deadline:
                raise RuntimeError("%s kept exiting before it was ready" % self.name)
            time.sleep(0.5)

    def kill(self):
        p = self.proc
        self.up.clear()
        self.killed.add(p.pid)
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.p.wait()

    def poll_unexpected(self):
        """An incarnation that ended although nobody killed it (a crash):
        recorded, and started again so that the run can go on."""
        p = self.proc
        if p is None or not self.up.is_set() or p.p.poll() is None or p.pid in self.killed:
            return
        self.up.clear()
        self.unexpected.append((p.pid, p.p.returncode))
        print("!!! %s (pid %d) ended on its own with %s; starting it again" % (self.name, p.pid, p.p.returncode),
              flush=True)
        self.start()

    def stop(self):
        """SIGTERM the current incarnation: its exit status."""
        p = self.proc
        self.up.clear()
        return p.stop(30) if p else None

    def lines(self, pattern):
        return [line for p in self.incarnations for line in p.log_has(pattern)]


class Postgres(Service):
    """A private PostgreSQL server in a folder of its own, on a loopback port
    (or on `listen`, letting in the clients of the `trust` network, a CIDR
    block). Killing it is SIGKILL of the postmaster: its backends notice and
    exit, and the next start runs crash recovery."""

    def __init__(self, bindir, listen="127.0.0.1", trust=None):
        # Under /tmp, not the test's folder: the server runs as the postgres
        # user (it refuses root) and must be able to reach its folder.
        self.dir = tempfile.mkdtemp(prefix="fw-chaos-pg-", dir="/tmp")
        on_exit(shutil.rmtree, self.dir, True)
        run = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            run = [tool("runuser"), "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        r = subprocess.run(run + [os.path.join(bindir, "initdb"), "-D", self.data, "-A", "trust", "-U", "fw",
                                  "-E", "UTF8"], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: %s%s" % (r.stdout, r.stderr))
        if trust:
            with open(os.path.join(self.data, "pg_hba.conf"), "a") as f:
                f.write("host all all %s trust\n" % trust)
        self.port = free_port()
        super().__init__("postgres", run + [os.path.join(bindir, "postgres"), "-D", self.data, "-p", str(self.port),
                                            "-k", self.dir, "-c", "listen_addresses=" + listen, "-c", "fsync=off",
                                            "-c", "max_connections=200"],
                         r"database system is ready to accept connections")
        self.admin_url = "postgresql://fw@%s:%d/postgres" % (listen, self.port)

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def kill(self):
        self.up.clear()
        pid = self.postmaster_pid()
        self.killed.add(self.proc.pid)
        os.kill(pid, signal.SIGKILL)
        self.proc.p.wait()  # runuser (or the postmaster itself) is gone with it

    def stop(self):
        p = self.proc
        self.up.clear()
        if p is None:
            return None
        try:
            os.kill(self.postmaster_pid(), signal.SIGINT)  # fast shutdown
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
        try:
            p.p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
        return p.p.wait()


def pg_bindir():
    """The newest PostgreSQL server's programs (as tests/postgres.sh finds them), or None."""
    def version(d):
        return [int(x) for x in d.split("/")[-2].split(".") if x.isdigit()]

    dirs = [d for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
            if all(os.path.exists(os.path.join(d, p)) for p in ("initdb", "postgres"))]
    return dirs[-1] if dirs else None


def sql_rows(url, sql):
    """Rows of a query, as lists of text."""
    r = subprocess.run([tool("psql"), url, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql, r.stderr))
    return [line.split("\t") for line in r.stdout.splitlines() if line]


# ---- the webhook receiver -------------------------------------------------------------------------

class Receiver:
    """An HTTP server that records every webhook call and answers 500 to a
    seeded share of first attempts, so that the notifier retries."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.calls = []         # dicts: id, event, job, status, signature_ok
        self.secret = None      # the team's signing secret, once known
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status = receiver.record(self.headers, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, headers, body):
        """Keep the call; the status to answer it with."""
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        call = {"id": headers.get("webhook-id", ""), "event": doc.get("event"), "job": doc.get("id"),
                "status": 204, "signature_ok": self.signature_ok(headers, body)}
        with self.lock:
            first = not any(c["id"] == call["id"] for c in self.calls)
            if first and self.rng.random() < REFUSED_FIRST:
                call["status"] = 500
            self.calls.append(call)
        return call["status"]

    def signature_ok(self, headers, body):
        """Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body))."""
        if not self.secret:
            return None
        key = base64.b64decode(self.secret[len("whsec_"):])
        message = ("%s.%s." % (headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""))).encode() + body
        want = "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return want in (headers.get("webhook-signature") or "").split(" ")

    def snapshot(self):
        with self.lock:
            return [dict(c) for c in self.calls]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- a REST client that waits out the service's outages -------------------------------------------

class Down(Exception):
    """The gateway or the server behind it did not answer (yet)."""


class Rest:
    """Calls to /api/v2 through the gateway. An answer of 502/503/504 or no
    connection at all is the service being down: calls are tried again until
    their deadline (the loop is bounded); other statuses are returned."""

    def __init__(self, base, key):
        self.base = base
        self.key = key
        self.retries = 0

    def once(self, method, path, body=None, timeout=30, idempotency_key=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("authorization", "Bearer " + self.key)
        if idempotency_key:
            req.add_header("idempotency-key", idempotency_key)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            if e.code in (502, 503, 504):
                raise Down("HTTP %d" % e.code)
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text.decode("utf-8", "replace")
        except (urllib.error.URLError, ConnectionError, socket.timeout, http.client.HTTPException) as e:
            raise Down(str(e))

    def call(self, method, path, body=None, deadline=120):
        end = time.monotonic() + deadline
        while True:
            try:
                return self.once(method, path, body)
            except Down as e:
                if time.monotonic() > end:
                    raise RuntimeError("%s %s: the service stayed down for %d s (%s)" % (method, path, deadline, e))
                self.retries += 1
                time.sleep(0.25)


def submit_batch(rest, jobs, deadline=180):
    """POST /batches with an Idempotency-Key, sent again with the same key
    while the service is down: a try whose answer was lost but which was
    stored answers the same batch again, and no second batch is made."""
    end = time.monotonic() + deadline
    key = "chaos-batch-%d" % random.getrandbits(48)
    tries = 0
    while True:
        tries += 1
        try:
            st, created = rest.once("POST", "/api/v2/batches", {"jobs": jobs}, timeout=120, idempotency_key=key)
        except Down as e:
            if time.monotonic() > end:
                raise RuntimeError("the batch could not be sent for %d s (%s)" % (deadline, e))
            rest.retries += 1
            time.sleep(0.25)
            continue
        if st != 201:
            raise RuntimeError("POST /batches answered %s: %s" % (st, created))
        return created["batchId"], {j["id"]: j.get("outputUrl") for j in created.get("jobs", [])}, tries


# ---- (a) the chaos run ------------------------------------------------------------------------------

def draw_schedule(seed):
    """KILLS kills, as evenly as possible over the victims, in a seeded order:
    (seconds after the batch is sent, victim, seconds it stays down)."""
    rng = random.Random(seed)
    victims = [VICTIMS[i % len(VICTIMS)] for i in range(KILLS)]
    rng.shuffle(victims)
    at, plan = 0.0, []
    for v in victims:
        at += rng.uniform(*GAP)
        plan.append((round(at, 2), v, round(rng.uniform(*DOWN), 2)))
    return plan


class Chaos:
    """Runs the schedule in a thread: each kill, then the victim's restart
    in a thread of its own after its delay, so outages may overlap."""

    def __init__(self, services, plan, t0):
        self.services = services
        self.plan = plan
        self.t0 = t0
        self.done = threading.Event()
        self.errors = []
        self.downtime = {name: [] for name in services}
        self.restarts = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _restart(self, svc, delay, killed_at):
        try:
            time.sleep(delay)
            svc.start()
            self.downtime[svc.name].append(time.monotonic() - killed_at)
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            self.errors.append("%s: %s" % (svc.name, e))

    def _run(self):
        try:
            for n, (at, name, delay) in enumerate(self.plan, 1):
                while time.monotonic() < self.t0 + at:
                    for s in self.services.values():
                        if s.up.is_set():
                            s.poll_unexpected()
                    time.sleep(0.05)
                svc = self.services[name]
                # A victim still down from its last kill is killed again once it is back.
                for r in self.restarts:
                    if r[0] is svc:
                        r[1].join()
                killed_at = time.monotonic()
                svc.kill()
                print(">>> kill %d/%d at %.1f s: %s (down %.2f s)" % (n, len(self.plan), killed_at - self.t0, name,
                                                                     delay), flush=True)
                th = threading.Thread(target=self._restart, args=(svc, delay, killed_at), daemon=True)
                self.restarts.append((svc, th))
                th.start()
            for _, th in self.restarts:
                th.join()
        except Exception as e:  # noqa: BLE001
            self.errors.append("schedule: %s" % e)
        finally:
            self.done.set()


def job_body(template_id, receiver, i):
    return {"template": {"id": template_id},
            "settings": {"type": "video", "codec": "video_h264_vbr_1mbps"},
            "webhook": {"url": receiver.url, "data": {"n": i}}}


def wait_batch(rest, batch_id, chaos, deadline):
    """GET /batches/{id} until every job has ended and the schedule is over
    (bounded); the last batch seen."""
    last_print = 0
    batch = None
    end = None
    while True:
        st, got = rest.call("GET", "/api/v2/batches/%s" % batch_id, deadline=SETTLE)
        if st == 200:
            batch = got
        counts = (batch or {}).get("counts", {})
        ended = sum(counts.get(s, 0) for s in ("finished", "error", "manually_cancelled"))
        now = time.monotonic()
        if now - last_print > 5:
            print("... batch: %s" % json.dumps(counts, sort_keys=True), flush=True)
            last_print = now
        if chaos.done.is_set():
            if ended >= JOBS:
                return batch
            end = end or now + deadline
            if now > end:
                return batch
        time.sleep(0.5)


def output_files(data):
    """Files under the storage's outputs folder, relative to it."""
    root = os.path.join(data, "blobs", "outputs")
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root) for n in names]
    return sorted(out)


def check_outputs(urls):
    """Fetch and probe every output: (good, problems)."""
    good, problems = 0, []
    for job_id, url in sorted(urls.items()):
        try:
            code, body = fwe2e.fetch(url)
            info = fwe2e.ffprobe(body)
        except Exception as e:  # noqa: BLE001
            problems.append((job_id, str(e)))
            continue
        if (code, info.get("codec"), info.get("width"), info.get("height"), info.get("frames")) == \
                (200, "h264", WIDTH, HEIGHT, FRAMES):
            good += 1
        else:
            problems.append((job_id, code, info))
    return good, problems


class Farm:
    """The processes of (a), each a Service: a private PostgreSQL server,
    the API server with no workers of its own, two workers and the REST
    gateway, on loopback ports picked once and kept across restarts."""

    def __init__(self, bindir, max_attempts):
        self.pg = Postgres(bindir)
        self.max_attempts = max_attempts
        self.services = {"postgres": self.pg}
        self.data = fwe2e.tmpdir("fw-chaos-")
        self.db = fwe2e.with_database(self.pg.admin_url, "fwchaos")
        self.grpc_port, self.http_port, self.api_port = free_port(), free_port(), free_port()
        self.store_args = ["--data", self.data, "--database", self.db]
        self.key = None

    def start(self):
        fw = fwe2e.framewright_bin()
        store = self.store_args + ["--lease-seconds", str(LEASE)]
        attempts = {"FRAMEWRIGHT_MAX_ATTEMPTS": str(self.max_attempts)}
        self.pg.start()
        fwe2e.psql(self.pg.admin_url, "CREATE DATABASE fwchaos")
        server = self.add(Service("server", [fw, "serve"] + store + [
            "--grpc", "127.0.0.1:%d" % self.grpc_port, "--http", "127.0.0.1:%d" % self.http_port,
            "--api", "off", "--workers", "0"], r"serving gRPC on",
            env=child_env(dict(attempts, FRAMEWRIGHT_WEBHOOK_RETRY_BASE_MS=str(WEBHOOK_RETRY_MS)))))
        server.start()
        _, m = server.proc.wait_line(r"^(fw_\w+)\s*$", 10)
        T.check("(a) the server prints a first API key", m is not None)
        self.key = m.group(1) if m else None
        for n in (1, 2):
            self.add(Service("worker%d" % n, [fw, "worker"] + store, r"takes jobs from the postgres store",
                             env=child_env(attempts))).start()
        self.add(Service("gateway", [fwe2e.runfile("gateway/framewright-gateway"), "--grpc",
                                     "127.0.0.1:%d" % self.grpc_port, "--listen", "127.0.0.1:%d" % self.api_port],
                         r"serving /api/v2 on", env=child_env())).start()

    def add(self, service):
        self.services[service.name] = service
        return service

    def webhook_secret(self):
        r = subprocess.run([fwe2e.framewright_bin(), "keys", "webhook-secret", "--team", "default"] + self.store_args,
                           capture_output=True, text=True, timeout=60, env=child_env())
        lines = r.stdout.strip().splitlines()
        return lines[-1] if r.returncode == 0 and lines else None

    def stop(self):
        for name in ("gateway", "worker1", "worker2", "server"):
            svc = self.services.get(name)
            if svc and svc.proc and svc.proc.p.poll() is None:
                rc = svc.stop()
                T.check("(a) %s stops cleanly on SIGTERM" % name, rc == 0, rc)
        self.pg.stop()


def wait_deliveries(receiver, urls):
    """Until the receiver has answered a job.finished of every job 2xx
    (bounded: the last may wait out the claim lease of a notifier killed
    mid-call)."""
    end = time.monotonic() + DELIVERY_WAIT
    while time.monotonic() < end:
        done = {c["job"] for c in receiver.snapshot() if c["event"] == "job.finished" and c["status"] == 204}
        if set(urls) <= done:
            return
        time.sleep(0.5)


def check_jobs(farm, batch, batch_id, urls):
    """Every job finished, once. The jobs by their number of attempts."""
    counts = (batch or {}).get("counts", {})
    T.check("(a) every job of the batch is finished", counts.get("finished") == JOBS, counts)
    statuses = {j["id"]: j["status"] for j in (batch or {}).get("jobs", [])}
    T.check("(a) GetBatch lists the %d jobs sent" % JOBS, set(statuses) == set(urls),
            (len(statuses), len(set(statuses) - set(urls)), len(set(urls) - set(statuses))))
    not_done = {i: s for i, s in statuses.items() if s != "finished"}
    T.check("(a) no job ended other than finished", not not_done, not_done)
    # Once: one "finished" line from the workers (all their incarnations) per job.
    finished = {}
    for name in ("worker1", "worker2"):
        for line in farm.services[name].lines(r"job=\w+\] finished:"):
            job_id = line.split("job=", 1)[1].split("]", 1)[0]
            finished[job_id] = finished.get(job_id, 0) + 1
    twice = {j: n for j, n in finished.items() if n != 1}
    T.check("(a) every job was completed by a worker exactly once", set(finished) == set(urls) and not twice,
            (len(finished), twice, sorted(set(urls) - set(finished))[:5]))
    batches = sql_rows(farm.db, "SELECT id FROM batches")
    T.check("(a) the store holds the one batch sent (its POST carried an Idempotency-Key)",
            [r[0] for r in batches] == [batch_id], batches)
    rows = sql_rows(farm.db, "SELECT id, status, attempts FROM jobs WHERE batch_id = '%s'" % batch_id)
    T.check("(a) the store: %d finished rows" % JOBS, sum(1 for r in rows if r[1] == "finished") == JOBS,
            len(rows))
    spread = {}
    for r in rows:
        spread[int(r[2])] = spread.get(int(r[2]), 0) + 1
    # Only a dead worker's job goes to another: a live one keeps its lease
    # through outages of the store and of the server (its reaper).
    lost = [line for name in ("worker1", "worker2")
            for line in farm.services[name].lines(r"the lease was lost|no longer holds job \w+: it is (queued|render)")]
    T.check("(a) no live worker lost its job's lease", not lost, lost[:5])
    return spread


def check_webhooks(farm, receiver, urls):
    """Each job's job.finished went out under one delivery id, which reached
    the receiver and was answered 2xx; a refused call was retried under the
    same id. The figures of the deliveries."""
    outbox = sql_rows(farm.db, "SELECT id, job_id, event, status FROM webhook_outbox")
    per_job = {}
    for o in outbox:
        per_job.setdefault(o[1], []).append(o[2])
    T.check("(a) the store: one job.finished delivery per job, no other event",
            set(per_job) == set(urls) and all(v == ["job.finished"] for v in per_job.values()),
            {j: v for j, v in per_job.items() if v != ["job.finished"]})
    T.check("(a) the store: every delivery is delivered", all(o[3] == "delivered" for o in outbox),
            [o for o in outbox if o[3] != "delivered"][:5])

    calls = receiver.snapshot()
    by_id = {}
    for call in calls:
        by_id.setdefault(call["id"], []).append(call)
    outbox_ids = {o[0] for o in outbox}
    T.check("(a) every delivery id of the outbox reached the receiver", outbox_ids <= set(by_id),
            sorted(outbox_ids - set(by_id))[:5])
    T.check("(a) the receiver saw no delivery id the outbox does not have", set(by_id) <= outbox_ids,
            sorted(set(by_id) - outbox_ids)[:5])
    T.check("(a) every delivery id was answered 2xx at least once",
            all(any(c["status"] == 204 for c in cs) for cs in by_id.values()),
            [i for i, cs in by_id.items() if not any(c["status"] == 204 for c in cs)][:5])
    T.check("(a) the calls of one delivery id are one job and one event",
            all(len({(c["job"], c["event"]) for c in cs}) == 1 for cs in by_id.values()),
            [i for i, cs in by_id.items() if len({(c["job"], c["event"]) for c in cs}) != 1][:5])
    finished_ids = {}
    for call in calls:
        if call["event"] == "job.finished":
            finished_ids.setdefault(call["job"], set()).add(call["id"])
    T.check("(a) each job's job.finished came under one delivery id",
            set(finished_ids) == set(urls) and all(len(v) == 1 for v in finished_ids.values()),
            {j: v for j, v in finished_ids.items() if len(v) != 1})
    refused = {c["id"] for c in calls if c["status"] == 500}
    T.check("(a) every refused first attempt was retried under the same id",
            all(len(by_id[i]) >= 2 for i in refused), [i for i in refused if len(by_id[i]) < 2][:5])
    T.check("(a) every call is signed with the team's secret", all(c["signature_ok"] for c in calls),
            sum(1 for c in calls if not c["signature_ok"]))
    return {"calls": len(calls), "ids": len(by_id), "refused": len(refused),
            "retries": sum(len(cs) - 1 for cs in by_id.values()),
            "duplicates": sum(max(0, sum(1 for c in cs if c["status"] == 204) - 1) for cs in by_id.values())}


def check_storage(farm, urls):
    """The finished jobs' outputs and nothing else in storage, each a valid
    video behind its URL; no scratch folder left. How many folders of killed
    workers were swept."""
    files = output_files(farm.data)
    named = {os.path.splitext(os.path.basename(f))[0] for f in files}
    strays = [f for f in files if os.path.splitext(os.path.basename(f))[0] not in urls]
    T.check("(a) storage: no output file without its finished job", not strays, strays[:10])
    T.check("(a) storage: no finished job without its output file", set(urls) <= named,
            sorted(set(urls) - named)[:5])
    good, problems = check_outputs(urls)
    T.check("(a) every output URL gives an H.264 %dx%d video of %d frames" % (WIDTH, HEIGHT, FRAMES),
            good == JOBS, problems[:5])
    # A killed worker's job folder is removed by the next worker to start.
    scratch = os.listdir(os.path.join(farm.data, "scratch"))
    T.check("(a) scratch: no job folder is left", not scratch, scratch)
    return sum(int(line.split("removed ", 1)[1].split(" ", 1)[0])
               for name in ("worker1", "worker2") for line in farm.services[name].lines(r"removed \d+ scratch"))


def check_still_serving(rest, template_id, receiver):
    st, created = rest.call("POST", "/api/v2/jobs", job_body(template_id, receiver, JOBS))
    T.check("(a) after the run the gateway takes a new job", st == 201, (st, created))
    if st != 201:
        return
    end = time.monotonic() + 120
    job = created
    while time.monotonic() < end and job.get("status") not in ("finished", "error"):
        time.sleep(0.25)
        _, job = rest.call("GET", "/api/v2/jobs/%s" % created["id"])
    T.check("(a) ... and renders it", job.get("status") == "finished", job.get("status"))
    good, problems = check_outputs({created["id"]: created["outputUrl"]})
    T.check("(a) ... to a valid video", good == 1, problems)


def check_processes(farm):
    """No process died but those we killed; none reported a sanitizer error."""
    for svc in farm.services.values():
        svc.poll_unexpected()
    crashed = {n: s.unexpected for n, s in farm.services.items() if s.unexpected}
    T.check("(a) no process ended but by our SIGKILL", not crashed, crashed)
    reports = [line for s in farm.services.values() for line in s.lines(SANITIZER_REPORT)]
    T.check("(a) no sanitizer report", not reports, reports[:5])


def chaos_run(bindir, seed):
    t_start = time.monotonic()
    plan = draw_schedule(seed)
    print("schedule (seed %d): %s" % (seed, ", ".join("%.1fs %s/%.1fs" % p for p in plan)), flush=True)
    receiver = Receiver(seed)
    # A worker killed in the middle of a job costs the job an attempt, as a
    # crash would; three in a row is what the limit of attempts is for. So the
    # limit is put past the schedule's worker kills: none may lose a job here.
    worker_kills = sum(1 for p in plan if p[1].startswith("worker"))
    farm = Farm(bindir, worker_kills + 2)
    try:
        farm.start()
        receiver.secret = farm.webhook_secret()
        T.check("(a) the team's webhook secret is known", receiver.secret)
        c = fwe2e.Client("127.0.0.1:%d" % farm.grpc_port, farm.key)
        tpl = c.upload_template(fwe2e.long_template(WIDTH, HEIGHT, FRAMES))
        c.close()
        T.check("(a) the template is uploaded", tpl.status == "uploaded", tpl.error.value)

        rest = Rest("http://127.0.0.1:%d" % farm.api_port, farm.key)
        t0 = time.monotonic()
        chaos = Chaos(farm.services, plan, t0)
        chaos.thread.start()
        batch_id, urls, tries = submit_batch(rest, [job_body(tpl.id, receiver, i) for i in range(JOBS)])
        t_sent = time.monotonic() - t0
        print("batch %s sent in %.1f s (%d tries)" % (batch_id, t_sent, tries), flush=True)
        T.check("(a) the batch holds %d jobs" % JOBS, len(urls) == JOBS, len(urls))
        batch = wait_batch(rest, batch_id, chaos, SETTLE)
        t_batch = time.monotonic() - t0
        T.check("(a) the schedule ran: %d kills, every victim back" % len(plan), not chaos.errors, chaos.errors)
        wait_deliveries(receiver, urls)
        t_hooks = time.monotonic() - t0

        attempts = check_jobs(farm, batch, batch_id, urls)
        hooks = check_webhooks(farm, receiver, urls)
        swept = check_storage(farm, urls)
        check_still_serving(rest, tpl.id, receiver)
        check_processes(farm)
        print_figures(seed, plan, chaos, farm.services, dict(hooks, **{
            "jobs": JOBS, "finished": (batch or {}).get("counts", {}).get("finished", 0), "attempts": attempts,
            "max_attempts": farm.max_attempts,
            "client_retries": rest.retries, "batch_tries": tries, "swept": swept, "t_sent": t_sent,
            "t_batch": t_batch, "t_hooks": t_hooks, "t_total": time.monotonic() - t_start}))
    finally:
        farm.stop()
        receiver.close()


def print_figures(seed, plan, chaos, services, f):
    print("\nchaos run, seed %d: %d jobs of %dx%d, %d frames; %d kills" % (seed, f["jobs"], WIDTH, HEIGHT, FRAMES,
                                                                           len(plan)))
    print("| victim | kills | mean time down | starts refused |")
    print("|---|---:|---:|---:|")
    for name in VICTIMS:
        kills = sum(1 for p in plan if p[1] == name)
        down = chaos.downtime.get(name) or []
        print("| %s | %d | %.1f s | %d |" % (name, kills, sum(down) / len(down) if down else 0,
                                             services[name].failed_starts))
    print("| figure | value |")
    print("|---|---:|")
    rows = [
        ("jobs finished", "%d / %d" % (f["finished"], f["jobs"])),
        ("jobs by attempts (at most %d allowed)" % f["max_attempts"],
         ", ".join("%d: %d" % (k, v) for k, v in sorted(f["attempts"].items()))),
        ("webhook deliveries (ids)", f["ids"]),
        ("webhook calls received", f["calls"]),
        ("first attempts refused (500)", f["refused"]),
        ("retries (calls after the first of an id)", f["retries"]),
        ("duplicates (an id answered 2xx more than once)", f["duplicates"]),
        ("client calls tried again", f["client_retries"]),
        ("tries of the batch POST", f["batch_tries"]),
        ("scratch folders of killed workers swept", f["swept"]),
        ("kills while jobs were unfinished", "%d / %d" % (sum(1 for p in plan if p[0] < f["t_batch"]), len(plan))),
        ("batch sent after", "%.1f s" % f["t_sent"]),
        ("batch ended after", "%.1f s" % f["t_batch"]),
        ("last webhook after", "%.1f s" % f["t_hooks"]),
        ("whole case", "%.1f s" % f["t_total"]),
    ]
    for k, v in rows:
        print("| %s | %s |" % (k, v))
    print(flush=True)


# ---- (b) the disk fills up ---------------------------------------------------------------------------

def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    r = subprocess.run([tool("mount"), "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path], capture_output=True,
                       text=True)
    if r.returncode != 0:
        return r.stderr.strip() or "mount failed"
    on_exit(subprocess.run, [tool("umount"), "-l", path], capture_output=True)
    return None


def files_under(path):
    out = []
    for d, _, names in os.walk(path):
        out += [os.path.relpath(os.path.join(d, n), path) for n in names]
    return out


def disk_full():
    if os.geteuid() != 0:
        T.skip("(b) disk full", "mounting a tmpfs needs root")
        return
    data = fwe2e.tmpdir("fw-full-")
    scratch = os.path.join(data, "scratch")
    outputs = os.path.join(data, "blobs", "outputs")
    # The scratch folder holds a render (the encoder writes there); the
    # outputs folder takes the finished file.
    why = mount_tmpfs(scratch, "6m") or mount_tmpfs(outputs, "2m")
    if why:
        T.skip("(b) disk full", "cannot mount a tmpfs: %s" % why)
        return
    srv = None
    c = None
    try:
        srv = fwe2e.Server(workers=1, lease_seconds=LEASE, data=data, name="serve-full", extra=["--api", "off"])
        c = fwe2e.Client(srv.grpc, srv.key)
        # ProRes 4444 of the hello template: about 95 KB a frame at 1280x720.
        big = c.upload_template(fwe2e.long_template(1280, 720, 90))
        small = c.upload_template(fwe2e.long_template(WIDTH, HEIGHT, FRAMES))
        T.check("(b) the templates are uploaded", big.status == small.status == "uploaded")
        prores = {"type": "video", "codec": "video_prores_4444"}
        cases = [("scratch", "the encode fills the scratch folder", {"template": {"id": big.id}, "settings": prores}),
                 ("storage", "the output does not fit in storage",
                  {"template": {"id": big.id}, "settings": dict(prores, frames=[0, 29])})]
        for label, what, body in cases:
            job = c.create_job(body)
            got = c.wait_status(job.id, ("finished", "error"), 300)
            message = got.stats.error.value
            print("(b) %s: %s: %s" % (label, got.status, message), flush=True)
            T.check("(b) %s: %s: the job ends in error" % (label, what), got.status == "error", got.status)
            T.check("(b) %s: the error says the disk is full" % label, "No space left on device" in message, message)
            code = None
            try:
                code, _ = fwe2e.fetch(got.output_url.value or job.output_url.value)
            except urllib.error.HTTPError as e:
                code = e.code
            T.check("(b) %s: its output URL has nothing (404)" % label, code == 404, code)
            left = [f for f in files_under(os.path.join(data, "blobs")) if job.id in f or ".fw-tmp-" in f]
            T.check("(b) %s: no file of the job (nor a temporary one) in storage" % label, not left, left)
            T.check("(b) %s: the scratch folder is empty again" % label, not files_under(scratch),
                    files_under(scratch))
            nxt = c.create_job({"template": {"id": small.id}, "settings": {"type": "video"}})
            got = c.wait_status(nxt.id, ("finished", "error"), 120)
            T.check("(b) %s: the next job renders" % label, got.status == "finished",
                    (got.status, got.stats.error.value))
            if got.status == "finished":
                good, problems = check_outputs({nxt.id: got.output_url.value})
                T.check("(b) %s: ... to a valid video" % label, good == 1, problems)
        reports = srv.proc.log_has(SANITIZER_REPORT)
        T.check("(b) no sanitizer report", not reports, reports[:5])
    finally:
        if c:
            c.close()
        if srv:
            rc = srv.stop()
            T.check("(b) serve stops cleanly on SIGTERM", rc == 0, rc)
        for path in (outputs, scratch):
            subprocess.run([tool("umount"), path], capture_output=True)


def main():
    seed = SEED
    print("chaos seed: %d (FW_CHAOS_SEED=N draws another schedule)" % seed, flush=True)
    bindir = pg_bindir()
    if not bindir:
        T.skip("(a) chaos run", "PostgreSQL's initdb and postgres are not installed (Debian's postgresql package); "
                                "the run needs a server of its own to kill")
    else:
        T.case("(a) chaos run", chaos_run, bindir, seed)
    T.case("(b) disk full", disk_full)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
