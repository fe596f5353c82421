"""idempotency_test.py - Idempotency-Key on the calls that create: the same
key and request again get the first call's answer and write nothing (jobs
counted in the store), over gRPC metadata and the REST header, for jobs,
joins and batches, with eight clients racing on one key; the same key with
another request, a key that is not printable ASCII and a key of 256
characters are refused; keys are a team's own. On SQLite, and on
PostgreSQL when FW_TEST_PG_URL is set."""

import json
import threading
import urllib.error
import urllib.request

import grpc

import fwjobs
import fwe2e
from google.protobuf import json_format

T = fwe2e.Checks()


def small_job(t, text="Hello"):
    assets = fwe2e.hello_assets()
    for a in assets:
        if a.get("type") == "text" or a.get("layerName") == "title":
            a["value"] = text
    return {"template": {"id": t}, "assets": assets, "preview": True,
            "settings": {"type": "video", "codec": "video_h264_vbr_1mbps", "frames": [0, 9]}}


def md(c, idem, key=None):
    return c.md(key) + (("idempotency-key", idem),)


def rest(srv, key, method, path, body, idem):
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    req = urllib.request.Request(srv.api + path, method=method, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def jobs_of(srv):
    return fwjobs.sql_count(srv, "SELECT COUNT(*) FROM jobs")


def run_store(label, database):
    srv = fwe2e.Server(workers=0, database=database, name="serve-" + label, extra=("--api", "127.0.0.1:0"))
    c = fwe2e.Client(srv.grpc, srv.key)
    pb, grpc_mod = fwjobs.batch_stubs()
    batches = grpc_mod.BatchServiceStub(c.channel)
    try:
        t = c.upload_template(fwe2e.hello_template()).id
        L = label + ": "

        # CreateJob, twice with one key: one job, the same answer.
        req = c.job_request(small_job(t))
        first = c.jobs.CreateJob(req, metadata=md(c, "job-1"), timeout=30)
        before = jobs_of(srv)
        again = c.jobs.CreateJob(req, metadata=md(c, "job-1"), timeout=30)
        T.check(L + "CreateJob again with its key answers the same job", again.id == first.id, (first.id, again.id))
        T.check(L + "... the whole answer is the same", again == first, (first, again))
        T.check(L + "... and writes nothing", jobs_of(srv) == before, (before, jobs_of(srv)))
        other = c.jobs.CreateJob(req, metadata=c.md(), timeout=30)
        T.check(L + "without a key the same request is a new job", other.id != first.id)

        code, text = fwe2e.code_of(lambda: c.jobs.CreateJob(c.job_request(small_job(t, "Other")),
                                                            metadata=md(c, "job-1"), timeout=30))
        T.check(L + "the key with another request: INVALID_ARGUMENT naming idempotency-key",
                code == grpc.StatusCode.INVALID_ARGUMENT and "idempotency-key" in (text or ""), (code, text))
        code, text = fwe2e.code_of(lambda: c.jobs.CreateJob(req, metadata=md(c, "k" * 256), timeout=30))
        T.check(L + "a key of 256 characters: INVALID_ARGUMENT", code == grpc.StatusCode.INVALID_ARGUMENT,
                (code, text))

        # Eight clients at once on one key: one job, one answer for all.
        before = jobs_of(srv)
        ids, errors = [], []
        race = c.job_request(small_job(t, "Race"))

        def one():
            try:
                ids.append(c.jobs.CreateJob(race, metadata=md(c, "race"), timeout=60).id)
            except grpc.RpcError as e:
                errors.append((e.code(), e.details()))
        threads = [threading.Thread(target=one) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        T.check(L + "8 racing calls with one key all answer the same job", len(ids) == 8 and len(set(ids)) == 1,
                (ids, errors))
        T.check(L + "... and one job was written", jobs_of(srv) == before + 1, (before, jobs_of(srv)))

        # A join, by its own method: the same key names one request only.
        join = json_format.Parse(json.dumps({"assets": [{"type": "video", "src": "http://127.0.0.1:9/a.mp4"}]}),
                                 c.job_pb2.JoinJobRequest())
        code, text = fwe2e.code_of(lambda: c.jobs.CreateJoinJob(join, metadata=md(c, "job-1"), timeout=30))
        T.check(L + "the key of a CreateJob used for CreateJoinJob is refused",
                code == grpc.StatusCode.INVALID_ARGUMENT and "idempotency-key" in (text or ""), (code, text))

        # CreateBatch: one batch, the same answer, its jobs once.
        breq = pb.BatchRequest(jobs=[c.job_request(small_job(t, "B%d" % i)) for i in range(5)])
        before = jobs_of(srv)
        b1 = batches.CreateBatch(breq, metadata=md(c, "batch-1"), timeout=60)
        b2 = batches.CreateBatch(breq, metadata=md(c, "batch-1"), timeout=60)
        T.check(L + "CreateBatch again with its key answers the same batch", b1 == b2 and b1.batch_id,
                (b1.batch_id, b2.batch_id))
        T.check(L + "... its 5 jobs were written once", jobs_of(srv) == before + 5, (before, jobs_of(srv)))

        # REST: the header.
        body = small_job(t, "Rest")
        s1, j1 = rest(srv, srv.key, "POST", "/api/v2/jobs", body, "rest-1")
        before = jobs_of(srv)
        s2, j2 = rest(srv, srv.key, "POST", "/api/v2/jobs", body, "rest-1")
        T.check(L + "POST /jobs again with Idempotency-Key: the same job", (s1, s2) == (201, 201) and
                j1.get("id") == j2.get("id"), (s1, s2, j1, j2))
        T.check(L + "... nothing written", jobs_of(srv) == before, (before, jobs_of(srv)))
        s3, j3 = rest(srv, srv.key, "POST", "/api/v2/jobs", small_job(t, "Changed"), "rest-1")
        T.check(L + "POST /jobs, same key, another body: 400 naming idempotency-key",
                s3 == 400 and "idempotency-key" in json.dumps(j3), (s3, j3))
        s4, j4 = rest(srv, srv.key, "POST", "/api/v2/jobs", body, "two words")
        T.check(L + "a key with a space: 400", s4 == 400, (s4, j4))
        bs1, bj1 = rest(srv, srv.key, "POST", "/api/v2/batches", {"jobs": [small_job(t, "RB")]}, "rest-batch")
        bs2, bj2 = rest(srv, srv.key, "POST", "/api/v2/batches", {"jobs": [small_job(t, "RB")]}, "rest-batch")
        T.check(L + "POST /batches again with its key: the same batch",
                bs1 == bs2 and bs1 in (200, 201) and bj1.get("batchId") == bj2.get("batchId"), (bs1, bs2, bj1, bj2))

        # Another team's key of the same name is its own.
        okey = srv.new_key("other-" + label)
        oc = fwe2e.Client(srv.grpc, okey)
        ot = oc.upload_template(fwe2e.hello_template()).id
        mine = oc.jobs.CreateJob(oc.job_request(small_job(ot)), metadata=md(oc, "job-1"), timeout=30)
        T.check(L + "another team's call with the same key makes its own job", mine.id != first.id)
        oc.close()
    finally:
        c.close()
        T.check(label + ": serve stops cleanly", srv.stop() == 0)


def main():
    for label, database in fwjobs.stores():
        T.case(label, run_store, label, database)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
