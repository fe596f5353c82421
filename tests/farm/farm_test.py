"""farm_test.py - Framewright as a render farm of separate machines: each
worker a `framewright worker` in a network namespace of its own (a veth pair
to a bridge), with its own data folder, sharing nothing with the others but
the PostgreSQL database and the S3-compatible bucket, which the host serves
on the bridge together with `framewright serve --workers 0` as the API.

 (a) a batch of short jobs spreads over the three machines; every job
     finishes once, with a valid output, and one long job does too;
 (c) a fourth machine started during a batch takes a job soon after it
     starts (LISTEN/NOTIFY); the delay is printed, not asserted;
 (b) every process of the machine rendering a long job is SIGKILLed: the
     job is handed back after the lease, finishes on another machine with
     a valid output, and the bucket holds one object for it;
 (d) the link of the machine rendering a long job is down for DOWN seconds
     (the database and the bucket unreachable), then up again: no job is
     finished twice, no output is corrupt or left twice in the bucket, and
     that machine takes jobs again.

Needs root (namespaces, veths, a bridge), iproute2, PostgreSQL's server
programs and Node.js for the S3 server; skipped with the reason otherwise.
The bridge's subnet and the names are drawn at random per run. FW_FARM_FULL=1
runs larger jobs and batches; FW_FARM_DOWN sets the outage (default 30 s)."""

import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request

for _base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
    if _base:
        for _d in ("e2e", "chaos", "proofs"):
            sys.path.insert(0, os.path.join(_base, "framewright", "tests", _d))
_here = os.path.dirname(os.path.realpath(__file__))
for _d in ("e2e", "chaos", "proofs"):
    sys.path.append(os.path.join(_here, "..", _d))

import fwe2e  # noqa: E402
import chaos_test as chaos  # noqa: E402
import proofs  # noqa: E402

FULL = os.environ.get("FW_FARM_FULL") == "1"
MACHINES = 3                                   # worker machines at the start; (c) adds one
BATCH = 24 if FULL else 12                     # short jobs of (a) and of (c)
SHORT = (320, 180, 90)                         # width, height, frames of a short job
LONG = (960, 540, 9000 if FULL else 2700)      # ... of a long one, still rendering when we act
SPLIT = (1920, 1080, 1800)                     # the 60 s 1080p30 job rendered in chunks
LEASE = 3                                      # seconds: a lost machine's job is handed back this soon
DOWN = float(os.environ.get("FW_FARM_DOWN", "30"))
JOB_WAIT = 600 if FULL else 240                # seconds a job may take to finish

T = fwe2e.Checks()
ENDED = ("finished", "error", "manually_cancelled")
RENDERING = r"job=(\w+)\] rendering"
FINISHED = r"job=(\w+)\] finished:"


def ip(*args, ns=None, check=True):
    # In namespace ns by nsenter rather than `ip -n`, which first makes "/" a
    # slave mount: refused where "/" is not a mount point (a chroot).
    argv = ([chaos.tool("nsenter"), "--net=/run/netns/" + ns] if ns else []) + [chaos.tool("ip")] + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


# ---- the network -----------------------------------------------------------------------------------

class Network:
    """A bridge on the host with an address of a /24 drawn at random from
    10/8 (one no interface of the machine is on), and one namespace per
    machine joined to it by a veth pair."""

    def __init__(self):
        self.tag = "%04x" % random.randrange(0x10000)
        used = ip("-o", "-4", "addr")
        while True:
            a, b = random.randrange(256), random.randrange(1, 255)
            prefix = "10.%d.%d." % (a, b)
            if prefix not in used:
                break
        self.prefix = prefix
        self.subnet = prefix + "0/24"
        self.host = prefix + "1"
        self.bridge = "fwbr" + self.tag
        self.namespaces = []
        chaos.on_exit(self.remove)
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", self.host + "/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")

    def add(self, n):
        """Namespace n, at prefix.(10+n): (namespace, host end of its veth, address)."""
        ns = "fwfarm-%s-%d" % (self.tag, n)
        host_end, ns_end = "fwv%sh%d" % (self.tag, n), "fwv%sn%d" % (self.tag, n)
        addr = "%s%d" % (self.prefix, 10 + n)
        ip("netns", "add", ns)
        self.namespaces.append(ns)
        ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        ip("link", "set", host_end, "master", self.bridge)
        ip("link", "set", host_end, "up")
        ip("link", "set", ns_end, "netns", ns)
        ip("link", "set", "lo", "up", ns=ns)
        ip("addr", "add", addr + "/24", "dev", ns_end, ns=ns)
        ip("link", "set", ns_end, "up", ns=ns)
        return ns, host_end, addr

    def remove(self):
        for ns in self.namespaces:
            kill_namespace(ns)
            ip("netns", "del", ns, check=False)
        ip("link", "del", self.bridge, check=False)


def kill_namespace(ns):
    """SIGKILL every process of the namespace: how many there were."""
    pids = [int(p) for p in ip("netns", "pids", ns, check=False).split()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(pids)


def netns_works():
    name = "fwprobe-%04x" % random.randrange(0x10000)
    r = subprocess.run([chaos.tool("ip"), "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return r.stderr.strip() or "ip netns add failed"
    subprocess.run([chaos.tool("ip"), "netns", "del", name], capture_output=True)
    return None


# ---- the machines ------------------------------------------------------------------------------------

class Machine:
    """A worker machine: `framewright worker` in its namespace, with its own
    data folder; every incarnation's log kept."""

    def __init__(self, n, net, db, env):
        self.name = "machine%d" % n
        self.ns, self.veth, self.addr = net.add(n)
        self.data = fwe2e.tmpdir("fw-farm-%s-" % self.name)
        self.db = db
        self.env = env
        self.procs = []

    def start(self):
        # nsenter joins the namespace's network only (`ip netns exec` also
        # remounts /sys, which a chroot may not allow).
        argv = [chaos.tool("nsenter"), "--net=/run/netns/" + self.ns, fwe2e.framewright_bin(), "worker", "--data", self.data,
                "--database", self.db, "--lease-seconds", str(LEASE)]
        p = fwe2e.Proc(argv, "%s#%d" % (self.name, len(self.procs) + 1), env=self.env)
        self.procs.append(p)
        _, m = p.wait_line(r"takes jobs from the postgres store", 60)
        if m is None:
            raise RuntimeError("%s: the worker did not start" % self.name)
        return p

    def lines(self, pattern):
        return [line for p in self.procs for line in p.log_has(pattern)]

    def jobs(self, pattern):
        return [re.search(pattern, line).group(1) for line in self.lines(pattern)]

    def link(self, state):
        ip("link", "set", self.veth, state)


def wait_rendering(machines, job_id, timeout):
    """The machine whose log first says it renders job_id, or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for m in machines:
            if job_id in m.jobs(RENDERING):
                return m
        time.sleep(0.05)
    return None


# ---- the farm ------------------------------------------------------------------------------------------

class Farm:
    def __init__(self, bindir):
        self.net = Network()
        self.pg = chaos.Postgres(bindir, listen=self.net.host, trust=self.net.subnet)
        chaos.on_exit(self.pg.stop)
        self.pg.start()
        fwe2e.psql(self.pg.admin_url, "CREATE DATABASE fwfarm")
        self.db = fwe2e.with_database(self.pg.admin_url, "fwfarm")

        key_id, secret = "fwfarm%s" % self.net.tag, "%032x" % random.getrandbits(128)
        os.environ["FW_S3_ADDRESS"] = self.net.host
        self.s3 = proofs.S3(key_id, secret)
        chaos.on_exit(self.s3.stop)
        self.bucket = "farm-" + self.net.tag
        st, body = self.s3.request("PUT", "/" + self.bucket)
        if st != 200:
            raise RuntimeError("the bucket could not be made: %s %s" % (st, body[:200]))

        self.env = chaos.child_env({
            "FRAMEWRIGHT_S3_ENDPOINT": self.s3.endpoint, "FRAMEWRIGHT_S3_REGION": self.s3.region,
            "FRAMEWRIGHT_S3_BUCKET": self.bucket, "FRAMEWRIGHT_S3_ACCESS_KEY_ID": key_id,
            "FRAMEWRIGHT_S3_SECRET_ACCESS_KEY": secret,
            "FRAMEWRIGHT_SIGNING_SECRET": "%064x" % random.getrandbits(256),
            "FRAMEWRIGHT_SECRETS_KEY": "%064x" % random.getrandbits(256),
            "FRAMEWRIGHT_URL_ALLOW": "%s,127.0.0.0/8" % self.net.subnet,
            "FRAMEWRIGHT_LEASE_SECONDS": str(LEASE)})
        self.server = fwe2e.Server(workers=0, lease_seconds=LEASE, database=self.db, name="serve",
                                   extra=["--api", "off"], env=self.env)
        self.client = fwe2e.Client(self.server.grpc, self.server.key)
        self.machines = []
        for _ in range(MACHINES):
            self.machines.append(self.add_machine())

    def add_machine(self, start=True):
        m = Machine(len(self.machines) + 1, self.net, self.db, self.env)
        if start:
            m.start()
        return m

    def template(self, size):
        t = self.client.upload_template(fwe2e.long_template(*size))
        if t.status != "uploaded":
            raise RuntimeError("the template was refused: %s" % t.error.value)
        return t.id

    def submit(self, template_id, count):
        return [self.client.create_job({"template": {"id": template_id}, "settings": {"type": "video"}}).id
                for _ in range(count)]

    def wait(self, ids, timeout=JOB_WAIT):
        """The jobs once all have ended (bounded): {id: job}."""
        end = time.monotonic() + timeout
        jobs = {}
        while time.monotonic() < end:
            jobs = {i: self.client.get_job(i) for i in ids}
            if all(j.status in ("finished", "error", "manually_cancelled") for j in jobs.values()):
                break
            time.sleep(0.25)
        return jobs

    def objects(self):
        """The keys of the bucket."""
        st, body = self.s3.request("GET", "/" + self.bucket)
        if st != 200:
            raise RuntimeError("listing the bucket: %s" % st)
        return re.findall(r"<Key>([^<]*)</Key>", body.decode())

    def writes(self, job_id):
        """How many times an object of the job was written to the bucket:
        the S3 server's request log, a single PUT or the completion of a
        multipart upload each."""
        n = 0
        for line in self.s3.requests_log():
            method, path, status = line.split(" ")
            # The job's output, not the segments of its chunks (chunks/JOB/...).
            if job_id not in path or "/outputs/" not in path or not status.startswith("2"):
                continue
            query = path.split("?", 1)[1] if "?" in path else ""
            if (method == "PUT" and "partNumber=" not in query) or (method == "POST" and "uploadId=" in query):
                n += 1
        return n

    def finished_lines(self):
        """{job id: how many times a machine's worker logged it finished}."""
        out = {}
        for m in self.machines:
            for j in m.jobs(FINISHED):
                out[j] = out.get(j, 0) + 1
        return out

    def rows(self, ids):
        got = chaos.sql_rows(self.db, "SELECT id, status, attempts FROM jobs WHERE id IN (%s)" %
                             ",".join("'%s'" % i for i in ids))
        return {r[0]: (r[1], int(r[2])) for r in got}


def check_outputs(farm, label, jobs, size):
    """Each job finished, its output behind its URL an H.264 video of the
    size and frame count, and one object of it in the bucket."""
    w, h, frames = size
    bad = {i: j.status for i, j in jobs.items() if j.status != "finished"}
    T.check("%s every job is finished" % label, not bad, bad)
    rows = farm.rows(list(jobs))
    T.check("%s the store: %d rows, each finished" % (label, len(jobs)),
            len(rows) == len(jobs) and all(s == "finished" for s, _ in rows.values()), rows)
    problems = []
    for i, j in sorted(jobs.items()):
        try:
            code, body = fwe2e.fetch(j.output_url.value)
            info = fwe2e.ffprobe(body)
        except Exception as e:  # noqa: BLE001
            problems.append((i, str(e)))
            continue
        if (code, info.get("codec"), info.get("width"), info.get("height"), info.get("frames")) != \
                (200, "h264", w, h, frames):
            problems.append((i, code, info))
    T.check("%s every output URL gives an H.264 %dx%d video of %d frames" % (label, w, h, frames), not problems,
            problems[:5])
    keys = farm.objects()
    per_job = {i: [k for k in keys if i in k and k.startswith("outputs/")] for i in jobs}
    T.check("%s the bucket holds one output object per job" % label,
            all(len(v) == 1 for v in per_job.values()), {i: v for i, v in per_job.items() if len(v) != 1})
    writes = {i: farm.writes(i) for i in jobs}
    T.check("%s each output object was written once (one PUT or one completed multipart upload)" % label,
            all(n == 1 for n in writes.values()), {i: n for i, n in writes.items() if n != 1})
    return rows


def spread(farm, ids):
    """{machine name: how many of ids it finished}."""
    return {m.name: sum(1 for j in m.jobs(FINISHED) if j in ids) for m in farm.machines}


# ---- the cases ----------------------------------------------------------------------------------------

def case_batch(farm, figures):
    short, long_ = farm.template(SHORT), farm.template(LONG)
    farm.short, farm.long = short, long_
    t0 = time.monotonic()
    ids = farm.submit(short, BATCH)
    long_id = farm.submit(long_, 1)[0]
    jobs = farm.wait(ids + [long_id])
    figures["(a) batch of %d + one long job" % BATCH] = "%.1f s" % (time.monotonic() - t0)
    check_outputs(farm, "(a)", {i: jobs[i] for i in ids}, SHORT)
    check_outputs(farm, "(a) long job:", {long_id: jobs[long_id]}, LONG)
    per = spread(farm, ids + [long_id])
    figures["(a) jobs per machine"] = ", ".join("%s %d" % kv for kv in per.items())
    T.check("(a) every machine rendered at least one job of the batch", all(per.values()), per)


def case_direct_upload(farm, figures):
    """A Nexrender client's way: CreateTemplate, the bundle PUT to the signed
    URL it answered (straight to the bucket), then GetTemplate until it is
    uploaded; the template is then rendered by the farm. A bad bundle PUT
    the same way ends the template in error."""
    c = farm.client
    results = {}
    for name, data in (("good", fwe2e.long_template(*SHORT)), ("bad", b"{not a template")):
        t = c.templates.CreateTemplate(c.template_pb2.CreateTemplateRequest(type="json", display_name=name),
                                       metadata=c.md(), timeout=30)
        req = urllib.request.Request(t.upload_info.url, data=data, method="PUT")
        with urllib.request.urlopen(req, timeout=60) as r:
            put = r.status
        got, end = None, time.monotonic() + 60
        while time.monotonic() < end:
            got = c.templates.GetTemplate(c.template_pb2.GetTemplateRequest(id=t.id), metadata=c.md(), timeout=60)
            if got.status != "awaiting_upload":
                break
            time.sleep(0.25)
        results[name] = (put, t, got)
    put, t, got = results["good"]
    T.check("(e) the bundle PUT to the signed S3 URL: 200, then GetTemplate says uploaded, version 1",
            put == 200 and (got.status, got.version) == ("uploaded", 1), (put, got.status, got.error.value))
    T.check("(e) ... with its composition", [x.width for x in got.details.compositions] == [SHORT[0]],
            got.details)
    ids = farm.submit(t.id, 2)
    check_outputs(farm, "(e) jobs of it:", farm.wait(ids), SHORT)
    put, t, got = results["bad"]
    T.check("(e) a bad bundle PUT the same way: the template is in error, saying why",
            put == 200 and got.status == "error" and got.error.value, (put, got.status, got.error.value))


def case_join(farm, figures):
    ids = farm.submit(farm.short, BATCH * 2)
    m = farm.add_machine(start=False)
    farm.machines.append(m)
    t0 = time.monotonic()
    p = m.start()
    t_ready = time.monotonic()
    _, got = p.wait_line(RENDERING, 60)
    t_first = time.monotonic()
    T.check("(c) the machine started during the batch took a job", got is not None)
    if got is not None:
        figures["(c) new machine: start to ready"] = "%.2f s" % (t_ready - t0)
        figures["(c) new machine: ready to its first job"] = "%.2f s" % (t_first - t_ready)
        print("(c) %s took job %s %.2f s after it was ready" % (m.name, got.group(1), t_first - t_ready), flush=True)
    jobs = farm.wait(ids)
    check_outputs(farm, "(c)", jobs, SHORT)
    figures["(c) jobs per machine"] = ", ".join("%s %d" % kv for kv in spread(farm, ids).items())
    # On an idle farm a new job is taken when its NOTIFY arrives, not at a machine's next look.
    time.sleep(1.0)
    t0 = time.monotonic()
    job_id = farm.submit(farm.short, 1)[0]
    taker = wait_rendering(farm.machines, job_id, 30)
    T.check("(c) an idle farm takes a new job", taker is not None)
    figures["(c) idle farm: job created to rendering"] = "%.3f s" % (time.monotonic() - t0)
    farm.wait([job_id])


def case_kill(farm, figures):
    job_id = farm.submit(farm.long, 1)[0]
    victim = wait_rendering(farm.machines, job_id, 60)
    T.check("(b) a machine renders the long job", victim is not None)
    if victim is None:
        return
    time.sleep(1.0)
    t0 = time.monotonic()
    killed = kill_namespace(victim.ns)
    for p in victim.procs:
        p.p.wait(30)
    print("(b) SIGKILLed %d process(es) of %s (%s)" % (killed, victim.name, victim.ns), flush=True)
    status = farm.client.get_job(job_id).status
    T.check("(b) the job had not ended when its machine was killed", status not in ENDED, status)
    others = [m for m in farm.machines if m is not victim]
    taker = wait_rendering(others, job_id, 60)
    t_taken = time.monotonic()
    T.check("(b) another machine takes the job after the lease", taker is not None)
    jobs = farm.wait([job_id])
    figures["(b) kill to the job taken again (lease %d s)" % LEASE] = "%.1f s" % (t_taken - t0)
    figures["(b) kill to the job finished"] = "%.1f s" % (time.monotonic() - t0)
    rows = check_outputs(farm, "(b)", jobs, LONG)
    again = [line for m in farm.machines for line in m.lines(r"job=%s\] rendering chunk \d+: .*\(attempt [2-9]\)" % job_id)]
    T.check("(b) the store counts a second attempt (of the job, or of the killed machine's chunk)",
            rows.get(job_id, ("", 0))[1] >= 2 or again, (rows, again[:3]))
    T.check("(b) the killed machine never finished it", job_id not in victim.jobs(FINISHED))
    keys = [k for k in farm.objects() if job_id in k]
    T.check("(b) the bucket holds nothing else of the job (no partial object)", len(keys) == 1, keys)
    victim.start()  # the machine comes back for the next case


def case_outage(farm, figures):
    job_id = farm.submit(farm.long, 1)[0]
    cut = wait_rendering(farm.machines, job_id, 60)
    T.check("(d) a machine renders the long job", cut is not None)
    if cut is None:
        return
    time.sleep(1.0)
    before = len(cut.jobs(RENDERING))
    t0 = time.monotonic()
    cut.link("down")
    print("(d) %s's link is down for %.0f s" % (cut.name, DOWN), flush=True)
    others = [m for m in farm.machines if m is not cut]
    taker = wait_rendering(others, job_id, DOWN)
    t_taken = time.monotonic() - t0
    # Down for DOWN seconds at least, and on until the job has ended
    # elsewhere (a loaded host renders it slower), so that the cut machine
    # always comes back to a job that is no longer its own.
    t_done = None
    while time.monotonic() < t0 + DOWN or (t_done is None and time.monotonic() < t0 + DOWN + 120):
        if t_done is None and farm.client.get_job(job_id).status in ENDED:
            t_done = time.monotonic() - t0
        time.sleep(0.2)
    cut.link("up")
    print("(d) %s's link is up again" % cut.name, flush=True)
    T.check("(d) another machine took the job while the link was down", taker is not None)
    figures["(d) link down to the job taken again"] = "%.1f s" % t_taken
    T.check("(d) the job finished elsewhere while the link was down", t_done is not None)
    figures["(d) link down to the job finished elsewhere"] = "%.1f s" % t_done if t_done else "after the outage"
    jobs = farm.wait([job_id])
    check_outputs(farm, "(d)", jobs, LONG)
    # The cut machine comes back to a job no longer its own: it must leave it
    # be, and take new ones. Work is kept waiting (a few jobs at a time, so
    # that the other machines cannot empty the queue) until it does.
    t_up = time.monotonic()
    ids = []
    end = t_up + 120
    while time.monotonic() < end and len(cut.jobs(RENDERING)) == before:
        queued = chaos.sql_rows(farm.db, "SELECT count(*) FROM jobs WHERE status = 'queued'")[0][0]
        if int(queued) < MACHINES + 1:
            ids += farm.submit(farm.short, MACHINES + 1)
        time.sleep(0.1)
    back = len(cut.jobs(RENDERING)) > before
    if not back:
        r = subprocess.run([chaos.tool("nsenter"), "--net=/run/netns/" + cut.ns, chaos.tool("ss"), "-tnoi"],
                           capture_output=True, text=True, timeout=30)
        print("(d) %s's sockets:\n%s" % (cut.name, r.stdout + r.stderr), flush=True)
    T.check("(d) the machine takes jobs again once its link is up", back, cut.lines(r"WARN|ERROR")[-5:])
    figures["(d) link up to the machine's next job"] = "%.1f s" % (time.monotonic() - t_up) if back else "none"
    check_outputs(farm, "(d) after:", farm.wait(ids), SHORT)
    again = farm.finished_lines()
    twice = {j: n for j, n in again.items() if n > 1}
    T.check("(d) no job of the run was finished twice (the machines' logs)", not twice, twice)
    st, body = farm.s3.request("GET", "/%s/%s" % (farm.bucket, [k for k in farm.objects() if job_id in k][0]))
    info = fwe2e.ffprobe(body) if st == 200 else {}
    T.check("(d) the job's object in the bucket is still a whole video", info.get("frames") == LONG[2], info)
    figures["(d) jobs the cut machine rendered after"] = str(len(cut.jobs(RENDERING)) - before)


def case_split(farm, figures):
    """The 60 s 1080p30 job of the issue, with a tone from a file server on
    the bridge: split over the machines, whole by ffprobe (frames,
    duration, the sound's length), and at every chunk boundary the frames
    of the same job rendered whole (settings.chunks 1) on one machine."""
    w, h, frames = SPLIT
    folder = fwe2e.tmpdir("fw-farm-files-")
    fwe2e.tone_wav(os.path.join(folder, "tone.wav"), frames / 30.0 + 1)
    files = fwe2e.FileServer(folder, host=farm.net.host)
    chaos.on_exit(files.stop)
    t = farm.client.upload_template(fwe2e.moving_template(w, h, frames))
    body = {"template": {"id": t.id}, "assets": [{"type": "audio", "src": files.url + "/tone.wav"}],
            "settings": {"type": "video", "codec": "video_h264_vbr_15mbps"}}
    t0 = time.monotonic()
    split_id = farm.client.create_job(body).id
    jobs = farm.wait([split_id])
    figures["(f) %dx%d, %d frames, split" % (w, h, frames)] = "%.1f s" % (time.monotonic() - t0)
    check_outputs(farm, "(f) split:", jobs, SPLIT)
    job = jobs[split_id]
    T.check("(f) it was rendered in %d chunks" % (frames // 120), job.stats.chunks == frames // 120, job.stats.chunks)
    T.check("(f) ... by more than one machine", len(set(job.stats.workers)) >= 2, list(job.stats.workers))
    figures["(f) machines that rendered chunks"] = str(len(set(job.stats.workers)))
    body["settings"]["chunks"] = 1
    t0 = time.monotonic()
    whole_id = farm.client.create_job(body).id
    wjobs = farm.wait([whole_id])
    figures["(f) the same job whole, on one machine"] = "%.1f s" % (time.monotonic() - t0)
    check_outputs(farm, "(f) whole:", wjobs, SPLIT)
    _, split = fwe2e.fetch(job.output_url.value)
    _, whole = fwe2e.fetch(wjobs[whole_id].output_url.value)
    info = fwe2e.ffprobe(split)
    T.check("(f) the split output lasts %d s" % (frames // 30), abs(info.get("duration", 0) - frames / 30.0) < 0.05,
            info)
    secs = fwe2e.audio_seconds(split)
    T.check("(f) the split output's sound lasts %d s" % (frames // 30), secs is not None and abs(secs - frames / 30.0)
            < 0.03, secs)
    T.check("(f) ... sample for sample the whole render's", fwe2e.sound_samples(split) == fwe2e.sound_samples(whole))
    a, b = fwe2e.grey_frames(split), fwe2e.grey_frames(whole)
    size = 160 * 90
    if len(a) == len(b) == size * frames:
        worst, bad = fwe2e.boundary_frames(a, b, size, frames, 120)
        figures["(f) boundary frames against the whole's (worst)"] = "%.1f dB" % worst
        T.check("(f) every frame at a chunk boundary is the whole render's frame of its number", not bad, bad[:5])
    else:
        T.check("(f) both outputs decode to every frame", False, (len(a), len(b)))


def case_services(farm, figures):
    """While a long job renders in chunks over the machines, the database is
    SIGKILLed and started again, then the API server: the job still
    finishes, once, whole, and nothing of its chunks is left."""
    job_id = farm.submit(farm.long, 1)[0]
    end = time.monotonic() + 60
    while time.monotonic() < end and not chaos.sql_rows(farm.db, "SELECT 1 FROM chunks WHERE job_id = '%s' AND "
                                                                 "status = 'rendering'" % job_id):
        time.sleep(0.05)
    t0 = time.monotonic()
    farm.pg.kill()
    print("(g) PostgreSQL SIGKILLed", flush=True)
    time.sleep(2.0)
    farm.pg.start()
    figures["(g) PostgreSQL down"] = "%.1f s" % (time.monotonic() - t0)
    old = farm.server
    os.kill(old.pid, signal.SIGKILL)
    old.proc.p.wait(30)
    print("(g) serve SIGKILLed", flush=True)
    farm.client.close()
    farm.server = fwe2e.Server(workers=0, lease_seconds=LEASE, database=farm.db, name="serve#2",
                               extra=["--api", "off"], env=farm.env, data=old.data)
    farm.client = fwe2e.Client(farm.server.grpc, farm.server.key or old.key)
    jobs = farm.wait([job_id])
    figures["(g) the job finished after the kills"] = "%.1f s" % (time.monotonic() - t0)
    check_outputs(farm, "(g)", jobs, LONG)
    twice = {j: n for j, n in farm.finished_lines().items() if n > 1}
    T.check("(g) no job was finished twice", not twice, twice)


def case_bucket(farm, figures):
    """While a long job renders in chunks over the machines, the S3 server
    is SIGKILLed and started again 3 s later: the job still finishes, once,
    whole."""
    job_id = farm.submit(farm.long, 1)[0]
    end = time.monotonic() + 60
    while time.monotonic() < end and not chaos.sql_rows(farm.db, "SELECT 1 FROM chunks WHERE job_id = '%s' AND "
                                                                 "status = 'finished'" % job_id):
        time.sleep(0.05)
    t0 = time.monotonic()
    farm.s3.kill()
    print("(h) the S3 server SIGKILLed", flush=True)
    time.sleep(3.0)
    farm.s3.restart()
    figures["(h) the bucket down"] = "%.1f s" % (time.monotonic() - t0)
    jobs = farm.wait([job_id])
    figures["(h) the job finished after the kill"] = "%.1f s" % (time.monotonic() - t0)
    check_outputs(farm, "(h)", jobs, LONG)
    twice = {j: n for j, n in farm.finished_lines().items() if n > 1}
    T.check("(h) no job was finished twice", not twice, twice)


def check_end(farm):
    rows = chaos.sql_rows(farm.db, "SELECT status, count(*) FROM jobs GROUP BY status")
    T.check("the store: every job of the run is finished", all(r[0] == "finished" for r in rows), rows)
    finished = {r[0] for r in chaos.sql_rows(farm.db, "SELECT id FROM jobs")}
    keys = [k for k in farm.objects() if k.startswith("outputs/")]
    strays = [k for k in keys if not any(j in k for j in finished)]
    T.check("the bucket: no output object without its job", not strays, strays[:5])
    segments = [k for k in farm.objects() if k.startswith("chunks/")]
    T.check("the bucket: no chunk segment is left", not segments, segments[:5])
    rows = chaos.sql_rows(farm.db, "SELECT job_id, idx, status FROM chunks")
    T.check("the store: no chunk row is left", not rows, rows[:5])
    reports = [line for p in [farm.server.proc] + [p for m in farm.machines for p in m.procs]
               for line in p.log_has(chaos.SANITIZER_REPORT)]
    T.check("no sanitizer report", not reports, reports[:5])
    for m in farm.machines:
        for p in m.procs:
            if p.p.poll() is None:
                rc = p.stop(30)
                T.check("%s stops cleanly on SIGTERM" % m.name, rc == 0, rc)
    rc = farm.server.stop(30)
    T.check("serve stops cleanly on SIGTERM", rc == 0, rc)


def print_figures(farm, figures):
    print("\nfarm run: %d machines (+1), bridge %s, lease %d s, outage %.0f s" % (MACHINES, farm.net.subnet, LEASE,
                                                                               DOWN))
    print("| machine | jobs rendered (started) | jobs finished |")
    print("|---|---:|---:|")
    for m in farm.machines:
        print("| %s | %d | %d |" % (m.name, len(m.jobs(RENDERING)), len(m.jobs(FINISHED))))
    print("| figure | value |")
    print("|---|---:|")
    for k, v in figures.items():
        print("| %s | %s |" % (k, v))
    print(flush=True)


def run(bindir):
    t0 = time.monotonic()
    farm = Farm(bindir)
    figures = {}
    T.case("(a) a batch over three machines", case_batch, farm, figures)
    T.case("(e) a bundle PUT to the signed S3 URL", case_direct_upload, farm, figures)
    T.case("(c) a machine joins during a batch", case_join, farm, figures)
    T.case("(b) a machine is killed mid-job", case_kill, farm, figures)
    T.case("(d) a machine loses the network", case_outage, farm, figures)
    T.case("(f) a 60 s 1080p30 job split over the machines", case_split, farm, figures)
    T.case("(g) the database and the API server killed during a split render", case_services, farm, figures)
    T.case("(h) the S3 server killed during a split render", case_bucket, farm, figures)
    figures["whole run"] = "%.1f s" % (time.monotonic() - t0)
    print_figures(farm, figures)
    check_end(farm)


def main():
    why = None
    bindir = chaos.pg_bindir()
    if os.geteuid() != 0:
        why = "namespaces, veths and a bridge need root"
    elif not bindir:
        why = "PostgreSQL's initdb and postgres are not installed (Debian's postgresql package)"
    else:
        why = netns_works()
        if why:
            why = "ip netns is not possible here: " + why
    if why:
        T.skip("farm", why)
    else:
        T.case("farm", run, bindir)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
