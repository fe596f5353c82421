"""openapi_test.py - every path and method of Nexrender Cloud's published
OpenAPI (nexrender-cloud-openapi.json beside this file), called on a real
`framewright serve --api` with valid requests and with typical bad ones;
each answer's status must be one the operation declares and its body must
validate against the declared schema (oapi.Validator). Error bodies must also
be {error} or {error, details[{field, message}]}.

Where we answer a status the file does not declare, it is listed in
DOCUMENTED with the reason; anything else undeclared fails."""

import os
import time
import traceback
import uuid

import oapi

import fwe2e  # noqa: E402 - after oapi, which finds it

T = fwe2e.Checks()
DOC = oapi.load()
V = oapi.Validator(DOC)
OPS = {op.key: op for op in oapi.operations(DOC)}
CALLED = set()
MISSING_ID = "01J0000000000000000000000Z"

# Statuses we answer that the OpenAPI does not declare for the operation,
# each a documented error of ours (the body is still checked as {error}).
DOCUMENTED = {
    # Template uploads: Nexrender's file hands out a presigned URL; ours can
    # also take the bytes on this path (the gateway's own upload), and a
    # bundle that is not a template is refused.
    ("PUT /templates/{id}/upload", 400): "no body, or bytes that are not a template of the registered type "
                                         "(the error names the body)",
    ("PUT /templates/{id}/upload", 409): "the template already has its bundle",
    ("GET /templates/{id}/upload", 409): "the template has no bundle yet (awaiting_upload)",
    # The file declares 401 for GET /jobs and GET /fonts with no content;
    # ours carries {error}, which is allowed (no schema to break).
}

# Successful answers whose body is ours, not the file's schema, with the
# reason; the test checks them another way (named in the value).
DOCUMENTED_BODIES = {
    ("PUT /templates/{id}/upload", 200): "a PUT with the template's bytes is our direct upload (Nexrender's "
                                         "answers a presigned URL instead): it answers the Template, validated "
                                         "against the Template schema",
    ("GET /templates/{id}/upload", 200): "answers the bundle itself, as GET /templates/{id}/download does (the "
                                         "reference accepts both spellings), not {url}: no presigned download "
                                         "URL exists for templates; compared byte for byte",
}


def check_response(label, op_key, r, want):
    """The answer r to operation op_key: the status is want, declared (or
    documented) and the body validates."""
    op = OPS[op_key]
    CALLED.add(op_key)
    ok = T.check("%s: %s answers %d" % (op_key, label, want), r.status == want, r)
    declared, schema = op.response_schema(r.status)
    if not declared:
        why = DOCUMENTED.get((op_key, r.status))
        T.check("%s: %s: status %d is declared by the OpenAPI or documented as ours" % (op_key, label, r.status),
                why is not None, r)
        if why:
            print("     (documented: %s)" % why)
    if r.status >= 400:
        T.check("%s: %s: the error body is {error[, details]}" % (op_key, label), oapi.error_shape(r.body) is None,
                oapi.error_shape(r.body))
    if r.status == 204:
        T.check("%s: %s: 204 has no body" % (op_key, label), r.body == b"", r.body[:200])
    elif (op_key, r.status) in DOCUMENTED_BODIES:
        print("     (documented body: %s)" % DOCUMENTED_BODIES[(op_key, r.status)])
        return ok, None
    elif schema is None and r.status >= 400:
        try:
            return ok, r.json()
        except ValueError:
            return ok, None
    elif schema is not None:
        try:
            body = r.json()
        except ValueError:
            T.check("%s: %s: the body is JSON" % (op_key, label), False, r.body[:200])
            return ok, None
        errs = V.errors(schema, body)
        T.check("%s: %s: the body validates against the declared schema" % (op_key, label), not errs, errs[:8])
        return ok, body
    return ok, None


def ttf():
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        if os.path.exists(path):
            with open(path, "rb") as f:
                return f.read()
    return None


def multipart(fields, files):
    boundary = "fw" + uuid.uuid4().hex
    out = []
    for name, value in fields.items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary, name, value))
                   .encode())
    for name, (filename, data) in files.items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name, filename)).encode() + data +
                   b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def templates(h):
    op = "POST /templates"
    _, t = check_response("a valid registration", op, h.request("POST", "/templates", {"type": "zip",
                                                                                       "displayName": "oapi zip"}),
                          201)
    # type is required by the file; ours defaults to "zip" (README), so a
    # registration without it is still a valid 201 Template.
    _, z = check_response("no type (our default)", op, h.request("POST", "/templates", {"displayName": "x"}), 201)
    T.check("... the default type is zip", z and z["type"] == "zip", z)
    _, e = check_response("a missing required displayName", op, h.request("POST", "/templates", {"type": "zip"}),
                          400)
    T.check("... details name displayName", e and [d["field"] for d in e.get("details", [])] == ["displayName"], e)
    check_response("a type outside the enum", op, h.request("POST", "/templates", {"type": "psd",
                                                                                     "displayName": "x"}), 400)
    check_response("a body that is not JSON", op, h.request("POST", "/templates", "{\"type\": ",
                                                            {"Content-Type": "application/json"}), 400)
    check_response("a wrong type for displayName", op, h.request("POST", "/templates", {"type": "zip",
                                                                                        "displayName": 7}), 400)
    check_response("no token", op, h.request("POST", "/templates", {"type": "zip", "displayName": "x"}, key=False),
                   401)
    check_response("a wrong token", op, h.request("POST", "/templates", {"type": "zip", "displayName": "x"},
                                                  key="fw_not_a_key"), 401)

    # The Lottie template the jobs use: registered as ours ("json"), its
    # bytes PUT to the signed uploadInfo.url as the quick start does.
    r = h.request("POST", "/templates", {"type": "json", "displayName": "oapi hello"})
    _, hello = check_response("a Lottie registration", op, r, 201)
    info = hello["uploadInfo"]
    code, _ = put_url(info["url"], fwe2e.hello_template())
    T.check("the bundle PUT to uploadInfo.url is taken", code in (200, 201, 204), code)

    op = "GET /templates"
    _, lst = check_response("the list", op, h.request("GET", "/templates"), 200)
    T.check("GET /templates lists both templates", lst is not None and {t["id"], hello["id"]} <= {x["id"] for x in lst},
            lst)
    check_response("no token", op, h.request("GET", "/templates", key=False), 401)

    op = "GET /templates/{id}"
    _, got = check_response("an uploaded template", op, h.request("GET", "/templates/" + hello["id"]), 200)
    T.check("the uploaded template is 'uploaded' with composition main and layer title",
            got and got["status"] == "uploaded" and "main" in got["compositions"] and "title" in got["layers"], got)
    check_response("a template awaiting upload", op, h.request("GET", "/templates/" + t["id"]), 200)
    check_response("an unknown id", op, h.request("GET", "/templates/" + MISSING_ID), 404)
    check_response("no token", op, h.request("GET", "/templates/" + hello["id"], key=False), 401)

    op = "PATCH /templates/{id}"
    _, p = check_response("a rename", op, h.request("PATCH", "/templates/" + t["id"], {"displayName": "renamed"}), 200)
    T.check("the rename shows", p and p["displayName"] == "renamed", p)
    check_response("a wrong type for displayName", op,
                   h.request("PATCH", "/templates/" + t["id"], {"displayName": ["x"]}), 400)
    check_response("a body that is not JSON", op, h.request("PATCH", "/templates/" + t["id"], "nope",
                                                            {"Content-Type": "application/json"}), 400)
    check_response("an unknown id", op, h.request("PATCH", "/templates/" + MISSING_ID, {"displayName": "x"}), 404)
    check_response("no token", op, h.request("PATCH", "/templates/" + t["id"], {"displayName": "x"}, key=False), 401)

    op = "PUT /templates/{id}/upload"
    _, e = check_response("no body", op, h.request("PUT", "/templates/%s/upload" % t["id"]), 400)
    T.check("... the error names the body", e and e["details"][0]["field"] == "body", e)
    r = h.request("PUT", "/templates/%s/upload" % t["id"], b"PK\x03\x04 not really a zip",
                  {"Content-Type": "application/octet-stream"})
    check_response("bytes that are not a zip", op, r, 400)
    r = h.request("POST", "/templates", {"type": "json", "displayName": "direct upload"})
    direct = r.json()
    r = h.request("PUT", "/templates/%s/upload" % direct["id"], fwe2e.hello_template(),
                  {"Content-Type": "application/octet-stream"})
    check_response("the template's bytes", op, r, 200)
    errs = V.errors({"$ref": "#/components/schemas/Template"}, r.json()) if r.status == 200 else ["no 200"]
    T.check("... the answer validates as a Template and is uploaded", not errs and r.json()["status"] == "uploaded",
            errs[:8])
    r = h.request("PUT", "/templates/%s/upload" % direct["id"], fwe2e.hello_template(),
                  {"Content-Type": "application/octet-stream"})
    # "uploading or replacing the template file": the bundle before stays as version 1.
    check_response("a second upload (a new version)", op, r, 200)
    T.check("... the template is at version 2", r.status == 200 and r.json().get("version") == 2,
            r.status == 200 and r.json().get("version"))
    h.request("DELETE", "/templates/" + direct["id"])
    check_response("an unknown id", op, h.request("PUT", "/templates/%s/upload" % MISSING_ID), 404)
    check_response("no token", op, h.request("PUT", "/templates/%s/upload" % t["id"], key=False), 401)

    op = "GET /templates/{id}/upload"
    r = h.request("GET", "/templates/%s/upload" % hello["id"])
    check_response("an uploaded template", op, r, 200)
    T.check("... the bundle comes back byte for byte", r.body == fwe2e.hello_template(), len(r.body))
    check_response("a template awaiting upload", op, h.request("GET", "/templates/%s/upload" % t["id"]), 409)
    check_response("an unknown id", op, h.request("GET", "/templates/%s/upload" % MISSING_ID), 404)
    check_response("no token", op, h.request("GET", "/templates/%s/upload" % hello["id"], key=False), 401)
    return t, hello


def put_url(url, data):
    import urllib.request

    req = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def jobs(h, hello):
    op = "POST /jobs"
    body = {"template": {"id": hello["id"], "composition": "main"},
            "assets": [{"type": "data", "layerName": "title", "property": "Source Text", "value": "OpenAPI"}],
            "preview": False}
    _, job = check_response("a valid job", op, h.request("POST", "/jobs", body), 201)
    check_response("no template", op, h.request("POST", "/jobs", {"assets": []}), 400)
    check_response("an asset without its required type", op,
                   h.request("POST", "/jobs", {"template": {"id": hello["id"]}, "assets": [{"layerName": "title"}]}),
                   400)
    _, e = check_response("a layer that is not in the template", op,
                          h.request("POST", "/jobs", {"template": {"id": hello["id"], "composition": "main"},
                                                      "assets": [{"type": "text", "layerName": "titel",
                                                                  "value": "x"}]}), 400)
    T.check("... the error names the field in details", e and any(d["field"] == "assets[0].layerName"
                                                                  for d in e.get("details", [])), e)
    check_response("a wrong type for preview", op,
                   h.request("POST", "/jobs", {"template": {"id": hello["id"]}, "preview": "yes"}), 400)
    check_response("a body that is not JSON", op, h.request("POST", "/jobs", "[1,", {"Content-Type":
                                                                                      "application/json"}), 400)
    check_response("an unknown template", op, h.request("POST", "/jobs", {"template": {"id": MISSING_ID}}), 404)
    check_response("no token", op, h.request("POST", "/jobs", body, key=False), 401)

    op = "GET /jobs/{id}"
    check_response("a job just created", op, h.request("GET", "/jobs/" + job["id"]), 200)
    deadline = time.monotonic() + 300
    last = None
    while time.monotonic() < deadline:
        r = h.request("GET", "/jobs/" + job["id"])
        last = r.json() if r.status == 200 else None
        if not last or last["status"] in ("finished", "error", "manually_cancelled"):
            break
        errs = V.errors(OPS[op].response_schema(200)[1], last)
        if errs:
            T.check("%s: a job in %s validates" % (op, last["status"]), False, errs[:8])
            break
        time.sleep(0.2)
    _, done = check_response("a finished job", op, h.request("GET", "/jobs/" + job["id"]), 200)
    T.check("the job finished", done and done["status"] == "finished", done)
    if done and done.get("outputUrl"):
        code, data = fwe2e.fetch(done["outputUrl"])
        probe = fwe2e.ffprobe(data)
        T.check("its output is an H.264 video", code == 200 and probe.get("codec") == "h264", probe)
    check_response("an unknown id", op, h.request("GET", "/jobs/" + MISSING_ID), 404)
    check_response("no token", op, h.request("GET", "/jobs/" + job["id"], key=False), 401)

    op = "GET /jobs"
    _, lst = check_response("the list", op, h.request("GET", "/jobs"), 200)
    T.check("GET /jobs lists the job", lst is not None and job["id"] in [x["id"] for x in lst], lst)
    # states takes one state: ListJobsRequest.status is one string, so a
    # comma list ("finished,queued") matches nothing yet.
    q = ("/jobs?minimal=true&from=0&limit=10&from_date=2020-01-01T00:00:00Z&to_date=2100-01-01T00:00:00Z"
         "&states=finished&exclude_states=error&sort=newest_first&tags=a,b-c")
    _, lst = check_response("every declared parameter", op, h.request("GET", q), 200)
    T.check("... the filters keep the finished job", lst is not None and job["id"] in [x["id"] for x in lst], lst)
    check_response("a limit that is not a number", op, h.request("GET", "/jobs?limit=ten"), 400)
    check_response("a from_date that is not a date", op, h.request("GET", "/jobs?from_date=yesterday"), 400)
    check_response("no token", op, h.request("GET", "/jobs", key=False), 401)
    return job


def fonts(h):
    data = ttf()
    if data is None:
        T.skip("fonts", "no DejaVu TTF on this machine")
        return
    op = "POST /fonts"
    body, ctype = multipart({"familyName": "OpenAPI Sans"}, {"font": ("OpenAPISans.ttf", data)})
    _, font = check_response("a TTF upload", op, h.request("POST", "/fonts", body, {"Content-Type": ctype}), 201)
    body, ctype = multipart({"familyName": "x"}, {})
    check_response("no font part", op, h.request("POST", "/fonts", body, {"Content-Type": ctype}), 400)
    body, ctype = multipart({}, {"font": ("broken.ttf", b"not a font at all")})
    check_response("a file that is not a font", op, h.request("POST", "/fonts", body, {"Content-Type": ctype}), 400)
    check_response("no token", op, h.request("POST", "/fonts", body, {"Content-Type": ctype}, key=False), 401)

    op = "GET /fonts"
    _, lst = check_response("the list", op, h.request("GET", "/fonts"), 200)
    T.check("GET /fonts lists the font", font and lst is not None and font["id"] in [x["id"] for x in lst], lst)
    check_response("no token", op, h.request("GET", "/fonts", key=False), 401)

    op = "GET /fonts/{id}"
    check_response("the font", op, h.request("GET", "/fonts/" + font["id"]), 200)
    check_response("an unknown id", op, h.request("GET", "/fonts/" + MISSING_ID), 404)
    check_response("no token", op, h.request("GET", "/fonts/" + font["id"], key=False), 401)

    op = "DELETE /fonts/{id}"
    check_response("no token", op, h.request("DELETE", "/fonts/" + font["id"], key=False), 401)
    check_response("the font", op, h.request("DELETE", "/fonts/" + font["id"]), 204)
    check_response("a font already deleted", op, h.request("DELETE", "/fonts/" + font["id"]), 404)


def secrets(h):
    op = "PUT /secrets"
    check_response("a new secret", op, h.request("PUT", "/secrets", {"name": "OAPI_KEY", "value": "s3cr3t"}), 201)
    check_response("the same name again", op, h.request("PUT", "/secrets", {"name": "OAPI_KEY", "value": "x"}), 409)
    check_response("a wrong type for name", op, h.request("PUT", "/secrets", {"name": ["X"], "value": "y"}), 400)
    check_response("no name", op, h.request("PUT", "/secrets", {"value": "x"}), 400)
    check_response("a wrong type for value", op, h.request("PUT", "/secrets", {"name": "X", "value": 1}), 400)
    check_response("no token", op, h.request("PUT", "/secrets", {"name": "X", "value": "y"}, key=False), 401)

    op = "GET /secrets"
    _, lst = check_response("the list", op, h.request("GET", "/secrets"), 200)
    mine = [x for x in lst or [] if x["name"] == "OAPI_KEY"]
    T.check("GET /secrets lists the secret without its value", len(mine) == 1 and "value" not in mine[0], lst)
    check_response("no token", op, h.request("GET", "/secrets", key=False), 401)

    op = "DELETE /secrets/{id}"
    sid = mine[0]["id"] if mine else MISSING_ID
    check_response("no token", op, h.request("DELETE", "/secrets/" + sid, key=False), 401)
    check_response("the secret", op, h.request("DELETE", "/secrets/" + sid), 200)
    check_response("a secret already deleted", op, h.request("DELETE", "/secrets/" + sid), 404)


def delete_templates(h, t, hello):
    op = "DELETE /templates/{id}"
    # Three jobs at once on one worker: the last is still queued when the
    # DELETE comes, so the template is in use.
    ids = [h.request("POST", "/jobs", {"template": {"id": hello["id"]}}).json()["id"] for _ in range(3)]
    check_response("a template that queued jobs use", op, h.request("DELETE", "/templates/" + hello["id"]), 409)
    for i in ids:
        h.request("PATCH", "/jobs/%s/cancel" % i)
    check_response("no token", op, h.request("DELETE", "/templates/" + t["id"], key=False), 401)
    check_response("an unused template", op, h.request("DELETE", "/templates/" + t["id"]), 204)
    check_response("a template already deleted", op, h.request("DELETE", "/templates/" + t["id"]), 404)


def validator_self_test():
    """The validator can fail: known-bad bodies are caught."""
    job = DOC["components"]["schemas"]["Job"]
    T.check("validator: a Job with a numeric status fails", V.errors(job, {"id": "x", "status": 3}))
    T.check("validator: a null createdAt (not nullable) fails", V.errors(job, {"stats": {"createdAt": None}}))
    T.check("validator: a null startedAt (nullable) passes", not V.errors(job, {"stats": {"startedAt": None}}))
    T.check("validator: a bad date-time fails", V.errors(job, {"stats": {"createdAt": "2024-13-01T00:00:00Z"}}))
    secret = DOC["components"]["schemas"]["Secret"]
    T.check("validator: a Secret without createdAt fails", V.errors(secret, {"id": "a", "name": "b"}))
    info = DOC["components"]["schemas"]["TemplateUploadInfo"]
    T.check("validator: a method outside the enum fails",
            V.errors(info, {"url": "u", "method": "GET", "expiresIn": 1, "key": "k"}))
    T.check("validator: fields must map to strings",
            V.errors(info, {"url": "u", "method": "PUT", "expiresIn": 1, "key": "k", "fields": {"a": 1}}))
    creation = DOC["components"]["schemas"]["JobCreation"]
    T.check("validator: a frames oneOf with three items fails",
            V.errors(creation, {"template": {"id": "0" * 26}, "settings": {"frames": [1, 2, 3]}}))
    T.check("validator: a frames integer passes", not V.errors(creation, {"template": {"id": "0" * 26},
                                                                         "settings": {"frames": 4}}))


def main():
    validator_self_test()
    srv, base = oapi.start_server(workers=1)
    h = oapi.Http(base, srv.key)
    try:
        t, hello = templates(h)
        T.case("jobs", jobs, h, hello)
        T.case("fonts", fonts, h)
        T.case("secrets", secrets, h)
        T.case("deleting templates", delete_templates, h, t, hello)
        missing = sorted(set(OPS) - CALLED)
        T.check("every operation of the OpenAPI was called", not missing, missing)
    except Exception:  # noqa: BLE001 - a failed setup is a failed test
        traceback.print_exc()
        T.check("the test ran to the end", False, "exception")
    finally:
        h.close()
        code = srv.stop()
        T.check("the server exits 0 on SIGTERM", code == 0, code)
        T.check("no sanitizer report in the server's output", not oapi.sanitizer_report(srv.proc.lines),
                oapi.sanitizer_report(srv.proc.lines)[:5])
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
