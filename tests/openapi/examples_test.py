"""examples_test.py - the reference pages' batch, nested-job and join-job
examples (/api/v2/batches, an asset of type "job", /api/v2/jobs/join) sent
through the REST gateway of a real `framewright serve --api` with two
workers, as close to the pages as we can: only the host, the token and the
template ids differ. Every call is plain HTTP with `Authorization: Bearer`;
the outputs are fetched from their outputUrl and read with ffprobe/ffmpeg.

The templates are small variants of tests/examples/hello (fewer frames, a
smaller frame) so the renders stay quick under the sanitizers."""

import json
import os
import subprocess
import time
import traceback

import oapi

import fwe2e  # noqa: E402 - after oapi, which finds it
import fwjobs  # noqa: E402 - likewise (tests/batches)

T = fwe2e.Checks()
TERMINAL = ("finished", "error", "manually_cancelled")
PLACEHOLDER = (128, 128, 128)  # the grey of the parent's image layer until the child replaces it


# ---- REST helpers -------------------------------------------------------------------------------

def call(h, method, path, body=None, want=None):
    """One REST call; the answer's JSON (None when not JSON). A status other
    than want fails a check that carries the request and the answer."""
    r = h.request(method, path, body)
    try:
        j = r.json()
    except ValueError:
        j = None
    if want is not None:
        T.check("%s %s answers %d" % (method, path, want), r.status == want,
                "request %s; answer %r" % (json.dumps(body)[:400] if body is not None else "-", r))
    return r.status, j


def register(h, name, data):
    """POST /templates (type json) and PUT the bytes to uploadInfo.url, as the
    quick start does; the Template once uploaded."""
    status, t = call(h, "POST", "/templates", {"type": "json", "displayName": name}, 201)
    if status != 201:
        raise RuntimeError("cannot register template %s: %r" % (name, t))
    code = oapi.put_url(t["uploadInfo"]["url"], data)
    T.check("template %s: the PUT to uploadInfo.url is taken" % name, code in (200, 201, 204), code)
    _, got = call(h, "GET", "/templates/" + t["id"], want=200)
    T.check("template %s is uploaded" % name, got and got.get("status") == "uploaded", got)
    return got


def wait_job(h, job_id, timeout=300):
    """Poll GET /jobs/{id} until the job ends; (last job, statuses seen in order)."""
    deadline = time.monotonic() + timeout
    seen, job = [], None
    while time.monotonic() < deadline:
        status, job = call(h, "GET", "/jobs/" + job_id)
        if status != 200:
            return job, seen
        if not seen or seen[-1] != job.get("status"):
            seen.append(job.get("status"))
        if job.get("status") in TERMINAL:
            break
        time.sleep(0.2)
    return job, seen


def output(job):
    """The bytes at a finished job's outputUrl."""
    code, data = fwe2e.fetch(job["outputUrl"])
    T.check("the outputUrl of %s answers 200" % job["id"], code == 200, code)
    return data


def probe(data, suffix=".mp4"):
    """ffprobe of the first video stream: codec, size, frames counted, and
    the durations of the stream and the container."""
    d = fwe2e.tmpdir("fw-probe-")
    path = os.path.join(d, "out" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames,duration,avg_frame_rate",
                        "-show_entries", "format=format_name,duration", "-of", "json", path],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return {"error": r.stderr.strip()}
    j = json.loads(r.stdout)
    s = (j.get("streams") or [{}])[0]
    fmt = j.get("format", {})
    return {"codec": s.get("codec_name"), "width": s.get("width"), "height": s.get("height"),
            "frames": int(s.get("nb_read_frames") or 0), "rate": s.get("avg_frame_rate"),
            "duration": float(s.get("duration") or fmt.get("duration") or 0),
            "format_duration": float(fmt.get("duration") or 0), "format": fmt.get("format_name")}


def frame_pixel(data, x, y, suffix):
    """(r, g, b) at x, y of an image or a video's first frame: ffmpeg decodes
    the whole frame to a PPM and the pixel is read here (a 1x1 crop filter
    would round to nothing on 4:2:0 video)."""
    d = fwe2e.tmpdir("fw-frame-")
    path = os.path.join(d, "in" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-frames:v", "1", "-f", "image2pipe", "-c:v", "ppm",
                        "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("ffmpeg: %s" % r.stderr.decode("utf-8", "replace"))
    fields, pos, ppm = [], 0, r.stdout
    while len(fields) < 4:  # P6 width height maxval, separated by whitespace
        while ppm[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not ppm[end:end + 1].isspace():
            end += 1
        fields.append(ppm[pos:end])
        pos = end
    pos += 1
    width, height = int(fields[1]), int(fields[2])
    if fields[0] != b"P6" or not (0 <= x < width and 0 <= y < height):
        raise RuntimeError("no pixel %d,%d in a %s %dx%d frame" % (x, y, fields[0], width, height))
    i = pos + 3 * (y * width + x)
    return tuple(ppm[i:i + 3])


# ---- templates made here ------------------------------------------------------------------------

def small_hello(width, height, frames, fps):
    """tests/examples/hello at another size, length and rate, its layers
    moved and scaled with the frame so the title and logo stay in view."""
    doc = json.loads(fwe2e.long_template(width, height, frames, fps))
    k = width / 1280.0
    for layer in doc["layers"]:
        ks = layer["ks"]
        ks["p"]["k"] = [ks["p"]["k"][0] * k, ks["p"]["k"][1] * height / 720.0, 0]
        if layer["nm"] == "bg":
            layer["sw"], layer["sh"] = width, height
            ks["a"]["k"] = [width / 2, height / 2, 0]
        else:
            ks["s"]["k"] = [100 * k, 100 * k, 100]
    return json.dumps(doc).encode()


def parent_template():
    """600x400 white paper; an image layer "PrecompLayer" is a 200x200 box at
    (200, 100)-(400, 300) holding a grey placeholder until replaced (the
    shape of tests/work/testdata/image_layer.json, the layer renamed)."""
    doc = json.loads(fwjobs.photo_card_template())
    doc["nm"] = "main"
    for layer in doc["layers"]:
        if layer["nm"] == "photo":
            layer["nm"] = "PrecompLayer"
    return json.dumps(doc).encode()


CHILD_RED = "#d02020"


def child_template():
    """A 200x200 lower third, composition "lower-third": a red card with
    text layers "name" and "title" in its upper half (the lower half stays
    plain red, where the test reads the parent's pixels)."""
    def text(ind, name, y, size, value):
        return {"ddd": 0, "ind": ind, "ty": 5, "nm": name, "sr": 1,
                "ks": {"o": {"a": 0, "k": 100}, "r": {"a": 0, "k": 0}, "p": {"a": 0, "k": [100, y, 0]},
                       "a": {"a": 0, "k": [0, 0, 0]}, "s": {"a": 0, "k": [100, 100, 100]}},
                "ao": 0, "t": {"d": {"k": [{"s": {"s": size, "f": "DejaVuSans", "t": value, "j": 2, "tr": 0,
                                                  "lh": size * 1.2, "ls": 0, "fc": [1, 1, 1]}, "t": 0}]},
                               "p": {}, "m": {"g": 1, "a": {"a": 0, "k": [0, 0]}}, "a": []},
                "ip": 0, "op": 25, "st": 0, "bm": 0}

    return json.dumps({
        "v": "5.7.4", "fr": 25, "ip": 0, "op": 25, "w": 200, "h": 200, "nm": "lower-third", "ddd": 0,
        "assets": [],
        "fonts": {"list": [{"fName": "DejaVuSans", "fFamily": "DejaVu Sans", "fStyle": "Book", "ascent": 75.9}]},
        "layers": [
            text(1, "name", 40, 22, "Name"),
            text(2, "title", 75, 16, "Title"),
            {"ddd": 0, "ind": 3, "ty": 1, "nm": "card", "sr": 1,
             "ks": {"o": {"a": 0, "k": 100}, "r": {"a": 0, "k": 0}, "p": {"a": 0, "k": [100, 100, 0]},
                    "a": {"a": 0, "k": [100, 100, 0]}, "s": {"a": 0, "k": [100, 100, 100]}},
             "ao": 0, "sw": 200, "sh": 200, "sc": CHILD_RED, "ip": 0, "op": 25, "st": 0, "bm": 0},
        ],
    }).encode()


def is_red(rgb):
    r, g, b = rgb
    return r > 150 and g < 100 and b < 100


# ---- 1. batch -----------------------------------------------------------------------------------

def batch(h):
    a = register(h, "batch A", small_hello(320, 180, 15, 30))
    b = register(h, "batch B", small_hello(256, 144, 10, 25))
    body = {"jobs": [
        {"template": {"id": a["id"], "composition": "main"},
         "assets": [{"type": "text", "layerName": "title", "value": "Invite for Ada"}]},
        {"template": {"id": a["id"], "composition": "main"},
         "assets": [{"type": "text", "layerName": "titel", "value": "Invite for Bob"}]},
        {"template": {"id": b["id"], "composition": "main"},
         "assets": [{"type": "data", "layerName": "logo", "property": "Fill Color", "value": [0.16, 0.68, 0.98]}]},
    ]}
    status, created = call(h, "POST", "/batches", body, 201)
    if status not in (200, 201) or not created:
        T.check("POST /batches answers a BatchCreated", False, created)
        return
    T.check("the batch is partial: 3 jobs, 2 created, 1 failed",
            created.get("status") == "partial" and created.get("total") == 3 and created.get("created") == 2 and
            created.get("failed") == 1, created)
    errors = created.get("errors") or []
    T.check("the refused job is index 1", [e.get("index") for e in errors] == [1], errors)
    reason = json.dumps(errors)
    T.check("its reason names assets[0].layerName and 'titel'",
            "assets[0].layerName" in reason and "titel" in reason, errors)
    jobs = created.get("jobs") or []
    T.check("the accepted jobs are indexes 0 and 2, each with an id and an outputUrl",
            sorted(j.get("index", 0) for j in jobs) == [0, 2] and all(j.get("id") and j.get("outputUrl")
                                                                       for j in jobs), jobs)
    bid = created.get("batchId")
    T.check("the answer carries a batchId", bool(bid), created)
    if not bid:
        return
    good = {j["id"]: j for j in jobs}
    deadline = time.monotonic() + 300
    got = None
    while time.monotonic() < deadline:
        status, got = call(h, "GET", "/batches/" + bid)
        if status != 200:
            T.check("GET /batches/{id} answers 200", False, got)
            return
        states = {j["id"]: j.get("status") for j in got.get("jobs") or []}
        if all(states.get(i) in TERMINAL for i in good):
            break
        time.sleep(0.3)
    T.check("GET /batches/{id}: the good jobs finished",
            got and all(j.get("status") == "finished" for j in got.get("jobs") or []) and
            {j["id"] for j in got.get("jobs") or []} == set(good), got)
    print("     batch as finally seen: status %s, total %s, counts %s" %
          (got.get("status"), got.get("total"), got.get("counts")), flush=True)
    want = {0: (320, 180, 15), 2: (256, 144, 10)}
    for j in got.get("jobs") or []:
        if j.get("status") != "finished":
            continue
        index = good[j["id"]]["index"]
        p = probe(output(j))
        w, ht, n = want[index]
        T.check("batch job %d: its output is H.264 %dx%d with %d frames" % (index, w, ht, n),
                p.get("codec") == "h264" and (p.get("width"), p.get("height"), p.get("frames")) == (w, ht, n), p)


# ---- 2. nested job ------------------------------------------------------------------------------

def nested(h):
    parent = register(h, "nested parent", parent_template())
    child = register(h, "nested child", child_template())
    # The reference's basic example, verbatim but for the ids: the child
    # renders a video (the default), which plays in the parent's layer.
    body = {
        "template": {"id": parent["id"], "composition": "main"},
        "assets": [
            {
                "type": "job",
                "layerName": "PrecompLayer",
                "template": {"id": child["id"], "composition": "lower-third"},
                "assets": [
                    {"type": "text", "layerName": "name", "value": "Jane Smith"},
                    {"type": "text", "layerName": "title", "value": "Lead Designer"},
                ],
            }
        ],
    }
    status, job = call(h, "POST", "/jobs", body, 201)
    if status != 201 or not job:
        return
    kids = job.get("children") or []
    T.check("the answer lists one child in children", len(kids) == 1 and isinstance(kids[0], str), job)
    T.check("the parent starts as pending", job.get("status") == "pending", job)
    done, seen = wait_job(h, job["id"])
    print("     parent statuses seen: %s" % seen, flush=True)
    T.check("the parent finishes", done and done.get("status") == "finished", done)
    if kids:
        _, kid = call(h, "GET", "/jobs/" + kids[0], want=200)
        T.check("the child (GET /jobs/{child}) is finished", kid and kid.get("status") == "finished", kid)
        if kid and kid.get("status") == "finished":
            data = output(kid)
            p = probe(data)
            T.check("the child's output is a 200x200 H.264 video", (p.get("codec"), p.get("width"), p.get("height"))
                    == ("h264", 200, 200), p)
            px = frame_pixel(data, 100, 180, ".mp4")
            T.check("the child's picture is its red card", is_red(px), px)
    if not done or done.get("status") != "finished":
        return
    data = output(done)
    suffix = ".png" if data[:8] == b"\x89PNG\r\n\x1a\n" else ".mp4"
    p = probe(data, suffix)
    if not T.check("the parent's output is the parent template's 600x400 frame",
                   (p.get("width"), p.get("height")) == (600, 400), p):
        return
    inside = frame_pixel(data, 300, 280, suffix)   # the layer's box, below the child's text
    outside = frame_pixel(data, 50, 50, suffix)    # the white paper around it
    T.check("in the parent's PrecompLayer box the child's red shows, not the grey placeholder %s" % (PLACEHOLDER,),
            is_red(inside) and max(abs(c - p) for c, p in zip(inside, PLACEHOLDER)) > 40, inside)
    T.check("outside the box the parent's white paper shows", min(outside) > 220, outside)


# ---- 3. join job --------------------------------------------------------------------------------

def join(h):
    clip = fwjobs.test_clip(25, 640, 360, 25)  # 1 s of testsrc, 640x360, 25 fps, H.264
    files = fwjobs.Files({"/intro.mp4": clip})
    try:
        got = probe(clip)
        T.check("the served clip is 25 frames of H.264", got.get("codec") == "h264" and got.get("frames") == 25, got)
        # The rendered clip: hello at the served clip's size and rate, 2 s.
        hello = register(h, "join hello", small_hello(640, 360, 50, 25))
        # The page's request, rebuilt from its field tables.
        body = {
            "assets": [
                {"type": "video", "src": files.url("/intro.mp4")},
                {"type": "job", "template": {"id": hello["id"], "composition": "main"},
                 "assets": [{"type": "text", "layerName": "title", "value": "Hello, join"}]},
            ],
            "settings": {"preset": "mp4"},
        }
        status, job = call(h, "POST", "/jobs/join", body, 201)
        if status not in (200, 201) or not job:
            return
        T.check("the join job starts as pending", job.get("status") == "pending", job)
        T.check("its outputUrl is known at creation", bool(job.get("outputUrl")), job)
        done, seen = wait_job(h, job["id"])
        print("     join statuses seen: %s" % seen, flush=True)
        T.check("the join job finishes", done and done.get("status") == "finished", done)
        if not done or done.get("status") != "finished":
            return
        p = probe(output(done))
        total_s, total_n = 1.0 + 2.0, 25 + 50
        T.check("the joined output is H.264", p.get("codec") == "h264", p)
        T.check("its duration is the clips' sum, %.2f s (within one frame)" % total_s,
                abs(p.get("duration", 0) - total_s) <= 1.0 / 25 + 1e-6, p)
        T.check("its frame count is the clips' sum, %d (within one)" % total_n,
                abs(p.get("frames", 0) - total_n) <= 1, p)
    finally:
        files.close()


def main():
    srv, base = oapi.start_server(workers=2, name="examples")
    h = oapi.Http(base, srv.key)
    try:
        T.case("batch", batch, h)
        T.case("nested job", nested, h)
        T.case("join job", join, h)
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
