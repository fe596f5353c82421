"""media_e2e_test.py - footage, sound and scripts through a real `framewright
serve --api`, by gRPC (Python's grpcio) and by REST (the /api/v2 gateway), on
SQLite and, where FW_TEST_PG_URL names a server, on PostgreSQL.

Every check reads the output: a clip whose frames carry their number as a
colour must show frame N of the clip at output frame N inside a rotating
image layer (and the expected clip frames for a 25 fps clip in a 60 fps
composition); a 440 Hz tone placed 1 s in must be silent before and at the
source's level after, and the audio must last as long as the video; a
script must change what the frame shows, and a looping one must fail the job
with its limit and line while the server goes on serving; a join of a silent
render and a clip with sound must be silent over the first and sound over the
second. Assets are served
over HTTP on loopback; a URL that answers 404 is refused at submission."""

import array
import base64
import json
import math
import os
import subprocess
import sys
import time
import traceback

for _base in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
    if _base:
        sys.path.insert(0, os.path.join(_base, "framewright", "tests", "openapi"))
sys.path.insert(1, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "openapi"))

import oapi  # noqa: E402 - finds fwe2e and fwjobs

import fwe2e  # noqa: E402
import fwjobs  # noqa: E402

T = fwe2e.Checks()
TERMINAL = ("finished", "error", "manually_cancelled")
W, H = 320, 240
LEVELS = 8  # a frame number is two base-8 digits: red and green in steps of 32


# ---- media made here -----------------------------------------------------------------------------

def numbered_clip(frames, fps):
    """H.264 whose frame N is a flat colour saying N (red: N % 8, green: N / 8 % 8, blue 128)."""
    d = fwe2e.tmpdir("fw-numbered-")
    path = os.path.join(d, "numbered.mp4")
    geq = "r='mod(N,8)*32+16':g='mod(floor(N/8),8)*32+16':b=128"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=black:size=160x120:rate=%d" % fps,
                    "-vf", "format=rgb24,geq=" + geq, "-frames:v", str(frames), "-c:v", "libx264", "-qp", "4",
                    "-pix_fmt", "yuv444p", "-y", path], check=True, timeout=120)
    with open(path, "rb") as f:
        return f.read()


def number_of(rgb):
    r, g, _ = rgb
    lo, hi = round((r - 16) / 32.0), round((g - 16) / 32.0)
    if not (0 <= lo < LEVELS and 0 <= hi < LEVELS) or abs(r - (lo * 32 + 16)) > 10 or abs(g - (hi * 32 + 16)) > 10:
        return None
    return hi * LEVELS + lo


def tone_wav(freq, seconds):
    d = fwe2e.tmpdir("fw-tone-")
    path = os.path.join(d, "tone.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    "sine=frequency=%g:sample_rate=48000:duration=%g" % (freq, seconds), "-ac", "2", "-y", path],
                   check=True, timeout=60)
    with open(path, "rb") as f:
        return f.read()


def clip_with_tone(seconds, fps):
    """H.264 at W x H with a 440 Hz tone as AAC, as a clip to join."""
    d = fwe2e.tmpdir("fw-sound-clip-")
    path = os.path.join(d, "tone.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=%dx%d:rate=%d" % (W, H, fps),
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(seconds),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-b:a", "192k", "-y", path],
                   check=True, timeout=120)
    with open(path, "rb") as f:
        return f.read()


def grey_png(w, h):
    r = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:size=%dx%d" % (w, h),
                        "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"], capture_output=True, check=True,
                       timeout=60)
    return "data:image/png;base64," + base64.b64encode(r.stdout).decode()


def template(fps, frames):
    """W x H: a dark solid "bg", an image layer "clip" (160x120, centred, turning 0 to 90 degrees)
    and a text layer "title" near the bottom."""
    hello = json.loads(fwe2e.hello_template())
    title = next(layer for layer in hello["layers"] if layer["nm"] == "title")
    title["ks"]["p"]["k"] = [W / 2, 215, 0]
    title["ks"]["s"]["k"] = [40, 40, 100]
    title["ks"]["o"] = {"a": 0, "k": 100}
    title["ip"], title["op"] = 0, frames
    doc = {
        "v": "5.7.4", "fr": fps, "ip": 0, "op": frames, "w": W, "h": H, "nm": "main", "ddd": 0,
        "fonts": hello.get("fonts"), "chars": hello.get("chars", []),
        "assets": [{"id": "img", "w": 160, "h": 120, "u": "", "p": grey_png(160, 120), "e": 1}],
        "layers": [
            title,
            {"ddd": 0, "ind": 2, "ty": 2, "nm": "clip", "refId": "img", "sr": 1, "ip": 0, "op": frames, "st": 0,
             "ks": {"o": {"a": 0, "k": 100}, "p": {"a": 0, "k": [W / 2, H / 2 - 20, 0]},
                    "a": {"a": 0, "k": [80, 60, 0]}, "s": {"a": 0, "k": [100, 100, 100]},
                    "r": {"a": 1, "k": [{"t": 0, "s": [0], "i": {"x": [1], "y": [1]}, "o": {"x": [0], "y": [0]}},
                                        {"t": frames - 1, "s": [90]}]}}},
            {"ddd": 0, "ind": 3, "ty": 1, "nm": "bg", "sc": "#202020", "sw": W, "sh": H, "sr": 1, "ip": 0,
             "op": frames, "st": 0,
             "ks": {"o": {"a": 0, "k": 100}, "p": {"a": 0, "k": [W / 2, H / 2, 0]},
                    "a": {"a": 0, "k": [W / 2, H / 2, 0]}, "s": {"a": 0, "k": [100, 100, 100]},
                    "r": {"a": 0, "k": 0}}},
        ],
    }
    return json.dumps(doc).encode()


# ---- reading outputs -----------------------------------------------------------------------------

def save(data, suffix=".mp4"):
    d = fwe2e.tmpdir("fw-out-")
    path = os.path.join(d, "out" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    return path


def frames_rgb(path):
    """Every frame of the video as W*H*3 bytes."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                       capture_output=True, check=True, timeout=120)
    size = W * H * 3
    return [r.stdout[i:i + size] for i in range(0, len(r.stdout) - size + 1, size)]


def px(frame, x, y):
    i = 3 * (y * W + x)
    return tuple(frame[i:i + 3])


def streams(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "stream=codec_type,codec_name,duration,sample_rate,channels", "-of", "json", path],
                       capture_output=True, text=True, check=True, timeout=60)
    return {s["codec_type"]: s for s in json.loads(r.stdout).get("streams", [])}


def rms_db(path, start, end):
    """RMS level (dBFS) of the left channel between two times."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-vn", "-af",
                        "pan=mono|c0=FL,atrim=start=%g:end=%g" % (start, end), "-f", "f32le", "-ar", "48000",
                        "-"], capture_output=True, check=True, timeout=60)
    a = array.array("f")
    a.frombytes(r.stdout[:len(r.stdout) // 4 * 4])
    if not a:
        return None
    ms = sum(x * x for x in a) / len(a)
    return 10 * math.log10(ms) if ms > 0 else -200.0


# ---- the two APIs --------------------------------------------------------------------------------

class Grpc:
    name = "gRPC"

    def __init__(self, srv):
        self.c = fwe2e.Client(srv.grpc, srv.key)

    def upload(self, data, name):
        return self.c.upload_template(data, name=name).id

    def submit(self, body):
        """(job id, None) or (None, (field, message)) when refused."""
        import grpc
        try:
            return self.c.create_job(body).id, None
        except grpc.RpcError as e:
            return None, (e.code().name, e.details())

    def submit_join(self, body):
        import grpc
        from google.protobuf import json_format
        try:
            req = json_format.Parse(json.dumps(body), self.c.job_pb2.JoinJobRequest())
            return self.c.jobs.CreateJoinJob(req, metadata=self.c.md(), timeout=30).id, None
        except grpc.RpcError as e:
            return None, (e.code().name, e.details())

    def wait(self, job_id, timeout=300):
        job = self.c.wait_status(job_id, TERMINAL, timeout)
        err = job.stats.error.value if job.stats.HasField("error") else ""
        url = job.output_url.value if job.HasField("output_url") else ""
        return job.status, url, err

    def close(self):
        self.c.close()


class Rest:
    name = "REST"

    def __init__(self, base, key):
        self.h = oapi.Http(base, key)

    def upload(self, data, name):
        r = self.h.request("POST", "/templates", {"type": "json", "displayName": name})
        t = r.json()
        code = oapi.put_url(t["uploadInfo"]["url"], data)
        if code not in (200, 201, 204):
            raise RuntimeError("template upload answered %s" % code)
        return t["id"]

    def submit(self, body):
        r = self.h.request("POST", "/jobs", body)
        j = r.json()
        if r.status == 201:
            return j["id"], None
        return None, (str(r.status), json.dumps(j))

    def submit_join(self, body):
        r = self.h.request("POST", "/jobs/join", body)
        j = r.json()
        if r.status in (200, 201):
            return j["id"], None
        return None, (str(r.status), json.dumps(j))

    def wait(self, job_id, timeout=300):
        deadline = time.monotonic() + timeout
        job = {}
        while time.monotonic() < deadline:
            job = self.h.request("GET", "/jobs/" + job_id).json()
            if job.get("status") in TERMINAL:
                break
            time.sleep(0.2)
        return job.get("status"), job.get("outputUrl") or "", (job.get("stats") or {}).get("error") or ""

    def close(self):
        self.h.close()


def render(api, label, tpl, assets, timeout=300):
    """Submit, wait, fetch: the output saved to a file, or None (checks say why)."""
    job_id, refused = api.submit({"template": {"id": tpl, "composition": "main"}, "assets": assets,
                                  "settings": {"codec": "video_h264_vbr_15mbps"}})
    T.check("%s: %s is accepted" % (api.name, label), job_id is not None, refused)
    if not job_id:
        return None
    status, url, err = api.wait(job_id, timeout)
    T.check("%s: %s finishes" % (api.name, label), status == "finished", "%s %s" % (status, err))
    if status != "finished":
        return None
    code, data = fwe2e.fetch(url)
    T.check("%s: %s output answers 200" % (api.name, label), code == 200, code)
    return save(data)


# ---- the cases -----------------------------------------------------------------------------------

def footage(api, files, tpl30, tpl60):
    path = render(api, "a numbered clip in a rotating layer", tpl30,
                  [{"type": "video", "layerName": "clip", "src": files.url("/n30.mp4")}])
    if path:
        frames = frames_rgb(path)
        got = [number_of(px(f, W // 2, H // 2 - 20)) for f in frames]
        T.check("%s: 60 frames out" % api.name, len(frames) == 60, len(frames))
        T.check("%s: output frame N shows clip frame N" % api.name, got == list(range(60)), got)
        # the layer turns: a point 70 px right of its centre leaves the clip by the last frame
        inside0 = number_of(px(frames[0], W // 2 + 70, H // 2 - 20)) == 0
        inside_end = number_of(px(frames[-1], W // 2 + 70, H // 2 - 20)) is not None
        T.check("%s: the clip turns with its layer" % api.name, inside0 and not inside_end,
                (px(frames[0], W // 2 + 70, H // 2 - 20), px(frames[-1], W // 2 + 70, H // 2 - 20)))
        s = streams(path)
        T.check("%s: a clip without sound leaves the output silent (no audio stream)" % api.name,
                "audio" not in s, sorted(s))
    path = render(api, "a 25 fps clip in a 60 fps composition", tpl60,
                  [{"type": "video", "layerName": "clip", "src": files.url("/n25.mp4")}])
    if path:
        frames = frames_rgb(path)
        got = [number_of(px(f, W // 2, H // 2 - 20)) for f in frames]
        want = [int(math.floor(n * 25 / 60.0 + 1e-9)) for n in range(len(frames))]
        T.check("%s: 120 frames out at 60 fps" % api.name, len(frames) == 120, len(frames))
        T.check("%s: output frame n shows clip frame floor(n * 25 / 60)" % api.name, got == want,
                [(n, g, w) for n, (g, w) in enumerate(zip(got, want)) if g != w][:8])


def sound(api, files, tpl30):
    path = render(api, "a 440 Hz tone 1 s in", tpl30,
                  [{"type": "audio", "src": files.url("/tone.wav"), "start": 1}])
    if not path:
        return
    s = streams(path)
    a, v = s.get("audio"), s.get("video")
    T.check("%s: the output has AAC at 48 kHz stereo" % api.name,
            a is not None and a.get("codec_name") == "aac" and a.get("sample_rate") == "48000" and
            a.get("channels") == 2, a)
    if not a or not v:
        return
    ad, vd = float(a.get("duration") or 0), float(v.get("duration") or 0)
    T.check("%s: the audio lasts as long as the video (within one AAC frame)" % api.name,
            abs(ad - vd) <= 1024 / 48000.0 + 1e-6, "audio %.4f s, video %.4f s" % (ad, vd))
    before, after = rms_db(path, 0.05, 0.9), rms_db(path, 1.1, 1.9)
    source = rms_db(save(files.files["/tone.wav"], ".wav"), 0.1, 0.9)
    T.check("%s: silent before 1 s" % api.name, before is not None and before < -60, before)
    T.check("%s: the tone's level after 1 s (within 1 dB of %.1f dBFS)" % (api.name, source),
            after is not None and abs(after - source) < 1.0, after)


def scripts(api, tpl30):
    script = ("var bg = layer('bg');\n"
              "bg.sc = NX.get('colour');\n"
              "setText('title', job.data.title);\n")
    path = render(api, "a script asset", tpl30,
                  [{"type": "script", "value": script, "parameters": [{"key": "colour", "value": "#ff0000"}],
                    "data": {"title": ""}}])
    if path:
        f = frames_rgb(path)[30]
        corner = px(f, 5, 5)
        T.check("%s: the script's colour fills the background" % api.name,
                corner[0] > 230 and corner[1] < 30 and corner[2] < 30, corner)
        row = [px(f, x, 215) for x in range(40, W - 40, 2)]
        T.check("%s: the script emptied the title (its row is all background)" % api.name,
                all(p[0] > 200 and p[1] < 50 for p in row), [p for p in row if not (p[0] > 200 and p[1] < 50)][:5])
    job_id, refused = api.submit({"template": {"id": tpl30, "composition": "main"},
                                  "assets": [{"type": "script", "value": "var n = 0;\nwhile (true) { n++; }"}]})
    T.check("%s: a looping script is accepted (it compiles)" % api.name, job_id is not None, refused)
    if job_id:
        status, _, err = api.wait(job_id)
        T.check("%s: the looping script fails the job" % api.name, status == "error", status)
        T.check("%s: ... saying its limit and line" % api.name, "2 s of CPU time" in err and "line 2" in err, err)
    job_id, refused = api.submit({"template": {"id": tpl30, "composition": "main"},
                                  "assets": [{"type": "script", "value": "var = 1;"}]})
    T.check("%s: a script that does not compile is refused at submission" % api.name,
            job_id is None and refused and "assets[0].value" in refused[1] and "SyntaxError" in refused[1], refused)


def join(api, files, tpl30):
    """A rendered child without sound (2 s), then a served clip with a tone (1 s)."""
    job_id, refused = api.submit_join({
        "assets": [{"type": "job", "template": {"id": tpl30, "composition": "main"}, "assets": []},
                   {"type": "video", "src": files.url("/tone.mp4")}],
        "settings": {"preset": "mp4"}})
    T.check("%s: a join of a silent render and a clip with sound is accepted" % api.name, job_id is not None, refused)
    if not job_id:
        return
    status, url, err = api.wait(job_id)
    T.check("%s: the join finishes" % api.name, status == "finished", "%s %s" % (status, err))
    if status != "finished":
        return
    code, data = fwe2e.fetch(url)
    path = save(data)
    s = streams(path)
    a, v = s.get("audio"), s.get("video")
    T.check("%s: the joined output has sound" % api.name, a is not None, sorted(s))
    if not a or not v:
        return
    ad, vd = float(a.get("duration") or 0), float(v.get("duration") or 0)
    T.check("%s: the joined video lasts 3 s and its audio as long" % api.name,
            abs(vd - 3.0) <= 1 / 30.0 + 1e-6 and abs(ad - vd) <= 1024 / 48000.0 + 1e-6,
            "audio %.4f s, video %.4f s" % (ad, vd))
    quiet, loud = rms_db(path, 0.1, 1.9), rms_db(path, 2.1, 2.9)
    T.check("%s: silent over the rendered clip" % api.name, quiet is not None and quiet < -60, quiet)
    T.check("%s: the tone over the clip that has it" % api.name, loud is not None and loud > -30, loud)


def refusals(api, files, tpl30):
    job_id, refused = api.submit({"template": {"id": tpl30, "composition": "main"},
                                  "assets": [{"type": "video", "layerName": "clip", "src": files.url("/missing.mp4")}]})
    T.check("%s: a clip URL that answers 404 is refused at submission" % api.name,
            job_id is None and refused and "assets[0].src" in refused[1] and "404" in refused[1], refused)


def run_all(srv, base, files, label):
    apis = []
    try:
        apis = [Grpc(srv), Rest(base, srv.key)]
        for api in apis:
            tpl30 = api.upload(template(30, 60), "media 30")
            tpl60 = api.upload(template(60, 120), "media 60")
            T.case("%s %s footage" % (label, api.name), footage, api, files, tpl30, tpl60)
            T.case("%s %s sound" % (label, api.name), sound, api, files, tpl30)
            T.case("%s %s scripts" % (label, api.name), scripts, api, tpl30)
            T.case("%s %s join" % (label, api.name), join, api, files, tpl30)
            T.case("%s %s refusals" % (label, api.name), refusals, api, files, tpl30)
    finally:
        for api in apis:
            api.close()


def start(database=None, name="media"):
    extra = ("--api", "127.0.0.1:0")
    srv = fwe2e.Server(workers=1, database=database, name=name, extra=extra)
    _, m = srv.proc.wait_line(r"REST API \(/api/v2\) on (\S+)", 30)
    if m is None:
        srv.stop(5)
        raise RuntimeError("no REST API line from framewright serve")
    return srv, m.group(1)


def main():
    files = fwjobs.Files({"/n30.mp4": numbered_clip(60, 30), "/n25.mp4": numbered_clip(60, 25),
                          "/tone.wav": tone_wav(440, 3), "/tone.mp4": clip_with_tone(1, 30)})
    try:
        for label, database in (("[sqlite]", None), ("[postgres]", "pg")):
            db = None
            if database:
                admin = os.environ.get("FW_TEST_PG_URL")
                if not admin:
                    T.skip("on PostgreSQL", "FW_TEST_PG_URL is not set")
                    continue
                db = fwe2e.FreshDatabase(admin)
            srv = None
            try:
                srv, base = start(db.url if db else None, "media-pg" if db else "media")
                run_all(srv, base, files, label)
            except Exception:  # noqa: BLE001 - a failed setup is a failed test
                traceback.print_exc()
                T.check("%s the test ran to the end" % label, False, "exception")
            finally:
                if srv:
                    code = srv.stop()
                    T.check("%s the server exits 0 on SIGTERM" % label, code == 0, code)
                    T.check("%s no sanitizer report in the server's output" % label,
                            not oapi.sanitizer_report(srv.proc.lines), oapi.sanitizer_report(srv.proc.lines)[:5])
                if db:
                    db.close()
    finally:
        files.close()
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
