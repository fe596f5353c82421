"""secrets_s3_e2e.py - the issue's secrets and own-bucket proof on a real
`framewright serve` with a `framewright worker` process beside it and the
real S3-compatible server of tests/storage/s3 (which checks SigV4):
  - the bucket's key id and secret are stored as team secrets; a job uploads
    with `accessKeyId: "${secret.ID}"`, `accessKeySecret: "${secrets.KEY}"`,
    a prefix and an outputUrl: it finishes, the object is in the bucket
    (read back with a SigV4-signed GET made here, ffprobed, its pixels
    checked), and the job's outputUrl is upload.outputUrl + the object key;
  - a job whose secret holds a wrong value ends in error, and the error's
    text holds no secret;
  - then the search: every gRPC answer this test received, the server's
    log, the worker's log, the store (the SQLite files as bytes, or every
    PostgreSQL table's rows as text) and every file of the data folder are
    searched for each secret value (as written, in base64 and in hex):
    none may hold one.
On SQLite, and on PostgreSQL when FW_TEST_PG_URL is set."""

import random
import string
import time

import grpc

import proofs  # first: it finds fwe2e
import fwe2e

T = fwe2e.Checks()
RENDER_TIMEOUT = 300


def rand(alphabet, n):
    return "".join(random.SystemRandom().choice(alphabet) for _ in range(n))


def run_store(label, database):
    key_id = "AKIAPROOF" + rand(string.ascii_uppercase + string.digits, 11)
    key_secret = rand(string.ascii_letters + string.digits, 20) + "/" + rand(string.ascii_letters + string.digits, 19)
    wrong = rand(string.ascii_letters + string.digits, 40)
    values = {"key id": key_id, "key secret": key_secret, "wrong secret": wrong}
    bucket = "proof-" + label

    s3 = proofs.S3(key_id, key_secret)
    srv = worker = c = None
    try:
        status, body = s3.request("PUT", "/" + bucket)
        T.check(label + ": the S3 server makes the bucket (signed PUT)", status == 200, (status, body[:200]))
        status, _ = s3.request("GET", "/" + bucket, secret="not-the-secret")
        T.check(label + ": the S3 server refuses a wrong signature", status == 403, status)

        srv = proofs.Serve(workers=0, database=database, name="serve-" + label)
        worker = fwe2e.Proc([fwe2e.framewright_bin(), "worker"] + srv.data_args(), "worker-" + label)
        c = fwe2e.Client(srv.grpc, srv.key)
        R = proofs.Recorder(c)
        spb = proofs.secret_pb2
        for name, value in (("S3_ID", key_id), ("S3_KEY", key_secret), ("S3_KEY_WRONG", wrong)):
            R.call(R.secrets.PutSecret, spb.PutSecretRequest(name=name, value=value))
        names = [x.name for x in R.call(R.secrets.ListSecrets, spb.ListSecretsRequest()).secrets]
        T.check(label + ": the three secrets are listed", names == ["S3_ID", "S3_KEY", "S3_KEY_WRONG"], names)

        t = c.upload_template(proofs.tiny_template(64, 10), name="tiny").id
        upload = {"provider": "s3", "prefix": "proofs/%s/" % label, "outputUrl": "https://cdn.example.com/media/",
                  "params": {"endpoint": s3.endpoint, "region": "us-east-1", "bucket": bucket,
                             "accessKeyId": "${secret.S3_ID}", "accessKeySecret": "${secrets.S3_KEY}"}}
        body = proofs.tiny_job(t, (0.9, 0.2, 0.1), upload=upload,
                               settings={"type": "video", "codec": "video_h264_vbr_1mbps"})
        job = R.keep(c.create_job(body))
        key = "proofs/%s/%s.mp4" % (label, job.id)
        T.check(label + ": outputUrl is upload.outputUrl + the object key",
                job.output_url.value == "https://cdn.example.com/media/" + key, job.output_url.value)
        done = R.keep(c.wait_status(job.id, ("finished",), RENDER_TIMEOUT))
        T.check(label + ": the upload job finishes", done.status == "finished",
                (done.status, done.stats.error.value))
        T.check(label + ": GetJob keeps that outputUrl", done.output_url.value == job.output_url.value,
                done.output_url.value)
        status, data = s3.request("GET", "/%s/%s" % (bucket, key))
        info = fwe2e.ffprobe(data) if status == 200 else {}
        T.check(label + ": the object is in the bucket: H.264, 64x64, 10 frames",
                status == 200 and (info.get("codec"), info.get("width"), info.get("height"), info.get("frames")) ==
                ("h264", 64, 64, 10), (status, info))
        if status == 200:
            px = proofs.pixel(data, 32, 32, ".mp4")
            T.check(label + ": ... with the job's logo colour", proofs.near(px, (230, 51, 26), 16), px)
        puts = [x for x in s3.requests_log() if x.startswith("PUT /%s/%s" % (bucket, key))]
        T.check(label + ": the object went up with a signed PUT the S3 server accepted",
                any(x.endswith(" 200") for x in puts), puts)

        bad_upload = dict(upload, params=dict(upload["params"], accessKeySecret="${secret.S3_KEY_WRONG}"))
        bad = R.keep(c.create_job(proofs.tiny_job(t, upload=bad_upload)))
        got = R.keep(c.wait_status(bad.id, ("error",), RENDER_TIMEOUT))
        err = got.stats.error.value
        print("%s: the wrong secret's error: %s" % (label, err), flush=True)
        T.check(label + ": a wrong secret value: the job ends in error", got.status == "error", got.status)
        T.check(label + ": ... the error says S3 refused the signature",
                "403" in err and ("SignatureDoesNotMatch" in err or "signature" in err.lower()), err)
        T.check(label + ": ... and holds no secret", not any(v in err for v in values.values()), err)
        status, _ = s3.request("GET", "/%s/proofs/%s/%s.png" % (bucket, label, bad.id))
        T.check(label + ": ... and nothing was stored in the bucket", status == 404, status)
        try:
            R.call(c.jobs.ListJobs, c.job_pb2.ListJobsRequest())
        except grpc.RpcError:
            pass
        for j in (job.id, bad.id):
            R.call(c.jobs.GetJob, c.job_pb2.GetJobRequest(id=j))
    finally:
        if c:
            c.close()
        if worker:
            T.check(label + ": the worker stops cleanly", worker.stop() == 0)
        if srv:
            T.check(label + ": serve stops cleanly", srv.stop() == 0)
        s3.stop()

    # The search, once everything has stopped and the store is at rest.
    places = [("gRPC answer %d" % i, a) for i, a in enumerate(R.answers)]
    places.append(("serve log", "\n".join(srv.log_lines()).encode()))
    places.append(("worker log", "\n".join(worker.lines).encode()))
    places += proofs.store_dump(srv)
    places += [("file " + p[len(srv.data):], b) for p, b in proofs.files_under(srv.data)]
    T.check(label + ": the search covers answers, logs, store and files",
            len(R.answers) >= 8 and len(worker.lines) > 0 and
            any(n.startswith("sqlite") or n.startswith("table") for n, _ in places), len(places))
    store_kind = "table" if database else "sqlite"
    found = {kind: any(word.encode() in b for n, b in places if n.startswith(kind))
             for kind, word in (("worker log", job.id), (store_kind, job.id), ("gRPC answer", job.id),
                                (store_kind, "S3_KEY_WRONG"), ("serve log", "serving gRPC"))}
    T.check(label + ": the search finds what is there (job id, secret name, ...)", all(found.values()), found)
    for what, value in values.items():
        hits = [n for n, b in places if any(x in b for x in proofs.needles(value))]
        T.check(label + ": the %s is found nowhere" % what, not hits, hits[:10])


def main():
    for label, database in proofs.stores():
        T.case(label, run_store, label, database)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
