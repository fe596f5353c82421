"""job_input_test.py - GetJobInput (REST GET /api/v2/jobs/{id}/request): the
request a job was created with, as the dashboard's "render again" sends it
back, over gRPC (Python's grpcio) and REST against `framewright serve --api`
with no workers (jobs stay queued).

It gives the request as sent, without the ids CreateJob gave nested jobs;
literal secrets (an upload's secret key, webhook header values) are left out
and named, ${secret.NAME} placeholders kept; sent back it makes a new job; a
join is a join; another team's key and an unknown id find nothing.
"""

import json
import urllib.error
import urllib.request

import fwe2e

T = fwe2e.Checks()


def rest(base, method, path, key, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + "/api/v2" + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + key)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


def main():
    srv = fwe2e.Server(workers=0, extra=("--api", "127.0.0.1:0"))
    try:
        base, key = srv.api, srv.key
        other = srv.new_key("other-team")
        c = fwe2e.Client(srv.grpc, key)
        tpl = c.upload_template(fwe2e.hello_template())
        status, _ = rest(base, "PUT", "/secrets", key, {"name": "HOOK_TOKEN", "value": "s3cr3t-token"})
        T.check("a team secret is stored", status == 201, status)

        request = {
            "template": {"id": tpl.id, "composition": "main"},
            "preview": True,
            "assets": [
                {"type": "text", "layerName": "title", "value": "Again"},
                {"type": "job", "layerName": "logo", "template": {"id": tpl.id},
                 "settings": {"type": "image", "codec": "image_png"}},
            ],
            "webhook": {"url": "http://127.0.0.1:9/hook",
                        "headers": {"Authorization": "Bearer literal-token", "X-Token": "${secret.HOOK_TOKEN}"}},
            "upload": {"provider": "s3", "params": {"endpoint": "http://127.0.0.1:9", "region": "us-east-1", "bucket": "b",
                                                    "accessKeyId": "AKIDEXAMPLE", "accessKeySecret": "wJalrXUt"}},
        }
        status, job = rest(base, "POST", "/jobs", key, request)
        T.check("the job is created", status == 201, job)
        if status != 201:
            return

        status, got = rest(base, "GET", "/jobs/%s/request" % job["id"], key)
        T.check("REST GET /jobs/{id}/request answers", status == 200, got)
        got = got or {}
        r = got.get("request", {})
        T.check("a render job is of kind render", got.get("kind") == "render", got.get("kind"))
        T.check("its template, preview and text asset are as sent",
                r.get("template") == request["template"] and r.get("preview") is True
                and r.get("assets", [{}])[0] == request["assets"][0], r)
        T.check("the nested job keeps its own request but not the id it was given",
                len(r.get("assets", [])) == 2 and "jobId" not in r["assets"][1]
                and r["assets"][1].get("template") == {"id": tpl.id}, r.get("assets"))
        T.check("literal secrets are withheld and named",
                sorted(got.get("withheld", [])) == ["upload.params.accessKeySecret", "webhook.headers.Authorization"],
                got.get("withheld"))
        text = json.dumps(got)
        T.check("no literal secret is in the answer", "wJalrXUt" not in text and "literal-token" not in text)
        T.check("placeholders and other fields stay",
                r.get("webhook", {}).get("headers") == {"X-Token": "${secret.HOOK_TOKEN}"}
                and r.get("upload", {}).get("params", {}).get("accessKeyId") == "AKIDEXAMPLE", r)

        # Over gRPC: the same answer.
        from proto import job_pb2  # noqa: E402 - the stubs are on the path once Client was made
        from google.protobuf import json_format
        g = c.jobs.GetJobInput(job_pb2.GetJobRequest(id=job["id"]), metadata=c.md(), timeout=30)
        T.check("gRPC GetJobInput gives the same request",
                g.kind == "render" and json_format.MessageToDict(g.request) == r and sorted(g.withheld) == sorted(got["withheld"]))

        # Sent back (what "render again" does, without the withheld upload).
        again = dict(r)
        again.pop("upload", None)
        status, made = rest(base, "POST", "/jobs", key, again)
        T.check("sent back, it creates a new job", status == 201 and made["id"] != job["id"], made)

        status, join = rest(base, "POST", "/jobs/join", key, {
            "assets": [{"type": "job", "template": {"id": tpl.id}, "preview": True},
                       {"type": "job", "template": {"id": tpl.id}, "preview": True}]})
        T.check("a join job is created", status == 201, join)
        if status == 201:
            status, got = rest(base, "GET", "/jobs/%s/request" % join["id"], key)
            T.check("a join is of kind join, with its clips",
                    status == 200 and got["kind"] == "join" and len(got["request"]["assets"]) == 2
                    and all("jobId" not in a for a in got["request"]["assets"]), got)

        status, body = rest(base, "GET", "/jobs/%s/request" % job["id"], other)
        T.check("another team's key finds no such job", status == 404 and "s3cr3t" not in json.dumps(body), body)
        code, _ = fwe2e.code_of(lambda: c.jobs.GetJobInput(job_pb2.GetJobRequest(id=job["id"]),
                                                           metadata=c.md(other), timeout=30))
        T.check("over gRPC too (NOT_FOUND)", code == c.grpc.StatusCode.NOT_FOUND, code)
        status, _ = rest(base, "GET", "/jobs/01NOSUCHJOB000000000000000/request", key)
        T.check("an unknown job is 404", status == 404, status)
        status, _ = rest(base, "GET", "/jobs/%s/request" % job["id"], "fw_wrong")
        T.check("a wrong key is 401", status == 401, status)
        c.close()
    finally:
        srv.stop()


if __name__ == "__main__":
    T.case("job input", main)
    raise SystemExit(T.end())
