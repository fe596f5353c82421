"""text_fit_e2e_test.py - a text asset's "fit" through a real `framewright
serve --api`, by gRPC (Python's grpcio, as text_fit) and by REST (the /api/v2
gateway, as "fit": {...}).

The template is tests/work/testdata/text_fit.json: a paragraph layer "name"
whose box spans x 150..650, y 85..195 of an 800x400 frame, white on #1d2b53.
A long name fitted with "shrink" must have all its ink inside that box; the
same name unfitted must not; a bad mode is refused with the field named and
the server goes on serving."""

import json
import os
import subprocess
import sys
import time
import traceback

for _base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
    if _base:
        sys.path.insert(0, os.path.join(_base, "framewright", "tests", "openapi"))
sys.path.insert(1, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "openapi"))

import oapi  # noqa: E402 - finds fwe2e

import fwe2e  # noqa: E402

T = fwe2e.Checks()
TERMINAL = ("finished", "error", "manually_cancelled")
W, H = 800, 400
LONG_NAME = "Maximilian Alexander Featherstonehaugh-Wellington"


def template():
    with open(fwe2e.runfile("tests/work/testdata/text_fit.json"), "rb") as f:
        return f.read()


def ink_bounds(png, y_max):
    """(count, x0, y0, x1, y1) of white pixels above y_max."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                       input=png, capture_output=True, check=True, timeout=60)
    rgb = r.stdout
    count, x0, y0, x1, y1 = 0, W, H, -1, -1
    for y in range(min(y_max, H)):
        row = rgb[3 * W * y:3 * W * (y + 1)]
        for x in range(W):
            if row[3 * x] > 0x80 and row[3 * x + 1] > 0x80 and row[3 * x + 2] > 0x80:
                count += 1
                x0, x1 = min(x0, x), max(x1, x)
                y0, y1 = min(y0, y), max(y1, y)
    return count, x0, y0, x1, y1


class Grpc:
    name = "gRPC"
    fit_key = "textFit"

    def __init__(self, srv):
        self.c = fwe2e.Client(srv.grpc, srv.key)

    def upload(self, data):
        return self.c.upload_template(data, name="text fit").id

    def submit(self, body):
        import grpc
        try:
            return self.c.create_job(body).id, None
        except grpc.RpcError as e:
            return None, "%s %s" % (e.code().name, e.details())

    def wait(self, job_id):
        job = self.c.wait_status(job_id, TERMINAL, 300)
        url = job.output_url.value if job.HasField("output_url") else ""
        return job.status, url

    def close(self):
        self.c.close()


class Rest:
    name = "REST"
    fit_key = "fit"

    def __init__(self, base, key):
        self.h = oapi.Http(base, key)

    def upload(self, data):
        t = self.h.request("POST", "/templates", {"type": "json", "displayName": "text fit"}).json()
        code = oapi.put_url(t["uploadInfo"]["url"], data)
        if code not in (200, 201, 204):
            raise RuntimeError("template upload answered %s" % code)
        return t["id"]

    def submit(self, body):
        r = self.h.request("POST", "/jobs", body)
        if r.status == 201:
            return r.json()["id"], None
        return None, "%s %s" % (r.status, json.dumps(r.json()))

    def wait(self, job_id):
        deadline = time.monotonic() + 300
        job = {}
        while time.monotonic() < deadline:
            job = self.h.request("GET", "/jobs/" + job_id).json()
            if job.get("status") in TERMINAL:
                break
            time.sleep(0.2)
        return job.get("status"), job.get("outputUrl") or ""

    def close(self):
        self.h.close()


def render(api, tpl, asset):
    job_id, refused = api.submit({"template": {"id": tpl}, "assets": [asset],
                                  "settings": {"type": "image", "frames": 0}})
    T.check("%s: the job is accepted" % api.name, job_id is not None, refused)
    if not job_id:
        return None
    status, url = api.wait(job_id)
    T.check("%s: the job finishes" % api.name, status == "finished", status)
    if status != "finished":
        return None
    code, data = fwe2e.fetch(url)
    T.check("%s: the picture answers 200" % api.name, code == 200, code)
    return data if code == 200 else None


def details(api, tpl):
    """The template's introspection, as each API gives it."""
    if api.name == "REST":
        return api.h.request("GET", "/templates/" + tpl).json().get("details") or {}
    from google.protobuf import json_format
    t = api.c.templates.GetTemplate(api.c.template_pb2.GetTemplateRequest(id=tpl), metadata=api.c.md(), timeout=30)
    return json_format.MessageToDict(t.details)


def cases(api):
    tpl = api.upload(template())
    d = details(api, tpl)
    layers = {layer.get("name"): layer for layer in (d.get("compositions") or [{}])[0].get("layers", [])}
    box = ((layers.get("name") or {}).get("replaceable") or {}).get("textBox") or {}
    T.check("%s: the details give the paragraph's box" % api.name,
            (box.get("x"), box.get("y"), box.get("width"), box.get("height"), box.get("paragraph")) ==
            (-250, -55, 500, 110, True), box)
    match = ((d.get("fonts") or [{}])[0]).get("match") or {}
    T.check("%s: and the face that draws its font" % api.name,
            (match.get("source"), match.get("family"), match.get("exact")) == ("machine", "DejaVu Sans", True), match)
    plain = render(api, tpl, {"type": "text", "layerName": "name", "value": LONG_NAME})
    fitted = render(api, tpl, {"type": "text", "layerName": "name", "value": LONG_NAME,
                               api.fit_key: {"mode": "shrink"}})
    if plain:
        n, x0, y0, x1, y1 = ink_bounds(plain, 280)
        T.check("%s: unfitted, the name runs below its box" % api.name, y1 > 200, (x0, y0, x1, y1))
    if fitted:
        n, x0, y0, x1, y1 = ink_bounds(fitted, 280)
        T.check("%s: fitted, the name's ink is inside its box" % api.name,
                n > 1500 and x0 >= 149 and x1 <= 650 and y0 >= 84 and y1 <= 196, (n, x0, y0, x1, y1))
    data = render(api, tpl, {"type": "data", "layerName": "name", "property": "Source Text", "value": LONG_NAME,
                             api.fit_key: {"mode": "wrap-shrink", "maxLines": 2, "minSize": 10}})
    if data:
        n, x0, y0, x1, y1 = ink_bounds(data, 280)
        T.check("%s: a Source Text data asset fits too" % api.name,
                n > 1000 and x0 >= 149 and x1 <= 650 and y0 >= 84 and y1 <= 196, (n, x0, y0, x1, y1))
    job_id, refused = api.submit({"template": {"id": tpl}, "assets": [
        {"type": "text", "layerName": "name", "value": "x", api.fit_key: {"mode": "squeeze"}}]})
    T.check("%s: a fit mode that does not exist is refused, naming the field" % api.name,
            job_id is None and refused and "assets[0].fit.mode" in refused and "wrap-shrink" in refused, refused)
    job_id, refused = api.submit({"template": {"id": tpl}, "assets": [
        {"type": "data", "layerName": "name", "property": "Opacity", "value": 50, api.fit_key: {"mode": "shrink"}}]})
    if job_id:  # refused when the job renders (the layer's property is known then)
        status, _ = api.wait(job_id)
        T.check("%s: fit on Opacity fails the job" % api.name, status == "error", status)
    else:
        T.check("%s: fit on Opacity is refused" % api.name, "fit" in refused, refused)


def main():
    srv = None
    apis = []
    try:
        srv = fwe2e.Server(workers=1, name="text-fit", extra=("--api", "127.0.0.1:0"))
        _, m = srv.proc.wait_line(r"REST API \(/api/v2\) on (\S+)", 30)
        if m is None:
            raise RuntimeError("no REST API line from framewright serve")
        apis = [Grpc(srv), Rest(m.group(1), srv.key)]
        for api in apis:
            T.case("text fit over %s" % api.name, cases, api)
    except Exception:  # noqa: BLE001 - a failed setup is a failed test
        traceback.print_exc()
        T.check("the test ran to the end", False, "exception")
    finally:
        for api in apis:
            api.close()
        if srv:
            code = srv.stop()
            T.check("the server exits 0 on SIGTERM", code == 0, code)
            T.check("no sanitizer report in the server's output", not oapi.sanitizer_report(srv.proc.lines),
                    oapi.sanitizer_report(srv.proc.lines)[:5])
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
