"""retry_e2e.py - a job handed back after a failure of ours waits before
it is tried again, on a real `framewright serve` with one worker and the
real S3-compatible server of tests/storage/s3 as the job's own bucket:
  - the bucket's server is killed; a job that uploads to it renders, finds
    no answer from the bucket (after the storage's own retries), and is
    handed back, queued with one attempt spent;
  - for a while after (`FRAMEWRIGHT_RETRY_SECONDS`) nobody takes it, though
    the worker is idle: the outage does not burn the job's attempts;
  - the bucket's server comes back; the second attempt uploads, the job
    finishes, and the object in the bucket is the video.
On SQLite, and on PostgreSQL when FW_TEST_PG_URL is set."""

import re
import time

import proofs  # first: it finds fwe2e
import fwe2e

T = fwe2e.Checks()
RETRY_SECONDS = 12  # past the storage's own retries (about 16 s in all), short enough for a test
QUIET = 6           # watched after the hand-back: no second attempt in that time
KEY_ID, KEY_SECRET = "AKIARETRYPROOF000001", "retry-proof-secret-0123456789abcdefghij"


def attempts_started(srv, job_id):
    """The attempts the worker has logged starting for the job."""
    return [line for line in srv.log_lines() if job_id in line and re.search(r"rendering \(attempt \d+", line)]


def run_store(label, database):
    bucket = "retry-" + label
    s3 = proofs.S3(KEY_ID, KEY_SECRET)
    srv = c = None
    try:
        status, body = s3.request("PUT", "/" + bucket)
        T.check(label + ": the S3 server makes the bucket", status == 200, (status, body[:200]))
        srv = proofs.Serve(workers=1, database=database, name="serve-" + label,
                           env={"FRAMEWRIGHT_RETRY_SECONDS": str(RETRY_SECONDS)})
        c = fwe2e.Client(srv.grpc, srv.key)
        t = c.upload_template(proofs.tiny_template(64, 10), name="tiny").id
        upload = {"provider": "s3", "prefix": "retry/",
                  "params": {"endpoint": s3.endpoint, "region": "us-east-1", "bucket": bucket,
                             "accessKeyId": KEY_ID, "accessKeySecret": KEY_SECRET}}
        s3.kill()
        job = c.create_job(proofs.tiny_job(t, (0.2, 0.7, 0.3), upload=upload,
                                           settings={"type": "video", "codec": "video_h264_vbr_1mbps"}))

        # Handed back after the bucket did not answer.
        i, m = srv.proc.wait_line(r"failed on our side .*handing it back, to be tried again later", 120)
        T.check(label + ": the worker hands the job back to be tried again later", m is not None,
                srv.log_lines()[-10:])
        handed = time.monotonic()
        got = c.wait_status(job.id, ("queued", "error"), 30)  # the log line comes just before the store's write
        T.check(label + ": the job is queued again, not failed", got.status == "queued",
                (got.status, got.stats.error.value))

        # The worker is idle, the job queued: nobody takes it for a while.
        seen = []
        while time.monotonic() - handed < QUIET:
            seen = attempts_started(srv, job.id)
            if len(seen) > 1:
                break
            time.sleep(0.25)
        T.check(label + ": no second attempt within %d s of the hand-back" % QUIET, len(seen) == 1, seen)
        got = c.get_job(job.id)
        T.check(label + ": still queued then", got.status == "queued", got.status)

        # The bucket is back: the second attempt uploads.
        s3.restart()
        done = c.wait_status(job.id, ("finished", "error"), RETRY_SECONDS + 120)
        took = time.monotonic() - handed
        T.check(label + ": the job finishes once the bucket answers", done.status == "finished",
                (done.status, done.stats.error.value))
        seen = attempts_started(srv, job.id)
        T.check(label + ": in two attempts", len(seen) == 2 and "attempt 2" in seen[1], seen)
        T.check(label + ": the second began no sooner than the retry time (%.1f s after the hand-back)" % took,
                took >= RETRY_SECONDS - 1, took)
        status, data = s3.request("GET", "/%s/retry/%s.mp4" % (bucket, job.id))
        info = fwe2e.ffprobe(data) if status == 200 else {}
        T.check(label + ": the object is in the bucket: H.264, 64x64, 10 frames",
                status == 200 and (info.get("codec"), info.get("width"), info.get("height"), info.get("frames")) ==
                ("h264", 64, 64, 10), (status, info))
    finally:
        if c:
            c.close()
        if srv:
            srv.stop()
        s3.stop()


def main():
    for label, database in proofs.stores():
        T.case(label + ": a job handed back waits for its retry time", run_store, label, database)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
