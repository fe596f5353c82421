"""batches_test.py - BatchService on a real `framewright serve`: partial
success with per-index answers, the batch's jobs rendering, WatchBatch and
GetBatch, 1000 jobs in one call stored in one transaction, CancelBatch
(children included), and the limits. On SQLite, and on PostgreSQL when
FW_TEST_PG_URL is set."""

import grpc

import fwjobs  # first: it finds fwe2e
import fwe2e

T = fwe2e.Checks()
TIMEOUT = 300


def small_job(t, **extra):
    body = {"template": {"id": t}, "assets": fwe2e.hello_assets(), "preview": True,
            "settings": {"type": "video", "codec": "video_h264_vbr_1mbps", "frames": [0, 9]}}
    body.update(extra)
    return body


code_of = fwe2e.code_of


class Batches:
    def __init__(self, c):
        self.pb, grpc_mod = fwjobs.batch_stubs()
        self.stub = grpc_mod.BatchServiceStub(c.channel)
        self.c = c

    def create(self, bodies, key=None):
        req = self.pb.BatchRequest(jobs=[self.c.job_request(b) for b in bodies])
        return self.stub.CreateBatch(req, metadata=self.c.md(key), timeout=120)

    def get(self, bid, key=None):
        return self.stub.GetBatch(self.pb.GetBatchRequest(id=bid), metadata=self.c.md(key), timeout=60)

    def cancel(self, bid):
        return self.stub.CancelBatch(self.pb.GetBatchRequest(id=bid), metadata=self.c.md(), timeout=60)

    def watch(self, bid, timeout):
        return list(self.stub.WatchBatch(self.pb.GetBatchRequest(id=bid), metadata=self.c.md(), timeout=timeout))


def partial(label, c, b, t):
    bodies = [small_job(t), small_job(t), small_job(t), small_job(t)]
    bodies[2]["assets"] = [{"type": "text", "layerName": "titel", "value": "x"}]
    r = b.create(bodies)
    T.check(label + ": 3 good + 1 bad is partial", r.status == "partial", r.status)
    T.check(label + ": totals 4 / 3 / 1", (r.total, r.created, r.failed) == (4, 3, 1), (r.total, r.created, r.failed))
    T.check(label + ": accepted indexes 0, 1, 3", [j.index for j in r.jobs] == [0, 1, 3], [j.index for j in r.jobs])
    T.check(label + ": accepted jobs are queued with an output URL",
            all(j.status == "queued" and j.output_url.value.startswith("http") and j.id for j in r.jobs), r.jobs)
    e = r.errors[0] if r.errors else None
    T.check(label + ": the bad one is index 2", e is not None and e.index == 2, e)
    T.check(label + ": its code is INVALID_ARGUMENT", e is not None and e.code == "INVALID_ARGUMENT", e)
    T.check(label + ": its error names the layer", e is not None and "titel" in e.error and "title" in e.error, e)
    T.check(label + ": its details name the field",
            e is not None and len(e.details) == 1 and e.details[0].field == "assets[0].layerName" and
            "no layer 'titel'" in e.details[0].message, e)

    snaps = b.watch(r.batch_id, TIMEOUT)
    print("watch:", [(s.status, dict(s.counts)) for s in snaps])
    last = snaps[-1] if snaps else None
    T.check(label + ": WatchBatch sends snapshots until the end", len(snaps) >= 2, len(snaps))
    T.check(label + ": WatchBatch ends finished with 3 finished",
            last is not None and last.status == "finished" and dict(last.counts) == {"finished": 3},
            last and (last.status, dict(last.counts)))
    g = b.get(r.batch_id)
    T.check(label + ": GetBatch: finished, total 3, counts finished 3",
            (g.status, g.total, dict(g.counts)) == ("finished", 3, {"finished": 3}), (g.status, g.total, dict(g.counts)))
    T.check(label + ": GetBatch lists the jobs of the batch",
            sorted(j.id for j in g.jobs) == sorted(j.id for j in r.jobs) and all(j.batch_id == r.batch_id
                                                                                for j in g.jobs), g.jobs)
    for j in r.jobs:
        code, body = fwe2e.fetch(c.get_job(j.id).output_url.value)
        info = fwe2e.ffprobe(body)
        T.check(label + ": job %d rendered 10 frames of H.264" % j.index,
                code == 200 and info.get("codec") == "h264" and info.get("frames") == 10, info)


def thousand(label, srv, c, b, t):
    bodies = [small_job(t) for _ in range(1000)]
    r = b.create(bodies)
    T.check(label + ": 1000 jobs accepted in one call", (r.status, r.created, r.failed) == ("created", 1000, 0),
            (r.status, r.created, r.failed))
    T.check(label + ": 1000 answers with distinct ids", len({j.id for j in r.jobs}) == 1000, len(r.jobs))
    g = b.get(r.batch_id)
    T.check(label + ": GetBatch counts 1000 queued", (g.status, g.total, dict(g.counts)) ==
            ("queued", 1000, {"queued": 1000}), (g.status, g.total, dict(g.counts)))
    n = fwjobs.sql_count(srv, "SELECT COUNT(*) FROM jobs WHERE batch_id = '%s'" % r.batch_id)
    row = fwjobs.sql_count(srv, "SELECT total * 10000 + created FROM batches WHERE id = '%s'" % r.batch_id)
    T.check(label + ": the store holds the batch row and its 1000 jobs", (n, row) == (1000, 1000 * 10000 + 1000),
            (n, row))

    # A batch with nothing acceptable is an answer, not a failure; no job is stored.
    bad = small_job(t)
    bad["template"] = {"id": "01J00000000000000000000000"}
    r2 = b.create([bad, bad])
    T.check(label + ": a batch of bad jobs has status error", (r2.status, r2.created, r2.failed) == ("error", 0, 2),
            (r2.status, r2.created, r2.failed))
    T.check(label + ": a missing template is NOT_FOUND on template.id",
            len(r2.errors) == 2 and r2.errors[1].code == "NOT_FOUND" and r2.errors[1].details[0].field == "template.id",
            r2.errors)
    T.check(label + ": ... and stores no job", fwjobs.sql_count(
        srv, "SELECT COUNT(*) FROM jobs WHERE batch_id = '%s'" % r2.batch_id) == 0)

    x = b.cancel(r.batch_id)
    T.check(label + ": CancelBatch cancels 1000", (x.cancelled, x.not_cancelled) == (1000, 0),
            (x.cancelled, x.not_cancelled))
    g = b.get(r.batch_id)
    T.check(label + ": GetBatch: cancelled, 1000 manually_cancelled",
            (g.status, dict(g.counts)) == ("cancelled", {"manually_cancelled": 1000}), (g.status, dict(g.counts)))
    x = b.cancel(r.batch_id)
    T.check(label + ": CancelBatch again cancels none", (x.cancelled, x.not_cancelled) == (0, 1000),
            (x.cancelled, x.not_cancelled))


def cancel_with_children(label, c, b, t, solid):
    nested = {"template": {"id": t}, "assets": [
        {"type": "job", "layerName": "bg", "template": {"id": solid},
         "settings": {"type": "image", "codec": "image_png", "frames": 0}}]}
    r = b.create([nested, small_job(t)])
    T.check(label + ": a nested job in a batch is pending with one child",
            r.status == "created" and r.jobs[0].status == "pending" and len(r.jobs[0].children) == 1, r)
    child = c.get_job(r.jobs[0].children[0])
    T.check(label + ": the child is queued, in the batch, with its parent",
            (child.status, child.batch_id, child.parent_id) == ("queued", r.batch_id, r.jobs[0].id), child)
    g = b.get(r.batch_id)
    T.check(label + ": GetBatch counts the batch's own jobs only", dict(g.counts) == {"pending": 1, "queued": 1},
            dict(g.counts))
    x = b.cancel(r.batch_id)
    T.check(label + ": CancelBatch counts its own jobs", (x.cancelled, x.not_cancelled) == (2, 0),
            (x.cancelled, x.not_cancelled))
    T.check(label + ": the child was cancelled with it",
            c.get_job(child.id).status == "manually_cancelled", c.get_job(child.id).status)


def limits(label, c, b, t):
    code, msg = code_of(lambda: b.create([]))
    T.check(label + ": an empty batch is INVALID_ARGUMENT", code == grpc.StatusCode.INVALID_ARGUMENT, (code, msg))
    code, msg = code_of(lambda: b.create([small_job(t)] * 1001))
    T.check(label + ": 1001 jobs is INVALID_ARGUMENT on jobs", code == grpc.StatusCode.INVALID_ARGUMENT and
            "jobs" in (msg or ""), (code, msg))
    code, msg = code_of(lambda: b.get("01J00000000000000000000000"))
    T.check(label + ": an unknown batch is NOT_FOUND", code == grpc.StatusCode.NOT_FOUND, (code, msg))


def run_store(label, database):
    srv, c = fwjobs.start(database, 2, "serve-" + label)
    try:
        b = Batches(c)
        t = c.upload_template(fwe2e.hello_template())
        T.case(label + ": partial batch", partial, label, c, b, t.id)
    finally:
        c.close()
        T.check(label + ": serve stops cleanly", srv.stop() == 0)
    srv, c = fwjobs.start(database, 0, "idle-" + label)
    try:
        b = Batches(c)
        t = c.upload_template(fwe2e.hello_template())
        solid = c.upload_template(fwjobs.solid_template(200, 200, "#20c040"))
        T.case(label + ": 1000 jobs", thousand, label, srv, c, b, t.id)
        T.case(label + ": cancel with children", cancel_with_children, label, c, b, t.id, solid.id)
        T.case(label + ": limits", limits, label, c, b, t.id)
        other = srv.new_key("other-team")
        r = b.create([small_job(t.id)])
        code, _ = code_of(lambda: b.get(r.batch_id, key=other))
        T.check(label + ": another team's batch is NOT_FOUND", code == grpc.StatusCode.NOT_FOUND, code)
    finally:
        c.close()
        T.check(label + ": idle serve stops cleanly", srv.stop() == 0)


def main():
    for label, database in fwjobs.stores():
        T.case(label, run_store, label, database)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
