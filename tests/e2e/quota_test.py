"""quota_test.py - a team's quotas over gRPC and REST.

 (a) FRAMEWRIGHT_QUOTA_JOBS_PER_MINUTE=3: the fourth job of a minute is RESOURCE_EXHAUSTED with
     `retry-after` trailing metadata over gRPC and 429 with Retry-After over REST; another team is
     not held back; a batch of more jobs than the quota is refused outright (413, no Retry-After);
     nothing refused is stored;
 (b) FRAMEWRIGHT_QUOTA_UNFINISHED_JOBS=2 (no workers, so jobs stay queued): the third is refused
     until one of the two is cancelled;
 (c) FRAMEWRIGHT_MAX_STREAMS_PER_TEAM=2: a third open event stream of a team is refused with
     retry-after, another team's is not, and one closed makes room."""

import http.client
import json
import time
import urllib.parse

import grpc

import fwe2e

T = fwe2e.Checks()


def rest(base, key, method, path, body=None):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request(method, u.path.rstrip("/") + path, body=json.dumps(body).encode() if body is not None else None,
                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read().decode("utf-8", "replace")
    headers = dict((k.lower(), v) for k, v in r.getheaders())
    conn.close()
    return r.status, headers, data


def start(env):
    srv = fwe2e.Server(workers=0, env=env, extra=("--api", "127.0.0.1:0"))
    return srv, (srv.api or "") + "/api/v2"


def retry_after_of(e):
    for k, v in e.trailing_metadata() or ():
        if k == "retry-after":
            return v
    return None


def count_jobs(c, key=None):
    return len(c.jobs.ListJobs(c.job_pb2.ListJobsRequest(page_size=100), metadata=c.md(key), timeout=30).jobs)


def per_minute():
    srv, api = start({"FRAMEWRIGHT_QUOTA_JOBS_PER_MINUTE": "3"})
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        t = c.upload_template(fwe2e.hello_template())
        body = {"template": {"id": t.id}, "assets": fwe2e.hello_assets()[:1]}
        ids = [c.create_job(body).id for _ in range(3)]
        T.check("three jobs in a minute are accepted", len(set(ids)) == 3, ids)
        try:
            j = c.create_job(body)
            T.check("the fourth is RESOURCE_EXHAUSTED", False, "created %s" % j.id)
        except grpc.RpcError as e:
            ra = retry_after_of(e)
            T.check("the fourth is RESOURCE_EXHAUSTED with retry-after 1..60",
                    e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and ra is not None and 1 <= int(ra) <= 60,
                    "%s %s retry-after=%s" % (e.code(), e.details(), ra))
            T.check("the details say how many and the quota", "3 jobs in the last minute" in (e.details() or ""),
                    e.details())
        status, headers, data = rest(api, srv.key, "POST", "/jobs", body)
        ra = headers.get("retry-after", "")
        T.check("REST: 429 with Retry-After and an error body",
                status == 429 and ra.isdigit() and 1 <= int(ra) <= 60 and "error" in json.loads(data),
                "%d %s %s" % (status, headers, data))
        T.check("nothing refused was stored", count_jobs(c) == 3, count_jobs(c))

        other = srv.new_key("other-team")
        t2 = c.upload_template(fwe2e.hello_template(), key=other)
        j = c.create_job({"template": {"id": t2.id}}, key=other)
        T.check("another team is not held back", j.status == "queued", j.status)
        status, headers, data = rest(api, other, "POST", "/batches",
                                     {"jobs": [{"template": {"id": t2.id}} for _ in range(5)]})
        T.check("a batch larger than the quota is 413 without Retry-After",
                status == 413 and "retry-after" not in headers and "5 jobs" in data, "%d %s" % (status, data))
        T.check("the refused batch stored nothing", count_jobs(c, other) == 1, count_jobs(c, other))
    finally:
        c.close()
        srv.stop()


def unfinished():
    srv, api = start({"FRAMEWRIGHT_QUOTA_UNFINISHED_JOBS": "2"})
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        t = c.upload_template(fwe2e.hello_template())
        body = {"template": {"id": t.id}}
        a, b = c.create_job(body), c.create_job(body)
        try:
            j = c.create_job(body)
            T.check("a third unfinished job is refused", False, "created %s" % j.id)
        except grpc.RpcError as e:
            T.check("a third unfinished job is RESOURCE_EXHAUSTED with retry-after",
                    e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and retry_after_of(e) is not None
                    and "2 jobs queued or rendering" in (e.details() or ""), "%s %s" % (e.code(), e.details()))
        c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=a.id), metadata=c.md(), timeout=30)
        j = c.create_job(body)
        T.check("after one is cancelled another is accepted", j.status == "queued" and j.id != b.id, j.status)
    finally:
        c.close()
        srv.stop()


def streams():
    srv, api = start({"FRAMEWRIGHT_MAX_STREAMS_PER_TEAM": "2"})
    c = fwe2e.Client(srv.grpc, srv.key)
    open_streams = []
    try:
        t = c.upload_template(fwe2e.hello_template())
        j = c.create_job({"template": {"id": t.id}})

        def watch(key=None):
            s = c.jobs.WatchJob(c.job_pb2.WatchJobRequest(id=j.id if key is None else j2.id), metadata=c.md(key),
                                timeout=120)
            first = next(s)  # the job's state now: the stream is registered
            open_streams.append(s)
            return first

        other = srv.new_key("other-team")
        t2 = c.upload_template(fwe2e.hello_template(), key=other)
        j2 = c.create_job({"template": {"id": t2.id}}, key=other)
        T.check("two streams open", watch().job.status == "queued" and watch().job.status == "queued")
        try:
            watch()
            T.check("a third stream is refused", False, "it opened")
        except grpc.RpcError as e:
            T.check("a third stream is RESOURCE_EXHAUSTED with retry-after",
                    e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and retry_after_of(e) is not None
                    and "2 event streams open" in (e.details() or ""), "%s %s" % (e.code(), e.details()))
        T.check("another team's stream opens", watch(other).job.id == j2.id)
        open_streams.pop(0).cancel()
        ok, why = False, ""
        deadline = time.monotonic() + 10
        while not ok and time.monotonic() < deadline:
            try:
                ok = watch().job.id == j.id
            except grpc.RpcError as e:
                why = "%s %s" % (e.code(), e.details())
                time.sleep(0.2)
        T.check("a closed stream makes room for another", ok, why)
    finally:
        for s in open_streams:
            s.cancel()
        c.close()
        srv.stop()


def main():
    T.case("jobs per minute", per_minute)
    T.case("unfinished jobs", unfinished)
    T.case("event streams", streams)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
