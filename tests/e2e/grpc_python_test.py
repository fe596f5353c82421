"""grpc_python_test.py - framewright serve through Python's grpcio (Debian's
python3-grpcio), a gRPC implementation that is not ours: the whole flow from
template upload to the MP4 fetched from its signed URL, and the API's
answers to wrong keys, bad jobs, other teams, paging, cancelling and a
client that goes away mid-stream."""

import json
import os
import re
import grpc

import fwe2e

RENDER_TIMEOUT = 300  # seconds for one hello render (sanitized builds are slow)

T = fwe2e.Checks()


def status_of(e):
    return e.code() if isinstance(e, grpc.RpcError) else None


def full_flow(c):
    data = fwe2e.hello_template()
    t = c.upload_template(data)
    T.check("template uploaded", t.status == "uploaded", "status %r error %r" % (t.status, t.error.value))
    T.check("template size is the bytes sent", t.size == len(data), "%d != %d" % (t.size, len(data)))
    T.check("template lists composition 'main'", "main" in list(t.compositions), list(t.compositions))
    T.check("template lists layer 'title'", "title" in list(t.layers), list(t.layers))
    comps = {x.name: x for x in t.details.compositions}
    m = comps.get("main")
    T.check("template details: main is 1280x720, 90 frames",
            m is not None and (m.width, m.height, m.frames) == (1280, 720, 90),
            m and (m.width, m.height, m.frames))

    job = c.create_job({"template": {"id": t.id}, "assets": fwe2e.hello_assets(),
                        "settings": {"type": "video", "codec": "video_h264_vbr_5mbps"}})
    T.check("new job is queued", job.status == "queued", job.status)
    rendered_jobs.append(job.id)
    T.check("new job names its template", job.template_id.value == t.id, job.template_id.value)

    events = c.watch(job.id, RENDER_TIMEOUT)
    statuses = [e.job.status for e in events]
    print("watch statuses:", statuses, "stages:", [e.stage for e in events])
    T.check("WatchJob ends with finished", statuses and statuses[-1] == "finished", statuses)
    T.check("WatchJob shows finished once", statuses.count("finished") == 1, statuses)
    T.check("WatchJob events are of this job", all(e.job.id == job.id for e in events))
    prog = [e.job.progress for e in events]
    T.check("progress never goes back", all(a <= b for a, b in zip(prog, prog[1:])), prog)
    # Progress is written every 2 % or 250 ms, whichever comes first, and
    # never closer than 50 ms: a render that moves for S seconds shows at
    # least one value per 250 ms of it (half that is asked, for a busy
    # machine), and never only its start and end.
    moving = [e for e in events if 10 < e.job.progress < 95]
    values = sorted(set(e.job.progress for e in moving))
    steps = [b - a for a, b in zip(values, values[1:])]
    span = 0.0
    if moving:
        times = [e.job.stats.updated_at.seconds + e.job.stats.updated_at.nanos / 1e9 for e in moving]
        span = max(times) - min(times)
    print("progress while rendering: %d values over %.2f s, widest step %.1f %%" %
          (len(values), span, max(steps or [0])))
    T.check("WatchJob shows progress while rendering, at least every 500 ms of it",
            len(values) >= max(3, int(span / 0.5)), (span, prog))
    got = c.get_job(job.id)
    T.check("GetJob: finished", got.status == "finished", got.status)
    T.check("GetJob: progress 100", abs(got.progress - 100.0) < 1e-6, got.progress)
    T.check("GetJob: has an output URL", got.output_url.value.startswith("http://"), got.output_url.value)
    T.check("GetJob: stats have started and finished times",
            got.stats.started_at.seconds > 0 and got.stats.finished_at.seconds >= got.stats.started_at.seconds,
            got.stats)
    code, body = fwe2e.fetch(got.output_url.value)
    T.check("output URL answers 200", code == 200, code)
    info = fwe2e.ffprobe(body)
    print("ffprobe:", info)
    T.check("output is H.264", info.get("codec") == "h264", info)
    T.check("output is 1280x720", (info.get("width"), info.get("height")) == (1280, 720), info)
    T.check("output has 90 frames", info.get("frames") == 90, info)
    T.check("output is an MP4", "mp4" in (info.get("format") or ""), info)

    # The URL is signed: a changed signature is refused.
    url = got.output_url.value
    bad = url[:-1] + ("0" if url[-1] != "0" else "1")
    try:
        code, _ = fwe2e.fetch(bad)
    except Exception as e:  # urllib raises for 4xx
        code = getattr(e, "code", None)
    T.check("output URL with a changed signature is refused (403)", code == 403, code)
    return t


def unknown_key(c):
    for name, call in (
        ("GetJob", lambda k: c.get_job("01J00000000000000000000000", key=k)),
        ("ListJobs", lambda k: c.jobs.ListJobs(c.job_pb2.ListJobsRequest(), metadata=c.md(k), timeout=30)),
        ("CreateTemplate", lambda k: c.templates.CreateTemplate(
            c.template_pb2.CreateTemplateRequest(type="json", display_name="x"), metadata=c.md(k), timeout=30)),
    ):
        try:
            call("fw_" + "x" * 40)
            T.check("%s with an unknown key: UNAUTHENTICATED" % name, False, "the call succeeded")
        except grpc.RpcError as e:
            T.check("%s with an unknown key: UNAUTHENTICATED" % name,
                    e.code() == grpc.StatusCode.UNAUTHENTICATED, "%s %s" % (e.code(), e.details()))
    # The key is checked before the request: a bad body with a bad key says nothing about the body.
    try:
        c.templates.CreateTemplate(c.template_pb2.CreateTemplateRequest(type="json"), metadata=c.md("fw_" + "y" * 40),
                                   timeout=30)
        T.check("CreateTemplate (no displayName) with an unknown key: UNAUTHENTICATED", False, "succeeded")
    except grpc.RpcError as e:
        T.check("CreateTemplate (no displayName) with an unknown key: UNAUTHENTICATED",
                e.code() == grpc.StatusCode.UNAUTHENTICATED, "%s %s" % (e.code(), e.details()))
    # No key at all.
    try:
        c.jobs.ListJobs(c.job_pb2.ListJobsRequest(), timeout=30)
        T.check("ListJobs without a key: UNAUTHENTICATED", False, "the call succeeded")
    except grpc.RpcError as e:
        T.check("ListJobs without a key: UNAUTHENTICATED", e.code() == grpc.StatusCode.UNAUTHENTICATED,
                "%s %s" % (e.code(), e.details()))


def missing_layer(c, t):
    try:
        j = c.create_job({"template": {"id": t.id},
                          "assets": [{"type": "text", "layerName": "no such layer", "value": "x"}]})
        T.check("job naming a missing layer: INVALID_ARGUMENT", False, "created job %s (%s)" % (j.id, j.status))
    except grpc.RpcError as e:
        print("missing layer:", e.code(), e.details())
        T.check("job naming a missing layer: INVALID_ARGUMENT", e.code() == grpc.StatusCode.INVALID_ARGUMENT,
                e.code())
        T.check("the details name assets[0].layerName", "assets[0].layerName" in (e.details() or ""),
                e.details())


def frames_past_the_end(c, t):
    """The hello composition has 90 frames: frame 90 is refused before anything is queued."""
    try:
        j = c.create_job({"template": {"id": t.id}, "settings": {"type": "image", "frames": 90}})
        T.check("a frame past the end: INVALID_ARGUMENT", False, "created job %s (%s)" % (j.id, j.status))
    except grpc.RpcError as e:
        T.check("a frame past the end: INVALID_ARGUMENT", e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.code())
        T.check("the details name settings.frames and the last frame",
                "settings.frames" in (e.details() or "") and "0 to 89" in (e.details() or ""), e.details())
    j = c.create_job({"template": {"id": t.id}, "settings": {"type": "image", "frames": 89}})
    T.check("the last frame is accepted", j.status == "queued", j.status)


def other_team(srv, c, t):
    other = srv.new_key("other")
    T.check("keys create prints a key", other.startswith("fw_") and other != c.key, other)
    job = c.create_job({"template": {"id": t.id}, "assets": fwe2e.hello_assets(),
                        "settings": {"frames": [0, 1]}})
    try:
        j = c.get_job(job.id, key=other)
        T.check("GetJob of another team's job: NOT_FOUND", False, "got %s" % j.status)
    except grpc.RpcError as e:
        T.check("GetJob of another team's job: NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND,
                "%s %s" % (e.code(), e.details()))
    try:
        c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=job.id), metadata=c.md(other), timeout=30)
        T.check("CancelJob of another team's job: NOT_FOUND", False, "the call succeeded")
    except grpc.RpcError as e:
        T.check("CancelJob of another team's job: NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND,
                "%s %s" % (e.code(), e.details()))
    r = c.jobs.ListJobs(c.job_pb2.ListJobsRequest(), metadata=c.md(other), timeout=30)
    T.check("ListJobs of the other team does not show it", job.id not in [j.id for j in r.jobs],
            [j.id for j in r.jobs])
    try:
        x = c.templates.GetTemplate(c.template_pb2.GetTemplateRequest(id=t.id), metadata=c.md(other), timeout=30)
        T.check("GetTemplate of another team's template: NOT_FOUND", False, "got %s" % x.status)
    except grpc.RpcError as e:
        T.check("GetTemplate of another team's template: NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND,
                "%s %s" % (e.code(), e.details()))
    try:
        j = c.create_job({"template": {"id": t.id}}, key=other)
        T.check("CreateJob on another team's template is refused", False, "created %s" % j.id)
    except grpc.RpcError as e:
        T.check("CreateJob on another team's template is refused",
                e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT),
                "%s %s" % (e.code(), e.details()))


def paging(srv, c):
    """On a server without workers: 5 queued jobs, pages of 2."""
    key = srv.new_key("pager")
    t = c.upload_template(fwe2e.hello_template(), key=key)
    made = [c.create_job({"template": {"id": t.id}}, key=key).id for _ in range(5)]
    pages, token = [], ""
    for _ in range(10):  # bounded: 3 pages expected
        r = c.jobs.ListJobs(c.job_pb2.ListJobsRequest(page_size=2, page_token=token), metadata=c.md(key),
                            timeout=30)
        pages.append([j.id for j in r.jobs])
        token = r.next_page_token
        if not token:
            break
    print("pages:", pages)
    T.check("ListJobs pages of 2 over 5 jobs: 2, 2, 1", [len(p) for p in pages] == [2, 2, 1],
            [len(p) for p in pages])
    seen = [i for p in pages for i in p]
    T.check("the pages hold each job once", sorted(seen) == sorted(made) and len(set(seen)) == 5, seen)
    r = c.jobs.ListJobs(c.job_pb2.ListJobsRequest(page_size=5), metadata=c.md(key), timeout=30)
    T.check("a page of 5 holds all 5", len(r.jobs) == 5, len(r.jobs))
    if r.next_page_token:
        # A full last page may still carry a token; it must lead to an empty end.
        r = c.jobs.ListJobs(c.job_pb2.ListJobsRequest(page_size=5, page_token=r.next_page_token),
                            metadata=c.md(key), timeout=30)
        T.check("the token after the last full page gives an empty page and no token",
                len(r.jobs) == 0 and r.next_page_token == "", (len(r.jobs), r.next_page_token))
    r = c.jobs.ListJobs(c.job_pb2.ListJobsRequest(page_size=100, status="queued"), metadata=c.md(key),
                        timeout=30)
    T.check("status filter 'queued' shows the 5", len(r.jobs) == 5, len(r.jobs))
    r = c.jobs.ListJobs(c.job_pb2.ListJobsRequest(page_size=100, status="finished"), metadata=c.md(key),
                        timeout=30)
    T.check("status filter 'finished' shows none", len(r.jobs) == 0, len(r.jobs))
    try:
        r = c.jobs.ListJobs(c.job_pb2.ListJobsRequest(page_size=2, page_token="not a token"), metadata=c.md(key),
                        timeout=30)
        T.check("a made-up page_token: INVALID_ARGUMENT", False, "the call succeeded")
        print("a made-up page_token gave %d jobs" % len(r.jobs))
    except grpc.RpcError as e:
        T.check("a made-up page_token: INVALID_ARGUMENT", e.code() == grpc.StatusCode.INVALID_ARGUMENT,
                "%s %s" % (e.code(), e.details()))


def cancel_queued(srv, c):
    """On a server without workers: a watcher sees the cancel end its stream."""
    t = c.upload_template(fwe2e.hello_template())
    job = c.create_job({"template": {"id": t.id}})
    call = c.jobs.WatchJob(c.job_pb2.WatchJobRequest(id=job.id), metadata=c.md(), timeout=60)
    first = next(call)
    T.check("WatchJob of a queued job starts with queued", first.job.status == "queued", first.job.status)
    cancelled = c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=job.id), metadata=c.md(), timeout=30)
    T.check("CancelJob answers manually_cancelled", cancelled.status == "manually_cancelled", cancelled.status)
    try:
        st = [first.job.status] + [e.job.status for e in call]
        T.check("the WatchJob stream ends with manually_cancelled", st[-1] == "manually_cancelled", st)
    except grpc.RpcError as e:
        T.check("the WatchJob stream ends with manually_cancelled", False, "%s %s" % (e.code(), e.details()))
    T.check("GetJob: manually_cancelled", c.get_job(job.id).status == "manually_cancelled")
    # Cancelling again: it is already over.
    r = c.jobs.CancelJobs(c.job_pb2.CancelJobsRequest(ids=[job.id]), metadata=c.md(), timeout=30)
    T.check("CancelJobs of a cancelled job lists it as not cancelled",
            list(r.not_cancelled) == [job.id] and len(r.cancelled) == 0, r)
    # WatchJob on a job that is already over: one event, then the end.
    st = [e.job.status for e in c.watch(job.id, 30)]
    T.check("WatchJob of a finished-with job: its state, then the end", st == ["manually_cancelled"], st)


def disconnect_mid_stream(c, t):
    job = c.create_job({"template": {"id": t.id}, "assets": fwe2e.hello_assets()})
    call = c.jobs.WatchJob(c.job_pb2.WatchJobRequest(id=job.id), metadata=c.md(), timeout=RENDER_TIMEOUT)
    first = next(call)
    T.check("WatchJob's first event is the job", first.job.id == job.id, first.job.id)
    call.cancel()
    try:
        for _ in call:
            pass
        T.check("the cancelled stream reports CANCELLED", False, "it ended normally")
    except grpc.RpcError as e:
        T.check("the cancelled stream reports CANCELLED", e.code() == grpc.StatusCode.CANCELLED, e.code())
    # Several more clients leave in the middle, on their own channels.
    for _ in range(3):
        ch = grpc.insecure_channel(c_target)
        stub = c.jobs.__class__(ch)
        it = stub.WatchJob(c.job_pb2.WatchJobRequest(id=job.id), metadata=c.md(), timeout=RENDER_TIMEOUT)
        next(it)
        ch.close()
    got = c.get_job(job.id)
    T.check("after the clients left, GetJob works", got.id == job.id, got)
    st = [e.job.status for e in c.watch(job.id, RENDER_TIMEOUT)]
    T.check("after the clients left, the job still finishes", st and st[-1] == "finished", st)


c_target = None


def on_postgres():
    """The whole flow and the API's answers again, on PostgreSQL."""
    admin = os.environ.get("FW_TEST_PG_URL")
    if not admin:
        T.skip("on PostgreSQL", "FW_TEST_PG_URL is not set")
        return
    global c_target
    db = fwe2e.FreshDatabase(admin)
    srv = c = None
    try:
        srv = fwe2e.Server(workers=1, database=db.url, name="serve-pg")
        c_target = srv.grpc
        c = fwe2e.Client(srv.grpc, srv.key)
        holder = {}
        T.case("[postgres] full flow", lambda: holder.update(t=full_flow(c)))
        t = holder.get("t") or c.upload_template(fwe2e.hello_template())
        T.case("[postgres] unknown API key", unknown_key, c)
        T.case("[postgres] missing layer", missing_layer, c, t)
        T.case("[postgres] another team", other_team, srv, c, t)
        T.case("[postgres] client leaves mid-stream", disconnect_mid_stream, c, t)
    finally:
        if c:
            c.close()
        if srv:
            rc = srv.stop()
            T.check("[postgres] serve stops cleanly on SIGTERM", rc == 0, rc)
        db.close()


rendered_jobs = []


def json_logs(srv):
    """serve ran with FRAMEWRIGHT_LOG_FORMAT=json: every log line is one JSON
    object with its time, level and component, and each line a worker wrote
    while it had the full flow's job carries the job's id."""
    logs, other = [], []
    for line in srv.proc.lines:
        if line.startswith("{"):
            try:
                logs.append(json.loads(line))
            except ValueError:
                other.append(line)
        elif not (line.startswith("framewright: ") or re.match(r"^fw_\w+$", line)):
            other.append(line)  # neither a log line nor serve's own start-up text on stdout
    print("log lines: %d JSON, %d other" % (len(logs), len(other)))
    T.check("every log line is JSON", not other, other[:5])
    T.check("every log line has time, level, component and msg",
            all(isinstance(l.get("time"), str) and l.get("level") in ("error", "warn", "info", "debug") and
                isinstance(l.get("component"), str) and isinstance(l.get("msg"), str) for l in logs),
            [l for l in logs if "component" not in l][:3])
    job_id = rendered_jobs[0] if rendered_jobs else None
    mine = [l for l in logs if l.get("job") == job_id]
    msgs = [l["msg"] for l in mine]
    print("lines of job %s:" % job_id, msgs)
    T.check("the job's worker lines carry its id: rendering ... finished",
            any(m.startswith("rendering") for m in msgs) and any(m.startswith("finished") for m in msgs), msgs)
    T.check("no line names a job in its text without carrying it as a field",
            not [l for l in logs if job_id and job_id in l.get("msg", "") and l.get("job") != job_id], job_id)


def main():
    global c_target
    try:
        srv = fwe2e.Server(workers=1, name="serve", env={"FRAMEWRIGHT_LOG_FORMAT": "json"})
    except RuntimeError as e:
        print(e)
        T.check("serve starts", False, "see above")
        return T.end()
    idle = None
    c = None
    try:
        T.check("serve prints a first API key", bool(srv.key), srv.proc.lines[:5])
        workers = fwe2e.wait_worker_pids(srv.pid, 1)
        T.check("serve starts 1 worker", len(workers) == 1, workers)
        c_target = srv.grpc
        c = fwe2e.Client(srv.grpc, srv.key)
        holder = {}
        T.case("full flow", lambda: holder.update(t=full_flow(c)))
        t = holder.get("t") or c.upload_template(fwe2e.hello_template())
        T.case("unknown API key", unknown_key, c)
        T.case("missing layer", missing_layer, c, t)
        T.case("frames past the end", frames_past_the_end, c, t)
        T.case("another team", other_team, srv, c, t)
        T.case("client leaves mid-stream", disconnect_mid_stream, c, t)
        T.case("JSON logs", json_logs, srv)

        idle = fwe2e.Server(workers=0, name="serve-idle")
        ic = fwe2e.Client(idle.grpc, idle.key)
        T.case("paging", paging, idle, ic)
        T.case("cancel while queued", cancel_queued, idle, ic)
        ic.close()
        rc = idle.stop()
        T.check("serve (no workers) stops cleanly on SIGTERM", rc == 0, rc)
    finally:
        if c:
            c.close()
        workers = fwe2e.worker_pids(srv.pid)
        rc = srv.stop()
        T.check("serve stops cleanly on SIGTERM", rc == 0, rc)
        left = [w for w in workers if os.path.exists("/proc/%d" % w) and fwe2e.cmdline(w)]
        T.check("its workers are gone", not left, left)
        if idle:
            idle.stop()
    on_postgres()
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
