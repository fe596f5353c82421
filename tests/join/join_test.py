"""join_test.py - join jobs (CreateJoinJob) on a real `framewright serve`:
two clips rendered as child jobs from the example template and one video
fetched from a local HTTP server, stitched into one MP4 whose frame count is
the sum of the clips'; the join's life (pending while its children render,
an output URL known at once); a silent child joined to a child with music
has sound only where the music is; clips refused at creation; a clip that
cannot be fetched fails the join. On SQLite, and on PostgreSQL when FW_TEST_PG_URL
is set."""

import array
import io
import math
import os
import subprocess
import sys
import urllib.parse
import wave

import grpc

sys.path.insert(0, os.path.join(os.environ.get("RUNFILES_DIR") or os.environ.get("TEST_SRCDIR") or "",
                                "framewright", "tests", "batches"))
sys.path.insert(1, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "batches"))
import fwjobs  # noqa: E402 - first: it finds fwe2e
import fwe2e  # noqa: E402

T = fwe2e.Checks()
TIMEOUT = 600
CLIP_FRAMES = 20


def join_request(c, body):
    from google.protobuf import json_format
    import json

    return json_format.Parse(json.dumps(body), c.job_pb2.JoinJobRequest())


def create_join(c, body):
    return c.jobs.CreateJoinJob(join_request(c, body), metadata=c.md(), timeout=30)


def rendered_clip(t, first, last):
    return {"type": "job", "template": {"id": t}, "assets": fwe2e.hello_assets(), "preview": True,
            "settings": {"codec": "video_h264_vbr_1mbps", "frames": [first, last]}}


def join_two_and_a_url(label, c, t, files):
    job = create_join(c, {"assets": [rendered_clip(t, 0, 29), rendered_clip(t, 30, 59),
                                     {"type": "video", "src": files.url("/clip.mp4")}],
                          "settings": {"preset": "mp4"}})
    path = urllib.parse.urlsplit(job.output_url.value).path
    T.check(label + ": the join starts pending with two children", job.status == "pending" and len(job.children) == 2,
            (job.status, list(job.children)))
    T.check(label + ": its output URL is known at once and is an .mp4", path.endswith(".mp4"), job.output_url.value)
    kids = [c.get_job(k) for k in job.children]
    T.check(label + ": the children are jobs of their own under the join",
            all(k.parent_id == job.id for k in kids), [k.parent_id for k in kids])
    statuses = [e.job.status for e in c.watch(job.id, TIMEOUT)]
    print("join statuses:", statuses)
    T.check(label + ": the join goes from pending to finished",
            statuses and statuses[0] in ("pending", "queued") and statuses[-1] == "finished", statuses)
    end = c.get_job(job.id)
    kids = [c.get_job(k) for k in job.children]
    T.check(label + ": the join started after both children finished",
            all(k.status == "finished" for k in kids) and end.stats.started_at.ToMilliseconds() >=
            max(k.stats.finished_at.ToMilliseconds() for k in kids) > 0, [k.status for k in kids])
    T.check(label + ": the output URL did not change", end.output_url.value == job.output_url.value)
    code, body = fwe2e.fetch(end.output_url.value)
    info = fwe2e.ffprobe(body)
    print("ffprobe:", info)
    total = 30 + 30 + CLIP_FRAMES
    # The URL's clip is 25 fps and the rendered ones 30: re-encoded on a 30 fps
    # clock it becomes 24 frames, so the sum is 80 counted in inputs, 84 in time.
    T.check(label + ": one H.264 MP4", code == 200 and info.get("codec") == "h264" and "mp4" in info.get("format", ""),
            info)
    T.check(label + ": its frame count is about the sum of the clips' (%d)" % total,
            total <= info.get("frames", 0) <= total + 6, info.get("frames"))
    T.check(label + ": the size is the first clip's (a preview: 640x360)",
            (info.get("width"), info.get("height")) == (640, 360), info)


def tone_wav(seconds, freq=440, amplitude=0.5, rate=48000):
    """A mono 16-bit WAV of a sine."""
    samples = array.array("h", (int(32767 * amplitude * math.sin(2 * math.pi * freq * i / rate))
                                for i in range(int(seconds * rate))))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def sound_rms(data, start, length):
    """RMS of the left channel over [start, start + length) s, by ffmpeg; None without sound."""
    d = fwe2e.tmpdir("fw-rms-")
    path = os.path.join(d, "in.mp4")
    with open(path, "wb") as f:
        f.write(data)
    r = subprocess.run(["ffmpeg", "-v", "error", "-ss", "%.3f" % start, "-t", "%.3f" % length, "-i", path, "-vn",
                        "-af", "pan=mono|c0=FL", "-ar", "48000", "-f", "f32le", "-"], capture_output=True, timeout=60)
    v = array.array("f", r.stdout[:len(r.stdout) // 4 * 4])
    return math.sqrt(sum(x * x for x in v) / len(v)) if r.returncode == 0 and v else None


def silent_then_music(label, c, t, files):
    # hello runs at 30 fps: each child is one second.
    music = dict(rendered_clip(t, 0, 29))
    music["assets"] = fwe2e.hello_assets() + [{"type": "audio", "src": files.url("/tone.wav")}]
    job = create_join(c, {"assets": [rendered_clip(t, 0, 29), music], "settings": {"preset": "mp4"}})
    end = c.wait_status(job.id, ("error", "finished"), TIMEOUT)
    T.check(label + ": the join of a silent child and one with music finishes", end.status == "finished",
            (end.status, end.stats.error.value))
    if end.status != "finished":
        return
    code, body = fwe2e.fetch(end.output_url.value)
    quiet, loud = sound_rms(body, 0.05, 0.85), sound_rms(body, 1.1, 0.8)
    print("join sound: first clip rms", quiet, "second clip rms", loud)
    T.check(label + ": the output has sound", code == 200 and loud is not None, code)
    T.check(label + ": silence where the silent clip is", quiet is not None and quiet < 0.005, quiet)
    T.check(label + ": the music where its clip is", loud is not None and abs(loud - 0.5 / math.sqrt(2)) < 0.03, loud)


def refused(label, c, t):
    def code_of(body):
        try:
            create_join(c, body)
        except grpc.RpcError as e:
            return e.code(), e.details()
        return None, None

    code, msg = code_of({"assets": []})
    T.check(label + ": no clips is refused", code == grpc.StatusCode.INVALID_ARGUMENT and msg.startswith("assets"),
            (code, msg))
    code, msg = code_of({"assets": [{"type": "video", "src": "file:///etc/passwd"}]})
    T.check(label + ": a local file is refused", code == grpc.StatusCode.INVALID_ARGUMENT and
            msg.startswith("assets[0].src"), (code, msg))
    code, msg = code_of({"assets": [{"type": "image", "src": "http://x/y.png"}]})
    T.check(label + ": an image clip is refused", code == grpc.StatusCode.INVALID_ARGUMENT and
            msg.startswith("assets[0].type"), (code, msg))
    bad = rendered_clip(t, 0, 9)
    bad["settings"]["type"] = "image"
    code, msg = code_of({"assets": [bad]})
    T.check(label + ": an image child is refused", code == grpc.StatusCode.INVALID_ARGUMENT and
            msg.startswith("assets[0].settings.type"), (code, msg))
    code, msg = code_of({"assets": [{"type": "video", "src": "http://x/y.mp4"}], "settings": {"preset": "mkv"}})
    T.check(label + ": an unknown preset is refused", code == grpc.StatusCode.INVALID_ARGUMENT and
            msg.startswith("settings.preset"), (code, msg))


def missing_clip(label, c, files):
    job = create_join(c, {"assets": [{"type": "video", "src": files.url("/clip.mp4")},
                                     {"type": "video", "src": files.url("/missing.mp4")}]})
    T.check(label + ": a join of URLs only is queued at once", job.status == "queued" and not job.children,
            job.status)
    end = c.wait_status(job.id, ("error",), TIMEOUT)
    print("error:", end.stats.error.value)
    T.check(label + ": a clip that cannot be fetched fails the join naming it",
            end.status == "error" and "assets[1].src" in end.stats.error.value, (end.status, end.stats.error.value))


def run_store(label, database):
    files = fwjobs.Files({"/clip.mp4": fwjobs.test_clip(CLIP_FRAMES), "/tone.wav": tone_wav(3)})
    srv, c = fwjobs.start(database, 2, "serve-" + label)
    try:
        t = c.upload_template(fwe2e.hello_template()).id
        T.case(label + ": two children and a URL", join_two_and_a_url, label, c, t, files)
        T.case(label + ": a silent child and one with music", silent_then_music, label, c, t, files)
        T.case(label + ": refused at creation", refused, label, c, t)
        T.case(label + ": a missing clip", missing_clip, label, c, files)
    finally:
        c.close()
        T.check(label + ": serve stops cleanly", srv.stop() == 0)
        files.close()


def main():
    for label, database in fwjobs.stores():
        T.case(label, run_store, label, database)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
