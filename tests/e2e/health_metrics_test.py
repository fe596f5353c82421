"""health_metrics_test.py - what operators and load balancers see of
`framewright serve`: grpc.health.v1.Health through Debian's python3-grpcio
(Check and Watch, no API key), the gateway's /healthz, /readyz and /metrics,
and the health turning NOT_SERVING when the storage folder or the PostgreSQL
server goes away, and SERVING again when it is back.

/metrics is read with a strict parser of Prometheus' text format 0.0.4
(written here, and shown to refuse bad texts first): every sample line is
`name{labels} value`, every metric has # HELP and # TYPE before its samples,
histogram buckets are cumulative and end in +Inf, and _count is the +Inf
bucket."""

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import grpc

import fwe2e

T = fwe2e.Checks()
RENDER_TIMEOUT = 300

fwe2e.stubs_on_path()
from proto import health_pb2, health_pb2_grpc, ops_pb2, ops_pb2_grpc  # noqa: E402

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


# ---- a strict reader of Prometheus text 0.0.4 -------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))
COMMENT = re.compile(r"^# (HELP|TYPE) (%s) (.*)$" % NAME)
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class PromError(Exception):
    pass


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$", text):
        raise PromError("not a number: %r" % text)
    return float(text)


def parse_labels(text):
    out = {}
    for m in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"', text or ""):
        if m.group(1) in out:
            raise PromError("label %s twice" % m.group(1))
        out[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
    return out


def family_of(sample, families):
    """The family a sample name belongs to: itself, or a histogram's _bucket, _sum, _count."""
    if sample in families:
        return sample
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample[: -len(suffix)]
        if sample.endswith(suffix) and families.get(base, {}).get("type") in ("histogram", "summary"):
            return base
    return None


def parse_prometheus(text):
    """{family: {"type", "help", "samples": [(name, labels, value)]}}; PromError when the text breaks a rule."""
    if not text.endswith("\n"):
        raise PromError("the text does not end with a newline")
    families = {}
    seen = set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = COMMENT.match(line)
            if not m:
                raise PromError("line %d: a comment that is neither HELP nor TYPE: %r" % (n, line))
            kind, name, rest = m.groups()
            f = families.setdefault(name, {"samples": []})
            key = kind.lower()
            if key in f:
                raise PromError("line %d: second %s for %s" % (n, kind, name))
            if f["samples"]:
                raise PromError("line %d: %s of %s after its samples" % (n, kind, name))
            if kind == "TYPE" and rest not in TYPES:
                raise PromError("line %d: unknown type %r" % (n, rest))
            if kind == "HELP" and not rest.strip():
                raise PromError("line %d: empty HELP for %s" % (n, name))
            f[key] = rest
            continue
        m = SAMPLE.match(line)
        if not m:
            raise PromError("line %d: not `name{labels} value`: %r" % (n, line))
        name, labels, value = m.group(1), parse_labels(m.group(2)), parse_value(m.group(3))
        fam = family_of(name, families)
        if fam is None or "type" not in families[fam]:
            raise PromError("line %d: sample %s before any # TYPE of its metric" % (n, name))
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise PromError("line %d: the same sample twice: %s %s" % (n, name, labels))
        seen.add(key)
        families[fam]["samples"].append((name, labels, value))
    for name, f in families.items():
        if "help" not in f or "type" not in f:
            raise PromError("%s lacks # HELP or # TYPE" % name)
        if f["type"] == "counter" and any(v < 0 or math.isnan(v) for _, _, v in f["samples"]):
            raise PromError("counter %s is negative" % name)
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return families


def check_histogram(name, samples):
    groups = {}
    for sname, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            if "le" not in labels:
                raise PromError("%s: a bucket without le" % name)
            g["buckets"].append((parse_value(labels["le"]), value))
        elif sname == name + "_sum":
            g["sum"] = value
        elif sname == name + "_count":
            g["count"] = value
        else:
            raise PromError("%s: sample %s is not a bucket, sum or count" % (name, sname))
    for rest, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            raise PromError("%s: the buckets do not end with le=\"+Inf\"" % name)
        if any(b[i][0] >= b[i + 1][0] for i in range(len(b) - 1)):
            raise PromError("%s: bucket bounds do not ascend" % name)
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            raise PromError("%s: bucket counts are not cumulative" % name)
        if g["sum"] is None or g["count"] is None:
            raise PromError("%s: no _sum or _count" % name)
        if g["count"] != b[-1][1]:
            raise PromError("%s: _count %g is not the +Inf bucket %g" % (name, g["count"], b[-1][1]))


def value(families, name, **labels):
    """The value of one sample (None when absent)."""
    fam = family_of(name, families)
    for sname, l, v in (families.get(fam) or {}).get("samples", []):
        if sname == name and l == labels:
            return v
    return None


GOOD = """# HELP a_seconds A.
# TYPE a_seconds histogram
a_seconds_bucket{le="1"} 1
a_seconds_bucket{le="+Inf"} 2
a_seconds_sum 3.5
a_seconds_count 2
# HELP b B.
# TYPE b gauge
b{x="y \\"q\\""} 1e3
"""


def parser_refuses_bad_text():
    """The parser is what the /metrics checks stand on: it must take a good text and refuse each fault."""
    fams = parse_prometheus(GOOD)
    T.check("the parser reads a good text", value(fams, "b", x='y "q"') == 1000.0, fams)
    bad = {
        "no HELP": GOOD.replace("# HELP b B.\n", ""),
        "no TYPE": GOOD.replace("# TYPE b gauge\n", ""),
        "buckets not cumulative": GOOD.replace('le="+Inf"} 2', 'le="+Inf"} 0').replace("_count 2", "_count 0"),
        "no +Inf bucket": GOOD.replace('a_seconds_bucket{le="+Inf"} 2\n', ""),
        "_count is not the +Inf bucket": GOOD.replace("_count 2", "_count 3"),
        "a value that is not a number": GOOD.replace("1e3", "lots"),
        "a sample without a value": GOOD.replace("a_seconds_sum 3.5", "a_seconds_sum"),
        "an unquoted label": GOOD.replace('{x="y \\"q\\""}', "{x=y}"),
        "a sample of an undeclared metric": GOOD + "c 1\n",
    }
    for what, text in bad.items():
        try:
            parse_prometheus(text)
            T.check("the parser refuses %s" % what, False, "it was accepted")
        except PromError as e:
            T.check("the parser refuses %s" % what, True, str(e))


# ---- HTTP and gRPC helpers --------------------------------------------------------------------

def http_get(url, token=None, method="GET"):
    req = urllib.request.Request(url, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def metrics(srv, token=None):
    status, headers, body = http_get(srv.api + "/metrics", token)
    if status != 200:
        raise RuntimeError("/metrics answered %d: %s" % (status, body))
    return headers, body, parse_prometheus(body)


def health_stub(srv):
    ch = grpc.insecure_channel(srv.grpc)
    grpc.channel_ready_future(ch).result(timeout=30)
    return ch, health_pb2_grpc.HealthStub(ch)


def check_status(stub, service=""):
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status


def wait_for(pred, timeout, step=0.2):
    """pred() until it is true or timeout seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


class Watcher:
    """Health.Watch read on a thread: the statuses so far and how the stream ended."""

    def __init__(self, stub, service="", timeout=600):
        self.statuses = []
        self.ended = None  # "OK" or the status code's name, once the stream ends
        self.cond = threading.Condition()
        self.call = stub.Watch(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for r in self.call:
                with self.cond:
                    self.statuses.append(r.status)
                    self.cond.notify_all()
            end = "OK"
        except grpc.RpcError as e:
            end = e.code().name
        with self.cond:
            self.ended = end
            self.cond.notify_all()

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self) and time.monotonic() < deadline:
                self.cond.wait(0.2)
            return pred(self)

    def cancel(self):
        self.call.cancel()
        self.thread.join(10)


def readyz(srv):
    status, _, body = http_get(srv.api + "/readyz")
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


# ---- cases --------------------------------------------------------------------------------------

def health_check(srv):
    ch, stub = health_stub(srv)
    try:
        # No API key on any of these calls: a load balancer has none.
        T.check("Check(\"\") is SERVING", check_status(stub) == SERVING)
        for name in ("framewright.v1.JobService", "framewright.v1.TemplateService", "grpc.health.v1.Health"):
            T.check("Check(%s) is SERVING" % name, check_status(stub, name) == SERVING)
        for name in ("no.such.Service", "framewright.v1.JobServic"):
            try:
                st = check_status(stub, name)
                T.check("Check(%s) is NOT_FOUND" % name, False, "answered %s" % st)
            except grpc.RpcError as e:
                T.check("Check(%s) is NOT_FOUND" % name, e.code() == grpc.StatusCode.NOT_FOUND,
                        "%s %s" % (e.code(), e.details()))
        w = Watcher(stub, timeout=30)
        T.check("Watch(\"\") sends SERVING first", w.wait(lambda x: x.statuses, 10) and w.statuses[0] == SERVING,
                w.statuses)
        time.sleep(2.5)  # two probes later: nothing changed, nothing more is sent
        T.check("Watch sends nothing more while nothing changes", w.statuses == [SERVING], w.statuses)
        w.cancel()
        u = Watcher(stub, service="no.such.Service", timeout=30)
        T.check("Watch(unknown) sends SERVICE_UNKNOWN", u.wait(lambda x: x.statuses, 10) and
                u.statuses[0] == SERVICE_UNKNOWN, u.statuses)
        T.check("Watch(unknown) stays open", u.ended is None, u.ended)
        u.cancel()
    finally:
        ch.close()


def gateway_endpoints(srv):
    status, headers, body = http_get(srv.api + "/healthz")
    T.check("/healthz: 200 {\"status\": \"ok\"}", status == 200 and json.loads(body) == {"status": "ok"},
            (status, body))
    status, body = readyz(srv)
    T.check("/readyz: 200 while the server is SERVING", status == 200 and body == {"status": "ready"},
            (status, body))
    status, headers, body = http_get(srv.api + "/readyz", method="POST")
    T.check("POST /readyz: 405 with Allow: GET, HEAD", status == 405 and headers.get("Allow") == "GET, HEAD",
            (status, headers.get("Allow")))
    status, _, _ = http_get(srv.api + "/healthz/more")
    T.check("/healthz/more is no endpoint (404)", status == 404, status)


def metrics_after_a_job(srv):
    headers, body, fams = metrics(srv)
    print(body)
    T.check("/metrics is Prometheus text 0.0.4", headers.get("Content-Type", "").startswith(
        "text/plain; version=0.0.4"), headers.get("Content-Type"))
    want = {"framewright_jobs": "gauge", "framewright_queue_depth": "gauge",
            "framewright_queue_oldest_age_seconds": "gauge", "framewright_render_fps": "gauge",
            "framewright_render_duration_seconds": "histogram", "framewright_webhook_deliveries_total": "counter",
            "framewright_webhook_failures_total": "counter",
            "framewright_store_query_duration_seconds": "histogram"}
    T.check("/metrics has every metric with its type", all(fams.get(k, {}).get("type") == t for k, t in want.items()),
            {k: fams.get(k, {}).get("type") for k in want})
    statuses = sorted(l["status"] for _, l, _ in fams["framewright_jobs"]["samples"])
    T.check("framewright_jobs has each of the six statuses",
            statuses == sorted(["queued", "pending", "render:dorender", "finished", "error", "manually_cancelled"]),
            statuses)
    finished0 = value(fams, "framewright_jobs", status="finished")
    renders0 = value(fams, "framewright_render_duration_seconds_count")
    queries0 = value(fams, "framewright_store_query_duration_seconds_count")

    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        t = c.upload_template(fwe2e.hello_template(), name="a-template-name-no-metric-may-show")
        job = c.create_job({"template": {"id": t.id}, "assets": fwe2e.hello_assets(),
                            "settings": {"type": "video", "codec": "video_h264_vbr_5mbps", "frames": [0, 9]}})
        got = c.wait_status(job.id, ("finished",), RENDER_TIMEOUT)
        T.check("the small job finishes", got.status == "finished", got.status)
    finally:
        c.close()
    _, body, fams = metrics(srv)
    print(body)
    T.check("framewright_jobs{status=\"finished\"} counts the job", value(fams, "framewright_jobs",
            status="finished") == finished0 + 1, (finished0, value(fams, "framewright_jobs", status="finished")))
    T.check("framewright_jobs{status=\"queued\"} is 0 again", value(fams, "framewright_jobs", status="queued") == 0)
    T.check("framewright_queue_depth is 0", value(fams, "framewright_queue_depth") == 0)
    T.check("the render-duration histogram counts the render",
            value(fams, "framewright_render_duration_seconds_count") == renders0 + 1,
            value(fams, "framewright_render_duration_seconds_count"))
    T.check("its sum is the render's time (> 0 s)", value(fams, "framewright_render_duration_seconds_sum") > 0)
    fps = value(fams, "framewright_render_fps")
    T.check("framewright_render_fps is 10 frames over the render time (> 0)",
            fps > 0 and abs(fps * value(fams, "framewright_render_duration_seconds_sum") - 10) < 0.01, fps)
    T.check("framewright_render_fps_renders is 1", value(fams, "framewright_render_fps_renders") == 1)
    T.check("the store's statements were counted",
            value(fams, "framewright_store_query_duration_seconds_count") > queries0,
            (queries0, value(fams, "framewright_store_query_duration_seconds_count")))
    leaks = [s for s in (t.id, job.id, srv.key, "a-template-name-no-metric-may-show", "default") if s in body]
    T.check("/metrics names no template, job, key or team", not leaks, leaks)


def queue_age(srv):
    """A server without workers: a queued job waits, and the queue shows it."""
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        t = c.upload_template(fwe2e.hello_template())
        c.create_job({"template": {"id": t.id}})
    finally:
        c.close()
    time.sleep(1.5)
    _, _, fams = metrics(srv, srv.metrics_token)
    T.check("framewright_queue_depth is 1", value(fams, "framewright_queue_depth") == 1)
    T.check("framewright_jobs{status=\"queued\"} is 1", value(fams, "framewright_jobs", status="queued") == 1)
    age = value(fams, "framewright_queue_oldest_age_seconds")
    T.check("framewright_queue_oldest_age_seconds is the wait (1.5 s to a minute)", 1.4 <= age < 60, age)


def metrics_token(srv):
    token = srv.metrics_token
    status, headers, body = http_get(srv.api + "/metrics")
    T.check("/metrics without the token: 401", status == 401, (status, body))
    T.check("the 401 asks for a bearer token", headers.get("WWW-Authenticate") == "Bearer", headers)
    status, _, _ = http_get(srv.api + "/metrics", "not-" + token)
    T.check("/metrics with a wrong token: 401", status == 401, status)
    status, _, _ = http_get(srv.api + "/metrics", srv.key)
    T.check("/metrics with an API key instead of the token: 401", status == 401, status)
    status, _, body = http_get(srv.api + "/metrics", token)
    T.check("/metrics with the token: 200 and Prometheus text", status == 200 and "framewright_jobs" in body and
            parse_prometheus(body) is not None, status)
    status, _, _ = http_get(srv.api + "/healthz")
    T.check("/healthz needs no token", status == 200, status)
    status, _ = readyz(srv)
    T.check("/readyz needs no token", status == 200, status)
    ch = grpc.insecure_channel(srv.grpc)
    try:
        ops = ops_pb2_grpc.OpsServiceStub(ch)
        try:
            ops.GetMetrics(ops_pb2.GetMetricsRequest(), timeout=10)
            T.check("GetMetrics without the token: UNAUTHENTICATED", False, "it answered")
        except grpc.RpcError as e:
            T.check("GetMetrics without the token: UNAUTHENTICATED", e.code() == grpc.StatusCode.UNAUTHENTICATED,
                    e.code())
        m = ops.GetMetrics(ops_pb2.GetMetricsRequest(), metadata=(("authorization", "Bearer " + token),),
                           timeout=10)
        T.check("GetMetrics with the token lists six statuses", len(m.jobs) == 6, m.jobs)
        T.check("Health.Check needs no key here either",
                health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10).status == SERVING)
    finally:
        ch.close()


def storage_goes_away(srv):
    """The blobs folder replaced by a file: nothing can be stored, so the server is not ready."""
    ch, stub = health_stub(srv)
    blobs = os.path.join(srv.data, "blobs")
    w = Watcher(stub, timeout=120)
    try:
        T.check("Watch starts SERVING", w.wait(lambda x: x.statuses, 10) and w.statuses[0] == SERVING, w.statuses)
        os.rename(blobs, blobs + ".away")
        with open(blobs, "w") as f:
            f.write("not a folder")
        T.check("Watch sends NOT_SERVING when the storage cannot be written",
                w.wait(lambda x: NOT_SERVING in x.statuses, 10), w.statuses)
        T.check("Check(\"\") is NOT_SERVING", check_status(stub) == NOT_SERVING)
        status, body = readyz(srv)
        T.check("/readyz: 503 with a JSON reason", status == 503 and body.get("status") == "not ready" and
                "NOT_SERVING" in body.get("reason", ""), (status, body))
        T.check("the reason shows no path of the server", srv.data not in json.dumps(body), body)
        T.check("the server's log says why", srv.proc.log_has(r"not serving: the storage does not answer"))
        status, _, _ = http_get(srv.api + "/healthz")
        T.check("/healthz is still 200 (the process is up)", status == 200, status)
    finally:
        if os.path.isfile(blobs):
            os.unlink(blobs)
        if os.path.isdir(blobs + ".away"):
            os.rename(blobs + ".away", blobs)
    T.check("Watch sends SERVING when the storage is back",
            w.wait(lambda x: x.statuses[-1:] == [SERVING] and len(x.statuses) >= 3, 10), w.statuses)
    T.check("Watch sent each change once", w.statuses == [SERVING, NOT_SERVING, SERVING], w.statuses)
    status, _ = readyz(srv)
    T.check("/readyz: 200 again", status == 200, status)
    w.cancel()
    ch.close()


def shutdown_ends_watch(srv):
    ch, stub = health_stub(srv)
    w = Watcher(stub, timeout=120)
    w.wait(lambda x: x.statuses, 10)
    rc = srv.stop()
    T.check("serve stops cleanly on SIGTERM with a Watch open", rc == 0, rc)
    T.check("the Watch stream ends", w.wait(lambda x: x.ended is not None, 15), w.ended)
    T.check("the watcher heard NOT_SERVING before the end", w.statuses[-1:] == [NOT_SERVING], w.statuses)
    T.check("the stream ends UNAVAILABLE (the server is going away)", w.ended == "UNAVAILABLE", w.ended)
    ch.close()


# ---- a PostgreSQL server of the test's own, to stop and start ---------------------------------

class PrivatePostgres:
    def __init__(self):
        bins = sorted(d for d in (os.path.join("/usr/lib/postgresql", v, "bin")
                                  for v in os.listdir("/usr/lib/postgresql")) if os.path.exists(d + "/pg_ctl"))
        self.bin = bins[-1]
        self.dir = tempfile.mkdtemp(prefix="fw-health-pg-", dir="/tmp")
        self.run = []
        if os.getuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
            self.run = ["runuser", "-u", "postgres", "--"]
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self._do(["initdb", "-D", self.dir + "/data", "-A", "trust", "-U", "fw", "-E", "UTF8"])
        self.start()
        self.url = "postgresql://fw@127.0.0.1:%d/postgres" % self.port

    def _do(self, argv):
        r = subprocess.run(self.run + [os.path.join(self.bin, argv[0])] + argv[1:], capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError("%s: %s%s" % (argv[0], r.stdout, r.stderr))

    def start(self):
        self._do(["pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/server.log", "-w", "-t", "60", "-o",
                  "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.dir), "start"])

    def stop(self):
        self._do(["pg_ctl", "-D", self.dir + "/data", "-m", "immediate", "-w", "stop"])

    def close(self):
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def postgres_goes_away():
    if not os.path.isdir("/usr/lib/postgresql"):
        T.skip("the store going away", "no PostgreSQL server installed")
        return
    pg = PrivatePostgres()
    srv = None
    try:
        srv = fwe2e.Server(workers=0, database=pg.url, name="serve-pg", extra=["--api", "127.0.0.1:0"])
        ch, stub = health_stub(srv)
        status, _ = readyz(srv)
        T.check("[postgres] /readyz: 200", status == 200, status)
        pg.stop()
        T.check("[postgres] Check(\"\") turns NOT_SERVING once PostgreSQL is stopped",
                wait_for(lambda: check_status(stub) == NOT_SERVING, 10))
        status, body = readyz(srv)
        T.check("[postgres] /readyz: 503 with a reason", status == 503 and "reason" in body, (status, body))
        T.check("[postgres] the log says the job store does not answer",
                srv.proc.log_has(r"not serving: the job store does not answer"))
        pg.start()
        T.check("[postgres] SERVING again once PostgreSQL is back",
                wait_for(lambda: check_status(stub) == SERVING, 15))
        status, _ = readyz(srv)
        T.check("[postgres] /readyz: 200 again", status == 200, status)
        ch.close()
    finally:
        if srv:
            rc = srv.stop()
            T.check("[postgres] serve stops cleanly", rc == 0, rc)
        pg.close()


def main():
    T.case("the Prometheus parser", parser_refuses_bad_text)
    srv = idle = None
    try:
        srv = fwe2e.Server(workers=1, name="serve", extra=["--api", "127.0.0.1:0"])
        if not T.check("serve starts its REST gateway", srv.api is not None, srv.proc.lines[:4]):
            return T.end()
        T.case("Health.Check and Watch", health_check, srv)
        T.case("/healthz and /readyz", gateway_endpoints, srv)
        T.case("/metrics after a small job", metrics_after_a_job, srv)
        rc = srv.stop()
        T.check("serve stops cleanly on SIGTERM", rc == 0, rc)
        srv = None

        token = "metrics-token-for-the-test"
        idle = fwe2e.Server(workers=0, name="serve-idle", extra=["--api", "127.0.0.1:0"],
                            env=dict(os.environ, FRAMEWRIGHT_METRICS_TOKEN=token))
        idle.metrics_token = token
        T.case("the metrics token", metrics_token, idle)
        T.case("the age of the queue", queue_age, idle)
        T.case("the storage going away", storage_goes_away, idle)
        T.case("shutdown ends Watch", shutdown_ends_watch, idle)
        idle = None
    finally:
        if srv:
            srv.stop()
        if idle:
            idle.stop()
    T.case("the store going away (PostgreSQL stopped)", postgres_goes_away)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
