"""fwe2e.py - what the end-to-end tests share: finding files in the Bazel
runfiles, starting `framewright serve` (and extra workers) on ports the OS
picks, the gRPC stubs made by protoc from proto/*.proto, the checks and the
closing "fw-test: N passed, N failed" line that tests/run.sh counts.

Every process started here runs in its own process group, and that group is
killed when the test ends, however it ends (a failed check, an exception,
Bazel's SIGTERM at the timeout), so no server or worker outlives a test.
"""

import atexit
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import string
import traceback
import urllib.parse
import urllib.request

WORKSPACE = "framewright"


def runfile(rel):
    """The path of a workspace file (or a built target) for this test."""
    for base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
        if base:
            p = os.path.join(base, WORKSPACE, rel)
            if os.path.exists(p):
                return p
    # Run by hand from the checkout: the source tree, then bazel-bin.
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for p in (os.path.join(top, rel), os.path.join(top, "bazel-bin", rel)):
        if os.path.exists(p):
            return p
    raise FileNotFoundError(rel)


def npm_modules(folder, marker, cache, ignore_scripts=False):
    """The node_modules folder of the npm project at the runfile folder
    (package.json and package-lock.json): `npm ci` once into a folder under
    cache keyed by the lock file's digest, kept between runs; marker is a
    path inside node_modules that a finished install has.
    FW_NODE_MODULES names one ready-made instead."""
    given = os.environ.get("FW_NODE_MODULES")
    if given:
        return given
    lock = runfile(folder + "/package-lock.json")
    with open(lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    base = os.environ.get("FW_NODE_CACHE") or cache
    final = os.path.join(base, digest)
    if os.path.exists(os.path.join(final, "node_modules", marker)):
        return os.path.join(final, "node_modules")
    os.makedirs(base, exist_ok=True)
    work = "%s.tmp-%d" % (final, os.getpid())
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    shutil.copy(runfile(folder + "/package.json"), work)
    shutil.copy(lock, work)
    print("installing the npm packages into %s" % final, flush=True)
    argv = ["npm", "ci"] + (["--ignore-scripts"] if ignore_scripts else [])
    r = subprocess.run(argv + ["--no-audit", "--no-fund", "--cache", os.path.join(base, "npm-cache")], cwd=work,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError("npm ci failed (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
    try:
        os.rename(work, final)
    except OSError:  # another run got there first
        shutil.rmtree(work, ignore_errors=True)
    return os.path.join(final, "node_modules")


FRAMEWRIGHT = None


def framewright_bin():
    global FRAMEWRIGHT
    if FRAMEWRIGHT is None:
        FRAMEWRIGHT = runfile("server/framewright")
    return FRAMEWRIGHT


def stubs_on_path():
    """Put the framewright.v1 stubs of the :framewright_py genrule on sys.path,
    so that `from proto import batch_pb2` (any service) works."""
    d = os.path.dirname(os.path.dirname(runfile("tests/e2e/py/proto/job_pb2.py")))
    if d not in sys.path:
        sys.path.insert(0, d)


def load_stubs():
    """The stubs of the services every test uses."""
    stubs_on_path()
    from proto import job_pb2, job_pb2_grpc, template_pb2, template_pb2_grpc  # noqa: E402

    return job_pb2, job_pb2_grpc, template_pb2, template_pb2_grpc


def tmpdir(prefix):
    """A new folder in the test's temporary folder (Bazel removes that one;
    run by hand, the folder is removed at exit)."""
    base = os.environ.get("TEST_TMPDIR")
    d = tempfile.mkdtemp(prefix=prefix, dir=base or None)
    if not base:
        atexit.register(shutil.rmtree, d, True)
    return d


# ---- checks -------------------------------------------------------------------------------------

class Checks:
    """Named checks; a test case is one check. The closing line is what
    tests/run.sh adds up."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   %s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, (": " + str(detail)) if detail != "" else ""), flush=True)
        return bool(ok)

    def skip(self, name, why):
        self.skipped += 1
        print("skip %s: %s" % (name, why), flush=True)

    def case(self, name, fn, *args):
        """Run fn as one test case: an exception inside fails it (with the
        traceback) and the run goes on with the next case."""
        print("---- %s" % name, flush=True)
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - any exception is a failed case
            traceback.print_exc()
            self.check(name + " (ran to the end)", False, "exception")

    def end(self):
        line = "fw-test: %d passed, %d failed" % (self.passed, self.failed)
        if self.skipped:
            line += ", %d skipped" % self.skipped
        print(line, flush=True)
        return 0 if self.failed == 0 else 1


# ---- processes ----------------------------------------------------------------------------------

_groups = []          # process groups to kill at exit
_groups_lock = threading.Lock()


def _kill_all():
    with _groups_lock:
        groups = list(_groups)
        _groups.clear()
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _on_signal(sig, frame):
    _kill_all()
    sys.stdout.flush()
    os._exit(128 + sig)


atexit.register(_kill_all)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def track_group(pgid):
    with _groups_lock:
        _groups.append(pgid)


class Proc:
    """A process in its own group whose stdout and stderr lines are
    collected (and copied to our stdout with a prefix, for the test log)."""

    def __init__(self, argv, name, env=None):
        self.name = name
        self.lines = []
        self.cond = threading.Condition()
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        track_group(self.p.pid)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @property
    def pid(self):
        return self.p.pid

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            print("[%s] %s" % (self.name, line), flush=True)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_line(self, pattern, timeout, start=0):
        """The index and match of the first line from `start` on matching
        pattern, or (None, None) after timeout seconds or when the process ends."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return i, m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not self.reader.is_alive()):
                    return None, None
                self.cond.wait(min(left, 0.5))

    def log_has(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return [line for line in self.lines if rx.search(line)]

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL after timeout. Returns the exit status
        (negative: the signal that ended it)."""
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                print("[%s] did not stop within %ds of SIGTERM; killing it" % (self.name, timeout), flush=True)
                self.p.kill()
                self.p.wait()
        self.reader.join(5)
        return self.p.returncode


def children(pid):
    """Ids of the live child processes of pid (from /proc)."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.extend(int(x) for x in f.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return sorted(set(out))


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode() for a in f.read().split(b"\0") if a]
    except FileNotFoundError:
        return []


def worker_pids(serve_pid):
    """The `framewright worker` children of a serve process (zombies aside)."""
    out = []
    for c in children(serve_pid):
        argv = cmdline(c)
        if len(argv) >= 2 and argv[1] == "worker":
            out.append(c)
    return out


def wait_worker_pids(serve_pid, count, timeout=10.0):
    """The worker children once `count` of them have exec'd (serve forks them
    after it prints its addresses, so right then some may not be there yet)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = worker_pids(serve_pid)
        if len(pids) >= count or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


class Server:
    """`framewright serve` on OS-chosen ports, with a fresh data folder."""

    def __init__(self, workers=1, lease_seconds=None, database=None, name="serve", extra=(), env=None, data=None):
        """env: variables set (or, with None as the value, removed) for the server;
        data: a data folder made by the caller (else a new one)."""
        self.data = data or tmpdir("fw-data-")
        argv = [framewright_bin(), "serve", "--data", self.data, "--grpc", "127.0.0.1:0",
                "--http", "127.0.0.1:0", "--workers", str(workers)]
        if lease_seconds is not None:
            argv += ["--lease-seconds", str(lease_seconds)]
        if database:
            argv += ["--database", database]
        argv += list(extra)
        self.database = database
        # The render cache answers a job like an earlier one from its output:
        # off unless the test is about it, so that every job is rendered.
        penv = dict(os.environ)
        penv.setdefault("FRAMEWRIGHT_CACHE_MB", "0")
        for k, v in (env or {}).items():
            if v is None:
                penv.pop(k, None)
            else:
                penv[k] = v
        self.env = penv
        self.proc = Proc(argv, name, env=penv)
        i, m = self.proc.wait_line(r"serving gRPC on ([0-9.]+):(\d+).*HTTP on (\S+?)[, ]", 60)
        if m is None:
            self.proc.stop(5)
            raise RuntimeError("framewright serve did not start; its output:\n" + "\n".join(self.proc.lines))
        self.grpc = "%s:%s" % (m.group(1), m.group(2))
        self.http = m.group(3)
        # The REST gateway's base (http(s)://HOST:PORT, without /api/v2) when --api asked for one.
        self.api = None
        if "--api" in extra:
            _, am = self.proc.wait_line(r"REST API \(/api/v2\) on (https?://\S+?)/api/v2", 10, i)
            if am:
                self.api = am.group(1)
        j, _ = self.proc.wait_line(r"a first API key", 10, i)
        self.key = None
        if j is not None:
            k, km = self.proc.wait_line(r"^(fw_\w+)\s*$", 10, j)
            if km:
                self.key = km.group(1)

    @property
    def pid(self):
        return self.proc.pid

    def data_args(self):
        args = ["--data", self.data]
        if self.database:
            args += ["--database", self.database]
        return args

    def new_key(self, team):
        """framewright keys create --team TEAM: the key is the last line."""
        r = subprocess.run([framewright_bin(), "keys", "create", "--team", team] + self.data_args(),
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("keys create failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr))
        return r.stdout.strip().splitlines()[-1].strip()

    def start_worker(self, name="worker"):
        """One more `framewright worker` process on the same store."""
        return Proc([framewright_bin(), "worker"] + self.data_args(), name, env=self.env)

    def stop(self, timeout=20):
        return self.proc.stop(timeout)


# ---- the API ------------------------------------------------------------------------------------

class Client:
    """framewright.v1 through Python's grpcio, with an API key."""

    def __init__(self, target, key):
        import grpc

        self.grpc = grpc
        self.job_pb2, job_grpc, self.template_pb2, template_grpc = load_stubs()
        self.channel = grpc.insecure_channel(target)
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.jobs = job_grpc.JobServiceStub(self.channel)
        self.templates = template_grpc.TemplateServiceStub(self.channel)
        self.key = key

    def md(self, key=None):
        return (("authorization", "Bearer " + (key or self.key)),)

    def close(self):
        self.channel.close()

    def upload_template(self, data, type_="json", name="e2e", key=None):
        t = self.templates.CreateTemplate(self.template_pb2.CreateTemplateRequest(type=type_, display_name=name),
                                          metadata=self.md(key), timeout=30)

        def chunks():
            yield self.template_pb2.TemplateChunk(id=t.id)
            for off in range(0, len(data), 16384):
                yield self.template_pb2.TemplateChunk(data=data[off:off + 16384])

        return self.templates.UploadTemplate(chunks(), metadata=self.md(key), timeout=60)

    def job_request(self, body):
        from google.protobuf import json_format

        return json_format.Parse(json.dumps(body), self.job_pb2.JobRequest())

    def create_job(self, body, key=None):
        return self.jobs.CreateJob(self.job_request(body), metadata=self.md(key), timeout=30)

    def get_job(self, job_id, key=None):
        return self.jobs.GetJob(self.job_pb2.GetJobRequest(id=job_id), metadata=self.md(key), timeout=30)

    def watch(self, job_id, timeout, key=None):
        """Every event of WatchJob until the stream ends (or the deadline:
        then the stream's error is raised)."""
        events = []
        for ev in self.jobs.WatchJob(self.job_pb2.WatchJobRequest(id=job_id), metadata=self.md(key),
                                     timeout=timeout):
            events.append(ev)
        return events

    def wait_status(self, job_id, want, timeout, pred=None):
        """Poll GetJob (bounded) until the status is in want and pred(job)
        holds; the last job seen either way."""
        deadline = time.monotonic() + timeout
        job = None
        while time.monotonic() < deadline:
            job = self.get_job(job_id)
            if job.status in want and (pred is None or pred(job)):
                return job
            if job.status in ("finished", "error", "manually_cancelled") and job.status not in want:
                return job
            time.sleep(0.1)
        return job


def code_of(fn):
    """The gRPC status code and details fn() raised, or (None, None)."""
    import grpc
    try:
        fn()
    except grpc.RpcError as e:
        return e.code(), e.details()
    return None, None


def fetch(url, timeout=60):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def ffprobe(data, suffix=".mp4"):
    """ffprobe's view of the first video stream: codec, size and frame count."""
    fd, path = tempfile.mkstemp(suffix=suffix, dir=os.environ.get("TEST_TMPDIR") or None)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
                            "-show_entries", "stream=codec_name,width,height,nb_read_frames",
                            "-show_entries", "format=format_name,duration", "-of", "json", path],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            return {"error": r.stderr.strip()}
        j = json.loads(r.stdout)
        s = (j.get("streams") or [{}])[0]
        return {"codec": s.get("codec_name"), "width": s.get("width"), "height": s.get("height"),
                "frames": int(s.get("nb_read_frames") or 0),
                "format": j.get("format", {}).get("format_name"),
                "duration": float(j.get("format", {}).get("duration") or 0)}
    finally:
        os.unlink(path)


def _media_file(data, suffix=".mp4"):
    path = os.path.join(tmpdir("fw-media-"), "media" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    return path


def grey_frames(data, width=160, height=90):
    """Every frame of a video, scaled to width x height, as 8-bit grey bytes (ffmpeg)."""
    path = _media_file(data)
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vf", "scale=%d:%d" % (width, height), "-f", "rawvideo",
                        "-pix_fmt", "gray", "-"], capture_output=True, timeout=600)
    os.unlink(path)
    return r.stdout


def sound_samples(data):
    """The sound as 16-bit stereo samples at 48 kHz (ffmpeg)."""
    path = _media_file(data)
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vn", "-f", "s16le", "-ac", "2", "-ar", "48000", "-"],
                       capture_output=True, timeout=600)
    os.unlink(path)
    return r.stdout


def audio_seconds(data):
    """The first audio stream's duration by ffprobe, or None."""
    path = _media_file(data)
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=duration",
                        "-of", "csv=p=0", path], capture_output=True, text=True, timeout=60)
    os.unlink(path)
    try:
        return float(r.stdout.strip())
    except ValueError:
        return None


def psnr(a, b):
    s = sum((x - y) * (x - y) for x, y in zip(a, b))
    return 99.0 if s == 0 else 10 * math.log10(255.0 * 255.0 * len(a) / s)


def boundary_frames(split, whole, frame_size, frames, chunk):
    """Frames on both sides of every chunk boundary of a split render,
    against the whole render's: (worst PSNR against the whole's frame of the
    same number, [(frame, dB, best dB against a neighbour)] of the frames
    not clearly their own number's)."""
    worst, bad = 99.0, []
    for boundary in range(chunk, frames, chunk):
        for n in range(boundary - 2, min(boundary + 2, frames - 1)):
            f = split[n * frame_size:(n + 1) * frame_size]
            same = psnr(f, whole[n * frame_size:(n + 1) * frame_size])
            near = max(psnr(f, whole[(n - 1) * frame_size:n * frame_size]),
                       psnr(f, whole[(n + 1) * frame_size:(n + 2) * frame_size]))
            worst = min(worst, same)
            if not (same >= 35 and same > near + 6):
                bad.append((n, round(same, 1), round(near, 1)))
    return worst, bad


def moving_template(width, height, frames, fps=30):
    """A ground and a square that crosses the picture every second, there
    and back, so neighbouring frames differ clearly."""
    side = max(8, height // 6)
    keys = [{"t": s * fps, "s": [width - side if s % 2 else side, height // 2, 0], "i": {"x": 1, "y": 1},
             "o": {"x": 0, "y": 0}} for s in range(frames // fps + 1)]

    def ks(p, anchor):
        return {"o": {"a": 0, "k": 100}, "r": {"a": 0, "k": 0}, "p": p, "a": {"a": 0, "k": anchor},
                "s": {"a": 0, "k": [100, 100, 100]}}

    square = {"ddd": 0, "ind": 1, "ty": 1, "nm": "square", "sc": "#ffffff", "sw": side, "sh": side, "sr": 1,
              "st": 0, "ip": 0, "op": frames, "ks": ks({"a": 1, "k": keys}, [side // 2, side // 2, 0])}
    ground = {"ddd": 0, "ind": 2, "ty": 1, "nm": "ground", "sc": "#406080", "sw": width, "sh": height, "sr": 1,
              "st": 0, "ip": 0, "op": frames, "ks": ks({"a": 0, "k": [0, 0, 0]}, [0, 0, 0])}
    return json.dumps({"v": "5.7.4", "fr": fps, "ip": 0, "op": frames, "w": width, "h": height, "nm": "main",
                       "ddd": 0, "assets": [], "layers": [square, ground]}).encode()


def tone_wav(path, seconds, freq=440):
    """A stereo 48 kHz tone (ffmpeg's sine source)."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=f=%d:d=%g" % (freq, seconds), "-ac", "2",
                    "-ar", "48000", path], check=True, timeout=120)


class FileServer:
    """A static HTTP server for a folder (assets of jobs), on host."""

    def __init__(self, folder, host="127.0.0.1"):
        import http.server

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **k):
                super().__init__(*a, directory=folder, **k)

            def log_message(self, *a):
                pass

            def handle(self):
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):
                    pass  # a worker killed or a render stopped mid-download

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Quiet)
        self.url = "http://%s:%d" % (host, self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def hello_template():
    with open(runfile("tests/examples/hello/template.json"), "rb") as f:
        return f.read()


def long_template(width, height, frames, fps=30):
    """The hello template made bigger and longer (every layer stretched to
    the new end), for jobs that must still be rendering when we act."""
    doc = json.loads(hello_template())
    doc["w"], doc["h"], doc["op"], doc["fr"] = width, height, frames, fps
    for layer in doc.get("layers", []):
        layer["op"] = frames
    return json.dumps(doc).encode()


def hello_assets():
    with open(runfile("tests/examples/hello/job.json")) as f:
        return json.load(f)["assets"]


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


# ---- PostgreSQL ------------------------------------------------------------------------------------

def psql(url, sql):
    """Run one statement on the server at url (a superuser URL)."""
    r = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (sql, r.stderr))


def with_database(url, name):
    """url, naming database name instead."""
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


class FreshDatabase:
    """A new, empty database on the server of FW_TEST_PG_URL, dropped on close."""

    def __init__(self, admin_url, prefix="fwe2e_"):
        self.admin_url = admin_url
        self.name = prefix + "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(10))
        psql(admin_url, "CREATE DATABASE %s" % self.name)
        self.url = with_database(admin_url, self.name)

    def close(self):
        psql(self.admin_url, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name)
