"""batch_partial_e2e.py - the issue's batch proof on a real `framewright
serve` with two workers: one CreateBatch of 1000 jobs of a tiny template
(64x64, one frame, a still PNG each) in which 10 jobs at known indexes are
wrong in 10 different ways. The answer is `partial` with exactly those 10
indexes, each with a reason naming its field; the 990 others render (GetBatch
counts finished 990) and their pictures carry each job's own colour.
On SQLite, and on PostgreSQL when FW_TEST_PG_URL is set.

FW_PROOF_BATCH_JOBS (default 1000) makes the batch smaller for a quick run."""

import os
import time

import proofs  # first: it finds fwe2e
import fwe2e

T = fwe2e.Checks()
JOBS = int(os.environ.get("FW_PROOF_BATCH_JOBS", "1000"))
RENDER_TIMEOUT = 1500

# index -> (what is wrong, the field the reason must name, the code)
def _bad_layer(b):
    b["assets"][0]["layerName"] = "lgo"


def _bad_codec(b):
    b["settings"]["codec"] = "image_gif9"


def _bad_template(b):
    b["template"] = {"id": "01J00000000000000000000000"}


def _bad_asset_type(b):
    b["assets"][0]["type"] = "sound"


def _bad_type(b):
    b["settings"]["type"] = "gif"


def _bad_quality(b):
    b["settings"]["quality"] = "ultra"


def _bad_webhook_url(b):
    b["webhook"] = {"url": "ftp://example.com/hook"}


def _bad_webhook_method(b):
    b["webhook"] = {"url": "http://127.0.0.1:9/hook", "method": "PATCH"}


def _bad_secret(b):
    b["upload"] = {"provider": "s3", "params": {"endpoint": "http://127.0.0.1:9", "region": "us-east-1",
                                                "bucket": "b", "accessKeyId": "${secret.NOPE}",
                                                "accessKeySecret": "x"}}


def _missing_src(b):
    b["assets"].append({"type": "image", "layerName": "logo"})


BAD = {
    0: (_bad_layer, "assets[0].layerName", "INVALID_ARGUMENT", "lgo"),
    7: (_bad_codec, "settings.codec", "INVALID_ARGUMENT", "image_gif9"),
    99: (_bad_template, "template.id", "NOT_FOUND", "01J00000000000000000000000"),
    250: (_bad_asset_type, "assets[0].type", "INVALID_ARGUMENT", "sound"),
    333: (_bad_type, "settings.type", "INVALID_ARGUMENT", "gif"),
    500: (_bad_quality, "settings.quality", "INVALID_ARGUMENT", "ultra"),
    640: (_bad_webhook_url, "webhook.url", "INVALID_ARGUMENT", "ftp://"),
    777: (_bad_webhook_method, "webhook.method", "INVALID_ARGUMENT", "PATCH"),
    901: (_bad_secret, "upload.params.accessKeyId", "INVALID_ARGUMENT", "NOPE"),
    999: (_missing_src, "assets[1].src", "INVALID_ARGUMENT", "required"),
}


def colour(i):
    """Job i's logo colour, distinct per job (0..1 floats and 0..255 bytes)."""
    r, g, b = (i * 37) % 256, (i * 91 + 60) % 256, 255 - (i * 53) % 256
    return (r / 255.0, g / 255.0, b / 255.0), (r, g, b)


def bodies(template_id, jobs):
    out = []
    if jobs >= 1000:
        bad = dict(BAD)
    else:  # a smaller batch: the same ten mistakes, spread evenly
        bad = {k * (jobs // 10): v for k, (_, v) in enumerate(sorted(BAD.items()))}
    for i in range(jobs):
        b = proofs.tiny_job(template_id, colour(i)[0])
        b["settings"] = {"type": "image", "frames": 0}
        if i in bad:
            bad[i][0](b)
        out.append(b)
    return out, bad


def run_store(label, database):
    srv = proofs.Serve(workers=2, database=database, name="serve-" + label)
    c = fwe2e.Client(srv.grpc, srv.key)
    R = proofs.Recorder(c)
    pb = proofs.batch_pb2
    try:
        t = c.upload_template(proofs.tiny_template(64, 1), name="tiny").id
        jobs, bad = bodies(t, JOBS)
        req = pb.BatchRequest(jobs=[c.job_request(b) for b in jobs])
        t0 = time.monotonic()
        r = R.call(R.batches.CreateBatch, req, timeout=300)
        accept = time.monotonic() - t0
        t_accepted = time.monotonic()
        print("%s: CreateBatch of %d jobs answered in %.2f s (ASan)" % (label, JOBS, accept), flush=True)
        good = JOBS - len(bad)
        T.check(label + ": the batch is partial", r.status == "partial", r.status)
        T.check(label + ": totals %d / %d / %d" % (JOBS, good, len(bad)),
                (r.total, r.created, r.failed) == (JOBS, good, len(bad)), (r.total, r.created, r.failed))
        T.check(label + ": the errors are exactly the bad indexes", sorted(e.index for e in r.errors) == sorted(bad),
                sorted(e.index for e in r.errors))
        T.check(label + ": the accepted jobs are the others, in order",
                [j.index for j in r.jobs] == [i for i in range(JOBS) if i not in bad], len(r.jobs))
        T.check(label + ": accepted jobs are queued with ids and output URLs",
                all(j.id and j.status == "queued" and j.output_url.value.startswith("http") for j in r.jobs))
        for e in r.errors:
            _, field, code, word = bad[e.index]
            T.check(label + ": index %d: %s %s naming %s" % (e.index, code, field, word),
                    e.code == code and e.error.startswith(field + ": ") and word in e.error and
                    len(e.details) == 1 and e.details[0].field == field, (e.code, e.error, list(e.details)))

        # The 990 render on two workers.
        g = None
        deadline = time.monotonic() + RENDER_TIMEOUT
        while time.monotonic() < deadline:
            g = R.call(R.batches.GetBatch, pb.GetBatchRequest(id=r.batch_id))
            if g.status not in ("queued", "rendering"):
                break
            time.sleep(2)
        rendered = time.monotonic() - t_accepted
        print("%s: %d jobs rendered by 2 workers in %.1f s (%.2f jobs/s, ASan)" %
              (label, good, rendered, good / rendered), flush=True)
        T.check(label + ": GetBatch: finished, counts finished %d" % good,
                (g.status, g.total, dict(g.counts)) == ("finished", good, {"finished": good}),
                (g.status, g.total, dict(g.counts)))
        T.check(label + ": no bad job was stored", fwe2e_count_jobs(srv, r.batch_id) == good,
                fwe2e_count_jobs(srv, r.batch_id))
        # Pictures: the first, the last and a few between, each its own colour.
        sample = [r.jobs[0], r.jobs[len(r.jobs) // 3], r.jobs[len(r.jobs) // 2], r.jobs[-1]]
        for j in sample:
            job = R.call(c.jobs.GetJob, c.job_pb2.GetJobRequest(id=j.id))
            code, data = fwe2e.fetch(job.output_url.value)
            info = fwe2e.ffprobe(data, ".png")
            px = proofs.pixel(data, 32, 32)
            want = colour(j.index)[1]
            T.check(label + ": job %d is a 64x64 PNG with its own logo colour %s" % (j.index, want),
                    code == 200 and (info.get("codec"), info.get("width"), info.get("height")) == ("png", 64, 64) and
                    proofs.near(px, want) and proofs.near(proofs.pixel(data, 2, 2), (0x1d, 0x2b, 0x53)),
                    (code, info, px))
    finally:
        c.close()
        rc = srv.stop()
        T.check(label + ": serve stops cleanly", rc == 0, rc)


def fwe2e_count_jobs(srv, batch_id):
    sql = "SELECT COUNT(*) FROM jobs WHERE batch_id = '%s'" % batch_id
    if srv.database:
        return int(proofs.psql_text(srv.database, sql).strip())
    import sqlite3

    db = sqlite3.connect(os.path.join(srv.data, "framewright.db"), timeout=30)
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


def main():
    for label, database in proofs.stores():
        T.case(label, run_store, label, database)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
