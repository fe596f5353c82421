"""template_versions_test.py - a template's bundles kept as versions: a
second upload makes version 2 current while the jobs created before it,
and the jobs that ask for version 1, still render version 1 (checked by the
outputs' sizes and frame counts, by ffprobe); versions are listed with the
jobs that hold them, and deleting one is refused while it is current or
held, through gRPC (grpcio) and the REST gateway."""

import json
import os
import urllib.error
import urllib.request

import grpc

import fwe2e

T = fwe2e.Checks()
WAIT = 300


code_of = fwe2e.code_of


def upload_version(c, template_id, data):
    def chunks():
        yield c.template_pb2.TemplateChunk(id=template_id)
        for off in range(0, len(data), 16384):
            yield c.template_pb2.TemplateChunk(data=data[off:off + 16384])
    return c.templates.UploadTemplate(chunks(), metadata=c.md(), timeout=60)


def versions(c, template_id):
    r = c.templates.ListTemplateVersions(c.template_pb2.ListTemplateVersionsRequest(id=template_id),
                                         metadata=c.md(), timeout=30)
    return [(v.version, v.current, v.unfinished_jobs) for v in r.versions]


def delete_version(c, template_id, version):
    return c.templates.DeleteTemplateVersion(
        c.template_pb2.DeleteTemplateVersionRequest(id=template_id, version=version), metadata=c.md(), timeout=30)


def rest(srv, method, path, body=None):
    req = urllib.request.Request(srv.api + path, method=method, data=body,
                                 headers={"Authorization": "Bearer " + srv.key})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def job(c, template_id, version=None):
    tpl = {"id": template_id}
    if version is not None:
        tpl["version"] = version
    return c.create_job({"template": tpl, "assets": fwe2e.hello_assets(),
                         "settings": {"type": "video", "codec": "video_h264_vbr_5mbps"}})


def output_of(c, job_id):
    got = c.wait_status(job_id, ("finished",), WAIT)
    if got.status != "finished":
        return got.status, {}
    _, body = fwe2e.fetch(got.output_url.value)
    return got.status, fwe2e.ffprobe(body)


def run(srv, c):
    v1 = fwe2e.hello_template()                         # 1280x720, 90 frames
    v2 = fwe2e.long_template(640, 360, 30)
    t = c.upload_template(v1)
    T.check("the first bundle is version 1", t.version == 1, t.version)

    a = job(c, t.id)
    T.check("a job created now renders version 1", a.template_version == 1, a.template_version)

    t2 = upload_version(c, t.id, v2)
    T.check("a second upload of the template is version 2", (t2.status, t2.version) == ("uploaded", 2),
            (t2.status, t2.version))
    comps = {x.name: x for x in t2.details.compositions}
    T.check("the template now shows version 2's details (640x360, 30 frames)",
            comps.get("main") and (comps["main"].width, comps["main"].height, comps["main"].frames) == (640, 360, 30),
            t2.details)

    b = job(c, t.id)
    pinned = job(c, t.id, version=1)
    T.check("a new job renders version 2", b.template_version == 2, b.template_version)
    T.check("a job that asks for version 1 gets it", pinned.template_version == 1, pinned.template_version)
    code, text = code_of(lambda: job(c, t.id, version=9))
    T.check("a version that does not exist is NOT_FOUND naming template.version",
            code == grpc.StatusCode.NOT_FOUND and "template.version" in (text or ""), (code, text))

    code, text = code_of(lambda: upload_version(c, t.id, b"{not a template"))
    T.check("a bad third bundle is INVALID_ARGUMENT", code == grpc.StatusCode.INVALID_ARGUMENT, (code, text))
    now = c.templates.GetTemplate(c.template_pb2.GetTemplateRequest(id=t.id), metadata=c.md(), timeout=30)
    T.check("... and the template stays at version 2, uploaded", (now.status, now.version) == ("uploaded", 2),
            (now.status, now.version, now.error.value))

    listed = versions(c, t.id)
    T.check("ListTemplateVersions: 2 (current, 1 job), 1 (2 jobs)", listed == [(2, True, 1), (1, False, 2)], listed)
    code, text = code_of(lambda: delete_version(c, t.id, 2))
    T.check("the current version cannot be deleted", code == grpc.StatusCode.FAILED_PRECONDITION, (code, text))
    code, text = code_of(lambda: delete_version(c, t.id, 1))
    T.check("a version queued jobs hold cannot be deleted",
            code == grpc.StatusCode.FAILED_PRECONDITION and "not ended" in (text or ""), (code, text))

    # Only now a worker: the queued jobs render what they were created with.
    worker = srv.start_worker()
    try:
        for name, j, want in (("created before version 2", a, (1280, 720, 90)),
                              ("created after", b, (640, 360, 30)),
                              ("asking for version 1", pinned, (1280, 720, 90))):
            status, info = output_of(c, j.id)
            T.check("the job %s renders %dx%d, %d frames" % ((name,) + want),
                    status == "finished" and (info.get("width"), info.get("height"), info.get("frames")) == want,
                    (status, info))
    finally:
        worker.stop()

    # REST: the same list, a third version by upload, and deletes.
    code, body = rest(srv, "GET", "/api/v2/templates/%s/versions" % t.id)
    T.check("GET /templates/{id}/versions: 200, versions 2 and 1 with no unfinished jobs",
            code == 200 and [(v.get("version"), int(v.get("unfinishedJobs", 0))) for v in body.get("versions", [])]
            == [(2, 0), (1, 0)], (code, body))
    T.check("... version 1 lists its layers", code == 200 and "title" in body["versions"][1].get("layers", []),
            body)
    code, body = rest(srv, "PUT", "/api/v2/templates/%s/upload" % t.id, v1)
    T.check("PUT /templates/{id}/upload makes version 3", code == 200 and body.get("version") == 3, (code, body))
    code, body = rest(srv, "DELETE", "/api/v2/templates/%s/versions?version=3" % t.id)
    T.check("DELETE the current version: 412 or 409 naming version",
            code in (409, 412) and "version" in json.dumps(body), (code, body))
    code, body = rest(srv, "DELETE", "/api/v2/templates/%s/versions?version=1" % t.id)
    T.check("DELETE /templates/{id}/versions?version=1: 204", code == 204, (code, body))
    code, body = rest(srv, "DELETE", "/api/v2/templates/%s/versions?version=1" % t.id)
    T.check("... again: 404", code == 404, (code, body))
    T.check("versions left: 3 and 2", [v[0] for v in versions(c, t.id)] == [3, 2], versions(c, t.id))
    code, text = code_of(lambda: job(c, t.id, version=1))
    T.check("a job asking for the deleted version is NOT_FOUND", code == grpc.StatusCode.NOT_FOUND, (code, text))

    # Another team sees none of it.
    other = fwe2e.Client(srv.grpc, srv.new_key("other"))
    code, _ = code_of(lambda: versions(other, t.id))
    T.check("another team's ListTemplateVersions is NOT_FOUND", code == grpc.StatusCode.NOT_FOUND, code)
    code, _ = code_of(lambda: delete_version(other, t.id, 2))
    T.check("another team's DeleteTemplateVersion is NOT_FOUND", code == grpc.StatusCode.NOT_FOUND, code)
    other.close()

    # Deleting the template takes every version's bundle with it.
    c.templates.DeleteTemplate(c.template_pb2.DeleteTemplateRequest(id=t.id), metadata=c.md(), timeout=30)
    left = [os.path.join(d, f) for d, _, fs in os.walk(srv.data) for f in fs
            if ("/templates/%s/" % t.id.lower()) in os.path.join(d, f).lower()
            or ("/templates/%s/" % t.id) in os.path.join(d, f)]
    T.check("no bundle is left in storage after DeleteTemplate", not left, left)


def main():
    srv = fwe2e.Server(workers=0, name="serve", extra=("--api", "127.0.0.1:0"))
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        T.case("template versions", run, srv, c)
    finally:
        c.close()
        T.check("serve stops cleanly", srv.stop() == 0)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
