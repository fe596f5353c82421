"""robustness_test.py - framewright serve when things go wrong:

 (a) the worker rendering a job is killed with SIGKILL: serve starts another,
     the reaper hands the job back once the lease runs out, and the job
     finishes exactly once;
 (b) a job cancelled while it renders stops: manually_cancelled, the worker
     says so, no output (nor any file of the job) is left;
 (c) (a) on PostgreSQL with two `framewright worker` processes sharing the
     queue and six jobs (skipped when FW_TEST_PG_URL is unset; a database
     of its own is made and dropped).

The long job is the hello template made 1920x1080 and LONG_FRAMES long."""

import os
import signal
import threading
import time

import grpc

import fwe2e

LONG_FRAMES = 300
LEASE = 3
WAIT = 600  # seconds: the bound on any one wait for a render (sanitized builds are slow)

T = fwe2e.Checks()


class Watcher:
    """WatchJob of one job in a thread: every status it sees."""

    def __init__(self, client, job_id):
        self.statuses = []
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(client, job_id), daemon=True)
        self.thread.start()

    def _run(self, client, job_id):
        try:
            for ev in client.jobs.WatchJob(client.job_pb2.WatchJobRequest(id=job_id), metadata=client.md(),
                                           timeout=WAIT):
                self.statuses.append(ev.job.status)
        except grpc.RpcError as e:
            self.error = "%s %s" % (e.code(), e.details())

    def join(self, timeout=WAIT):
        self.thread.join(timeout)
        return not self.thread.is_alive()


def wait_rendering(c, job_id):
    """Until the job renders with progress > 0 (bounded)."""
    job = c.wait_status(job_id, ("render:dorender",), WAIT, pred=lambda j: j.progress > 0)
    return job


def files_of(folder, job_id):
    out = []
    for d, _, names in os.walk(folder):
        out += [os.path.join(d, n) for n in names if job_id in n]
    return out


def check_output(label, c, job_id, width, height, frames):
    got = c.get_job(job_id)
    T.check(label + ": GetJob finished", got.status == "finished", "%s %s" % (got.status, got.stats.error.value))
    if got.status != "finished":
        return
    code, body = fwe2e.fetch(got.output_url.value)
    info = fwe2e.ffprobe(body)
    print(label, "ffprobe:", info)
    T.check(label + ": the output is H.264 %dx%d, %d frames" % (width, height, frames),
            (code, info.get("codec"), info.get("width"), info.get("height"), info.get("frames")) ==
            (200, "h264", width, height, frames), (code, info))


def kill_mid_render(srv, c, long_t):
    job = c.create_job({"template": {"id": long_t.id}})
    w = Watcher(c, job.id)
    cur = wait_rendering(c, job.id)
    T.check("(a) the long job is caught rendering", cur.status == "render:dorender" and cur.progress > 0,
            "%s %.1f" % (cur.status, cur.progress))
    if cur.status != "render:dorender":
        return
    workers = fwe2e.worker_pids(srv.pid)
    T.check("(a) serve has one worker", len(workers) == 1, workers)
    victim = workers[0]
    mark = len(srv.proc.lines)
    os.kill(victim, signal.SIGKILL)
    print("killed worker %d at %.1f%%" % (victim, cur.progress), flush=True)
    _, m = srv.proc.wait_line(r"worker %d died of signal 9" % victim, 30, mark)
    T.check("(a) serve notices the worker died", m is not None)
    deadline = time.monotonic() + 30
    fresh = []
    while time.monotonic() < deadline:
        fresh = [p for p in fwe2e.worker_pids(srv.pid) if p != victim]
        if fresh:
            break
        time.sleep(0.2)
    T.check("(a) serve starts another worker", len(fresh) == 1, fresh)
    _, m = srv.proc.wait_line(r"\[reaper\].*queued again", LEASE + 30, mark)
    T.check("(a) the reaper hands the job back", m is not None)
    _, m = srv.proc.wait_line(r"job=%s\] rendering \(attempt 2," % job.id, WAIT, mark)
    T.check("(a) a second attempt starts", m is not None)
    T.check("(a) the watch stream ends", w.join())
    print("(a) watch statuses:", w.statuses, w.error)
    T.check("(a) the watch stream ends with finished", w.statuses and w.statuses[-1] == "finished",
            (w.statuses, w.error))
    T.check("(a) finished shows once in the stream", w.statuses.count("finished") == 1, w.statuses)
    check_output("(a)", c, job.id, 1920, 1080, LONG_FRAMES)
    # The API shows the second attempt as the job going back to the queue.
    st = w.statuses
    back = [i for i in range(1, len(st)) if st[i] == "queued" and "render:dorender" in st[:i]]
    T.check("(a) the stream shows the job queued again, then rendering",
            back and "render:dorender" in st[back[0]:], st)
    # Give a stray second completion the chance to show, then count.
    time.sleep(LEASE)
    done = srv.proc.log_has(r"job=%s\] finished:" % job.id)
    T.check("(a) the job finished exactly once", len(done) == 1, done)
    T.check("(a) no attempt 3", not srv.proc.log_has(r"job=%s\] rendering \(attempt 3," % job.id))


def cancel_mid_render(srv, c, long_t):
    job = c.create_job({"template": {"id": long_t.id}})
    w = Watcher(c, job.id)
    cur = wait_rendering(c, job.id)
    T.check("(b) the long job is caught rendering", cur.status == "render:dorender" and cur.progress > 0,
            "%s %.1f" % (cur.status, cur.progress))
    mark = len(srv.proc.lines)
    r = c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=job.id), metadata=c.md(), timeout=30)
    T.check("(b) CancelJob answers manually_cancelled", r.status == "manually_cancelled", r.status)
    T.check("(b) the watch stream ends", w.join(60))
    T.check("(b) the watch stream ends with manually_cancelled",
            w.statuses and w.statuses[-1] == "manually_cancelled", (w.statuses, w.error))
    _, m = srv.proc.wait_line(r"job=%s\] cancelled" % job.id, 60, mark)
    T.check("(b) the worker logs the cancel", m is not None)
    got = c.get_job(job.id)
    T.check("(b) GetJob: manually_cancelled", got.status == "manually_cancelled", got.status)
    T.check("(b) the render did not run to the end", got.progress < 100, got.progress)
    T.check("(b) no finished line for the job", not srv.proc.log_has(r"job=%s\] finished:" % job.id))
    left = files_of(srv.data, job.id)
    T.check("(b) no file of the job is left (output or scratch)", not left, left)
    if got.output_url.value:
        try:
            code, body = fwe2e.fetch(got.output_url.value)
        except Exception as e:  # urllib raises for 4xx
            code = getattr(e, "code", None)
        T.check("(b) its output URL has nothing (404)", code == 404, code)
    # The worker goes on with the next job.
    short = c.create_job({"template": {"id": long_t.id}, "settings": {"frames": [0, 4]}})
    st = [e.job.status for e in c.watch(short.id, WAIT)]
    T.check("(b) the worker then renders the next job", st and st[-1] == "finished", st)


def sqlite_part():
    srv = fwe2e.Server(workers=1, lease_seconds=LEASE, name="serve")
    c = None
    try:
        c = fwe2e.Client(srv.grpc, srv.key)
        long_t = c.upload_template(fwe2e.long_template(1920, 1080, LONG_FRAMES))
        T.check("the long template is uploaded", long_t.status == "uploaded", long_t.error.value)
        T.case("(a) worker killed mid-render", kill_mid_render, srv, c, long_t)
        T.case("(b) cancel mid-render", cancel_mid_render, srv, c, long_t)
    finally:
        if c:
            c.close()
        rc = srv.stop()
        T.check("serve stops cleanly on SIGTERM", rc == 0, rc)


# ---- (c) PostgreSQL, two workers ------------------------------------------------------------------

def postgres_part(admin_url):
    db = fwe2e.FreshDatabase(admin_url)
    url = db.url
    srv = None
    workers = []
    c = None
    try:
        srv = fwe2e.Server(workers=0, lease_seconds=LEASE, database=url, name="serve-pg")
        T.check("(c) serve on PostgreSQL starts no worker of its own", fwe2e.worker_pids(srv.pid) == [])
        wargs = ["--lease-seconds", str(LEASE)]
        for i in (1, 2):
            workers.append(fwe2e.Proc([fwe2e.framewright_bin(), "worker"] + srv.data_args() + wargs, "worker%d" % i))
        for wk in workers:
            _, m = wk.wait_line(r"takes jobs from the postgres store", 60)
            T.check("(c) %s takes jobs from the postgres store" % wk.name, m is not None)
        c = fwe2e.Client(srv.grpc, srv.key)
        long_t = c.upload_template(fwe2e.long_template(1920, 1080, LONG_FRAMES))
        hello_t = c.upload_template(fwe2e.hello_template())
        jobs = [c.create_job({"template": {"id": long_t.id}})]
        jobs += [c.create_job({"template": {"id": hello_t.id}, "assets": fwe2e.hello_assets(),
                               "settings": {"frames": [0, 29]}}) for _ in range(5)]
        watchers = {j.id: Watcher(c, j.id) for j in jobs}
        long_id = jobs[0].id
        cur = wait_rendering(c, long_id)
        T.check("(c) the long job is caught rendering", cur.status == "render:dorender" and cur.progress > 0,
                "%s %.1f" % (cur.status, cur.progress))
        holder = [wk for wk in workers if wk.log_has(r"job=%s\] rendering \(attempt 1," % long_id)]
        T.check("(c) one worker holds the long job", len(holder) == 1, [wk.name for wk in holder])
        if holder:
            victim = holder[0]
            os.kill(victim.pid, signal.SIGKILL)
            victim.stop(10)
            print("(c) killed %s at %.1f%%" % (victim.name, cur.progress), flush=True)
            _, m = srv.proc.wait_line(r"\[reaper\].*queued again", LEASE + 30)
            T.check("(c) the reaper hands the job back", m is not None)
            survivor = [wk for wk in workers if wk is not victim][0]
            _, m = survivor.wait_line(r"job=%s\] rendering \(attempt 2," % long_id, WAIT)
            T.check("(c) the other worker takes it up", m is not None)
        for j in jobs:
            w = watchers[j.id]
            T.check("(c) job %s: the watch stream ends" % j.id, w.join())
            T.check("(c) job %s: finished once in its stream" % j.id,
                    w.statuses and w.statuses[-1] == "finished" and w.statuses.count("finished") == 1,
                    (w.statuses, w.error))
        check_output("(c) long job", c, long_id, 1920, 1080, LONG_FRAMES)
        for j in jobs[1:]:
            check_output("(c) job %s" % j.id, c, j.id, 1280, 720, 30)
        time.sleep(LEASE)
        for j in jobs:
            done = [x for wk in workers for x in wk.log_has(r"job=%s\] finished:" % j.id)]
            T.check("(c) job %s finished exactly once" % j.id, len(done) == 1, done)
        # The queue is shared: both took jobs (the one killed held the long job).
        took = [len(wk.log_has(r"rendering \(attempt")) for wk in workers]
        T.check("(c) both workers took jobs from the one queue", all(took), took)
    finally:
        if c:
            c.close()
        for wk in workers:
            rc = wk.stop()
            if wk.p.returncode is not None and rc != -signal.SIGKILL:
                T.check("(c) %s stops cleanly on SIGTERM" % wk.name, rc == 0, rc)
        if srv:
            rc = srv.stop()
            T.check("(c) serve on PostgreSQL stops cleanly on SIGTERM", rc == 0, rc)
        try:
            db.close()
        except RuntimeError as e:
            print(e)


def main():
    T.case("(a, b) SQLite, one worker", sqlite_part)
    pg = os.environ.get("FW_TEST_PG_URL")
    if not pg:
        T.skip("(c) PostgreSQL with two workers", "FW_TEST_PG_URL is not set")
    else:
        T.case("(c) PostgreSQL with two workers", postgres_part, pg)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
