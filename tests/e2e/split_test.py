"""split_test.py - long videos rendered in chunks by the workers of one
`framewright serve` (SQLite, a local folder), through grpcio and the REST
gateway:

- a 20 s job (640x360, 30 fps, with a tone from a loopback URL) is split
  into 5 chunks that both workers render; its WatchJob progress only rises
  and reaches 100; the output has every frame and the sound its whole
  length (ffprobe), and the frames on both sides of every boundary are the
  frames of the same job rendered whole (`settings.chunks: 1`), each closer
  to the whole's frame of its own number than to a neighbour's;
- a worker SIGKILLed while it renders a chunk: the chunk is rendered again
  by another attempt and the output is still whole;
- a split job cancelled: every chunk stops, its chunk rows and segments are
  gone, and the next job renders;
- `settings.chunks` out of range is refused with its field;
- a split job cancelled while every worker is dead: the server's reaper
  removes its chunks and segments."""

import json
import os
import signal
import sqlite3
import time
import urllib.error
import urllib.request

import grpc

import fwe2e

T = fwe2e.Checks()
W, H, FPS, FRAMES = 640, 360, 30, 600
CHUNK = 120  # the default: two keyframe intervals of 2 s
SW, SH = 160, 90  # frames are compared at this size (fwe2e.grey_frames)
WAIT = 600


def rest(srv, method, path, body=None):
    req = urllib.request.Request(srv.api + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": "Bearer " + srv.key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def chunk_rows(srv, job_id):
    db = sqlite3.connect(os.path.join(srv.data, "framewright.db"), timeout=30)
    try:
        return db.execute("SELECT idx, status, worker, attempts FROM chunks WHERE job_id = ? ORDER BY idx",
                          (job_id,)).fetchall()
    finally:
        db.close()


def segments_left(srv, job_id):
    return [os.path.join(d, f) for d, _, fs in os.walk(srv.data) for f in fs
            if job_id in os.path.join(d, f) and "chunks" in os.path.join(d, f)]


def job_body(tid, sound_url, **settings):
    s = {"type": "video", "codec": "video_h264_vbr_1mbps"}
    s.update(settings)
    return {"template": {"id": tid}, "assets": [{"type": "audio", "src": sound_url}], "settings": s}


def case_split(srv, c, tid, sound_url):
    job = c.create_job(job_body(tid, sound_url))
    events = c.watch(job.id, WAIT)
    progress = [e.job.progress for e in events]
    final = c.get_job(job.id)
    T.check("(a) the split job finished", final.status == "finished", (final.status, final.stats.error.value))
    T.check("(a) its progress only rises and reaches 100",
            all(b >= a for a, b in zip(progress, progress[1:])) and progress and progress[-1] == 100,
            progress[-10:])
    print("(a) %d progress events: %s" % (len(progress), ["%.0f" % p for p in progress[::max(1, len(progress) // 12)]]))
    T.check("(a) stats.chunks says 5", final.stats.chunks == 5, final.stats.chunks)
    T.check("(a) both workers rendered chunks of it", len(set(final.stats.workers)) == 2, list(final.stats.workers))
    st, split = fwe2e.fetch(final.output_url.value)
    info = fwe2e.ffprobe(split)
    T.check("(a) the output: H.264 %dx%d, %d frames" % (W, H, FRAMES),
            (info.get("codec"), info.get("width"), info.get("height"), info.get("frames")) == ("h264", W, H, FRAMES),
            info)
    secs = fwe2e.audio_seconds(split)
    T.check("(a) the sound lasts the whole 20 s", secs is not None and abs(secs - FRAMES / FPS) < 0.03, secs)
    T.check("(a) no chunk row or segment is left", not chunk_rows(srv, job.id) and not segments_left(srv, job.id),
            (chunk_rows(srv, job.id), segments_left(srv, job.id)))
    st, body = rest(srv, "GET", "/api/v2/jobs/" + job.id)
    T.check("(a) REST: stats.chunks and stats.workers",
            st == 200 and body["stats"].get("chunks") == 5 and len(body["stats"].get("workers", [])) == 2,
            (st, body.get("stats") if isinstance(body, dict) else body))

    whole_job = c.create_job(job_body(tid, sound_url, chunks=1))
    whole = c.wait_status(whole_job.id, ("finished",), WAIT)
    T.check("(b) the same job with chunks 1 renders whole", whole.status == "finished" and whole.stats.chunks == 0,
            (whole.status, whole.stats.chunks))
    st, whole_data = fwe2e.fetch(whole.output_url.value)
    a, b = fwe2e.grey_frames(split, SW, SH), fwe2e.grey_frames(whole_data, SW, SH)
    size = SW * SH
    T.check("(b) both decode to %d frames" % FRAMES, len(a) == len(b) == size * FRAMES, (len(a), len(b)))
    if len(a) == len(b) == size * FRAMES:
        worst, bad = fwe2e.boundary_frames(a, b, size, FRAMES, CHUNK)
        print("(b) frames at the boundaries: worst %.1f dB against the whole's frame of the same number" % worst)
        T.check("(b) every frame at a boundary is the whole's frame of its number", not bad, bad)
    sa, sb = fwe2e.sound_samples(split), fwe2e.sound_samples(whole_data)
    T.check("(b) the sound: as many samples as the whole's", len(sa) == len(sb) and len(sa) > 0, (len(sa), len(sb)))
    T.check("(b) the sound: sample for sample the whole's (encoded once over the whole)", sa == sb)


def worker_pid_of(srv, name):
    """host:pid names a worker process of serve."""
    try:
        pid = int(name.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None
    return pid if pid in fwe2e.worker_pids(srv.pid) else None


def case_kill(srv, c, tid, sound_url):
    job = c.create_job(job_body(tid, sound_url))
    victim, deadline = None, time.monotonic() + WAIT
    while victim is None and time.monotonic() < deadline:
        holder = c.get_job(job.id)
        for idx, status, worker, attempts in chunk_rows(srv, job.id):
            if status == "rendering" and idx > 0:
                victim = (idx, worker)
                break
        if holder.status in ("finished", "error"):
            break
        time.sleep(0.05)
    T.check("(c) a worker renders a chunk", victim is not None)
    if victim is None:
        return
    pid = worker_pid_of(srv, victim[1])
    T.check("(c) the chunk's worker is a process of serve", pid is not None, victim)
    if pid:
        os.kill(pid, signal.SIGKILL)
        print("(c) SIGKILLed %s rendering chunk %d" % (victim[1], victim[0] + 1), flush=True)
    final = c.wait_status(job.id, ("finished",), WAIT)
    T.check("(c) the job still finishes", final.status == "finished", (final.status, final.stats.error.value))
    st, data = fwe2e.fetch(final.output_url.value)
    info = fwe2e.ffprobe(data)
    T.check("(c) ... with every frame", info.get("frames") == FRAMES, info)
    again = srv.proc.log_has(r"job=%s\] rendering chunk %d: .*\(attempt 2\)" % (job.id, victim[0] + 1))
    T.check("(c) the killed chunk was rendered again, as a second attempt", len(again) == 1, again)


def case_cancel(srv, c, tid, sound_url):
    job = c.create_job(job_body(tid, sound_url))
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        rows = chunk_rows(srv, job.id)
        if sum(1 for r in rows if r[1] == "rendering") >= 2 or sum(1 for r in rows if r[1] == "finished") >= 2:
            break
        time.sleep(0.05)
    c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=job.id), metadata=c.md(), timeout=30)
    t0 = time.monotonic()
    while time.monotonic() < t0 + 30 and (chunk_rows(srv, job.id) or segments_left(srv, job.id)):
        time.sleep(0.1)
    T.check("(d) the cancelled job is manually_cancelled", c.get_job(job.id).status == "manually_cancelled")
    T.check("(d) its chunks and segments are gone", not chunk_rows(srv, job.id) and not segments_left(srv, job.id),
            (chunk_rows(srv, job.id), segments_left(srv, job.id)))
    print("(d) cancelled to nothing left: %.1f s" % (time.monotonic() - t0))
    nxt = c.create_job(job_body(tid, sound_url, chunks=1, frames=[0, 59]))
    done = c.wait_status(nxt.id, ("finished",), WAIT)
    T.check("(d) the next job renders", done.status == "finished", done.status)


def case_orphans(srv, c, tid, sound_url):
    """Every worker killed while a split job renders, and the job cancelled
    before any comes back: nobody holds the job to clean up, so the
    server's reaper removes its chunks and segments."""
    job = c.create_job(job_body(tid, sound_url))
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and sum(1 for r in chunk_rows(srv, job.id) if r[1] == "finished") < 1:
        time.sleep(0.05)
    for pid in fwe2e.worker_pids(srv.pid):
        os.kill(pid, signal.SIGKILL)
    c.jobs.CancelJob(c.job_pb2.CancelJobRequest(id=job.id), metadata=c.md(), timeout=30)
    had = (len(chunk_rows(srv, job.id)), len(segments_left(srv, job.id)))
    t0 = time.monotonic()
    while time.monotonic() < t0 + 30 and (chunk_rows(srv, job.id) or segments_left(srv, job.id)):
        time.sleep(0.2)
    T.check("(f) the job had chunks and a segment when its workers were killed", had[0] > 0 and had[1] > 0, had)
    T.check("(f) the reaper removed them", not chunk_rows(srv, job.id) and not segments_left(srv, job.id),
            (chunk_rows(srv, job.id), segments_left(srv, job.id)))
    print("(f) cancelled with no holder to nothing left: %.1f s" % (time.monotonic() - t0))
    T.check("(f) the reaper says so", bool(srv.proc.log_has(r"removed the chunks of 1 job")))


def case_refused(srv, c, tid):
    code, details = fwe2e.code_of(lambda: c.create_job({"template": {"id": tid},
                                                        "settings": {"type": "video", "chunks": 5000}}))
    T.check("(e) chunks 5000 is INVALID_ARGUMENT on settings.chunks",
            code == grpc.StatusCode.INVALID_ARGUMENT and "settings.chunks" in (details or ""), (code, details))
    st, body = rest(srv, "POST", "/api/v2/jobs", {"template": {"id": tid}, "settings": {"chunks": -2}})
    T.check("(e) REST: chunks -2 is a 400 naming settings.chunks", st == 400 and "settings.chunks" in json.dumps(body),
            (st, body))


def main():
    folder = fwe2e.tmpdir("fw-split-files-")
    fwe2e.tone_wav(os.path.join(folder, "tone.wav"), FRAMES / FPS + 1)
    files = fwe2e.FileServer(folder)
    srv = fwe2e.Server(workers=2, lease_seconds=3, extra=("--api", "127.0.0.1:0"),
                       env={"FRAMEWRIGHT_URL_ALLOW": "127.0.0.0/8"})
    c = fwe2e.Client(srv.grpc, srv.key)
    try:
        tid = c.upload_template(fwe2e.moving_template(W, H, FRAMES, FPS), name="moving").id
        sound_url = files.url + "/tone.wav"
        T.case("(a, b) a job split in chunks, against the same job whole", case_split, srv, c, tid, sound_url)
        T.case("(c) a worker killed mid-chunk", case_kill, srv, c, tid, sound_url)
        T.case("(d) a split job cancelled", case_cancel, srv, c, tid, sound_url)
        T.case("(e) settings.chunks refused", case_refused, srv, c, tid)
        T.case("(f) a split job cancelled while nobody holds it", case_orphans, srv, c, tid, sound_url)
        reports = srv.proc.log_has(r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer")
        T.check("no sanitizer report", not reports, reports[:3])
    finally:
        c.close()
        files.stop()
        T.check("serve stops cleanly", srv.stop() == 0)
    return T.end()


if __name__ == "__main__":
    raise SystemExit(main())
